package pair_test

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/pair"
)

func pairOfKind(rep *pair.Report, k health.Kind) []health.Event {
	var out []health.Event
	for _, e := range rep.Events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// TestCaseC1_SynAckChangedInTransit: the real C1 pair. At the client the
// SYN-ACK (frame 2) has IP total length 62 and 2 bytes of payload; at the
// server the same SYN-ACK (frame 2) has 60 and none: the bytes were added
// between the two capture points (README of captures/cases, c01-*).
func TestCaseC1_SynAckChangedInTransit(t *testing.T) {
	col := &health.Collector{}
	rep, err := pair.AnalyzeFiles("../testdata/pair/c01-synack-payload-client.pcap", "../testdata/pair/c01-synack-payload-server.pcap", pair.Options{Reporter: col})
	if err != nil {
		t.Fatal(err)
	}
	want := []pair.Matched{{
		ClientA: ap("10.200.1.10:49874"), ServerA: ap("10.200.3.20:443"),
		ClientB: ap("10.200.1.10:49874"), ServerB: ap("10.200.3.20:443"),
		FirstFrameA: 1, FirstFrameB: 1, By: pair.MatchedByISNAndTSval, NAT: false, ClientSide: "a",
	}}
	if !slices.Equal(want, rep.Matches) {
		t.Fatalf("matches:\n got %+v\nwant %+v", rep.Matches, want)
	}
	if rep.A.Frames != 22 || rep.B.Frames != 20 || rep.ConnsA != 1 || rep.ConnsB != 1 {
		t.Errorf("frames %d/%d conns %d/%d, want 22/20 1/1", rep.A.Frames, rep.B.Frames, rep.ConnsA, rep.ConnsB)
	}
	ch := pairOfKind(rep, health.PairPacketChanged)
	if len(ch) != 1 {
		t.Fatalf("pair.packet_changed: %d events, want 1: %+v", len(ch), rep.Events)
	}
	e := ch[0]
	t.Logf("%s", e.Message)
	wantEv := map[string]any{
		"capture": "a", "frame_a": int64(2), "frame_b": int64(2), "payload_a": 2, "payload_b": 0,
		"ip_len_a": 62, "ip_len_b": 60, "segment": "SYN-ACK", "changed_total": 1,
	}
	if diff := cmp.Diff(wantEv, e.Evidence); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	if e.Frame != 2 || e.Severity != health.Warning || !strings.Contains(e.Message, "2 bytes of payload added in transit") {
		t.Errorf("event %+v", e)
	}
	// Nothing was lost between the points; the events also reached the
	// Reporter.
	if l := pairOfKind(rep, health.PairLostBetween); len(l) != 0 {
		t.Errorf("lost_between on a clean pair: %+v", l)
	}
	if len(col.Events) != len(rep.Events) {
		t.Errorf("reporter got %d events, report %d", len(col.Events), len(rep.Events))
	}
}

// TestCaseC15_SameConnectionThroughNATDelayInWAN: the real C15 pair. The
// client's 10.200.1.10:59044 is 10.200.2.1:59044 at the server (NAT), the
// SYN's TSval 2590891462 is the same on both sides and its MSS 1460 becomes
// 1380. The client waits 81.2 and 81.3 ms for the PRELOGIN and LOGIN7
// responses; the server answers in 0.6 and 0.8 ms: ~80.5 ms per request is
// the WAN between the captures (handshake: 80.6 ms).
func TestCaseC15_SameConnectionThroughNATDelayInWAN(t *testing.T) {
	rep, err := pair.AnalyzeFiles("../testdata/pair/c15-tds-wan-nat-client.pcap", "../testdata/pair/c15-tds-wan-nat-server.pcap", pair.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []pair.Matched{{
		ClientA: ap("10.200.1.10:59044"), ServerA: ap("10.200.3.20:1433"),
		ClientB: ap("10.200.2.1:59044"), ServerB: ap("10.200.3.20:1433"),
		FirstFrameA: 1, FirstFrameB: 1, By: pair.MatchedByISNAndTSval, NAT: true, ClientSide: "a",
	}}
	if !slices.Equal(want, rep.Matches) {
		t.Fatalf("matches:\n got %+v\nwant %+v", rep.Matches, want)
	}
	m := pairOfKind(rep, health.PairMatched)
	if len(m) != 1 || !strings.Contains(m[0].Message, "same connection seen through NAT") ||
		m[0].Evidence["mss_a"] != 1460 || m[0].Evidence["mss_b"] != 1380 {
		t.Fatalf("pair.matched: %+v", m)
	}
	t.Logf("%s", m[0].Message)
	ds := pairOfKind(rep, health.PairDelaySplit)
	if len(ds) != 1 {
		t.Fatalf("pair.delay_split: %+v", rep.Events)
	}
	d := ds[0]
	t.Logf("%s", d.Message)
	ev := d.Evidence
	if d.Severity != health.Notice || d.Frame != 4 || ev["capture"] != "a" || ev["frame_b"] != int64(4) || ev["requests"] != 2 {
		t.Errorf("delay split %+v", d)
	}
	within := func(name string, lo, hi float64) {
		if v, _ := ev[name].(float64); v < lo || v > hi {
			t.Errorf("%s = %v, want %v..%v", name, ev[name], lo, hi)
		}
	}
	within("network_ms", 80, 81)           // WAN: 40 ms each way
	within("handshake_network_ms", 80, 81) // SYN→SYN-ACK 80.6 ms vs 0.0 ms
	within("client_side_min_ms", 81.1, 81.3)
	within("client_side_max_ms", 81.2, 81.4)
	within("server_min_ms", 0.5, 0.7) // PRELOGIN answered in 0.6 ms
	within("server_max_ms", 0.7, 0.9) // LOGIN7 in 0.8 ms
	if !strings.Contains(d.Message, "the delay is in the network between the captures (WAN)") {
		t.Errorf("message: %s", d.Message)
	}
	for _, k := range []health.Kind{health.PairPacketChanged, health.PairLostBetween} {
		if n := len(pairOfKind(rep, k)); n != 0 {
			t.Errorf("%s ×%d on a clean pair", k, n)
		}
	}
}

// Two captures of unrelated connections: no match, no finding.
func TestAnalyzePairUnrelated(t *testing.T) {
	rep, err := pair.AnalyzeFiles("../testdata/pair/c01-synack-payload-client.pcap", "../testdata/pair/c15-tds-wan-nat-server.pcap", pair.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matches) != 0 || len(rep.Events) != 0 || rep.Ambiguous != 0 {
		t.Fatalf("unrelated captures: %+v", rep)
	}
}

// The caps hold: one segment per connection kept, the rest counted.
func TestAnalyzePairLimits(t *testing.T) {
	rep, err := pair.AnalyzeFiles("../testdata/pair/c15-tds-wan-nat-client.pcap", "../testdata/pair/c15-tds-wan-nat-server.pcap", pair.Options{Limits: pair.Limits{MaxSegmentsPerConn: 1}})
	if err != nil {
		t.Fatal(err)
	}
	// 13 TCP segments at the client, 13 at the server; 1 kept of each.
	if rep.SegmentsDropped != 24 || len(rep.Matches) != 1 {
		t.Fatalf("segments dropped %d, matches %d", rep.SegmentsDropped, len(rep.Matches))
	}
	rep, err = pair.AnalyzeFiles("../testdata/pair/c15-tds-wan-nat-client.pcap", "../testdata/pair/c15-tds-wan-nat-server.pcap", pair.Options{Limits: pair.Limits{MaxSegments: 3}})
	if err != nil || rep.SegmentsDropped != 20 {
		t.Fatalf("MaxSegments 3: dropped %d, err %v", rep.SegmentsDropped, err)
	}
}

func TestAnalyzePairErrors(t *testing.T) {
	dir := t.TempDir()
	notCap := filepath.Join(dir, "x.pcap")
	if err := os.WriteFile(notCap, []byte("hello, not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := "../testdata/pair/c15-tds-wan-nat-client.pcap"
	for _, p := range [][2]string{{filepath.Join(dir, "missing.pcap"), good}, {good, notCap}} {
		if _, err := pair.AnalyzeFiles(p[0], p[1], pair.Options{}); err == nil {
			t.Errorf("AnalyzePair(%s, %s): no error", p[0], p[1])
		}
	}
}

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestAnalyzePairLostBetweenBuiltCaptures runs a C13-like pair end to end
// through pcap files built here: behind a NAT, the client's second POST
// segment and its two retransmissions never reach the server capture.
func TestAnalyzePairLostBetweenBuiltCaptures(t *testing.T) {
	const cISN, sISN = 3_000_000_000, 7_000_000
	seg := bytes.Repeat([]byte("x"), 500)
	build := func(client string, serverSide bool) string {
		c := testcap.NewBuilder(0)
		cli, srv := net.ParseIP(client).To4(), net.ParseIP("172.16.1.1").To4()
		frame := func(fromClient bool, seq, ack uint32, flags string, payload []byte, gap time.Duration) {
			c.Now = c.Now.Add(gap)
			if fromClient {
				c.Raw(c.TCPFrame(cli, srv, 1099, 80, seq, ack, flags, payload))
			} else {
				c.Raw(c.TCPFrame(srv, cli, 80, 1099, seq, ack, flags, payload))
			}
		}
		wan := 20 * time.Millisecond
		frame(true, cISN, 0, "S", nil, 0)
		if serverSide {
			frame(false, sISN, cISN+1, "SA", nil, 0)
			frame(true, cISN+1, sISN+1, "A", nil, wan)
		} else {
			frame(false, sISN, cISN+1, "SA", nil, wan)
			frame(true, cISN+1, sISN+1, "A", nil, 0)
		}
		frame(true, cISN+1, sISN+1, "A", seg, 0)
		if !serverSide {
			frame(true, cISN+501, sISN+1, "A", seg, 0) // lost between
		}
		frame(true, cISN+1001, sISN+1, "PA", seg, 0)
		frame(false, sISN+1, cISN+501, "A", nil, 0)
		if !serverSide {
			frame(true, cISN+501, sISN+1, "A", seg, 2600*time.Millisecond)
			frame(true, cISN+501, sISN+1, "A", seg, 5100*time.Millisecond)
		}
		frame(false, sISN+1, cISN+501, "RA", nil, 2*time.Minute)
		path := filepath.Join(t.TempDir(), "c13.pcap")
		if err := os.WriteFile(path, c.Buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	rep, err := pair.AnalyzeFiles(build("10.1.1.1", false), build("192.168.7.1", true), pair.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Matches) != 1 || !rep.Matches[0].NAT || rep.Matches[0].By != pair.MatchedByISNs || rep.Matches[0].ClientSide != "a" {
		t.Fatalf("matches %+v", rep.Matches)
	}
	lost := pairOfKind(rep, health.PairLostBetween)
	if len(lost) != 1 {
		t.Fatalf("lost_between: %+v", rep.Events)
	}
	e := lost[0]
	t.Logf("%s", e.Message)
	if e.Frame != 5 || e.Evidence["capture"] != "a" || e.Evidence["copies_sent"] != 3 || e.Evidence["copies_arrived"] != 0 ||
		e.Evidence["bytes"] != 500 || e.Evidence["seq"] != uint32(501) || !slices.Equal(e.Evidence["frames"].([]int64), []int64{5, 8, 9}) {
		t.Errorf("event %+v", e)
	}
	if n := len(pairOfKind(rep, health.PairPacketChanged)); n != 0 {
		t.Errorf("packet_changed ×%d", n)
	}
}
