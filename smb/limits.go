package smb

import (
	"time"

	"github.com/nettrace/nettrace/internal/defaults"
)

// Limits bounds the memory and work of one Conn. A zero field means "use the
// default" (see DefaultLimits); there is no unlimited setting.
type Limits struct {
	// MaxPDU is the largest NetBIOS session message accepted (default
	// 16 MiB + 4 KiB: SMB3's 8 MiB reads with room to spare). A longer
	// length is malformed and starts a resync.
	MaxPDU int
	// MaxBuffered is the largest PDU buffered whole (default 256 KiB).
	// Larger PDUs (big READ responses and WRITE requests) are decoded from
	// their first HeadBytes and the rest is skipped without copying; their
	// data is then not passed to a named-pipe handler.
	MaxBuffered int
	// HeadBytes is how much of a large PDU is kept for decoding (default
	// 4 KiB, at least 256).
	HeadBytes int
	// MaxPending caps requests awaiting a response (default 4096). When full,
	// the oldest request is dropped.
	MaxPending int
	// MaxFiles caps tracked open files per connection (default 4096); when
	// full, the least recently used closed or oldest file is evicted.
	MaxFiles int
	// MaxTrees caps tracked tree connects (default 256).
	MaxTrees int
	// MaxPipes caps named-pipe handlers open at once (default 64).
	MaxPipes int
	// MaxAndX caps the commands followed in one SMB1 AndX chain (default 16).
	MaxAndX int
	// MaxCompound caps the commands followed in one SMB2 compound (default 64).
	MaxCompound int
	// MaxResync is how many bytes are scanned for the next SMB header after
	// a gap, a mid-stream start or a malformed PDU before the direction is
	// abandoned with one decode.gave_up (default 1 MiB).
	MaxResync int
	// MaxLatencySamples caps the latencies kept per command for percentiles
	// (default 4096; later samples replace earlier ones round-robin).
	MaxLatencySamples int
	// MaxErrorEvents caps smb.error_status, smb.malformed and decode.resync
	// events per connection (default 64 each); later ones are only counted.
	MaxErrorEvents int
	// SlowResponse is the server time above which a response is always an
	// outlier (default 1 s). Relative outliers (10× the median) are also reported.
	SlowResponse time.Duration
	// ShapingMinDelay is the smallest stall inside one PDU considered for
	// smb.shaping_delay (default 50 ms).
	ShapingMinDelay time.Duration
	// AppLimitedMinOps is the number of reads/writes of one file needed
	// before smb.app_limited is judged (default 8).
	AppLimitedMinOps int
	// AppLimitedMaxInFlight: a file whose reads/writes never had more than
	// this many in flight is application limited (default 2).
	AppLimitedMaxInFlight int
}

// DefaultLimits returns the documented defaults.
func DefaultLimits() Limits {
	return Limits{
		MaxPDU:                16<<20 + 4096,
		MaxBuffered:           256 << 10,
		HeadBytes:             4096,
		MaxPending:            4096,
		MaxFiles:              4096,
		MaxTrees:              256,
		MaxPipes:              64,
		MaxAndX:               16,
		MaxCompound:           64,
		MaxResync:             1 << 20,
		MaxLatencySamples:     4096,
		MaxErrorEvents:        64,
		SlowResponse:          time.Second,
		ShapingMinDelay:       50 * time.Millisecond,
		AppLimitedMinOps:      8,
		AppLimitedMaxInFlight: 2,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	defaults.Fill(&l, DefaultLimits())
	// The head must hold the SMB header and fixed body of any command.
	l.HeadBytes = max(l.HeadBytes, 256)
	l.MaxBuffered = max(l.MaxBuffered, l.HeadBytes)
	return l
}
