package tds

import (
	"time"

	"github.com/nettrace/nettrace/internal/defaults"
	"github.com/nettrace/nettrace/tcpstate"
)

// Limits caps what one connection (or the SSRP tracker) may buffer and keep.
// A zero field means "use the default" (see DefaultLimits).
type Limits struct {
	// MaxMessage is the number of bytes of one client message (SQL batch,
	// RPC, LOGIN7, PRELOGIN …) kept for decoding. Longer messages are still
	// framed and counted; only their first MaxMessage bytes are decoded
	// (the SQL text is then marked truncated). Default 256 KiB.
	MaxMessage int
	// MaxToken is the largest single token of a response (a ROW with large
	// values, a COLMETADATA) buffered across packets. A longer token stops
	// token decoding for the rest of that response (counted, not an error).
	// Default 1 MiB.
	MaxToken int
	// MaxTokensPerMessage caps the tokens decoded in one response; the rest
	// is counted only. Default 1<<20.
	MaxTokensPerMessage int
	// MaxSQLText caps the SQL text (in characters) kept in messages,
	// events and stats. Default 4096.
	MaxSQLText int
	// MaxRequests caps the per-request records kept in Stats; later
	// requests are still counted and timed. Default 4096.
	MaxRequests int
	// MaxSessions caps the SMP (MARS) sessions tracked per connection.
	// Default 64.
	MaxSessions int
	// MaxParams caps the RPC parameters decoded per request. Default 64.
	MaxParams int
	// MaxColumns caps the columns kept from a COLMETADATA token; a result
	// set with more columns has its rows counted, not decoded. Default 4096.
	MaxColumns int
	// MaxRowValues is the number of rows per response whose values are
	// put into messages (only when messages are wanted). Default 5.
	MaxRowValues int
	// ResyncScan is how far (bytes) the decoder looks for the next packet
	// header after a gap or malformed data before giving up on that
	// direction. Default 64 KiB.
	ResyncScan int
	// MaxEvents caps events of one kind per connection (tds.error,
	// tds.attention, tds.slow_query); the rest are counted in the
	// latency-split summary. Default 20.
	MaxEvents int
}

// DefaultLimits returns the documented defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxMessage:          256 << 10,
		MaxToken:            1 << 20,
		MaxTokensPerMessage: 1 << 20,
		MaxSQLText:          4096,
		MaxRequests:         4096,
		MaxSessions:         64,
		MaxParams:           64,
		MaxColumns:          4096,
		MaxRowValues:        5,
		ResyncScan:          64 << 10,
		MaxEvents:           20,
	}
}

func (l Limits) withDefaults() Limits {
	defaults.Fill(&l, DefaultLimits())
	return l
}

// Config configures a Conn.
type Config struct {
	// TLS builds the handler that receives the TLS bytes of the connection:
	// the TLS records carried inside PRELOGIN packets during the handshake
	// ([MS-TDS] 3.2.5.2), then the raw TLS records that follow on the TCP
	// stream (an encrypted LOGIN7, or the whole session), and TDS 8.0
	// ("strict") connections that start with TLS. It is called once, when
	// the first TLS byte appears, with the connection's StreamContext; the
	// handler sees Feed/Gap/Close with the unwrapped bytes. nil (or a nil
	// handler) means TLS bytes are only counted.
	TLS tcpstate.NewHandler
	// SlowQuery is the server time (request's last byte to the first
	// response byte) above which a request raises tds.slow_query. Default
	// 1 s; a negative value disables the event.
	SlowQuery time.Duration
	// OnClose, when set, receives the connection's statistics once, when
	// the connection closes (for tools such as examples/tdsstat). The
	// Stats value is not used by the Conn afterwards.
	OnClose func(ctx *tcpstate.StreamContext, s *Stats)
	// Limits caps buffers, maps and kept records.
	Limits Limits
}

// DefaultConfig returns a Config with the documented defaults: no TLS
// hand-off, SlowQuery 1 s, DefaultLimits.
func DefaultConfig() Config {
	return Config{SlowQuery: time.Second, Limits: DefaultLimits()}
}

// SSRPConfig configures the SQL Browser tracker.
type SSRPConfig struct {
	// ReplyWindow is how long after a request a reply from UDP port 1434 to
	// the request's source address and port is matched to it. Default 5 s.
	ReplyWindow time.Duration
	// MaxPending caps the requests waiting for a reply; the oldest is
	// dropped (and counted as unanswered) when full. Default 4096.
	MaxPending int
	// MaxServers caps the per-destination summaries of unanswered
	// requests. Default 1024.
	MaxServers int
	// MaxEvents caps reply-from-other-address events. Default 20.
	MaxEvents int
}

// DefaultSSRPConfig returns the documented SSRP defaults.
func DefaultSSRPConfig() SSRPConfig {
	return SSRPConfig{ReplyWindow: 5 * time.Second, MaxPending: 4096, MaxServers: 1024, MaxEvents: 20}
}
