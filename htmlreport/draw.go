package htmlreport

import (
	"fmt"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/tcpstate"
)

// Graph kinds, as the data-graph attribute of each SVG names them.
const (
	GraphSequence   = "tcp-sequence"
	GraphRTT        = "rtt"
	GraphThroughput = "throughput"
	GraphLatency    = "latency"
)

const timeAxis = "time since the connection's first packet (s)"

// sequenceGraph is the Stevens time-sequence graph of the data direction
// dir: each data segment a vertical bar from its first to its last byte,
// retransmissions in red, segments after bytes the capture missed marked,
// the receiver's ACK line, its window limit (ACK + advertised window) and
// its SACK blocks.
func sequenceGraph(s *nettrace.ConnSeries, dir tcpstate.Dir) string {
	var data, resent [][3]float64
	var gaps, ctl, ack, win []point
	var tmax, ymax float64
	for _, smp := range s.Samples {
		t := seconds(smp.At)
		tmax = max(tmax, t)
		if smp.Dir == dir {
			top := float64(smp.Seq) + float64(smp.Len)
			ymax = max(ymax, top)
			switch {
			case smp.Len > 0 && smp.Flags&nettrace.SampleResent != 0:
				resent = append(resent, [3]float64{t, float64(smp.Seq), top})
			case smp.Len > 0:
				data = append(data, [3]float64{t, float64(smp.Seq), top})
			}
			if smp.Flags&nettrace.SampleGap != 0 {
				gaps = append(gaps, point{t, float64(smp.Seq)})
			}
			if smp.Flags&(nettrace.SampleSYN|nettrace.SampleFIN|nettrace.SampleRST) != 0 {
				ctl = append(ctl, point{t, float64(smp.Seq)})
			}
			continue
		}
		if smp.Flags&nettrace.SampleACK == 0 {
			continue
		}
		ack = append(ack, point{t, float64(smp.Ack)})
		win = append(win, point{t, float64(smp.Ack) + float64(smp.Win)})
	}
	for _, p := range ack {
		ymax = max(ymax, p.v)
	}
	// The window line can be far above the data: show it up to twice the
	// data's height so the segments stay readable.
	ylim := ymax * 1.05
	for _, p := range win {
		ylim = max(ylim, min(p.v, 2*max(ymax, 1)))
	}
	sack := sacksOf(s, dir^1)
	c := newChart(GraphSequence, fmt.Sprintf("time-sequence graph of %s, %s data", s.Flow, dir), timeAxis,
		"relative sequence number (bytes)", 0, max(tmax, 0.001), 0, max(ylim, 1))
	c.yFormat = shortNumber
	c.path("win", c.steps(clip(win, c.y1), true))
	c.path("ack", c.steps(ack, true))
	c.path("data", c.segments(data))
	var sackBars [][3]float64
	for _, b := range sack {
		smp := s.Samples[b.Sample]
		sackBars = append(sackBars, [3]float64{seconds(smp.At), float64(b.Left), float64(b.Right)})
	}
	c.path("sack", c.segments(sackBars))
	c.path("resent", c.segments(resent))
	c.path("gap", c.markers(gaps))
	c.path("ctl", c.markers(ctl))
	c.addLegend("data", "data segment", false)
	c.addLegend("resent", "retransmission", false)
	c.addLegend("gap", "after missing bytes (loss)", true)
	c.addLegend("ack", "ACK", false)
	c.addLegend("win", "receive window", false)
	c.addLegend("sack", "SACK block", false)
	c.addLegend("ctl", "SYN/FIN/RST", true)
	return c.svg()
}

// clip caps the points' values at top.
func clip(pts []point, top float64) []point {
	out := make([]point, len(pts))
	for i, p := range pts {
		out[i] = point{p.t, min(p.v, top)}
	}
	return out
}

// rttGraph plots the ACK round-trip samples of both data directions.
func rttGraph(s *nettrace.ConnSeries) string {
	var rtt [2][]point
	var tmax, ymax float64
	for d := range 2 {
		rtt[d] = rttPoints(s, tcpstate.Dir(d))
		for _, p := range rtt[d] {
			ymax = max(ymax, p.v)
		}
	}
	if n := len(s.Samples); n > 0 {
		tmax = seconds(s.Samples[n-1].At)
	}
	c := newChart(GraphRTT, "round-trip time of "+s.Flow, timeAxis, "RTT (ms)", 0, max(tmax, 0.001), 0, max(ymax*1.1, 1))
	c.path("rtt0", c.markers(rtt[0]))
	c.path("rtt1", c.markers(rtt[1]))
	c.addLegend("rtt0", "client data → server ACK", true)
	c.addLegend("rtt1", "server data → client ACK", true)
	if s.HandshakeRTT > 0 {
		h := ms(s.HandshakeRTT)
		c.path("hs", c.steps([]point{{0, h}, {c.x1, h}}, false))
		c.addLegend("hs", fmt.Sprintf("handshake RTT %.1f ms", h), false)
	}
	return c.svg()
}

// throughputGraph plots the bytes each direction delivered per second.
func throughputGraph(s *nettrace.ConnSeries) string {
	tp := throughputPoints(s, 60)
	var tmax, ymax float64
	for d := range 2 {
		for _, p := range tp[d] {
			tmax, ymax = max(tmax, p.t), max(ymax, p.v)
		}
	}
	c := newChart(GraphThroughput, "throughput of "+s.Flow, timeAxis, "throughput (bit/s)", 0, max(tmax, 0.001), 0, max(ymax*1.1, 1))
	c.path("tp0", c.steps(tp[0], false))
	c.path("tp1", c.steps(tp[1], false))
	c.addLegend("tp0", "client → server", false)
	c.addLegend("tp1", "server → client", false)
	return c.svg()
}

// latencyGraph is the latency timeline of a request/response connection:
// per turn, the response time split into network round trip and server
// time, stacked.
func latencyGraph(s *nettrace.ConnSeries, turns []turn) string {
	var tmax, ymax float64
	for _, t := range turns {
		tmax, ymax = max(tmax, t.at), max(ymax, t.network+t.server)
	}
	c := newChart(GraphLatency, "latency timeline of "+s.Flow, "time of the request since the connection's first packet (s)",
		"response time (ms)", 0, max(tmax*1.02, 0.001), 0, max(ymax*1.1, 1))
	var net, srv [][3]float64
	for _, t := range turns {
		net = append(net, [3]float64{t.at, 0, t.network})
		srv = append(srv, [3]float64{t.at, t.network, t.network + t.server})
	}
	w := max(2, min(12, (chartW-marginL-marginR)/float64(2*len(turns)+1)))
	c.path("net", c.bars(net, w))
	c.path("srv", c.bars(srv, w))
	c.addLegend("net", "network round trip", true)
	c.addLegend("srv", "server time", true)
	return c.svg()
}
