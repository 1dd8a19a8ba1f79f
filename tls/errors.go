package tls

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by ParseError.
var (
	// ErrTruncated means more bytes are needed: wait for them.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed means the bytes can never form a valid structure.
	ErrMalformed = errors.New("malformed")
)

// ParseError describes why a parser rejected its input. Err is ErrTruncated
// or ErrMalformed. Frame is left at zero by parsers and filled in by Conn.
type ParseError struct {
	What   string // the structure being parsed ("record", "client hello")
	Detail string // what was wrong, with the numbers
	Need   int    // bytes needed in total, when Err is ErrTruncated and known
	Frame  int64  // frame where the structure started, 0 when unknown
	Err    error
}

// Error returns "tls: <what>: <detail>".
func (e *ParseError) Error() string {
	s := "tls: " + e.What
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	if e.Frame > 0 {
		s += fmt.Sprintf(" at frame %d", e.Frame)
	}
	return s
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

func truncated(what string, need int) *ParseError {
	return &ParseError{What: what, Need: need, Err: ErrTruncated}
}

func malformed(what, detail string) *ParseError {
	return &ParseError{What: what, Detail: detail, Err: ErrMalformed}
}
