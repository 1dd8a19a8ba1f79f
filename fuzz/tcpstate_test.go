package fuzz

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// tcpSegments turns arbitrary bytes into TCP segments on a few tuples: each
// record is 7 bytes (flags, tuple and direction, sequence and ack offsets,
// time step, payload length; bit 7 of the length marks a frame cut by the
// snapshot length) followed by the payload. Sequence numbers start just
// below 2^32 so that wrap-around is exercised.
func tcpSegments(data []byte) []layers.Packet {
	addrs := [...]netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"),
		netip.MustParseAddrPort("10.0.0.3:40001"), netip.MustParseAddrPort("[fd00::1]:443"),
	}
	var out []layers.Packet
	now := time.Unix(1700000000, 0)
	for len(data) >= 7 && len(out) < 4096 {
		r := data[:7]
		data = data[7:]
		n := min(int(r[6]&0x7f), len(data))
		payload := data[:n]
		data = data[n:]
		a, b := addrs[r[1]&3], addrs[(r[1]>>2)&3]
		if r[1]&0x10 != 0 {
			a, b = b, a
		}
		now = now.Add(time.Duration(r[5]) * time.Second / 4)
		base := uint32(1<<32 - 300)
		p := layers.Packet{
			Frame: int64(len(out) + 1), Time: now, Network: 4, Src: a.Addr(), Dst: b.Addr(), IPProto: layers.ProtoTCP,
			Transport: layers.TransportTCP, Payload: payload, PayloadLen: n,
			TCP: layers.TCPHeader{SrcPort: a.Port(), DstPort: b.Port(), Flags: layers.TCPFlags(r[0]) & 0x1f,
				Seq: base + uint32(r[2])<<3 + uint32(r[1]>>5), Ack: base + uint32(r[3])<<3 + uint32(r[4]&7), WindowScale: -1},
		}
		if r[6]&0x80 != 0 {
			p.PayloadLen += int(r[5])
		}
		out = append(out, p)
	}
	return out
}

// streamChecker enforces the StreamHandler call order: Feed/Gap, then one Close.
type streamChecker struct {
	t      *testing.T
	closed bool
}

func (c *streamChecker) Feed(d tcpstate.Dir, b []byte, at tcpstate.Position) {
	if c.closed || len(b) == 0 {
		c.t.Fatalf("Feed of %d bytes at frame %d after close=%v", len(b), at.Frame, c.closed)
	}
}

func (c *streamChecker) Gap(d tcpstate.Dir, n int, at tcpstate.Position) {
	if c.closed || n <= 0 {
		c.t.Fatalf("Gap(%d) at frame %d after close=%v", n, at.Frame, c.closed)
	}
}

func (c *streamChecker) Close(tcpstate.CloseReason, tcpstate.Position) {
	if c.closed {
		c.t.Fatal("Close called twice")
	}
	c.closed = true
}

// FuzzTracker feeds arbitrary segment sequences to a tcpstate.Tracker with
// small limits: it must not panic, must keep within MaxConns, must close
// every handler exactly once and emit one flow.summary per connection.
func FuzzTracker(f *testing.F) {
	f.Add([]byte{
		0x02, 0x04, 0, 0, 0, 1, 0, // SYN
		0x12, 0x14, 0, 0, 0, 1, 0, // SYN-ACK
		0x10, 0x04, 0, 0, 1, 1, 3, 'a', 'b', 'c',
		0x18, 0x04, 2, 0, 1, 1, 3, 'x', 'y', 'z', // beyond a hole
		0x01, 0x14, 0, 4, 1, 1, 0, // FIN
		0x04, 0x04, 9, 9, 9, 200, 0, // RST
	})
	f.Add([]byte{0x18, 0x04, 200, 3, 3, 9, 0x85, 1, 2, 3, 4, 5, 0x02, 0x0d, 1, 1, 1, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		col := &health.Collector{}
		var hs []*streamChecker
		tr := tcpstate.NewTracker(tcpstate.Config{MaxConns: 3, MaxBufferPerConn: 512, MaxBufferTotal: 1024,
			IdleTimeout: 10 * time.Second, HalfOpenTimeout: 5 * time.Second, ClosedLinger: 5 * time.Second}, col,
			func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
				h := &streamChecker{t: t}
				hs = append(hs, h)
				return h
			})
		pkts := tcpSegments(data)
		for i := range pkts {
			tr.Packet(&pkts[i])
			if tr.Active() > 3 {
				t.Fatalf("frame %d: %d active connections, cap 3", pkts[i].Frame, tr.Active())
			}
		}
		tr.Close(tcpstate.Position{Frame: int64(len(pkts))})
		if tr.Active() != 0 {
			t.Fatalf("%d active after Close", tr.Active())
		}
		for i, h := range hs {
			if !h.closed {
				t.Fatalf("handler %d never closed", i)
			}
		}
		if got := len(col.OfKind(health.FlowSummary)); got != len(hs) {
			t.Fatalf("%d summaries for %d connections", got, len(hs))
		}
	})
}
