package pair

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"

	"github.com/google/go-cmp/cmp"
)

var pairT0 = time.Date(2010, 3, 4, 10, 0, 0, 0, time.UTC)

// connBuilder builds a Conn segment by segment, with sequence
// numbers relative to the ISNs.
type connBuilder struct {
	c Conn
}

func newConnBuilder(client, server string, clientISN, serverISN uint32) *connBuilder {
	return &connBuilder{c: Conn{
		Client: netip.MustParseAddrPort(client), Server: netip.MustParseAddrPort(server),
		ClientISN: clientISN, ServerISN: serverISN, ClientSYN: true, ServerSYN: true,
	}}
}

// seg appends a segment at pairT0+at.
func (b *connBuilder) seg(frame int64, at time.Duration, fromClient bool, seq, ack uint32, flags layers.TCPFlags, n int) *Segment {
	s := Segment{Frame: frame, Time: pairT0.Add(at), FromClient: fromClient, Seq: seq, Ack: ack, Flags: flags, PayloadLen: n, IPTotalLen: 40 + n}
	b.c.Segments = append(b.c.Segments, s)
	return &b.c.Segments[len(b.c.Segments)-1]
}

// handshake appends SYN, SYN-ACK, ACK with the given times and optional
// timestamps (tsval 0: none).
func (b *connBuilder) handshake(f int64, at, synAckAfter, ackAfter time.Duration, mss uint16, tsval uint32) {
	s := b.seg(f, at, true, 0, 0, layers.FlagSYN, 0)
	s.MSS, s.IPTotalLen = mss, 52
	if tsval != 0 {
		s.TSval, s.HasTS, s.IPTotalLen = tsval, true, 60
	}
	sa := b.seg(f+1, at+synAckAfter, false, 0, 1, layers.FlagSYN|layers.FlagACK, 0)
	sa.MSS, sa.IPTotalLen = 1460, 52
	b.seg(f+2, at+synAckAfter+ackAfter, true, 1, 1, layers.FlagACK, 0)
}

const ms1 = time.Millisecond

// TestMatchPairNAT: the same connection through source NAT and MSS
// clamping is matched by its client ISN and SYN TSval (casebook C15).
func TestMatchPairNAT(t *testing.T) {
	cli := newConnBuilder("192.168.1.66:46739", "10.1.1.7:1433", 1000, 9000)
	cli.handshake(1, 0, 89*ms1, 0, 1460, 11322755)
	srv := newConnBuilder("172.16.5.14:63584", "192.168.200.148:1433", 1000, 9000)
	srv.handshake(1, 0, 0, 89*ms1, 1380, 11322755)
	a := &Capture{Label: "a", Conns: []Conn{cli.c}}
	b := &Capture{Label: "b", Conns: []Conn{srv.c}}
	got, amb := matchConns(a, b, Config{})
	want := []Match{{A: 0, B: 0, By: MatchedByISNAndTSval, NAT: true, ClientSide: "a"}}
	if diff := cmp.Diff(want, got); diff != "" || amb != 0 {
		t.Fatalf("matches (-want +got):\n%s ambiguous %d", diff, amb)
	}
	var col health.Collector
	Compare(a, b, Config{}, &col)
	m := col.OfKind(health.PairMatched)
	if len(m) != 1 || !strings.Contains(m[0].Message, "same connection seen through NAT") ||
		!strings.Contains(m[0].Message, "MSS is 1460 in a and 1380 in b") || m[0].Evidence["nat"] != true {
		t.Fatalf("pair.matched = %+v", m)
	}
	if n := len(col.OfKind(health.PairPacketChanged)); n != 0 {
		t.Errorf("MSS clamping reported as %d packet changes", n)
	}
}

