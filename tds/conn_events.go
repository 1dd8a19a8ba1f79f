package tds

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// event reports e on this connection.
func (c *Conn) event(e health.Event) {
	if c.ctx.Reporter == nil {
		return
	}
	c.ctx.Event(e)
}

// limitedEvent reports e unless its kind reached Limits.MaxEvents.
func (c *Conn) limitedEvent(e health.Event) {
	if c.evCount == nil {
		c.evCount = map[health.Kind]int{}
	}
	c.evCount[e.Kind]++
	if c.evCount[e.Kind] > c.lim.MaxEvents {
		return
	}
	c.event(e)
}

// latencySplit reports, per connection, network round trip vs server time
// vs client think time (C15).
func (c *Conn) latencySplit(at tcpstate.Position) {
	if len(c.serverTimes) == 0 {
		return
	}
	st := append([]time.Duration(nil), c.serverTimes...)
	sort.Slice(st, func(i, j int) bool { return st[i] < st[j] })
	med, lo, hi := st[len(st)/2], st[0], st[len(st)-1]
	var think time.Duration
	if len(c.thinkTimes) > 0 {
		tt := append([]time.Duration(nil), c.thinkTimes...)
		sort.Slice(tt, func(i, j int) bool { return tt[i] < tt[j] })
		think = tt[len(tt)/2]
	}
	rtt := c.ctx.RTT
	ev := map[string]any{"requests": len(st), "server_ms_median": millis(med), "server_ms_min": millis(lo),
		"server_ms_max": millis(hi), "rtt_ms": millis(rtt), "think_ms_median": millis(think)}
	for k, n := range c.evCount {
		if n > c.lim.MaxEvents {
			ev["suppressed_"+strings.ReplaceAll(string(k), ".", "_")] = n - c.lim.MaxEvents
		}
	}
	var msg string
	switch {
	case rtt > 0 && med >= rtt/2:
		// Seen near the client: each server time includes a round trip.
		net := rtt
		slo, shi := max(0, lo-rtt), max(0, hi-rtt)
		ev["vantage"] = "client"
		ev["network_ms"] = millis(net)
		ev["server_est_ms_min"], ev["server_est_ms_max"] = millis(slo), millis(shi)
		msg = fmt.Sprintf("requests wait ~%.0f ms of network round trip (handshake RTT %.1f ms); the server answers in %.1f–%.1f ms (response time %.1f–%.1f ms minus the RTT) over %d requests",
			rtt.Seconds()*1000, rtt.Seconds()*1000, slo.Seconds()*1000, shi.Seconds()*1000, lo.Seconds()*1000, hi.Seconds()*1000, len(st))
	case rtt > 0:
		ev["vantage"] = "server"
		ev["network_ms"] = millis(rtt)
		msg = fmt.Sprintf("the server answers in %.1f–%.1f ms; the client's next request comes a median %.1f ms after each response, with a %.1f ms network round trip (handshake): the delay is in the network or the client, not the server (%d requests)",
			lo.Seconds()*1000, hi.Seconds()*1000, think.Seconds()*1000, rtt.Seconds()*1000, len(st))
	default:
		ev["vantage"] = "unknown"
		msg = fmt.Sprintf("server time %.1f–%.1f ms (median %.1f ms) over %d requests; client think time median %.1f ms; handshake RTT unknown",
			lo.Seconds()*1000, hi.Seconds()*1000, med.Seconds()*1000, len(st), think.Seconds()*1000)
	}
	frame := int64(0)
	if len(c.stats.Requests) > 0 {
		frame = c.stats.Requests[0].Frame
	}
	if frame == 0 {
		frame = at.Frame
	}
	c.event(health.Event{Kind: health.TDSLatencySplit, Severity: health.Info, Time: at.Time, Frame: frame, Message: msg, Evidence: ev})
}

// millis converts a duration to milliseconds with microsecond precision.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// emitMalformed reports the first unparseable unit or message of a
// direction: tds.malformed, a notice about nettrace's coverage
// (health.DefaultSeverity), not a claim about the peer.
func (c *Conn) emitMalformed(dir tcpstate.Dir, at tcpstate.Position, err error) {
	if c.malformed[dir] {
		return
	}
	c.malformed[dir] = true
	c.event(health.Event{Kind: health.TDSMalformed, Severity: health.DefaultSeverity(health.TDSMalformed), Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("unparseable TDS from the %s: %v", dir, err),
		Evidence: map[string]any{"error": err.Error(), "dir": dir.String()}})
}

// decoderName names this package's decoder in decode.* events.
const decoderName = "tds"

// resyncEvent reports decode.resync (Info): dir skipped bytes the capture
// made undecodable — a gap, or a capture that started inside a packet —
// and decodes from the packet at at.
func (c *Conn) resyncEvent(dir tcpstate.Dir, skipped int, reason resyncReason, at tcpstate.Position) {
	c.limitedEvent(health.Event{Kind: health.DecodeResync, Severity: health.DefaultSeverity(health.DecodeResync), Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("TDS from the %s: skipped %d bytes (%s) to the next packet header, and decoded from there", dir, skipped, describeResync(reason)),
		Evidence: map[string]any{"decoder": decoderName, "skipped": skipped, "dir": dir.String(), "reason": reason.Evidence()}})
}

// gaveUpEvent reports decode.gave_up (Notice): nettrace stopped decoding
// dir (or the whole connection), a notice about its coverage.
func (c *Conn) gaveUpEvent(dir tcpstate.Dir, reason string, bytes int64, at tcpstate.Position) {
	c.event(health.Event{Kind: health.DecodeGaveUp, Severity: health.DefaultSeverity(health.DecodeGaveUp), Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("TDS decoding of the %s's bytes stopped: %s", dir, reason),
		Evidence: map[string]any{"decoder": decoderName, "reason": reason, "dir": dir.String(), "bytes": bytes}})
}
