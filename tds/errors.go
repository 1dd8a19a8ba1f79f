package tds

import (
	"errors"

	"github.com/nettrace/nettrace/internal/parseerr"
)

// ErrTruncated (more bytes are needed: wait for them) and ErrMalformed (the
// bytes can never form a valid structure) are the sentinel errors wrapped
// by ParseError.
var ErrTruncated, ErrMalformed = parseerr.Sentinels()

// ErrNoMetadata means ROW tokens came without decodable column metadata
// (COLMETADATA with NoMetaData, too many columns, or none): the rows cannot
// be decoded, but nothing is wrong with the stream.
var ErrNoMetadata = errors.New("rows without column metadata")

// ParseError describes why a parser rejected its input: Pkg "tds", What
// the structure ("packet header", "login7"), Detail what was wrong with the
// numbers, Need the bytes needed when truncated, Frame where the structure
// started (left at zero by parsers, filled in by Conn) and Err
// ErrTruncated, ErrMalformed or ErrNoMetadata. Every protocol package
// shares this one type.
type ParseError = parseerr.Error

var perr = parseerr.Maker{Pkg: "tds", Truncated: ErrTruncated, Malformed: ErrMalformed}

func truncated(what string, need int) *ParseError { return perr.Truncate(what, need) }

func malformed(what, detail string) *ParseError { return perr.Malform(what, detail) }

// withFrame sets e's frame and returns e.
func withFrame(e *ParseError, frame int64) *ParseError {
	e.Frame = frame
	return e
}
