package rpc

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by ParseError.
var (
	// ErrTruncated means the input ends before the structure does: wait for
	// more bytes (framing) or treat the structure as cut short (stubs).
	ErrTruncated = errors.New("truncated")
	// ErrMalformed means the input can never become a valid structure.
	ErrMalformed = errors.New("malformed")
)

// ParseError describes why a DCE/RPC structure could not be parsed. Err is
// ErrTruncated or ErrMalformed. Parsers leave Frame at zero; the Conn that
// saw the PDU start fills it in.
type ParseError struct {
	What   string // the structure: "pdu header", "bind", "epm map response", …
	Detail string // what is wrong, with the numbers
	Need   int    // bytes needed, when known (ErrTruncated)
	Frame  int64  // frame of the PDU start, 0 when unknown
	Err    error  // ErrTruncated or ErrMalformed
}

// Error returns "dcerpc: <what>: <detail>".
func (e *ParseError) Error() string {
	s := "dcerpc: " + e.What
	if e.Detail != "" {
		s += ": " + e.Detail
	} else if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Need > 0 && errors.Is(e.Err, ErrTruncated) && e.Detail == "" {
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

func truncatedf(what, format string, args ...any) error {
	return &ParseError{What: what, Detail: fmt.Sprintf(format, args...), Err: ErrTruncated}
}
