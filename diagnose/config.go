package diagnose

import (
	"time"

	"github.com/nettrace/nettrace/internal/defaults"
)

// NetworkConfig tunes the network-level diagnoses of Network: the caps on
// every table it keeps and the thresholds of each finding. A zero field
// takes its default (see DefaultNetworkConfig), so NetworkConfig{} is usable.
//
// Every table is bounded. When a table is full, new keys are not tracked
// (the diagnosis then covers the first ones seen) and Finish says so in a
// "capped" evidence field where it matters.
type NetworkConfig struct {
	// MaxConns caps the TCP connections tracked at once (default 16384).
	// A connection leaves the table when it closes (FIN both ways or RST)
	// or after ConnIdle of silence; it is then folded into the per-service
	// and per-source totals.
	MaxConns int
	// ConnIdle is the capture-time silence after which a tracked TCP
	// connection is considered over (default 120 s).
	ConnIdle time.Duration
	// MaxIntervals caps the connection lifetimes kept to compute peak
	// concurrency per service and per source (default 65536 in total).
	MaxIntervals int
	// MaxKeys caps each of the smaller keyed tables (UDP streams, ARP
	// senders, pending UDP requests, periodic keys, services, sources,
	// ICMP groups; default 4096 each).
	MaxKeys int
	// MaxNames caps the DNS address→name mappings kept (default 4096).
	MaxNames int
	// MaxFrames caps the frame numbers listed in one event's evidence
	// (default 10).
	MaxFrames int
	// MaxEventsPerKind caps the events one diagnosis emits at Finish
	// (default 50); the last one says how many more were found.
	MaxEventsPerKind int

	// FloodMinDatagrams is the number of datagrams one source must send to
	// one target before a UDP flood is considered (default 100).
	FloodMinDatagrams int
	// FloodMinRate is the peak datagrams per second (over a 1 s sliding
	// window) that makes a one-way UDP stream a flood (default 100).
	FloodMinRate int
	// SYNFloodMinRate is the peak SYNs per second to one server port that
	// makes a SYN flood, with at least half of them unanswered (default 200).
	SYNFloodMinRate int
	// ManyConnsMin is the peak number of concurrent connections from one
	// source address to one service that is reported when some of its SYNs
	// go unanswered (default 20; casebook C2).
	ManyConnsMin int
	// ManyConnsUnansweredPct is the share of that source's SYNs left
	// unanswered that makes the finding (default 10).
	ManyConnsUnansweredPct int

	// ARPWindow is the window in which ARP requests from one sender are
	// counted as one burst (default 10 ms; casebook C14: 20 in 0.4 ms).
	ARPWindow time.Duration
	// ARPBurstMin is the burst size reported as an ARP storm (default 10).
	ARPBurstMin int

	// ReplyWindow is how long after a request a datagram from another
	// address may still be matched to it as a reply (default 2 s; C9).
	ReplyWindow time.Duration

	// PeriodicMinCount is the number of attempts needed before a period is
	// reported (default 4; casebook C17).
	PeriodicMinCount int
	// PeriodicMinPeriod is the shortest period reported (default 1 s).
	PeriodicMinPeriod time.Duration
	// PeriodicJitterPct is how far (in % of the median) each interval may
	// be from the median interval (default 10).
	PeriodicJitterPct int
	// UDPAttemptGap is the silence after which a datagram to a UDP
	// destination counts as a new attempt for periodicity (default 1 s).
	UDPAttemptGap time.Duration

	// BlackholeMinRetrans is the number of retransmissions of full-size
	// segments, never acknowledged, that makes a PMTU black hole when
	// smaller segments got through (default 3).
	BlackholeMinRetrans int
	// PMTUMinSegments is the number of segments at one size below the MSS
	// that lets a path MTU be inferred on a receiver-side capture (default
	// 10).
	PMTUMinSegments int
}

// DefaultNetworkConfig returns the default configuration.
func DefaultNetworkConfig() NetworkConfig {
	return NetworkConfig{
		MaxConns:               16384,
		ConnIdle:               120 * time.Second,
		MaxIntervals:           65536,
		MaxKeys:                4096,
		MaxNames:               4096,
		MaxFrames:              10,
		MaxEventsPerKind:       50,
		FloodMinDatagrams:      100,
		FloodMinRate:           100,
		SYNFloodMinRate:        200,
		ManyConnsMin:           20,
		ManyConnsUnansweredPct: 10,
		ARPWindow:              10 * time.Millisecond,
		ARPBurstMin:            10,
		ReplyWindow:            2 * time.Second,
		PeriodicMinCount:       4,
		PeriodicMinPeriod:      time.Second,
		PeriodicJitterPct:      10,
		UDPAttemptGap:          time.Second,
		BlackholeMinRetrans:    3,
		PMTUMinSegments:        10,
	}
}

func (c NetworkConfig) withDefaults() NetworkConfig {
	defaults.Fill(&c, DefaultNetworkConfig())
	return c
}
