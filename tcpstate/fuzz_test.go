package tcpstate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// fuzzSegments turns arbitrary bytes into a sequence of TCP segments on a
// few tuples: each record is 7 bytes (flags, tuple and direction, sequence
// and acknowledgment offsets, time step, payload length) followed by that
// many payload bytes. Sequence numbers start near 2^32 so that wrap-around
// is exercised.
func fuzzSegments(data []byte) []layers.Packet {
	addrs := [...]netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"),
		netip.MustParseAddrPort("10.0.0.3:40001"), netip.MustParseAddrPort("[fd00::1]:443"),
	}
	var out []layers.Packet
	now := time.Unix(1700000000, 0)
	var frame int64
	for len(data) >= 7 && len(out) < 4096 {
		r := data[:7]
		data = data[7:]
		n := int(r[6] & 0x7f)
		if n > len(data) {
			n = len(data)
		}
		payload := data[:n]
		data = data[n:]
		a, b := addrs[r[1]&3], addrs[(r[1]>>2)&3]
		if r[1]&0x10 != 0 {
			a, b = b, a
		}
		frame++
		now = now.Add(time.Duration(r[5]) * time.Second / 8)
		base := uint32(1<<32 - 300)
		p := layers.Packet{
			Frame: frame, Time: now, Network: 4, Src: a.Addr(), Dst: b.Addr(), IPProto: 6,
			Transport: layers.TransportTCP, Payload: payload, PayloadLen: n,
		}
		if r[6]&0x80 != 0 {
			p.PayloadLen = n + int(r[5]) // snapshot-length cut
		}
		p.TCP = layers.TCPHeader{
			SrcPort: a.Port(), DstPort: b.Port(), Flags: layers.TCPFlags(r[0]) & 0x1f,
			Seq: base + uint32(r[2])<<3 + uint32(r[1]>>5), Ack: base + uint32(r[3])<<3 + uint32(r[4]&7),
			WindowScale: -1,
		}
		out = append(out, p)
	}
	return out
}

// invariantHandler checks the StreamHandler call contract.
type invariantHandler struct {
	t      *testing.T
	closed bool
	bytes  [2]int
}

func (h *invariantHandler) Feed(d Dir, b []byte, at Position) {
	if h.closed || len(b) == 0 || d > 1 {
		h.t.Fatalf("Feed(%v, %d bytes) after close=%v", d, len(b), h.closed)
	}
	h.bytes[d] += len(b)
}

func (h *invariantHandler) Gap(d Dir, n int, at Position) {
	if h.closed || n <= 0 || d > 1 {
		h.t.Fatalf("Gap(%v, %d) after close=%v", d, n, h.closed)
	}
}

func (h *invariantHandler) Close(CloseReason, Position) {
	if h.closed {
		h.t.Fatal("Close twice")
	}
	h.closed = true
}

func FuzzTracker(f *testing.F) {
	f.Add([]byte{
		0x02, 0x04, 0, 0, 0, 1, 0, // SYN client→server
		0x12, 0x14, 0, 0, 0, 1, 0, // SYN-ACK
		0x10, 0x04, 0, 0, 1, 1, 3, 'a', 'b', 'c',
		0x18, 0x04, 2, 0, 1, 1, 3, 'x', 'y', 'z', // out of order
		0x01, 0x14, 0, 4, 1, 1, 0, // FIN
		0x04, 0x04, 9, 9, 9, 200, 0, // RST
	})
	f.Add([]byte{0x18, 0x04, 200, 3, 3, 9, 0x85, 1, 2, 3, 4, 5, 0x02, 0x0d, 1, 1, 1, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var hs []*invariantHandler
		tr := NewTracker(Config{MaxConns: 3, MaxBufferPerConn: 512, MaxBufferTotal: 1024, MaxRetainPerConn: 4 << 10, MaxRetainTotal: 8 << 10, IdleTimeout: 10 * time.Second}, &health.Collector{},
			func(ctx *StreamContext) StreamHandler {
				if ctx.Flow == "" || ctx.Reporter == nil {
					t.Fatal("incomplete context")
				}
				h := &invariantHandler{t: t}
				hs = append(hs, h)
				return h
			})
		pkts := fuzzSegments(data)
		for i := range pkts {
			tr.Packet(&pkts[i])
			if tr.Active() > 3 || tr.buffered > 1024 || tr.buffered < 0 || tr.retained > 8<<10 || tr.retained < 0 {
				t.Fatalf("frame %d: %d active, %d buffered, %d retained", pkts[i].Frame, tr.Active(), tr.buffered, tr.retained)
			}
		}
		tr.Close(Position{Frame: int64(len(pkts))})
		if tr.Active() != 0 || tr.buffered != 0 || tr.retained != 0 {
			t.Fatalf("after Close: %d active, %d buffered, %d retained", tr.Active(), tr.buffered, tr.retained)
		}
		for i, h := range hs {
			if !h.closed {
				t.Fatalf("handler %d never closed", i)
			}
		}
	})
}
