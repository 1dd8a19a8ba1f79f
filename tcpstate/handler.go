package tcpstate

import (
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/health"
)

// Dir is a direction within a connection.
type Dir uint8

// Directions. The client is the endpoint that sent the first SYN, or, for a
// connection picked up mid-stream, the endpoint with the higher port (the
// usual ephemeral side); ties go to the sender of the first packet seen.
const (
	ClientToServer Dir = 0
	ServerToClient Dir = 1
)

// String returns "client" or "server": the sender of that direction.
func (d Dir) String() string {
	if d == ClientToServer {
		return "client"
	}
	return "server"
}

// Other returns the opposite direction.
func (d Dir) Other() Dir { return d ^ 1 }

// Position is where in the capture a delivery comes from.
type Position struct {
	Frame int64     // 1-based frame number (tshark's)
	Time  time.Time // capture time of that frame
}

// CloseReason says why a stream ended.
type CloseReason uint8

// Close reasons.
const (
	CloseFIN          CloseReason = iota // both sides (or the last) sent FIN
	CloseRST                             // a reset ended the connection
	CloseIdle                            // evicted after the idle timeout
	CloseEvicted                         // evicted by the connection or memory cap
	CloseEndOfCapture                    // the capture ended first
)

var closeReasonNames = [...]string{"fin", "rst", "idle", "evicted", "end_of_capture"}

// String returns a short lower-case name ("fin", "rst", …).
func (r CloseReason) String() string {
	if int(r) < len(closeReasonNames) {
		return closeReasonNames[r]
	}
	return "unknown"
}

// A StreamHandler consumes one connection's reassembled bytes, in order, per
// direction. Call order: Feed and Gap any number of times, then Close once.
// It must not block, panic, or keep data after a call returns: data aliases
// a buffer the caller reuses.
type StreamHandler interface {
	// Feed delivers bytes that follow the previous Feed or Gap of dir.
	// All of data came from one frame, at.
	Feed(dir Dir, data []byte, at Position)
	// Gap reports n bytes of dir that were never captured; the next Feed of
	// dir follows them. at is the frame whose data comes after the gap.
	Gap(dir Dir, n int, at Position)
	// Close ends both directions.
	Close(reason CloseReason, at Position)
}

// StreamContext describes a connection to the handler built for it. It is
// shared by every decoder stacked on the connection (TLS, then HTTP inside
// it) and lives as long as the connection.
type StreamContext struct {
	// ID numbers connections from 0 in order of their first frame, like
	// tshark's tcp.stream.
	ID     uint64
	Client netip.AddrPort
	Server netip.AddrPort
	// Flow is the connection as events print it ("client->server/tcp").
	Flow string
	// Reporter receives events and decoded messages.
	Reporter health.Reporter
	// RTT is the handshake round trip, 0 until known. Decoders use it to
	// split latency into network and server time.
	RTT time.Duration
}

// Event fills e's Flow when it is empty, then reports e.
func (c *StreamContext) Event(e health.Event) {
	if e.Flow == "" {
		e.Flow = c.Flow
	}
	c.Reporter.Event(e)
}

// NewHandler builds the StreamHandler for a connection, or returns nil to
// leave the connection undecoded. Protocol packages hand each other inner
// streams through this type (TDS → TLS, TLS → HTTP, SMB pipes → DCE/RPC).
type NewHandler func(ctx *StreamContext) StreamHandler