// TestMatchPairNoNAT: without timestamps, both ISNs match; the addresses
// are the same, so no NAT.
func TestMatchPairNoNAT(t *testing.T) {
	x := newConnBuilder("10.1.1.1:1099", "172.16.1.1:80", 5, 7)
	x.handshake(10, 0, 0, 20*ms1, 1460, 0)
	y := newConnBuilder("10.1.1.1:1099", "172.16.1.1:80", 5, 7)
	y.handshake(3, 5*time.Second, 20*ms1, 0, 1460, 0)
	other := newConnBuilder("10.1.1.1:1100", "172.16.1.1:80", 77, 99)
	other.handshake(20, 0, 20*ms1, 0, 1460, 0)
	a := &Capture{Label: "a", Conns: []Conn{x.c}}
	b := &Capture{Label: "b", Conns: []Conn{other.c, y.c}}
	got, amb := matchConns(a, b, Config{})
	want := []Match{{A: 0, B: 1, By: MatchedByISNs, NAT: false, ClientSide: "b"}}
	if diff := cmp.Diff(want, got); diff != "" || amb != 0 {
		t.Fatalf("matches (-want +got):\n%s ambiguous %d", diff, amb)
	}
}

// TestMatchPairFallbackAndAmbiguous: a firewall that rewrites ISNs leaves
// only start time and payload sizes; two equally good candidates leave the
// connection unmatched and counted as ambiguous.
func TestMatchPairFallbackAndAmbiguous(t *testing.T) {
	conv := func(client string, isn uint32) Conn {
		b := newConnBuilder(client, "10.0.0.2:443", isn, isn+100)
		b.handshake(1, 0, 10*ms1, 0, 1460, 0)
		b.seg(4, 11*ms1, true, 1, 1, layers.FlagACK|layers.FlagPSH, 517)
		b.seg(5, 20*ms1, false, 1, 518, layers.FlagACK|layers.FlagPSH, 1448)
		b.seg(6, 21*ms1, true, 518, 1449, layers.FlagACK|layers.FlagPSH, 80)
		return b.c
	}
	a := &Capture{Label: "a", Conns: []Conn{conv("10.0.0.1:5000", 111)}}
	b := &Capture{Label: "b", Conns: []Conn{conv("10.0.0.1:5000", 222)}}
	got, amb := matchConns(a, b, Config{})
	if len(got) != 1 || got[0].By != MatchedByPayloads || amb != 0 {
		t.Fatalf("rewritten ISN: got %+v ambiguous %d", got, amb)
	}
	b.Conns = append(b.Conns, conv("10.0.0.9:6000", 333))
	got, amb = matchConns(a, b, Config{})
	if len(got) != 0 || amb != 1 {
		t.Fatalf("two candidates: got %+v ambiguous %d, want none and 1", got, amb)
	}
	// Another service (server port) with the same sizes, both SYNs seen
	// with other ISNs: not the same connection.
	other := conv("10.0.0.1:5000", 555)
	other.Server = netip.MustParseAddrPort("10.0.0.2:8443")
	b.Conns = []Conn{other}
	if got, amb = matchConns(a, b, Config{}); len(got) != 0 || amb != 0 {
		t.Fatalf("other service: got %+v ambiguous %d", got, amb)
	}
	// Outside the start skew: no candidate at all.
	far := conv("10.0.0.1:5000", 444)
	for i := range far.Segments {
		far.Segments[i].Time = far.Segments[i].Time.Add(time.Hour)
	}
	b.Conns = []Conn{far}
	if got, amb = matchConns(a, b, Config{}); len(got) != 0 || amb != 0 {
		t.Fatalf("an hour apart: got %+v ambiguous %d", got, amb)
	}
}

// TestCaseC13_LostBetweenCapturesSynthetic builds both captures from the
// casebook figures: client frame 1921 (a continuation segment of an HTTP
// POST) is never seen at the server, is retransmitted 5 times (+2.6, +5.1,
// +10.4, +20.9, +41.7 s), all lost; the server SACKs the later data
// (SLE=1742 SRE=2328) and resets the connection ~2 min later.
func TestCaseC13_LostBetweenCapturesSynthetic(t *testing.T) {
	const rtt = 10 * ms1
	cli := newConnBuilder("10.1.1.1:1099", "172.16.1.1:80", 3_000_000, 7_000_000)
	srv := newConnBuilder("10.1.1.1:1099", "172.16.1.1:80", 3_000_000, 7_000_000)
	cli.handshake(1915, 0, rtt, 0, 1460, 0)
	srv.handshake(1, rtt/2, 0, rtt, 1460, 0)
	// POST: [1,1156) arrives, [1156,1742) is lost, [1742,2328) arrives.
	t0 := rtt + ms1
	cli.seg(1920, t0, true, 1, 1, layers.FlagACK, 1155)
	cli.seg(1921, t0, true, 1156, 1, layers.FlagACK, 586)
	cli.seg(1922, t0, true, 1742, 1, layers.FlagACK|layers.FlagPSH, 586)
	srv.seg(4, t0+rtt/2, true, 1, 1, layers.FlagACK, 1155)
	srv.seg(5, t0+rtt/2, true, 1742, 1, layers.FlagACK|layers.FlagPSH, 586)
	srv.seg(6, t0+rtt/2, false, 1, 1156, layers.FlagACK, 0)
	srv.seg(7, t0+rtt/2, false, 1, 1156, layers.FlagACK, 0) // dup ACK, SACK 1742-2328
	cli.seg(1923, t0+rtt, false, 1, 1156, layers.FlagACK, 0)
	cli.seg(1924, t0+rtt, false, 1, 1156, layers.FlagACK, 0)
	frame := int64(1930)
	at := t0
	for _, back := range []time.Duration{2600, 5100, 10400, 20900, 41700} {
		at += back * ms1
		cli.seg(frame, at, true, 1156, 1, layers.FlagACK, 586)
		frame += 17
	}
	srv.seg(8, t0+2*time.Minute, false, 1, 1156, layers.FlagRST|layers.FlagACK, 0)
	cli.seg(frame, t0+2*time.Minute+rtt/2, false, 1, 1156, layers.FlagRST|layers.FlagACK, 0)

	a := &Capture{Label: "a", Name: "client.pcap", Conns: []Conn{cli.c}}
	b := &Capture{Label: "b", Name: "server.pcap", Conns: []Conn{srv.c}}
	var col health.Collector
	ms, _ := Compare(a, b, Config{}, &col)
	if len(ms) != 1 || ms[0].By != MatchedByISNs || ms[0].ClientSide != "a" {
		t.Fatalf("matches %+v", ms)
	}
	lost := col.OfKind(health.PairLostBetween)
	if len(lost) != 1 {
		t.Fatalf("pair.lost_between: %d events, want 1: %+v", len(lost), col.Events)
	}
	e := lost[0]
	t.Logf("%s", e.Message)
	wantEv := map[string]any{
		"capture": "a", "frame_a": int64(1921), "direction": "client→server",
		"frames":      []int64{1921, 1930, 1947, 1964, 1981, 1998},
		"copies_sent": 6, "copies_arrived": 0, "bytes": 586, "seq": uint32(1156), "lost_total": 1, "missing_bytes": 586,
	}
	if e.Frame != 1921 || e.Severity != health.Warning || e.Flow != "10.1.1.1:1099->172.16.1.1:80/tcp" {
		t.Errorf("event frame %d severity %v flow %s", e.Frame, e.Severity, e.Flow)
	}
	if diff := cmp.Diff(wantEv, e.Evidence); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	if !strings.Contains(e.Message, "never seen at capture b (server.pcap)") || !strings.Contains(e.Message, "all 6 copies") {
		t.Errorf("message: %s", e.Message)
	}
	for _, k := range []health.Kind{health.PairPacketChanged, health.PairDelaySplit} {
		if n := len(col.OfKind(k)); n != 0 {
			t.Errorf("%s reported %d times", k, n)
		}
	}
	// Swapping the captures names the same frame of the same (client)
	// capture, now labelled b.
	a.Label, b.Label = "b", "a"
	col = health.Collector{}
	Compare(b, a, Config{}, &col)
	if l := col.OfKind(health.PairLostBetween); len(l) != 1 || l[0].Frame != 1921 || l[0].Evidence["capture"] != "b" {
		t.Fatalf("swapped: %+v", l)
	}
}

