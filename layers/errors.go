package layers

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by ParseError.
var (
	// ErrTruncated: the input ends before the structure does.
	ErrTruncated = errors.New("truncated")
	// ErrMalformed: the structure can never be valid.
	ErrMalformed = errors.New("malformed")
)

// ParseError is returned by the pure parsers of this package (ParseDNS,
// ParseICMP). It wraps ErrTruncated or ErrMalformed. Frame is 0: a parser
// does not know it, the caller fills it in.
type ParseError struct {
	What   string // the structure, e.g. "dns question"
	Detail string // what is wrong, with the numbers
	Need   int    // bytes needed, when known (truncation)
	Frame  int64
	Err    error
}

// Error implements error.
func (e *ParseError) Error() string {
	s := "layers: " + e.What
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Need > 0 {
		s += fmt.Sprintf(" (need %d bytes)", e.Need)
	}
	if e.Frame > 0 {
		s += fmt.Sprintf(" in frame %d", e.Frame)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }
