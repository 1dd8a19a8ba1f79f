package tds

import (
	"encoding/hex"
	"encoding/json"
	"math/rand"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// mustHex decodes hex with optional spaces and newlines.
func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex: %v", err)
	}
	return b
}

// testdata returns the path of a file in testdata/tds.
func testdata(name string) string { return filepath.Join("..", "testdata", "tds", name) }

// sharedDir returns ../shared (relative to the repository root) or skips.
func sharedDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	d := filepath.Join(filepath.Dir(file), "..", "..", "shared")
	if _, err := os.Stat(d); err != nil {
		t.Skip("../shared not present")
	}
	return d
}

// chunker splits one segment's data into the pieces fed to the Conn.
type chunker func(data []byte) [][]byte

func whole(data []byte) [][]byte { return [][]byte{data} }

func bytewise(data []byte) [][]byte {
	out := make([][]byte, len(data))
	for i := range data {
		out[i] = data[i : i+1]
	}
	return out
}

func randomSplit(seed int64) chunker {
	r := rand.New(rand.NewSource(seed))
	return func(data []byte) [][]byte {
		var out [][]byte
		for len(data) > 0 {
			n := 1 + r.Intn(len(data))
			out = append(out, data[:n])
			data = data[n:]
		}
		return out
	}
}

// isServerPort reports the SQL Server ports of the test captures.
func isServerPort(p uint16) bool { return p == 1433 || p == 14330 }

// run feeds every TCP stream of a capture to a new Conn and returns the
// reporter, the Conns and the packets seen (frame → types).
type runResult struct {
	rep     *health.Collector
	conns   []*Conn
	packets map[int64][]PacketType
	last    tcpstate.Position
}

func runCapture(t testing.TB, path string, cfg Config, chunk chunker, rtt func(s *testcap.Stream) time.Duration) runResult {
	t.Helper()
	streams, err := testcap.ReadStreams(path)
	if err != nil {
		t.Fatalf("ReadStreams(%s): %v", path, err)
	}
	pkts, err := testcap.ReadPackets(path)
	if err != nil {
		t.Fatal(err)
	}
	res := runResult{rep: &health.Collector{KeepMessages: true}, packets: map[int64][]PacketType{}}
	if len(pkts) > 0 {
		p := pkts[len(pkts)-1]
		res.last = tcpstate.Position{Frame: p.Frame, Time: p.Time}
	}
	if chunk == nil {
		chunk = whole
	}
	for i, s := range streams {
		client, server := s.Client, s.Server
		swap := !isServerPort(server.Port()) && isServerPort(client.Port())
		if swap {
			client, server = server, client
		}
		ctx := &tcpstate.StreamContext{ID: uint64(i), Client: client, Server: server,
			Flow: client.String() + "->" + server.String() + "/tcp", Reporter: res.rep}
		if rtt != nil {
			ctx.RTT = rtt(s)
		}
		c := NewConn(ctx, cfg)
		c.onPacket = func(dir tcpstate.Dir, h Header, at tcpstate.Position) {
			res.packets[at.Frame] = append(res.packets[at.Frame], h.Type)
		}
		var lastPos tcpstate.Position
		for _, seg := range s.Segments {
			dir := tcpstate.ClientToServer
			if seg.ClientToServer == swap {
				dir = tcpstate.ServerToClient
			}
			at := tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
			for _, piece := range chunk(seg.Data) {
				c.Feed(dir, piece, at)
			}
			lastPos = at
		}
		end := res.last
		if end.Frame == 0 {
			end = lastPos
		}
		ctx.Visibility.Packets = packetsPerDir(pkts, client, server) // as the tracker sets it before Close
		c.Close(tcpstate.CloseEndOfCapture, end)
		res.conns = append(res.conns, c)
	}
	return res
}

// packetsPerDir counts the TCP packets between client and server in each
// direction, as tcpstate.Visibility.Packets does.
func packetsPerDir(pkts []testcap.Packet, client, server netip.AddrPort) [2]int64 {
	var n [2]int64
	for _, p := range pkts {
		switch {
		case p.TCP == nil:
		case p.Src == client && p.Dst == server:
			n[tcpstate.ClientToServer]++
		case p.Src == server && p.Dst == client:
			n[tcpstate.ServerToClient]++
		}
	}
	return n
}

// handshakeRTT computes a stream's handshake RTT as tcpstate would at this
// capture point: SYN → SYN-ACK when the SYN-ACK comes late (client side),
// else SYN-ACK → ACK (server side).
func handshakeRTT(path string) func(s *testcap.Stream) time.Duration {
	pkts, _ := testcap.ReadPackets(path)
	return func(s *testcap.Stream) time.Duration {
		var syn, synack, ack time.Time
		for _, p := range pkts {
			if p.TCP == nil {
				continue
			}
			in := p.Src == s.Client && p.Dst == s.Server || p.Src == s.Server && p.Dst == s.Client
			if !in {
				continue
			}
			switch {
			case p.TCP.SYN && !p.TCP.ACK && syn.IsZero():
				syn = p.Time
			case p.TCP.SYN && p.TCP.ACK && synack.IsZero():
				synack = p.Time
			case !p.TCP.SYN && p.TCP.ACK && !synack.IsZero() && ack.IsZero():
				ack = p.Time
			}
		}
		if syn.IsZero() || synack.IsZero() || ack.IsZero() {
			return 0
		}
		return synack.Sub(syn) + ack.Sub(synack)
	}
}

// jsonAll renders everything a reporter received, for comparisons and the
// password check.
func jsonAll(t testing.TB, rep *health.Collector) string {
	t.Helper()
	var sb strings.Builder
	for _, e := range rep.Events {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	for _, m := range rep.Messages {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		sb.Write(b)
		sb.WriteByte('\n')
	}
	return sb.String()
}

var _ = netip.Addr{}