// TestComparePairChangedNotResegmented: a receiver-side capture that shows
// two segments coalesced (GRO) is not a change in transit; a SYN-ACK that
// gained 2 bytes is (casebook C1).
func TestComparePairChangedNotResegmented(t *testing.T) {
	cli := newConnBuilder("10.200.1.10:49874", "10.200.3.20:443", 50, 60)
	srv := newConnBuilder("10.200.1.10:49874", "10.200.3.20:443", 50, 60)
	cli.handshake(1, 0, ms1, 0, 1460, 42)
	srv.handshake(1, 0, 0, ms1, 1460, 42)
	cli.c.Segments[1].PayloadLen, cli.c.Segments[1].IPTotalLen = 2, 54
	srv.seg(4, 2*ms1, false, 1, 1, layers.FlagACK, 1448)
	srv.seg(5, 2*ms1, false, 1449, 1, layers.FlagACK, 1448)
	cli.seg(4, 3*ms1, false, 1, 1, layers.FlagACK, 2896) // GRO at the client
	var col health.Collector
	Compare(&Capture{Label: "a", Conns: []Conn{cli.c}}, &Capture{Label: "b", Conns: []Conn{srv.c}}, Config{}, &col)
	ch := col.OfKind(health.PairPacketChanged)
	if len(ch) != 1 || ch[0].Frame != 2 || ch[0].Evidence["payload_a"] != 2 || ch[0].Evidence["payload_b"] != 0 ||
		!strings.Contains(ch[0].Message, "2 bytes of payload added in transit") {
		t.Fatalf("packet_changed: %+v", ch)
	}
	if n := len(col.OfKind(health.PairLostBetween)); n != 0 {
		t.Errorf("coalesced segments reported lost: %+v", col.OfKind(health.PairLostBetween))
	}
}

// TestComparePairUnrelated: two captures of unrelated connections give no
// match and no finding.
func TestComparePairUnrelated(t *testing.T) {
	x := newConnBuilder("10.0.0.1:5000", "10.0.0.2:80", 1, 2)
	x.handshake(1, 0, ms1, 0, 1460, 100)
	x.seg(4, 2*ms1, true, 1, 1, layers.FlagACK, 100)
	x.seg(5, 3*ms1, false, 1, 101, layers.FlagACK, 200)
	y := newConnBuilder("10.0.0.1:5000", "10.0.0.2:80", 3, 4)
	y.handshake(1, 0, 0, ms1, 1460, 200)
	y.seg(4, 2*ms1, true, 1, 1, layers.FlagACK, 100)
	y.seg(5, 3*ms1, false, 1, 101, layers.FlagACK, 300)
	var col health.Collector
	ms, _ := Compare(&Capture{Label: "a", Conns: []Conn{x.c}}, &Capture{Label: "b", Conns: []Conn{y.c}}, Config{}, &col)
	if len(ms) != 0 || len(col.Events) != 0 {
		t.Fatalf("unrelated captures: matches %+v events %+v", ms, col.Events)
	}
	// Empty captures.
	if ms, _ := Compare(&Capture{Label: "a"}, &Capture{Label: "b"}, Config{}, nil); len(ms) != 0 {
		t.Fatal("empty captures matched")
	}
}

func TestPairKindsCatalogued(t *testing.T) {
	for _, k := range []health.Kind{health.PairMatched, health.PairPacketChanged, health.PairLostBetween, health.PairDelaySplit} {
		if !health.Known(k) {
			t.Errorf("%s not in the catalogue", k)
		}
	}
}

