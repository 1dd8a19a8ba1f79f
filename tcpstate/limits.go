package tcpstate

import (
	"time"

	"github.com/nettrace/nettrace/internal/defaults"
)

// Config holds the tracker's limits. Every limit has a default (see
// DefaultConfig); a zero field means "use the default", never "unlimited".
// Memory held for reassembly is bounded by MaxBufferTotal + MaxRetainTotal
// plus a fixed size per tracked connection.
type Config struct {
	// MaxConns caps the connections being tracked (open or in their
	// handshake). A new connection beyond it evicts the connection idle the
	// longest (tcp.evicted, close reason "evicted"). Default 1<<16.
	MaxConns int
	// MaxHalfOpen caps the connections whose handshake has not completed
	// (a SYN seen, no SYN-ACK and ACK yet): under a SYN flood they would
	// otherwise fill the MaxConns table and push established connections
	// out. A new one beyond it ends the oldest of them (close reason
	// "evicted", counted in CaptureStats.HalfOpenEvicted and said once by
	// tcp.half_open_evicted, with no tcp.evicted nor flow.summary event
	// each; OnSummary still receives them). A SYN retransmitted after its
	// attempt was dropped starts a new connection. Default 8192.
	MaxHalfOpen int
	// MaxBufferPerConn caps the out-of-order bytes buffered for one
	// direction of one connection. Reaching it skips the holes of that
	// direction: Gap, then the buffered bytes (tcp.buffer_limit).
	// Default 1 MiB.
	MaxBufferPerConn int
	// MaxBufferTotal caps the out-of-order bytes buffered by all
	// connections together; reaching it flushes the direction that needed
	// more, as MaxBufferPerConn does. Default 64 MiB.
	MaxBufferTotal int
	// MaxRetainPerConn caps, per direction, the copies of delivered bytes
	// kept until the receiver acknowledges them, so that a retransmission
	// that differs from what was delivered raises tcp.overlap_conflict
	// (counted in pooled buffer sizes; the oldest go first). Default
	// 64 KiB; negative turns the check against delivered bytes off.
	MaxRetainPerConn int
	// MaxRetainTotal caps those copies for all connections together;
	// beyond it delivered bytes are not kept. Default 16 MiB.
	MaxRetainTotal int
	// IdleTimeout ends an established connection after this much capture
	// time without a packet (close reason "idle", tcp.evicted). Default
	// 5 minutes.
	IdleTimeout time.Duration
	// HalfOpenTimeout is the idle timeout of connections whose handshake
	// has not completed (SYN sent, no answer), and of connections that
	// closed with FIN but whose last ACK was not seen yet. It must exceed
	// the gaps between SYN retries (Linux: up to 64 s) so that retries stay
	// in one connection, as tshark counts them. Default 2 minutes.
	HalfOpenTimeout time.Duration
	// ClosedLinger is how long the tuple of a connection that ended with
	// FIN or RST is remembered (at most MaxConns such tuples, oldest
	// forgotten first), so that late packets (retransmitted FINs,
	// a reset answering a reset) stay part of it, as in tshark's
	// tcp.stream, instead of starting a new connection. A SYN with a new ISN
	// on such a tuple starts a new connection (tcp.port_reuse). Default
	// 2 minutes.
	ClosedLinger time.Duration
	// Analysis sets the thresholds of the TCP analysis (idle, SACK hole,
	// backoff); zero fields take DefaultAnalysisConfig's values.
	Analysis AnalysisConfig
}

// Defaults of Config.
const (
	DefaultMaxConns         = 1 << 16
	DefaultMaxHalfOpen      = 8192
	DefaultMaxBufferPerConn = 1 << 20
	DefaultMaxBufferTotal   = 64 << 20
	DefaultMaxRetainPerConn = 64 << 10
	DefaultMaxRetainTotal   = 16 << 20
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultHalfOpenTimeout  = 2 * time.Minute
	DefaultClosedLinger     = 2 * time.Minute
)

// Caps that are not configurable.
const (
	maxTransitions = 32 // FlowStats.Transitions
	maxSYNFrames   = 16 // FlowStats.SYNFrames
	// maxAckGap bounds the hole an ACK may declare lost: a larger jump is
	// taken as a bogus acknowledgment number, not as missing data.
	maxAckGap = 1 << 30
)

// DefaultConfig returns the default limits.
func DefaultConfig() Config {
	return Config{
		MaxConns:         DefaultMaxConns,
		MaxHalfOpen:      DefaultMaxHalfOpen,
		MaxBufferPerConn: DefaultMaxBufferPerConn,
		MaxBufferTotal:   DefaultMaxBufferTotal,
		MaxRetainPerConn: DefaultMaxRetainPerConn,
		MaxRetainTotal:   DefaultMaxRetainTotal,
		IdleTimeout:      DefaultIdleTimeout,
		HalfOpenTimeout:  DefaultHalfOpenTimeout,
		ClosedLinger:     DefaultClosedLinger,
		Analysis:         DefaultAnalysisConfig(),
	}
}

// withDefaults replaces unset fields (zero or negative) by their
// defaults; a negative MaxRetainPerConn stays: the check is off.
func (c Config) withDefaults() Config {
	retain := c.MaxRetainPerConn
	defaults.Fill(&c, DefaultConfig())
	if retain < 0 {
		c.MaxRetainPerConn = retain
	}
	return c
}
