package rpc

import (
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// seg is one delivery to a StreamHandler: data, or a gap of gap bytes.
type seg struct {
	dir  tcpstate.Dir
	data []byte
	gap  int
	pos  tcpstate.Position
}

// tstream is one TCP connection numbered like tshark's tcp.stream.
type tstream struct {
	id             int
	client, server netip.AddrPort
	segs           []seg
	packets        [2]int64 // TCP packets per direction, as tcpstate.Visibility counts them
}

type pairKey struct{ a, b netip.AddrPort }

// readTCP splits a pcap into TCP connections with gaps marked (testcap's
// ReadStreams drops everything after a gap; the Suricata gap capture needs
// them). Retransmitted bytes are dropped; reordering is not handled.
func readTCP(t testing.TB, path string) []*tstream {
	t.Helper()
	pkts, err := testcap.ReadPackets(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	type state struct {
		s       *tstream
		next    [2]uint32
		started [2]bool
		data    bool
	}
	conns := map[pairKey]*state{}
	var out []*tstream
	for _, p := range pkts {
		if p.TCP == nil {
			continue
		}
		k := pairKey{p.Src, p.Dst}
		if p.Dst.Addr().Less(p.Src.Addr()) || (p.Dst.Addr() == p.Src.Addr() && p.Dst.Port() < p.Src.Port()) {
			k = pairKey{p.Dst, p.Src}
		}
		st := conns[k]
		if st != nil && p.TCP.SYN && !p.TCP.ACK && st.data {
			st = nil
		}
		if st == nil {
			client, server := p.Src, p.Dst
			switch {
			case p.TCP.SYN && p.TCP.ACK:
				client, server = p.Dst, p.Src
			case !p.TCP.SYN && p.Src.Port() < p.Dst.Port():
				client, server = p.Dst, p.Src
			}
			st = &state{s: &tstream{id: len(out), client: client, server: server}}
			conns[k] = st
			out = append(out, st.s)
		}
		d := tcpstate.ClientToServer
		if p.Src != st.s.client {
			d = tcpstate.ServerToClient
		}
		st.s.packets[d]++
		seq := p.TCP.Seq
		if p.TCP.SYN {
			st.next[d], st.started[d] = seq+1, true
			continue
		}
		if !st.started[d] {
			st.next[d], st.started[d] = seq, true
		}
		data := p.Payload
		if len(data) == 0 {
			continue
		}
		pos := tcpstate.Position{Frame: p.Frame, Time: p.Time}
		off := int32(st.next[d] - seq)
		if off < 0 {
			st.s.segs = append(st.s.segs, seg{dir: d, gap: int(-off), pos: pos})
			off = 0
		}
		if int(off) >= len(data) {
			continue
		}
		data = data[off:]
		st.next[d] = seq + uint32(off) + uint32(len(data))
		st.data = true
		st.s.segs = append(st.s.segs, seg{dir: d, data: append([]byte(nil), data...), pos: pos})
	}
	return out
}

// chunking says how a test cuts the stream before feeding it.
type chunking int

const (
	wholeSegments chunking = iota
	byteAtATime
	randomSplits
)

func (c chunking) String() string {
	return [...]string{"segments", "bytes", "random"}[c]
}

// feed delivers segs to h under the chunking mode; r seeds random splits.
func feed(h tcpstate.StreamHandler, segs []seg, mode chunking, r *rand.Rand) {
	for _, s := range segs {
		if s.gap > 0 {
			h.Gap(s.dir, s.gap, s.pos)
		}
		if len(s.data) == 0 {
			continue
		}
		switch mode {
		case wholeSegments:
			h.Feed(s.dir, s.data, s.pos)
		case byteAtATime:
			for i := range s.data {
				h.Feed(s.dir, s.data[i:i+1], s.pos)
			}
		case randomSplits:
			b := s.data
			for len(b) > 0 {
				n := 1 + r.Intn(len(b))
				h.Feed(s.dir, b[:n], s.pos)
				b = b[n:]
			}
		}
	}
}

// run feeds every stream of a capture to its own Conn and returns what was
// reported. cfg.Learned may be set by the caller.
func runStreams(streams []*tstream, cfg Config, mode chunking, seed int64) *health.Collector {
	col := &health.Collector{KeepMessages: true}
	r := rand.New(rand.NewSource(seed))
	for _, s := range streams {
		ctx := &tcpstate.StreamContext{ID: uint64(s.id), Client: s.client, Server: s.server,
			Flow: s.client.String() + "->" + s.server.String() + "/tcp", Reporter: col}
		c := NewConn(ctx, cfg)
		feed(c, s.segs, mode, r)
		last := tcpstate.Position{}
		if n := len(s.segs); n > 0 {
			last = s.segs[n-1].pos
		}
		ctx.Visibility.Packets = s.packets // as the tracker sets it before Close
		c.Close(tcpstate.CloseEndOfCapture, last)
	}
	return col
}

// testdataPath returns testdata/rpc/name from the repository root.
func testdataPath(name string) string { return filepath.Join("..", "testdata", "rpc", name) }

// sharedPath returns ../shared/<rel> relative to the repository root, or
// skips the test when the shared corpus is absent.
func sharedPath(t testing.TB, rel string) string {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus not present: %s", p)
	}
	return p
}

// dceStreams keeps the streams whose first bytes in either direction Detect
// as DCE/RPC, as the Analyzer's routing would.
func dceStreams(streams []*tstream) []*tstream {
	var out []*tstream
	for _, s := range streams {
		var seen [2]bool
		for _, sg := range s.segs {
			if sg.gap > 0 || len(sg.data) == 0 || seen[sg.dir] {
				continue
			}
			seen[sg.dir] = true
			if Detect(sg.dir, sg.data) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
