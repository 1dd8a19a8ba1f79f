package smb

import (
	"github.com/nettrace/nettrace/internal/parseerr"
)

// ErrTruncated (more bytes are needed: the PDU may still become valid) and
// ErrMalformed (the bytes can never form a valid structure) are the
// sentinel errors wrapped by ParseError.
var ErrTruncated, ErrMalformed = parseerr.Sentinels()

// ParseError describes why a parser rejected its input: Pkg "smb", What
// the structure ("smb2 header", "nbss"), Detail what was wrong with the
// numbers, Need the total bytes needed when truncated, Frame the frame
// holding the PDU's first byte (left at zero by parsers, filled in by Conn)
// and Err ErrTruncated or ErrMalformed. Every protocol package shares this
// one type.
type ParseError = parseerr.Error

var perr = parseerr.Maker{Pkg: "smb", Truncated: ErrTruncated, Malformed: ErrMalformed}

func truncated(what string, need int) error { return perr.Truncate(what, need) }

func malformed(what, format string, args ...any) error { return perr.Malformf(what, format, args...) }
