package tcpstate

import (
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// These tests enforce what the tracker may conclude from what a capture
// shows (issue "Trustworthy on any capture"): a copy of a packet is not a
// retransmission, a direction the capture lacks is not a silent peer, bytes
// a receiver acknowledged are not lost, a late original is not resent.

const (
	cli = "10.0.0.1:40000"
	srv = "10.0.0.2:80"
)

// track runs pkts through a tracker that decodes nothing and returns its
// events and capture statistics.
func track(pkts []layers.Packet, end time.Time) (*health.Collector, CaptureStats) {
	col := &health.Collector{}
	tr := NewTracker(Config{}, col, nil)
	for i := range pkts {
		tr.Packet(&pkts[i])
	}
	tr.Close(Position{Frame: int64(len(pkts)), Time: end})
	return col, tr.CaptureStats()
}

// withID gives each IPv4 packet of src the next identification from id.
func withID(pkts []layers.Packet, src string, id uint32) {
	for i := range pkts {
		if pkts[i].SrcAddrPort().String() == src {
			pkts[i].IPID = id
			id++
		}
	}
}

// exchange is a clean connection: handshake, a request, a two-segment
// response, and FINs.
func exchange(s *synth) []layers.Packet {
	body := make([]byte, 1000)
	return []layers.Packet{
		s.pkt(cli, srv, S, 100, 0, nil),
		s.pkt(srv, cli, S|A, 500, 101, nil),
		s.pkt(cli, srv, A, 101, 501, nil),
		s.pkt(cli, srv, PA, 101, 501, []byte("GET / HTTP/1.1\r\n\r\n")),
		s.pkt(srv, cli, A, 501, 119, body),
		s.pkt(srv, cli, PA, 1501, 119, body),
		s.pkt(cli, srv, A, 119, 2501, nil),
		s.pkt(cli, srv, F|A, 119, 2501, nil),
		s.pkt(srv, cli, F|A, 2501, 120, nil),
		s.pkt(cli, srv, A, 120, 2502, nil),
	}
}

func kinds(col *health.Collector) map[health.Kind]int {
	out := map[health.Kind]int{}
	for _, e := range col.Events {
		out[e.Kind]++
	}
	return out
}

func TestCopiesAreNotRetransmissions(t *testing.T) {
	s := &synth{now: t0}
	pkts := exchange(s)
	withID(pkts, cli, 0x3000)
	withID(pkts, srv, 0x7000)
	// Every packet seen a second time 50 ms later (two capture points).
	var both []layers.Packet
	for _, p := range pkts {
		c := p
		c.Time = c.Time.Add(50 * time.Millisecond)
		both = append(both, p, c)
	}
	col, st := track(both, s.now.Add(time.Second))
	k := kinds(col)
	for _, bad := range []health.Kind{health.TCPRetransmission, health.TCPSpuriousRetransmission, health.TCPDupAck, health.TCPSynUnanswered} {
		if k[bad] != 0 {
			t.Errorf("%s ×%d on copies: %v", bad, k[bad], col.Events)
		}
	}
	// The last ACK's copy comes after the connection ended: a late packet
	// of it, not analysed either way.
	if st.Duplicates != int64(len(pkts)-1) || st.Connections != 1 {
		t.Errorf("stats %+v, want %d duplicates on 1 connection", st, len(pkts)-1)
	}
	// The same header with a new IP ID is a new packet: a retransmission.
	s = &synth{now: t0}
	pkts = exchange(s)
	withID(pkts, cli, 0x3000)
	withID(pkts, srv, 0x7000)
	again := pkts[5]
	again.IPID, again.Time = 0x7100, again.Time.Add(300*time.Millisecond)
	pkts = append(pkts[:6], append([]layers.Packet{again}, pkts[6:]...)...)
	if col, _ := track(pkts, s.now.Add(time.Second)); kinds(col)[health.TCPRetransmission]+kinds(col)[health.TCPSpuriousRetransmission] == 0 {
		t.Errorf("a resent segment (new IP ID) was not a retransmission: %v", col.Events)
	}
}

func TestSYNAnsweredOutsideTheCaptureIsNotUnanswered(t *testing.T) {
	// Client side only: the client's ACK of the SYN-ACK and its ACKs of
	// data show that the server answered.
	s := &synth{now: t0}
	var clientOnly []layers.Packet
	for _, p := range exchange(s) {
		if p.SrcAddrPort().String() == cli {
			clientOnly = append(clientOnly, p)
		}
	}
	col, st := track(clientOnly, s.now.Add(10*time.Second))
	if n := kinds(col)[health.TCPSynUnanswered]; n != 0 {
		t.Errorf("tcp.syn_unanswered on a one-sided capture: %v", col.Events)
	}
	if st.OneSided != 1 {
		t.Errorf("OneSided = %d, want 1", st.OneSided)
	}
	// A SYN at the very end of the capture had no time to be answered.
	s = &synth{now: t0}
	col, _ = track([]layers.Packet{s.pkt(cli, srv, S, 100, 0, nil)}, s.now.Add(300*time.Millisecond))
	if n := kinds(col)[health.TCPSynUnanswered]; n != 0 {
		t.Errorf("a lone SYN 300 ms before the end is reported unanswered")
	}
	// Retried SYNs that never got anything are unanswered.
	s = &synth{now: t0}
	syns := []layers.Packet{s.pkt(cli, srv, S, 100, 0, nil)}
	s.now = s.now.Add(time.Second)
	syns = append(syns, s.pkt(cli, srv, S, 100, 0, nil))
	col, _ = track(syns, s.now.Add(2*time.Second))
	if n := kinds(col)[health.TCPSynUnanswered]; n != 1 {
		t.Errorf("retried SYNs: tcp.syn_unanswered ×%d, want 1", n)
	}
}

func TestAckedUnseenIsNotLoss(t *testing.T) {
	// The capture misses the server's first data segment; the client
	// acknowledges it: the capture missed it, the network did not lose it.
	s := &synth{now: t0}
	pkts := exchange(s)
	pkts = append(pkts[:4], pkts[5:]...)
	col, st := track(pkts, s.now.Add(time.Second))
	for _, e := range col.Events {
		if e.Severity >= health.Warning {
			t.Errorf("%s %s: %s", e.Severity, e.Kind, e.Message)
		}
	}
	if st.UnseenBytes != 1000 || st.UnseenConns != 1 {
		t.Errorf("stats %+v, want 1000 unseen bytes on 1 connection", st)
	}
}

func TestLateOriginalByIPIDIsReordering(t *testing.T) {
	// The server's second segment overtakes the first by 1 ms more than
	// tshark's out-of-order window: tshark calls the first a
	// retransmission; its older IP ID says it left the server first.
	s := &synth{now: t0}
	pkts := exchange(s)
	withID(pkts, srv, 0x7000)
	pkts[4], pkts[5] = pkts[5], pkts[4]
	pkts[5].Time = pkts[4].Time.Add(5 * time.Millisecond)
	for i := 6; i < len(pkts); i++ {
		pkts[i].Time = pkts[i].Time.Add(10 * time.Millisecond)
	}
	col, _ := track(pkts, s.now.Add(time.Second))
	for _, e := range col.Events {
		if e.Severity >= health.Warning {
			t.Errorf("%s %s: %s", e.Severity, e.Kind, e.Message)
		}
		if e.Kind == health.TCPRetransmission && e.Evidence["cause"] != "reorder" {
			t.Errorf("cause %v, want reorder: %s", e.Evidence["cause"], e.Message)
		}
	}
}

func TestResetCountsItsOwnACK(t *testing.T) {
	// The client resets after the response, acknowledging it on the RST
	// itself: nothing of the server's is discarded.
	s := &synth{now: t0}
	pkts := exchange(s)[:6]
	pkts = append(pkts, s.pkt(cli, srv, R|A, 119, 2501, nil))
	col, _ := track(pkts, s.now.Add(time.Second))
	resets := col.OfKind(health.TCPReset)
	if len(resets) != 1 || resets[0].Severity != health.Notice || strings.Contains(resets[0].Message, "not acknowledged") {
		t.Fatalf("reset %+v", resets)
	}
	// A reset that throws away the server's last segment is a warning.
	s = &synth{now: t0}
	pkts = exchange(s)[:6]
	pkts = append(pkts, s.pkt(cli, srv, R|A, 119, 1501, nil))
	col, _ = track(pkts, s.now.Add(time.Second))
	resets = col.OfKind(health.TCPReset)
	if len(resets) != 1 || resets[0].Severity != health.Warning || resets[0].Evidence["unacked_s2c"] != int64(1000) {
		t.Fatalf("reset %+v", resets)
	}
}

// reviewer reports tcp.reset at Info, as a decoder that saw the
// application protocol end cleanly would.
type reviewer struct {
	recorder
	ctx *StreamContext
}

func (r *reviewer) ReviewReset(e health.Event) {
	e.Severity = health.Info
	r.ctx.Event(e)
}

func TestResetIsReviewedByTheHandler(t *testing.T) {
	s := &synth{now: t0}
	pkts := exchange(s)[:6]
	pkts = append(pkts, s.pkt(cli, srv, R|A, 119, 1501, nil))
	col := &health.Collector{}
	tr := NewTracker(Config{}, col, func(ctx *StreamContext) StreamHandler { return &reviewer{ctx: ctx} })
	for i := range pkts {
		tr.Packet(&pkts[i])
	}
	tr.Close(Position{Frame: int64(len(pkts)), Time: s.now})
	if r := col.OfKind(health.TCPReset); len(r) != 1 || r[0].Severity != health.Info || r[0].Flow == "" {
		t.Fatalf("reviewed reset %+v", r)
	}
}

func TestMidStreamSeqIsSigned(t *testing.T) {
	// Picked up mid-stream, then a retransmission of data from before the
	// first segment seen: its relative sequence number is negative, not
	// 4294966296.
	s := &synth{now: t0}
	body := make([]byte, 1000)
	pkts := []layers.Packet{
		s.pkt(srv, cli, A, 5000, 300, body),
		s.pkt(srv, cli, A, 4000, 300, body),
	}
	col, _ := track(pkts, s.now.Add(time.Second))
	for _, e := range col.Events {
		if strings.Contains(e.Message, "429496") {
			t.Errorf("wrapped sequence number: %s", e.Message)
		}
		if seq, ok := e.Evidence["seq"].(int64); ok && seq != -999 && seq != 1 {
			t.Errorf("%s seq %d", e.Kind, seq)
		}
	}
}

// A lone SYN that its sender never sent again, although the capture went
// on past every stack's first SYN retransmission (3 s, Windows), proves
// no unanswered server: the sender is not a TCP stack that wanted an
// answer (a scan, a spoofed flood) or got an answer the capture lacks. It
// is a notice; retried SYNs stay a warning. Either way the connection has
// packets from one side only (CaptureStats.OneWay), not "seen both ways".
func TestLoneSYNNeverRetriedIsANotice(t *testing.T) {
	s := &synth{now: t0}
	col, st := track([]layers.Packet{s.pkt(cli, srv, S, 100, 0, nil)}, s.now.Add(10*time.Second))
	ev := col.OfKind(health.TCPSynUnanswered)
	if len(ev) != 1 || ev[0].Severity != health.Notice || !strings.Contains(ev[0].Message, "never sent again") {
		t.Errorf("lone SYN, capture 10 s longer: %+v, want one notice", ev)
	}
	if st.OneWay != 1 || st.OneSided != 0 {
		t.Errorf("OneWay %d, OneSided %d: want 1 and 0", st.OneWay, st.OneSided)
	}
	// Within the 3 s a Windows client waits, the capture cannot tell yet.
	s = &synth{now: t0}
	col, _ = track([]layers.Packet{s.pkt(cli, srv, S, 100, 0, nil)}, s.now.Add(2*time.Second))
	if n := len(col.OfKind(health.TCPSynUnanswered)); n != 0 {
		t.Errorf("a lone SYN 2 s before the end is reported unanswered")
	}
	s = &synth{now: t0}
	syns := []layers.Packet{s.pkt(cli, srv, S, 100, 0, nil)}
	s.now = s.now.Add(time.Second)
	syns = append(syns, s.pkt(cli, srv, S, 100, 0, nil))
	col, st = track(syns, s.now.Add(10*time.Second))
	if ev := col.OfKind(health.TCPSynUnanswered); len(ev) != 1 || ev[0].Severity != health.Warning {
		t.Errorf("retried SYNs: %+v, want one warning", ev)
	}
	if st.OneWay != 1 {
		t.Errorf("OneWay %d, want 1", st.OneWay)
	}
}
