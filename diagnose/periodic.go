package diagnose

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
)

// Periodic attempts (casebook C17): new TCP connections (first SYN of a
// tuple) or UDP datagrams after a silence of UDPAttemptGap, from one source
// address to one destination address and port, whose intervals are stable.
// Blocked attempts count too: the diagnosis is on when attempts start, not
// on whether they succeed.

type periodKey struct {
	src   netip.Addr
	dst   netip.AddrPort
	proto uint8
}

// periodRing is the number of recent attempts kept per key.
const periodRing = 32

type periodAgg struct {
	// ring holds the last periodRing attempts: appended to until full,
	// then overwritten in turn (a key seen once costs one entry, not
	// periodRing).
	ring       []attemptObs
	n          int // attempts in total
	last       time.Time
	unanswered int // TCP attempts never answered by a SYN-ACK
	firstFrame int64
	first      time.Time
}

// attemptObs is one attempt: its time (UnixNano) and frame.
type attemptObs struct{ at, frame int64 }

// attempt records a new attempt from src to dst and returns its aggregate
// (nil when the table is full).
func (d *Network) attempt(src netip.Addr, dst netip.AddrPort, proto uint8, p *packet) *periodAgg {
	k := periodKey{src: src, dst: dst, proto: proto}
	a := d.periodic[k]
	if a == nil {
		if len(d.periodic) >= d.cfg.MaxKeys {
			d.markCapped("periodic")
			return nil
		}
		a = &periodAgg{firstFrame: p.Frame, first: p.Time}
		d.periodic[k] = a
	}
	o := attemptObs{at: p.Time.UnixNano(), frame: p.Frame}
	if len(a.ring) < periodRing {
		a.ring = append(a.ring, o) // at index a.n % periodRing, as a.n < periodRing
	} else {
		a.ring[a.n%periodRing] = o
	}
	a.n++
	a.last = p.Time
	return a
}

// udpAttempt counts a datagram as a new attempt when its destination was
// silent for UDPAttemptGap.
func (d *Network) udpAttempt(p *packet) {
	if noReplyTracking(p.dst) {
		return
	}
	k := periodKey{src: p.src.Addr(), dst: p.dst, proto: protoUDP}
	if a := d.periodic[k]; a != nil {
		if p.Time.Sub(a.last) < d.cfg.UDPAttemptGap {
			if p.Time.After(a.last) {
				a.last = p.Time
			}
			return
		}
	}
	d.attempt(k.src, k.dst, protoUDP, p)
}

// period returns the median interval of the kept attempts and the largest
// deviation from it, and whether every interval is within the jitter bound.
func (a *periodAgg) period(jitterPct int) (median, dev time.Duration, ok bool) {
	kept := min(a.n, periodRing)
	if kept < 3 {
		return 0, 0, false
	}
	start := a.n - kept
	var ivs [periodRing]time.Duration
	for i := 1; i < kept; i++ {
		prev := a.ring[(start+i-1)%periodRing].at
		cur := a.ring[(start+i)%periodRing].at
		ivs[i-1] = time.Duration(cur - prev)
	}
	s := ivs[:kept-1]
	sorted := make([]time.Duration, len(s))
	copy(sorted, s)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	median = sorted[len(sorted)/2]
	bound := median * time.Duration(jitterPct) / 100
	if bound < 50*time.Millisecond {
		bound = 50 * time.Millisecond
	}
	for _, iv := range s {
		dv := iv - median
		if dv < 0 {
			dv = -dv
		}
		dev = max(dev, dv)
	}
	return median, dev, dev <= bound
}

func (d *Network) periodicFindings() []health.Event {
	keys := make([]periodKey, 0, len(d.periodic))
	for k, a := range d.periodic {
		if a.n >= d.cfg.PeriodicMinCount {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool { return d.periodic[keys[i]].firstFrame < d.periodic[keys[j]].firstFrame })
	var out []health.Event
	for _, k := range keys {
		a := d.periodic[k]
		median, dev, ok := a.period(d.cfg.PeriodicJitterPct)
		if !ok || median < d.cfg.PeriodicMinPeriod {
			continue
		}
		kept := min(a.n, periodRing)
		frames := make([]int64, 0, min(kept, d.cfg.MaxFrames))
		for i := a.n - kept; i < a.n && len(frames) < d.cfg.MaxFrames; i++ {
			frames = append(frames, a.ring[i%periodRing].frame)
		}
		what := "connection attempts"
		if k.proto == protoUDP {
			what = "datagram bursts"
		}
		msg := fmt.Sprintf("%s opens %s to %s/%s every %.1f s (%d times, jitter %.0f ms)",
			k.src, what, k.dst, netProtoName(k.proto), median.Seconds(), a.n, float64(dev.Microseconds())/1000)
		if a.unanswered > 0 {
			msg += fmt.Sprintf("; %d of them never answered (blocked)", a.unanswered)
		}
		out = append(out, health.Event{
			Kind: health.NetPeriodic, Severity: health.Info, Time: a.first, Frame: a.firstFrame,
			Flow:    k.src.String() + "->" + k.dst.String() + "/" + netProtoName(k.proto),
			Message: msg,
			Evidence: map[string]any{
				"period_s": netRound2(median.Seconds()), "count": a.n, "jitter_ms": float64(dev.Microseconds()) / 1000,
				"frames": frames, "unanswered": a.unanswered, "source": k.src.String(), "destination": k.dst.String(),
			},
		})
	}
	return netCapEvents(out, d.cfg.MaxEventsPerKind)
}
