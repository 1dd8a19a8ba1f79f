package htmlreport

import (
	"sort"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/tcpstate"
)

// dataDir returns the direction that carried the most payload: the one a
// time-sequence graph follows.
func dataDir(s *nettrace.ConnSeries) tcpstate.Dir {
	var bytes [2]int64
	for _, smp := range s.Samples {
		bytes[smp.Dir&1] += int64(smp.Len)
	}
	if bytes[1] > bytes[0] {
		return tcpstate.ServerToClient
	}
	return tcpstate.ClientToServer
}

// point is one (time, value) pair of a graph.
type point struct {
	t float64 // seconds since the series' start
	v float64
}

// seconds converts a sample time to the graphs' x unit.
func seconds(d time.Duration) float64 { return d.Seconds() }

// rttPoints returns one round-trip sample per ACK of the receiver that
// newly covers a data segment of dir sent once (Karn's rule: a
// retransmitted segment gives no sample): ACK time minus the time of the
// last segment it covers, in milliseconds — tshark's tcp.analysis.ack_rtt.
func rttPoints(s *nettrace.ConnSeries, dir tcpstate.Dir) []point {
	type sent struct {
		end    uint32
		at     time.Duration
		resent bool
	}
	var queue []sent
	var out []point
	for _, smp := range s.Samples {
		switch {
		case smp.Dir == dir && smp.Len > 0:
			queue = append(queue, sent{end: smp.Seq + smp.Len, at: smp.At, resent: smp.Flags&nettrace.SampleResent != 0})
		case smp.Dir != dir && smp.Flags&nettrace.SampleACK != 0 && len(queue) > 0:
			n := 0
			for n < len(queue) && int32(smp.Ack-queue[n].end) >= 0 {
				n++
			}
			if n == 0 {
				continue
			}
			if last := queue[n-1]; !last.resent {
				out = append(out, point{seconds(smp.At), (smp.At - last.at).Seconds() * 1000})
			}
			queue = queue[n:]
		}
	}
	return out
}

// throughputPoints returns, per direction, the bytes delivered per second
// in about buckets intervals, from the advance of the highest sequence
// number (so that thinned series and retransmissions do not distort it),
// in bits per second.
func throughputPoints(s *nettrace.ConnSeries, buckets int) [2][]point {
	var out [2][]point
	if len(s.Samples) < 2 {
		return out
	}
	span := s.Samples[len(s.Samples)-1].At
	if span <= 0 {
		return out
	}
	width := max(span/time.Duration(buckets), time.Microsecond)
	for d := range 2 {
		var high uint32
		var have bool
		bucketBytes := map[int64]int64{}
		for _, smp := range s.Samples {
			if int(smp.Dir) != d || smp.Len == 0 {
				continue
			}
			end := smp.Seq + smp.Len
			if !have {
				high, have = smp.Seq, true
			}
			if adv := int32(end - high); adv > 0 {
				bucketBytes[int64(smp.At/width)] += int64(adv)
				high = end
			}
		}
		if !have {
			continue
		}
		n := int64(span / width)
		for b := int64(0); b <= n; b++ {
			out[d] = append(out[d], point{seconds(time.Duration(b)*width + width/2), float64(bucketBytes[b]*8) / width.Seconds()})
		}
	}
	return out
}

// turn is one request/response exchange: client data, then the server's
// first answering byte.
type turn struct {
	at      float64 // request's last byte, seconds
	network float64 // ms of the response time spent on the network
	server  float64 // ms spent by the server
}

// latencyTurns splits each request/response turn of a connection into
// network and server time. The network part is the round trip between the
// capture point and the server, SYN → SYN-ACK as the capture saw it
// (ConnSeries.ServerRTT) — the smallest ACK delay of the server for client
// data when the handshake was not captured. Near the client it is the whole
// path; near the server it is about zero, and the response time is then
// server time alone, as it should be.
func latencyTurns(s *nettrace.ConnSeries) []turn {
	network := s.ServerRTT
	if network <= 0 {
		if r := rttPoints(s, tcpstate.ClientToServer); len(r) > 0 {
			m := r[0].v
			for _, p := range r {
				m = min(m, p.v)
			}
			network = time.Duration(m * float64(time.Millisecond))
		}
	}
	var out []turn
	var lastReq time.Duration
	waiting := false
	for _, smp := range s.Samples {
		if smp.Len == 0 || smp.Flags&nettrace.SampleResent != 0 {
			continue
		}
		switch {
		case smp.Dir == tcpstate.ClientToServer:
			lastReq, waiting = smp.At, true
		case waiting:
			waiting = false
			total := smp.At - lastReq
			net := min(network, total)
			out = append(out, turn{at: seconds(lastReq), network: ms(net), server: ms(total - net)})
		}
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// requestResponse reports whether a protocol exchanges requests and
// responses, so that a latency timeline means something.
func requestResponse(proto string) bool {
	switch proto {
	case nettrace.ProtoHTTP, nettrace.ProtoSMB, nettrace.ProtoTDS, nettrace.ProtoDCERPC, nettrace.ProtoTLS:
		return true
	}
	return false
}

// sacksOf returns the SACK blocks carried by the samples of dir.
func sacksOf(s *nettrace.ConnSeries, dir tcpstate.Dir) []nettrace.SACKBlock {
	var out []nettrace.SACKBlock
	for _, b := range s.SACK {
		if int(b.Sample) < len(s.Samples) && s.Samples[b.Sample].Dir == dir {
			out = append(out, b)
		}
	}
	return out
}

// percentile returns the p-th percentile of vs (0 for none).
func percentile(vs []float64, p float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	c := append([]float64(nil), vs...)
	sort.Float64s(c)
	return c[min(int(p*float64(len(c))), len(c)-1)]
}
