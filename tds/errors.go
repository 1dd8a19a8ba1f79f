package tds

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
	// ErrNoMetadata means ROW tokens came without decodable column
	// metadata (COLMETADATA with NoMetaData, too many columns, or none):
	// the rows cannot be decoded, but nothing is wrong with the stream.
	ErrNoMetadata = errors.New("rows without column metadata")
)

// ParseError describes why a parser rejected its input. Err is ErrTruncated,
// ErrMalformed or ErrNoMetadata. Frame is left at zero by parsers and filled in by Conn.
type ParseError struct {
	What   string // the structure being parsed ("packet header", "login7")
	Detail string // what was wrong, with the numbers
	Need   int    // bytes needed in total, when Err is ErrTruncated and known
	Frame  int64  // frame where the structure started, 0 when unknown
	Err    error
}

// Error returns "tds: <what>: <detail>".
func (e *ParseError) Error() string {
	s := "tds: " + e.What
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
