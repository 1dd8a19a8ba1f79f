package rpc

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/parseerr"
)

// ErrTruncated (the input ends before the structure does: wait for more
// bytes, or treat the structure as cut short) and ErrMalformed (the input
// can never become a valid structure) are the sentinel errors wrapped by
// ParseError.
var ErrTruncated, ErrMalformed = parseerr.Sentinels()

// ParseError describes why a DCE/RPC structure could not be parsed: Pkg
// "dcerpc", What the structure ("pdu header", "bind", "epm map response"),
// Detail what is wrong with the numbers, Need the bytes needed when
// truncated, Frame the PDU's first frame (left at zero by parsers, filled
// in by Conn) and Err ErrTruncated or ErrMalformed. Every protocol package
// shares this one type.
type ParseError = parseerr.Error

var perr = parseerr.Maker{Pkg: "dcerpc", Truncated: ErrTruncated, Malformed: ErrMalformed}

func truncated(what string, need int) error { return perr.Truncate(what, need) }

func malformed(what, format string, args ...any) error { return perr.Malformf(what, format, args...) }

func truncatedf(what, format string, args ...any) error {
	return perr.TruncateDetail(what, fmt.Sprintf(format, args...))
}
