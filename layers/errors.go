package layers

import "github.com/nettrace/nettrace/internal/parseerr"

// ErrTruncated (the input ends before the structure does) and ErrMalformed
// (the structure can never be valid) are the sentinel errors wrapped by
// ParseError.
var ErrTruncated, ErrMalformed = parseerr.Sentinels()

// ParseError is returned by the pure parsers of this package (ParseDNS,
// ParseICMP): Pkg "layers", What the structure ("dns question"), Detail
// what is wrong, Need the bytes needed when truncated, Frame 0 (a parser
// does not know it; the caller fills it in) and Err ErrTruncated or
// ErrMalformed. Every protocol package shares this one type.
type ParseError = parseerr.Error

var perr = parseerr.Maker{Pkg: "layers", Truncated: ErrTruncated, Malformed: ErrMalformed}
