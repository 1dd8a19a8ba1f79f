package smb

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by ParseError.
var (
	// ErrTruncated means more bytes are needed: the PDU may still become valid.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed means the bytes can never form a valid structure.
	ErrMalformed = errors.New("malformed")
)

// ParseError describes why a parser rejected its input. Parsers leave Frame
// at zero; the Conn that saw the PDU start fills it in.
type ParseError struct {
	What   string // structure being parsed ("smb2 header", "nbss")
	Detail string // what was wrong, with the numbers
	Need   int    // total bytes needed, when Err is ErrTruncated and known
	Frame  int64  // frame holding the PDU's first byte, when known
	Err    error  // ErrTruncated, ErrMalformed or a narrower sentinel
}

// Error returns "smb: <what>: <detail>".
func (e *ParseError) Error() string {
	s := "smb: " + e.What
	if e.Detail != "" {
		s += ": " + e.Detail
	} else if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Need > 0 {
		s += fmt.Sprintf(" (need %d bytes)", e.Need)
	}
	if e.Frame > 0 {
		s += fmt.Sprintf(" (frame %d)", e.Frame)
	}
	return s
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

func truncated(what string, need int) error {
	return &ParseError{What: what, Need: need, Err: ErrTruncated}
}

func malformed(what, format string, args ...any) error {
	return &ParseError{What: what, Detail: fmt.Sprintf(format, args...), Err: ErrMalformed}
}
