package tls

import "github.com/nettrace/nettrace/internal/parseerr"

// ErrTruncated (more bytes are needed: wait for them) and ErrMalformed (the
// bytes can never form a valid structure) are the sentinel errors wrapped
// by ParseError.
var ErrTruncated, ErrMalformed = parseerr.Sentinels()

// ParseError describes why a parser rejected its input: Pkg "tls", What
// the structure ("record", "client hello"), Detail what was wrong with the
// numbers, Need the bytes needed when truncated, Frame where the structure
// started (left at zero by parsers, filled in by Conn) and Err ErrTruncated
// or ErrMalformed. Every protocol package shares this one type.
type ParseError = parseerr.Error

var perr = parseerr.Maker{Pkg: "tls", Truncated: ErrTruncated, Malformed: ErrMalformed}

func truncated(what string, need int) *ParseError { return perr.Truncate(what, need) }

func malformed(what, detail string) *ParseError { return perr.Malform(what, detail) }
