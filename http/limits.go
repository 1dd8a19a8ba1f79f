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
	// MaxHeaderBytes caps a whole header block (default 65536). For
	// HTTP/2 it caps the decoded header list (RFC 9113, 6.5.2: names and
	// values plus 32 bytes a field) and one HPACK string: fields past it
	// are decoded, to keep the HPACK state, but not kept (http2.limit).
	MaxHeaderBytes int
	// MaxHeaders caps the header fields of one message (default 256);
	// for HTTP/2, fields past it are decoded but not kept.
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
	// MaxH2Streams caps the HTTP/2 streams one connection tracks (default
	// 256, above the usual SETTINGS_MAX_CONCURRENT_STREAMS of 100-128);
	// opening one more drops the oldest stream's state (http2.limit).
	MaxH2Streams int
	// MaxH2FrameBytes caps the payload of an HTTP/2 frame other than DATA
	// that is buffered to be parsed (default 262144; DATA streams through
	// unbuffered). A larger frame is skipped by its length (http2.limit);
	// when it carries a header block, the HPACK state of its direction is
	// lost and later header blocks are not decoded.
	MaxH2FrameBytes int
	// MaxH2BufferedBytes caps the compressed bodies one HTTP/2 connection
	// buffers across all its streams (default 32 MiB; each body also
	// under MaxCompressedBytes). A body that would go over is framed and
	// counted but not decoded (http.body_limit).
	MaxH2BufferedBytes int
	// MaxHPACKTableBytes caps the HPACK dynamic table of each direction
	// (default 65536; RFC 7541, 4.2), whatever SETTINGS_HEADER_TABLE_SIZE
	// a peer advertises. An encoder that uses more loses the decoding of
	// that direction's header blocks (http2.limit).
	MaxHPACKTableBytes int
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
	MaxH2Streams:       256,
	MaxH2FrameBytes:    256 << 10,
	MaxH2BufferedBytes: 32 << 20,
	MaxHPACKTableBytes: 64 << 10,
}

// withDefaults fills zero and negative fields with their defaults.
func (l Limits) withDefaults() Limits {
	defaults.Fill(&l, defaultLimits)
	return l
}