// TestCoverageMissing checks the merged byte ranges.
func TestCoverageMissing(t *testing.T) {
	b := newConnBuilder("10.0.0.1:1", "10.0.0.2:2", 0, 0)
	b.seg(1, 0, true, 1, 0, layers.FlagACK, 100)   // [1,101)
	b.seg(2, 0, true, 51, 0, layers.FlagACK, 100)  // [51,151) overlaps
	b.seg(3, 0, true, 151, 0, layers.FlagACK, 10)  // [151,161) adjacent
	b.seg(4, 0, true, 200, 0, layers.FlagACK, 50)  // [200,250)
	b.seg(5, 0, false, 161, 0, layers.FlagACK, 39) // other direction
	v := newCoverage(&b.c, true)
	if diff := cmp.Diff(seqCoverage{{1, 161}, {200, 250}}, v); diff != "" {
		t.Fatalf("coverage (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ lo, hi, want uint32 }{
		{1, 161, 0}, {0, 1, 1}, {100, 220, 39}, {161, 200, 39}, {240, 300, 50}, {5, 5, 0}, {300, 200, 0},
	} {
		if got := v.missing(tc.lo, tc.hi); got != tc.want {
			t.Errorf("missing(%d, %d) = %d, want %d", tc.lo, tc.hi, got, tc.want)
		}
	}
}

// A TSO super-segment at the sender (64 KiB in one frame) arrives as MSS
// pieces; one piece is lost between the points: only its bytes are
// reported. A segment whose first copy was lost and whose retransmission
// arrived is a Notice with both counts.
func TestComparePairPartialLoss(t *testing.T) {
	cli := newConnBuilder("10.0.0.1:5000", "10.0.0.2:445", 10, 20)
	srv := newConnBuilder("10.0.0.1:5000", "10.0.0.2:445", 10, 20)
	cli.handshake(1, 0, 5*ms1, 0, 1460, 0)
	srv.handshake(1, 0, 0, 5*ms1, 1460, 0)
	tso := cli.seg(4, 6*ms1, true, 1, 1, layers.FlagACK, 4*1448)
	tso.IPTotalLen = 0
	f := int64(4)
	for k := range 4 {
		if k != 2 {
			srv.seg(f, 8*ms1, true, 1+uint32(k)*1448, 1, layers.FlagACK, 1448)
			f++
		}
	}
	// Next request: first copy lost, retransmission arrives.
	cli.seg(5, 20*ms1, true, 1+4*1448, 1, layers.FlagACK|layers.FlagPSH, 100)
	cli.seg(6, 220*ms1, true, 1+4*1448, 1, layers.FlagACK|layers.FlagPSH, 100)
	srv.seg(f, 222*ms1, true, 1+4*1448, 1, layers.FlagACK|layers.FlagPSH, 100)
	srv.seg(f+1, 222*ms1, false, 1, 1+4*1448+100, layers.FlagFIN|layers.FlagACK, 0)
	var col health.Collector
	Compare(&Capture{Label: "a", Conns: []Conn{cli.c}}, &Capture{Label: "b", Conns: []Conn{srv.c}}, Config{}, &col)
	lost := col.OfKind(health.PairLostBetween)
	if len(lost) != 2 {
		t.Fatalf("lost_between: %+v", lost)
	}
	if e := lost[0]; e.Frame != 4 || e.Severity != health.Warning || e.Evidence["missing_bytes"] != 1448 || e.Evidence["bytes"] != 4*1448 ||
		!strings.Contains(e.Message, "1448 of the 5792 bytes") {
		t.Errorf("TSO piece lost: %+v", e)
	}
	if e := lost[1]; e.Frame != 5 || e.Severity != health.Notice || e.Evidence["copies_sent"] != 2 || e.Evidence["copies_arrived"] != 1 {
		t.Errorf("first copy lost: %+v", e)
	}
	if n := len(col.OfKind(health.PairPacketChanged)); n != 0 {
		t.Errorf("TSO reported as %d changes: %+v", n, col.OfKind(health.PairPacketChanged))
	}
}

// TestComparePairRandomNoPanic feeds random segment lists (shared ISNs so
// that they match) and checks that every event is catalogued and names a
// frame.
func TestComparePairRandomNoPanic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		mk := func() Conn {
			b := newConnBuilder("10.0.0.1:1000", "10.0.0.2:80", 7, 9)
			b.c.ClientSYN, b.c.ServerSYN = r.IntN(2) == 0, r.IntN(2) == 0
			for i := range r.IntN(40) {
				s := b.seg(int64(i+1), time.Duration(r.IntN(1000))*ms1, r.IntN(2) == 0, uint32(r.IntN(5000)), uint32(r.IntN(5000)), layers.TCPFlags(r.IntN(32)), r.IntN(3)*r.IntN(1500))
				s.HasTS, s.TSval = r.IntN(2) == 0, uint32(r.IntN(3))
				if r.IntN(10) == 0 {
					s.Seq = ^uint32(0) - uint32(r.IntN(100)) // near the wrap
				}
			}
			return b.c
		}
		a := &Capture{Label: "a", Conns: []Conn{mk(), mk()}}
		b := &Capture{Label: "b", Conns: []Conn{mk()}}
		var col health.Collector
		Compare(a, b, Config{}, &col)
		for _, e := range col.Events {
			if !health.Known(e.Kind) || e.Frame <= 0 || e.Message == "" {
				t.Fatalf("bad event %+v", e)
			}
		}
	}
}

