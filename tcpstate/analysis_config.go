package tcpstate

import (
	"time"

	"github.com/nettrace/nettrace/internal/defaults"
)

// AnalysisConfig tunes the lifecycle findings of the TCP analysis. A zero
// field takes its default (see DefaultAnalysisConfig), so AnalysisConfig{}
// is usable. The Wireshark-compatible per-segment flags have no knobs: they
// follow tshark's definitions exactly.
type AnalysisConfig struct {
	// IdleThreshold is the silence inside a connection (no packet in either
	// direction) that makes a tcp.idle finding (default 5 s: longer than any
	// delayed ACK or first retransmission timeout, and long enough for
	// stateful devices with short timers to forget the connection).
	IdleThreshold time.Duration
	// SackHoleMinAcks is how many ACKs must SACK around the same hole
	// before it is a tcp.sack_hole (default 3).
	SackHoleMinAcks int
	// SackHoleMinDuration is how long the receiver must keep SACKing around
	// a hole that is eventually filled for it to be reported (default 1 s;
	// a hole that is never filled is reported regardless): holes repaired
	// within a round trip or two by fast recovery are normal on lossy paths
	// and are already visible as retransmissions.
	SackHoleMinDuration time.Duration
	// BackoffMinRetransmissions is the number of retransmissions of one
	// segment needed to call the series an RTO backoff (default 3).
	BackoffMinRetransmissions int
}

// DefaultAnalysisConfig returns the defaults documented on AnalysisConfig.
func DefaultAnalysisConfig() AnalysisConfig {
	return AnalysisConfig{
		IdleThreshold:             5 * time.Second,
		SackHoleMinAcks:           3,
		SackHoleMinDuration:       time.Second,
		BackoffMinRetransmissions: 3,
	}
}

// withDefaults returns c with every zero field set to its default.
func (c AnalysisConfig) withDefaults() AnalysisConfig {
	defaults.Fill(&c, DefaultAnalysisConfig())
	return c
}

var defaultAnalysisConfig = DefaultAnalysisConfig()

// Per-connection bounds of the analysis. Each is a fixed-size array inside
// the connection's state, so the analysis never allocates per segment: a
// connection's analysis state is about 2.1 KiB, plus about 1.3 KiB per
// direction allocated once when that direction first retransmits or SACKs.
const (
	// unackedCap is the number of unacknowledged segments remembered per
	// direction, for ack_rtt samples and to name the original of a
	// retransmission. When it is full the oldest entry is kept (the one an
	// RTO retransmits) and the second oldest is dropped.
	unackedCap = 16
	// rttReservoirCap is the number of ACK RTT samples kept per direction
	// (a reservoir sample) for the median; min, max and the count are exact.
	rttReservoirCap = 24
	// seriesCap is the number of transmissions of one segment remembered
	// for the RTO backoff finding.
	seriesCap = 16
	// pendingCap is the number of retransmissions per direction whose cause
	// waits for the receiver's answer; beyond it the oldest is decided with
	// what is known.
	pendingCap = 8
	// synTimesCap is the number of SYN times kept for the retry spacing.
	synTimesCap = 8
)
