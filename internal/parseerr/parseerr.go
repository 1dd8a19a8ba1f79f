// Package parseerr is the one parse-error type of nettrace's parsers. Each
// protocol package exposes it as its own ParseError (a type alias) and
// keeps its own sentinel errors (ErrTruncated, ErrMalformed, …), which the
// error wraps; a Maker fills in the package's name and sentinels.
package parseerr

import (
	"errors"
	"fmt"
	"strconv"
)

// Error describes why a parser rejected its input. Parsers leave Frame at
// zero (a pure parser cannot know it); the stream decoder that saw the
// structure start fills it in.
type Error struct {
	Pkg    string // the reporting package as events name it: "tls", "smb", "dcerpc", …
	What   string // the structure being parsed: "record", "smb2 header", …
	Detail string // what was wrong, with the numbers
	Need   int    // bytes needed in total, when Err is a truncation and known
	Frame  int64  // frame where the structure started, 0 when unknown
	Err    error  // the package's sentinel: ErrTruncated, ErrMalformed, …
}

// Error returns "<pkg>: <what>: <detail> (<sentinel>)", with
// " (need N bytes)" when only the size is known and " at frame N" when the
// frame is, e.g. "tls: record: length 20000 exceeds 18432 (malformed) at frame 12".
func (e *Error) Error() string {
	b := make([]byte, 0, 64+len(e.What)+len(e.Detail))
	b = append(b, e.Pkg...)
	b = append(b, ": "...)
	b = append(b, e.What...)
	if e.Detail != "" {
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	if e.Err != nil {
		b = append(b, " ("...)
		b = append(b, e.Err.Error()...)
		b = append(b, ')')
	}
	if e.Need > 0 && e.Detail == "" {
		b = append(b, " (need "...)
		b = strconv.AppendInt(b, int64(e.Need), 10)
		b = append(b, " bytes)"...)
	}
	if e.Frame > 0 {
		b = append(b, " at frame "...)
		b = strconv.AppendInt(b, e.Frame, 10)
	}
	return string(b)
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Sentinels returns a package's own two sentinel errors: "truncated" (more
// bytes are needed: wait for them) and "malformed" (the bytes can never
// form a valid structure). Each call returns new, distinct errors.
func Sentinels() (truncated, malformed error) {
	return errors.New("truncated"), errors.New("malformed")
}

// Maker builds the errors of one package.
type Maker struct {
	Pkg       string
	Truncated error // the package's ErrTruncated
	Malformed error // the package's ErrMalformed
}

// Truncate returns a truncation error: what needs need bytes in total (0
// when unknown).
func (m Maker) Truncate(what string, need int) *Error {
	return &Error{Pkg: m.Pkg, What: what, Need: need, Err: m.Truncated}
}

// TruncateDetail returns a truncation error with a detail.
func (m Maker) TruncateDetail(what, detail string) *Error {
	return &Error{Pkg: m.Pkg, What: what, Detail: detail, Err: m.Truncated}
}

// Malform returns an error for bytes that can never become valid.
func (m Maker) Malform(what, detail string) *Error {
	return &Error{Pkg: m.Pkg, What: what, Detail: detail, Err: m.Malformed}
}

// Malformf returns Malform with a formatted detail.
func (m Maker) Malformf(what, format string, args ...any) *Error {
	return m.Malform(what, fmt.Sprintf(format, args...))
}

// Wrap returns an error with another sentinel of the package.
func (m Maker) Wrap(what, detail string, err error) *Error {
	return &Error{Pkg: m.Pkg, What: what, Detail: detail, Err: err}
}
