package http

import (
	"github.com/nettrace/nettrace/internal/defaults"
	"github.com/nettrace/nettrace/tcpstate"
)

// Limits bound what a Conn buffers and decodes. A zero field means its
// default (see DefaultConfig).
type Limits struct {
	// MaxLineBytes caps one start or header line (default 8192). A longer
	// line is malformed. A direction hunting for a message start keeps only
	// the last MaxLineBytes bytes of a line.
	MaxLineBytes int
	// MaxHeaderBytes caps a whole header block (default 65536).
	MaxHeaderBytes int
	// MaxHeaders caps the header fields of one message (default 256).
	MaxHeaders int
	// MaxCompressedBytes caps how much of a gzip/deflate body is buffered
	// for decoding (default 16 MiB); a larger body is framed and counted
	// but not decoded (http.body_limit).
	MaxCompressedBytes int
	// MaxBodyBytes caps the decompressed size of one body (default 256 MiB);
	// decoding stops there (http.body_limit). A direction hunting for a
	// message start gives up after skipping this many bytes
	// (decode.gave_up).
	MaxBodyBytes int64
	// MaxRatio caps decompressed/compressed size once the output passes
	// MinRatioBytes (default 1000): a decompression bomb.
	MaxRatio int64
	// MinRatioBytes is the output size from which MaxRatio applies
	// (default 1 MiB).
	MinRatioBytes int64
	// MaxPending caps pipelined requests awaiting their response
	// (default 128); older ones are dropped.
	MaxPending int
}

// Config configures a Conn.
type Config struct {
	Limits Limits
	// Body, when set, receives every message body as it is decoded
	// (de-chunked and decompressed), piece by piece, and once more with
	// Final set when the body ends. It is how tools save bodies
	// (examples/tlsdecrypt); nil costs nothing.
	Body func(ctx *tcpstate.StreamContext, b Body)
}

// Body is one piece of a decoded HTTP message body, handed to Config.Body.
type Body struct {
	Response bool   // a response body; false for a request body
	Request  string // "GET /path": the request, or the request a response answers
	Status   int    // the response status; 0 for a request body
	Encoding string // Content-Encoding, "" for identity
	Frame    int64  // the frame holding these bytes (for compressed bodies: the frame completing the message)
	Data     []byte // decoded bytes; valid only during the call
	Final    bool   // the body ended (Data may be empty)
	Failed   bool   // with Final: the body did not decode completely
}

// DefaultConfig returns the default limits.
func DefaultConfig() Config { return Config{Limits: Limits{}.withDefaults()} }

// defaultLimits holds the defaults documented on Limits.
var defaultLimits = Limits{
	MaxLineBytes:       8192,
	MaxHeaderBytes:     65536,
	MaxHeaders:         256,
	MaxCompressedBytes: 16 << 20,
	MaxBodyBytes:       256 << 20,
	MaxRatio:           1000,
	MinRatioBytes:      1 << 20,
	MaxPending:         128,
}

// withDefaults fills zero and negative fields with their defaults.
func (l Limits) withDefaults() Limits {
	defaults.Fill(&l, defaultLimits)
	return l
}
