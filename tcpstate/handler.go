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
	// Visibility is what the capture showed of the connection. The tracker
	// sets it right before Close: a decoder that would conclude at Close
	// that a peer never answered checks it first.
	Visibility Visibility
	// Altered is set, as packets arrive, once both directions of the
	// connection have shown wrong checksums and none a right one (with no
	// offload super-segment to explain them): the packets were changed after
	// their checksums were computed — addresses rewritten by an anonymiser
	// or a NAT tool — so an address a payload names (an endpoint-mapper
	// tower, a redirect) cannot be compared with the addresses in the
	// headers.
	Altered bool
}

// Visibility is what a capture showed of one connection, as far as the
// tracker can tell. Captures are taken on one side, start mid-connection,
// miss segments and see packets twice; a conclusion about the network
// (a peer that never answered, data that was lost) holds only for what the
// capture shows.
type Visibility struct {
	// Packets counts the packets captured per direction (duplicates
	// excluded).
	Packets [2]int64
	// OneSided is set when one direction was never captured although the
	// other side's packets show that it existed (an ACK of the SYN-ACK, ACKs
	// of data): the capture is one-sided, not the conversation.
	OneSided bool
	// MidStream is set when the capture started after the handshake.
	MidStream bool
	// Unseen counts the bytes each direction sent that its peer
	// acknowledged but the capture never saw (tshark's "ACKed unseen
	// segment"): the capture missed them, the network did not lose them.
	Unseen [2]int64
	// Duplicates counts the packets captured twice (same IP ID and TCP
	// header): they are left out of the analysis.
	Duplicates int64
}

// Captured reports whether direction d was captured: at least one packet
// and, when the other side's ACKs show d sent data, no byte of it missed.
func (v *Visibility) Captured(d Dir) bool { return v.Packets[d] > 0 && v.Unseen[d] == 0 }

// A Finisher is a StreamHandler that can tell whether its application
// protocol had ended cleanly when the connection closed: an HTTP exchange
// complete, a TLS close_notify, an SMB LOGOFF answered. Finished returns a
// short description of that ending ("the HTTP response was complete"), or ""
// when an exchange was still open. A reset after a clean ending is how many
// clients close, not a fault.
type Finisher interface {
	Finished() string
}

// A ResetReviewer is a StreamHandler that reports its connection's reset
// itself: the tracker hands it the tcp.reset event (once, right before
// Close) instead of reporting it, and the handler reports it through its
// StreamContext, with the severity and message adjusted by what the
// application protocol knows (see Finisher).
type ResetReviewer interface {
	ReviewReset(e health.Event)
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
