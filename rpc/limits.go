package rpc

import "github.com/nettrace/nettrace/internal/defaults"

// Limits bound the memory and work of one Conn. Zero fields take the
// defaults of DefaultLimits. What happens at each limit is stated per field.
type Limits struct {
	// MaxFragLength is the largest PDU accepted (default 65535, the most
	// frag_length can say). A longer PDU is malformed: the direction
	// resynchronises on the next plausible header.
	MaxFragLength int
	// MaxStub caps a reassembled stub (only stubs the package decodes, the
	// endpoint mapper's, are reassembled; default 1 MiB). Beyond it the
	// stub is dropped with an rpc.malformed event.
	MaxStub int
	// MaxCalls caps outstanding calls per connection (default 1024). At the
	// cap the oldest call is evicted and reported as rpc.no_response.
	MaxCalls int
	// MaxContexts caps presentation contexts per connection (default 256);
	// further contexts are not recorded (their calls have no interface).
	MaxContexts int
	// MaxResync caps the bytes scanned for the next PDU header after a gap,
	// a mid-stream start or a malformed header (default 64 KiB). Beyond it
	// the direction is abandoned with one decode.gave_up (rpc.malformed
	// after a malformed header); its bytes are counted. When nothing in the
	// connection ever framed as a PDU, the connection is given up: its
	// bytes are not DCE/RPC.
	MaxResync int
	// MaxEvents caps rpc.malformed, decode.resync and rpc.endpoint_learned
	// events per connection (default 64 each); further ones are counted in
	// Stats.
	MaxEvents int
	// EPM bounds the endpoint-mapper decoder.
	EPM EPMLimits
}

// DefaultLimits returns the documented defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxFragLength: 65535,
		MaxStub:       1 << 20,
		MaxCalls:      1024,
		MaxContexts:   256,
		MaxResync:     64 << 10,
		MaxEvents:     64,
		EPM:           DefaultEPMLimits(),
	}
}

// withDefaults returns DefaultLimits with the positive fields of l in
// place of the defaults.
func (l Limits) withDefaults() Limits {
	defaults.Fill(&l, DefaultLimits())
	return l
}

// override sets *v to set when set is positive: a zero or negative limit
// keeps the default.