// A server-side capture started in the middle of the connection: the
// segments sent before it started are not "lost between".
func TestComparePairDownstreamStartedLate(t *testing.T) {
	cli := newConnBuilder("10.0.0.1:5000", "10.0.0.2:80", 1000, 2000)
	cli.handshake(1, 0, 5*ms1, 0, 1460, 0)
	cli.seg(4, 10*ms1, true, 1, 1, layers.FlagACK|layers.FlagPSH, 100)
	cli.seg(5, 20*ms1, false, 1, 101, layers.FlagACK|layers.FlagPSH, 300)
	cli.seg(6, 30*ms1, true, 101, 301, layers.FlagACK|layers.FlagPSH, 100)
	cli.seg(7, 40*ms1, false, 301, 201, layers.FlagACK|layers.FlagPSH, 300)
	// The server capture sees only the second exchange; its ISNs are the
	// first sequence numbers it saw.
	srv := Conn{
		Client: cli.c.Client, Server: cli.c.Server, ClientISN: 1000 + 101, ServerISN: 2000 + 301,
		Segments: []Segment{
			{Frame: 1, Time: pairT0.Add(33 * ms1), FromClient: true, Seq: 0, Ack: 0, Flags: layers.FlagACK | layers.FlagPSH, PayloadLen: 100, IPTotalLen: 140},
			{Frame: 2, Time: pairT0.Add(35 * ms1), FromClient: false, Seq: 0, Ack: 100, Flags: layers.FlagACK | layers.FlagPSH, PayloadLen: 300, IPTotalLen: 340},
		},
	}
	var col health.Collector
	ms, _ := Compare(&Capture{Label: "a", Conns: []Conn{cli.c}}, &Capture{Label: "b", Conns: []Conn{srv}}, Config{}, &col)
	if len(ms) != 1 || ms[0].By != MatchedBySeqRanges || ms[0].ClientSide != "a" {
		t.Fatalf("matches %+v", ms)
	}
	for _, k := range []health.Kind{health.PairLostBetween, health.PairPacketChanged} {
		if l := col.OfKind(k); len(l) != 0 {
			t.Errorf("%s: %+v", k, l)
		}
	}
	ds := col.OfKind(health.PairDelaySplit)
	if len(ds) != 1 || ds[0].Evidence["requests"] != 1 || ds[0].Frame != 6 || ds[0].Evidence["frame_b"] != int64(1) {
		t.Fatalf("delay split %+v", ds)
	}
}
