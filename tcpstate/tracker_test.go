package tcpstate

import (
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// synth builds layers.Packet values directly (no wire bytes).
type synth struct {
	frame int64
	now   time.Time
}

func (s *synth) pkt(src, dst string, flags layers.TCPFlags, seq, ack uint32, payload []byte) layers.Packet {
	s.frame++
	s.now = s.now.Add(time.Millisecond)
	a, b := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	p := layers.Packet{
		Frame: s.frame, Time: s.now, Network: 4, Src: a.Addr(), Dst: b.Addr(), IPProto: 6,
		Transport: layers.TransportTCP, Payload: payload, PayloadLen: len(payload),
	}
	p.TCP = layers.TCPHeader{SrcPort: a.Port(), DstPort: b.Port(), Seq: seq, Ack: ack, Flags: flags,
		Window: 65535, DataOffset: 5, WindowScale: -1}
	return p
}

const (
	S  = layers.FlagSYN
	A  = layers.FlagACK
	F  = layers.FlagFIN
	R  = layers.FlagRST
	PA = layers.FlagPSH | layers.FlagACK
)

// serialize builds an Ethernet/IPv4/TCP frame with gopacket and decodes it
// back, as a capture would give it.
func serialize(t *testing.T, frame int64, at time.Time, src, dst string, flags layers.TCPFlags, seq, ack uint32, payload []byte) layers.Packet {
	t.Helper()
	a, b := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	eth := &glayers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: glayers.EthernetTypeIPv4}
	ip := &glayers.IPv4{Version: 4, TTL: 64, Protocol: glayers.IPProtocolTCP, SrcIP: a.Addr().AsSlice(), DstIP: b.Addr().AsSlice(), Flags: glayers.IPv4DontFragment}
	tcp := &glayers.TCP{SrcPort: glayers.TCPPort(a.Port()), DstPort: glayers.TCPPort(b.Port()), Seq: seq, Ack: ack, Window: 64240,
		SYN: flags&S != 0, ACK: flags&A != 0, FIN: flags&F != 0, RST: flags&R != 0, PSH: flags&layers.FlagPSH != 0}
	if flags&S != 0 {
		tcp.Options = []glayers.TCPOption{{OptionType: glayers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}}
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	p, ok := anaDecode(data, glayers.LinkTypeEthernet, gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(data), Length: len(data)}, frame)
	if !ok {
		t.Fatalf("frame %d did not decode", frame)
	}
	return p
}

// TestCaseC7_StateTransitionsSynthetic builds casebook C7 (client
// 192.168.1.200:55908, server 192.168.1.212:13000, "Test message1" each
// way, client FIN, server CloseWait → LastAck → Closed) with gopacket and
// checks every transition with its frame.
func TestCaseC7_StateTransitionsSynthetic(t *testing.T) {
	const cli, srv = "192.168.1.200:55908", "192.168.1.212:13000"
	msg := []byte("Test message1")
	const c0, s0 = 1000, 5000
	steps := []struct {
		src, dst string
		flags    layers.TCPFlags
		seq, ack uint32
		data     []byte
	}{
		{cli, srv, S, c0, 0, nil},                // 1 SYN
		{srv, cli, S | A, s0, c0 + 1, nil},       // 2 SYN-ACK
		{cli, srv, A, c0 + 1, s0 + 1, nil},       // 3 ACK
		{cli, srv, PA, c0 + 1, s0 + 1, msg},      // 4 data
		{srv, cli, A, s0 + 1, c0 + 14, nil},      // 5 ACK
		{srv, cli, PA, s0 + 1, c0 + 14, msg},     // 6 echo
		{cli, srv, A, c0 + 14, s0 + 14, nil},     // 7 ACK
		{cli, srv, F | A, c0 + 14, s0 + 14, nil}, // 8 client FIN
		{srv, cli, A, s0 + 14, c0 + 15, nil},     // 9 server ACKs it: CLOSE_WAIT
		{srv, cli, F | A, s0 + 14, c0 + 15, nil}, // 10 server FIN: LAST_ACK
		{cli, srv, A, c0 + 15, s0 + 15, nil},     // 11 client ACKs: TIME_WAIT / CLOSED
	}
	col := &health.Collector{}
	var rec *recorder
	var stats *health.FlowStats
	var closeAt Position
	tr := NewTracker(Config{}, col, func(ctx *StreamContext) StreamHandler {
		rec = &recorder{ctx: ctx}
		return closeSpy{rec, &closeAt}
	})
	tr.OnSummary = func(s *health.FlowStats) { stats = s }
	for i, s := range steps {
		p := serialize(t, int64(i+1), t0.Add(time.Duration(i)*time.Millisecond), s.src, s.dst, s.flags, s.seq, s.ack, s.data)
		tr.Packet(&p)
	}
	if stats == nil {
		t.Fatal("no summary after the last ACK")
	}
	want := []health.Transition{
		{Endpoint: "client", From: "CLOSED", To: "SYN_SENT", Frame: 1},
		{Endpoint: "server", From: "LISTEN", To: "SYN_RCVD", Frame: 2},
		{Endpoint: "client", From: "SYN_SENT", To: "ESTABLISHED", Frame: 3},
		{Endpoint: "server", From: "SYN_RCVD", To: "ESTABLISHED", Frame: 3},
		{Endpoint: "client", From: "ESTABLISHED", To: "FIN_WAIT_1", Frame: 8},
		{Endpoint: "server", From: "ESTABLISHED", To: "CLOSE_WAIT", Frame: 9},
		{Endpoint: "client", From: "FIN_WAIT_1", To: "FIN_WAIT_2", Frame: 9},
		{Endpoint: "server", From: "CLOSE_WAIT", To: "LAST_ACK", Frame: 10},
		{Endpoint: "client", From: "FIN_WAIT_2", To: "TIME_WAIT", Frame: 11},
		{Endpoint: "server", From: "LAST_ACK", To: "CLOSED", Frame: 11},
	}
	if diff := cmp.Diff(want, stats.Transitions); diff != "" {
		t.Errorf("transitions (-want +got):\n%s", diff)
	}
	if got := fmt.Sprintf("%s/%s/%s/%v/%d", stats.ClientState, stats.ServerState, stats.CloseReason, stats.Established, stats.SYNs); got != "TIME_WAIT/CLOSED/fin/true/1" {
		t.Errorf("states/close/established/SYNs = %s", got)
	}
	if !bytes.Equal(rec.data[0], msg) || !bytes.Equal(rec.data[1], msg) {
		t.Errorf("streams %q / %q, want %q each way", rec.data[0], rec.data[1], msg)
	}
	if rec.closed != 1 || rec.reason != CloseFIN || closeAt.Frame != 10 {
		t.Errorf("Close called %d times, reason %v at frame %d; want once, fin, frame 10", rec.closed, rec.reason, closeAt.Frame)
	}
	if rec.ctx.RTT != 2*time.Millisecond || rec.ctx.Flow != cli+"->"+srv+"/tcp" {
		t.Errorf("ctx RTT %v flow %q", rec.ctx.RTT, rec.ctx.Flow)
	}
	if got := stats.Bytes; got != [2]int64{13, 13} {
		t.Errorf("bytes %v", got)
	}
	if got := stats.Packets; got != [2]int64{6, 5} {
		t.Errorf("packets %v", got)
	}
	if n := len(col.OfKind(health.FlowSummary)); n != 1 {
		t.Errorf("%d summaries", n)
	}
	if tr.Active() != 0 {
		t.Errorf("Active() = %d", tr.Active())
	}
	for _, tr := range stats.Transitions {
		t.Logf("frame %2d  %-6s %s → %s", tr.Frame, tr.Endpoint, tr.From, tr.To)
	}
}

type closeSpy struct {
	*recorder
	at *Position
}

func (c closeSpy) Close(r CloseReason, at Position) { *c.at = at; c.recorder.Close(r, at) }

// handshake returns the packets of a handshake between cli and srv.
func handshake(s *synth, cli, srv string, c0, s0 uint32) []layers.Packet {
	return []layers.Packet{
		s.pkt(cli, srv, S, c0, 0, nil),
		s.pkt(srv, cli, S|A, s0, c0+1, nil),
		s.pkt(cli, srv, A, c0+1, s0+1, nil),
	}
}

func feedAll(tr *Tracker, pkts []layers.Packet) {
	for i := range pkts {
		tr.Packet(&pkts[i])
	}
}

// TestSequenceWrapMidStream sends 200 KiB across the 2^32 wrap, out of order.
func TestSequenceWrapMidStream(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	c0 := uint32(1<<32 - 100000)
	pkts := handshake(s, cli, srv, c0, 7)
	rng := rand.New(rand.NewSource(1))
	want := make([]byte, 200<<10)
	rng.Read(want)
	var segs []layers.Packet
	for off := 0; off < len(want); off += 1000 {
		end := min(off+1000, len(want))
		segs = append(segs, s.pkt(cli, srv, PA, c0+1+uint32(off), 8, want[off:end]))
	}
	// Swap neighbours to force buffering, including across the wrap.
	for i := 0; i+1 < len(segs); i += 3 {
		segs[i], segs[i+1] = segs[i+1], segs[i]
	}
	pkts = append(pkts, segs...)
	recs, col := runCapture(t, pkts, Config{})
	if len(recs) != 1 {
		t.Fatalf("%d connections", len(recs))
	}
	if !bytes.Equal(recs[0].data[0], want) || recs[0].gaps[0] != 0 {
		t.Errorf("got %d bytes (gaps %d), want %d identical bytes", len(recs[0].data[0]), recs[0].gaps[0], len(want))
	}
	if n := len(col.OfKind(health.TCPOverlapConflict)); n != 0 {
		t.Errorf("%d overlap conflicts", n)
	}
}

// TestOutOfOrderStormStaysWithinCaps sends segments in random order with
// holes and checks that the buffers never exceed their caps.
func TestOutOfOrderStormStaysWithinCaps(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	pkts := handshake(s, cli, srv, 100, 900)
	rng := rand.New(rand.NewSource(2))
	data := make([]byte, 4<<20)
	rng.Read(data)
	var segs []layers.Packet
	for off := 0; off < len(data); off += 1448 {
		if rng.Intn(20) == 0 {
			continue // never captured
		}
		end := min(off+1448, len(data))
		segs = append(segs, s.pkt(cli, srv, PA, 101+uint32(off), 901, data[off:end]))
	}
	rng.Shuffle(len(segs), func(i, j int) { segs[i], segs[j] = segs[j], segs[i] })
	pkts = append(pkts, segs...)
	cfg := Config{MaxBufferPerConn: 256 << 10, MaxBufferTotal: 512 << 10}
	col := &health.Collector{}
	var rec *recorder
	tr := NewTracker(cfg, col, func(ctx *StreamContext) StreamHandler { rec = &recorder{ctx: ctx}; return rec })
	maxBuf := 0
	for i := range pkts {
		tr.Packet(&pkts[i])
		maxBuf = max(maxBuf, tr.buffered)
	}
	tr.Close(Position{Frame: s.frame, Time: s.now})
	if maxBuf > cfg.MaxBufferPerConn {
		t.Errorf("buffered up to %d bytes, cap %d", maxBuf, cfg.MaxBufferPerConn)
	}
	if tr.buffered != 0 {
		t.Errorf("%d bytes still accounted after Close", tr.buffered)
	}
	limits := len(col.OfKind(health.TCPBufferLimit))
	if limits == 0 {
		t.Error("no tcp.buffer_limit event")
	}
	// Delivered bytes and gaps must add up to the stream, in order: every
	// delivered byte sits at its offset.
	if got := len(rec.data[0]) + rec.gaps[0]; got > len(data) || got < len(data)-1448 {
		t.Errorf("delivered %d + gaps %d = %d, stream is %d", len(rec.data[0]), rec.gaps[0], got, len(data))
	}
	t.Logf("storm: %d segments shuffled, peak buffer %d B (cap %d), %d buffer_limit events, %d B delivered, %d B gaps",
		len(segs), maxBuf, cfg.MaxBufferPerConn, limits, len(rec.data[0]), rec.gaps[0])
}

// TestSYNFloodStaysWithinMaxConns opens connections from random ports and
// checks the cap and the eviction events.
func TestSYNFloodStaysWithinMaxConns(t *testing.T) {
	s := &synth{now: t0}
	rng := rand.New(rand.NewSource(3))
	col := &health.Collector{}
	tr := NewTracker(Config{MaxConns: 100}, col, nil)
	const n = 5000
	peak := 0
	for i := 0; i < n; i++ {
		src := fmt.Sprintf("10.9.%d.%d:%d", rng.Intn(256), rng.Intn(256), 1024+rng.Intn(60000))
		p := s.pkt(src, "10.0.0.2:443", S, rng.Uint32(), 0, nil)
		tr.Packet(&p)
		peak = max(peak, tr.Active())
	}
	if peak > 100 {
		t.Errorf("peak %d active connections, cap 100", peak)
	}
	ev := col.OfKind(health.TCPEvicted)
	if len(ev) < n-100-10 {
		t.Errorf("%d evictions for %d connections over a cap of 100", len(ev), n)
	}
	if len(ev) > 0 && ev[0].Evidence["reason"] != "connection limit" {
		t.Errorf("eviction evidence %v", ev[0].Evidence)
	}
	tr.Close(Position{Frame: s.frame, Time: s.now})
	if got := len(col.OfKind(health.FlowSummary)); got != n {
		t.Errorf("%d summaries for %d connections", got, n)
	}
	t.Logf("SYN flood: %d SYNs, peak %d active (cap 100), %d evicted", n, peak, len(ev))
}

// TestOverlapConflictFirstCopyWins buffers a segment, then sends a
// different copy of the same bytes.
func TestOverlapConflictFirstCopyWins(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	pkts := handshake(s, cli, srv, 100, 900)
	pkts = append(pkts,
		s.pkt(cli, srv, PA, 106, 901, []byte("WORLD")), // out of order, first copy
		s.pkt(cli, srv, PA, 101, 901, []byte("hello-world!")),
	)
	recs, col := runCapture(t, pkts, Config{})
	if got := string(recs[0].data[0]); got != "helloWORLDd!" {
		t.Errorf("stream %q, want the first copy of the overlap: %q", got, "helloWORLDd!")
	}
	ev := col.OfKind(health.TCPOverlapConflict)
	if len(ev) != 1 || ev[0].Frame != 5 || ev[0].Evidence["first_frame"] != int64(4) {
		t.Errorf("overlap events %+v", ev)
	}
}

// TestRetransmissionDeliveredOnce resends delivered bytes.
func TestRetransmissionDeliveredOnce(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	pkts := handshake(s, cli, srv, 100, 900)
	pkts = append(pkts,
		s.pkt(cli, srv, PA, 101, 901, []byte("abcdef")),
		s.pkt(cli, srv, PA, 101, 901, []byte("abcdef")),
		s.pkt(cli, srv, PA, 104, 901, []byte("defghi")),
	)
	recs, _ := runCapture(t, pkts, Config{})
	if got := string(recs[0].data[0]); got != "abcdefghi" {
		t.Errorf("stream %q", got)
	}
}

// TestAckedHoleBecomesGap: the receiver acknowledges bytes the capture
// never saw; the hole becomes a Gap before the buffered bytes.
func TestAckedHoleBecomesGap(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	pkts := handshake(s, cli, srv, 100, 900)
	pkts = append(pkts,
		s.pkt(cli, srv, PA, 101, 901, []byte("aaaa")),
		// 105..110 lost
		s.pkt(cli, srv, PA, 110, 901, []byte("cccc")),
		s.pkt(srv, cli, A, 901, 114, nil), // the server got everything
		s.pkt(cli, srv, PA, 114, 901, []byte("dd")),
	)
	var events []string
	tr := NewTracker(Config{}, nil, func(ctx *StreamContext) StreamHandler { return logHandler{&events} })
	feedAll(tr, pkts)
	tr.Close(Position{Frame: 99})
	want := []string{`feed client "aaaa" @4`, `gap client 5 @5`, `feed client "cccc" @5`, `feed client "dd" @7`, `close end_of_capture @99`}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

type logHandler struct{ log *[]string }

func (l logHandler) Feed(d Dir, b []byte, at Position) {
	*l.log = append(*l.log, fmt.Sprintf("feed %s %q @%d", d, b, at.Frame))
}
func (l logHandler) Gap(d Dir, n int, at Position) {
	*l.log = append(*l.log, fmt.Sprintf("gap %s %d @%d", d, n, at.Frame))
}
func (l logHandler) Close(r CloseReason, at Position) {
	*l.log = append(*l.log, fmt.Sprintf("close %s @%d", r, at.Frame))
}

// TestSynAckPayloadNotDeliveredUnlessAcked is casebook C1: a SYN-ACK
// carrying 2 bytes that the client acknowledges as ISN+1 must not shift the
// server stream; when the client acknowledges them, they are delivered.
func TestSynAckPayloadNotDeliveredUnlessAcked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ack      uint32
		wantData string
	}{
		{"ignored (Linux)", 901, "HELLO"},
		{"accepted (ack ISN+3)", 903, "xxLLO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &synth{now: t0}
			const cli, srv = "10.0.0.1:40000", "10.0.0.2:443"
			pkts := []layers.Packet{
				s.pkt(cli, srv, S, 100, 0, nil),
				s.pkt(srv, cli, S|A, 900, 101, []byte("xx")),
				s.pkt(cli, srv, A, 101, tc.ack, nil),
				s.pkt(srv, cli, PA, 901, 101, []byte("HELLO")),
			}
			recs, _ := runCapture(t, pkts, Config{})
			if got := string(recs[0].data[1]); got != tc.wantData {
				t.Errorf("server stream %q, want %q", got, tc.wantData)
			}
		})
	}
}

// TestPortReuseStartsNewConnection: after FIN on a tuple, a SYN with the
// old ISN stays in the old connection and a SYN with a new ISN starts a
// new one (tshark 4.0.17 numbers tcp.stream this way; see the reuse-*.pcap
// references).
func TestPortReuseStartsNewConnection(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	pkts := handshake(s, cli, srv, 100, 900)
	pkts = append(pkts,
		s.pkt(cli, srv, F|A, 101, 901, nil),
		s.pkt(srv, cli, F|A, 901, 102, nil),
		s.pkt(cli, srv, A, 102, 902, nil),
		s.pkt(srv, cli, A, 902, 102, nil), // late duplicate: same connection
	)
	pkts = append(pkts, s.pkt(cli, srv, S, 100, 0, nil))       // same ISN: a late retransmission (tshark: same stream)
	pkts = append(pkts, handshake(s, cli, srv, 7000, 5000)...) // new ISN: new connection
	pkts = append(pkts, s.pkt(cli, srv, PA, 7001, 5001, []byte("again")))
	recs, col := runCapture(t, pkts, Config{})
	if len(recs) != 2 {
		t.Fatalf("%d connections, want 2", len(recs))
	}
	if string(recs[1].data[0]) != "again" || recs[1].ctx.ID != 1 {
		t.Errorf("second connection id %d data %q", recs[1].ctx.ID, recs[1].data[0])
	}
	ev := col.OfKind(health.TCPPortReuse)
	if len(ev) != 1 || ev[0].Frame != 9 || ev[0].Evidence["previous_stream"] != uint64(0) {
		t.Errorf("port reuse events %+v", ev)
	}
	sums := col.OfKind(health.FlowSummary)
	if len(sums) != 2 || sums[0].Evidence["close"] != "fin" {
		t.Errorf("summaries %+v", sums)
	}
}

// TestSYNRetransmissionSameConnection: SYN retries with the same ISN stay
// one connection; the summary counts them.
func TestSYNRetransmissionSameConnection(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:8080"
	var pkts []layers.Packet
	for i := 0; i < 4; i++ {
		s.now = s.now.Add(time.Second)
		pkts = append(pkts, s.pkt(cli, srv, S, 77, 0, nil))
	}
	var st *health.FlowStats
	tr := NewTracker(Config{}, nil, nil)
	tr.OnSummary = func(f *health.FlowStats) { st = f }
	feedAll(tr, pkts)
	tr.Close(Position{Frame: 4, Time: s.now})
	if st == nil || st.SYNs != 4 || len(st.SYNFrames) != 4 || st.Established || st.CloseReason != "end_of_capture" || st.ClientState != "SYN_SENT" {
		t.Errorf("summary %+v", st)
	}
}

// TestResetEndsConnection checks the RST fields and the reset counted in
// the summary's Counts via the flow reporter.
func TestResetEndsConnection(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	pkts := handshake(s, cli, srv, 100, 900)
	s.now = s.now.Add(10 * time.Second)
	pkts = append(pkts, s.pkt(srv, cli, R|A, 901, 101, nil), s.pkt(srv, cli, R, 901, 0, nil))
	var st *health.FlowStats
	var gotClose CloseReason = 99
	tr := NewTracker(Config{}, nil, func(ctx *StreamContext) StreamHandler {
		ctx.Event(health.Event{Kind: health.TLSAlert, Frame: 1})
		ctx.Reporter.Event(health.Event{Kind: health.TLSAlert, Frame: 1})
		return closeFunc(func(r CloseReason) { gotClose = r })
	})
	tr.OnSummary = func(f *health.FlowStats) { st = f }
	feedAll(tr, pkts)
	if st == nil {
		t.Fatal("no summary at the reset")
	}
	if gotClose != CloseRST || st.ResetBy != "server" || st.ResetFrame != 4 || st.IdleBeforeRST < 10*time.Second || st.CloseReason != "rst" {
		t.Errorf("close %v, summary %+v", gotClose, st)
	}
	if st.Counts[health.TLSAlert] != 2 {
		t.Errorf("counts %v", st.Counts)
	}
	if st.Packets != [2]int64{2, 2} {
		t.Errorf("packets %v (the second RST belongs to the closed connection)", st.Packets)
	}
	if tr.Active() != 0 {
		t.Errorf("Active() = %d", tr.Active())
	}
	tr.Close(Position{})
}

type closeFunc func(CloseReason)

func (closeFunc) Feed(Dir, []byte, Position) {}
func (closeFunc) Gap(Dir, int, Position)     {}
func (f closeFunc) Close(r CloseReason, _ Position) {
	f(r)
}

// TestIdleEviction: capture time beyond IdleTimeout ends a connection.
func TestIdleEviction(t *testing.T) {
	s := &synth{now: t0}
	pkts := handshake(s, "10.0.0.1:40000", "10.0.0.2:80", 100, 900)
	col := &health.Collector{}
	tr := NewTracker(Config{IdleTimeout: time.Minute}, col, nil)
	feedAll(tr, pkts)
	s.now = s.now.Add(2 * time.Minute)
	p := s.pkt("10.0.0.3:5000", "10.0.0.2:80", S, 1, 0, nil)
	tr.Packet(&p)
	if tr.Active() != 1 {
		t.Errorf("Active() = %d, want 1", tr.Active())
	}
	ev := col.OfKind(health.TCPEvicted)
	sums := col.OfKind(health.FlowSummary)
	if len(ev) != 1 || ev[0].Evidence["reason"] != "idle" || len(sums) != 1 || sums[0].Evidence["close"] != "idle" {
		t.Errorf("evicted %+v summaries %+v", ev, sums)
	}
}

// TestUnansweredSYNTimesOutWithoutEvictionNotice: a connection attempt that
// never got an answer ends quietly at the half-open timeout (close reason
// "idle"); tcp.syn_unanswered, not tcp.evicted, is its finding.
func TestUnansweredSYNTimesOutWithoutEvictionNotice(t *testing.T) {
	s := &synth{now: t0}
	syn := s.pkt("10.0.0.1:40000", "10.0.0.2:80", S, 100, 0, nil)
	col := &health.Collector{}
	tr := NewTracker(Config{HalfOpenTimeout: time.Minute}, col, nil)
	tr.Packet(&syn)
	s.now = s.now.Add(2 * time.Minute)
	p := s.pkt("10.0.0.3:5000", "10.0.0.2:80", S, 1, 0, nil)
	tr.Packet(&p)
	sums := col.OfKind(health.FlowSummary)
	if n := len(col.OfKind(health.TCPEvicted)); n != 0 {
		t.Errorf("%d tcp.evicted events for an unanswered SYN, want 0", n)
	}
	if len(sums) != 1 || sums[0].Evidence["close"] != "idle" {
		t.Errorf("summaries %+v, want one closed by idle", sums)
	}
	if n := len(col.OfKind(health.TCPSynUnanswered)); n != 1 {
		t.Errorf("%d tcp.syn_unanswered events, want 1", n)
	}
}

// TestMidStreamPickup: no SYN; the higher port is the client.
func TestMidStreamPickup(t *testing.T) {
	s := &synth{now: t0}
	pkts := []layers.Packet{
		s.pkt("10.0.0.2:80", "10.0.0.1:40000", PA, 5000, 300, []byte("response")),
		s.pkt("10.0.0.1:40000", "10.0.0.2:80", A, 300, 5008, nil),
		s.pkt("10.0.0.1:40000", "10.0.0.2:80", PA, 300, 5008, []byte("next")),
	}
	recs, col := runCapture(t, pkts, Config{})
	r := recs[0]
	if r.ctx.Client.Port() != 40000 || string(r.data[1]) != "response" || string(r.data[0]) != "next" {
		t.Errorf("client %v data %q %q", r.ctx.Client, r.data[0], r.data[1])
	}
	if n := len(col.OfKind(health.TCPMidStream)); n != 1 {
		t.Errorf("%d mid_stream events", n)
	}
}

// TestTruncatedFrameGap: bytes cut by the snapshot length become a gap
// once acknowledged.
func TestTruncatedFrameGap(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	pkts := handshake(s, cli, srv, 100, 900)
	p := s.pkt(cli, srv, PA, 101, 901, []byte("abc"))
	p.PayloadLen = 10
	pkts = append(pkts, p, s.pkt(srv, cli, A, 901, 111, nil), s.pkt(cli, srv, PA, 111, 901, []byte("z")))
	recs, _ := runCapture(t, pkts, Config{})
	if string(recs[0].data[0]) != "abcz" || recs[0].gaps[0] != 7 {
		t.Errorf("data %q gaps %d", recs[0].data[0], recs[0].gaps[0])
	}
}

// TestGlobalBufferCap: two connections share MaxBufferTotal; the one that
// needs more room skips its holes.
func TestGlobalBufferCap(t *testing.T) {
	s := &synth{now: t0}
	var pkts []layers.Packet
	for i, cli := range []string{"10.0.0.1:40000", "10.0.0.1:40001"} {
		pkts = append(pkts, handshake(s, cli, "10.0.0.2:80", 100, 900)...)
		for k := 0; k < 4; k++ { // 4 KiB beyond a 1-byte hole, per connection
			pkts = append(pkts, s.pkt(cli, "10.0.0.2:80", PA, 102+uint32(k*1024), 901, bytes.Repeat([]byte{byte('a' + i)}, 1024)))
		}
	}
	col := &health.Collector{}
	tr := NewTracker(Config{MaxBufferPerConn: 1 << 20, MaxBufferTotal: 6 << 10}, col, nil)
	peak := 0
	for i := range pkts {
		tr.Packet(&pkts[i])
		peak = max(peak, tr.buffered)
	}
	tr.Close(Position{})
	ev := col.OfKind(health.TCPBufferLimit)
	if peak > 6<<10 || len(ev) != 1 || ev[0].Evidence["dropped"] != int64(1) || ev[0].Evidence["limit"] != 6<<10 {
		t.Errorf("peak %d, events %+v", peak, ev)
	}
}

// TestOverlapConflictWithDeliveredBytes: a retransmission of bytes already
// delivered (not yet acknowledged) that differs from them is reported; the
// delivered copy stands. After the ACK the copy is released.
func TestOverlapConflictWithDeliveredBytes(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	pkts := handshake(s, cli, srv, 100, 900)
	pkts = append(pkts,
		s.pkt(cli, srv, PA, 101, 901, []byte("GET /a HTTP/1.1\r\n")),
		s.pkt(cli, srv, PA, 101, 901, []byte("GET /a HTTP/1.1\r\n")), // same bytes: fine
		s.pkt(cli, srv, PA, 101, 901, []byte("GET /b HTTP/1.1\r\n")), // differs
		s.pkt(srv, cli, A, 901, 118, nil),
		s.pkt(cli, srv, PA, 101, 901, []byte("GET /c HTTP/1.1\r\n")), // acked: not checked
	)
	col := &health.Collector{}
	var rec *recorder
	tr := NewTracker(Config{}, col, func(ctx *StreamContext) StreamHandler { rec = &recorder{ctx: ctx}; return rec })
	feedAll(tr, pkts)
	if tr.retained != 0 {
		t.Errorf("%d bytes retained after the ACK", tr.retained)
	}
	tr.Close(Position{})
	ev := col.OfKind(health.TCPOverlapConflict)
	if len(ev) != 1 || ev[0].Frame != 6 || ev[0].Evidence["first_frame"] != int64(4) || ev[0].Evidence["seq"] != uint32(6) {
		t.Errorf("overlap events %+v", ev)
	}
	if got := string(rec.data[0]); got != "GET /a HTTP/1.1\r\n" {
		t.Errorf("stream %q", got)
	}
}

// TestHalfOpenCapSparesEstablished: beyond MaxHalfOpen attempts in their
// handshake the oldest attempt goes (counted, one tcp.half_open_evicted at
// Close, no tcp.evicted, no flow.summary, no tcp.syn_unanswered for it),
// and an established connection is never the one pushed out, even idle
// the longest.
func TestHalfOpenCapSparesEstablished(t *testing.T) {
	s := &synth{now: t0}
	col := &health.Collector{}
	tr := NewTracker(Config{MaxConns: 100, MaxHalfOpen: 10}, col, nil)
	for _, p := range handshake(s, "10.0.0.1:40000", "10.0.0.2:80", 100, 900) {
		tr.Packet(&p)
	}
	rng := rand.New(rand.NewSource(5))
	const n = 1000
	peak := 0
	for i := 0; i < n; i++ {
		src := fmt.Sprintf("10.9.%d.%d:%d", rng.Intn(256), rng.Intn(256), 1024+rng.Intn(60000))
		p := s.pkt(src, "10.0.0.3:443", S, rng.Uint32(), 0, nil)
		tr.Packet(&p)
		peak = max(peak, tr.Active())
	}
	if peak > 11 {
		t.Errorf("peak %d connections tracked, want 10 attempts + 1 established", peak)
	}
	st := tr.CaptureStats()
	if st.HalfOpenEvicted != n-10 || st.HalfOpenPeak != 10 {
		t.Errorf("HalfOpenEvicted %d, HalfOpenPeak %d; want %d and 10", st.HalfOpenEvicted, st.HalfOpenPeak, n-10)
	}
	tr.Close(Position{Frame: s.frame, Time: s.now})
	ev := col.OfKind(health.TCPHalfOpenEvicted)
	if len(ev) != 1 || ev[0].Evidence["evicted"] != int64(n-10) || ev[0].Evidence["server"] != "10.0.0.3:443" || ev[0].Frame != 14 {
		t.Fatalf("tcp.half_open_evicted %+v", ev)
	}
	if k := len(col.OfKind(health.TCPEvicted)); k != 0 {
		t.Errorf("%d tcp.evicted: the established connection or the attempts were said one by one", k)
	}
	if k := len(col.OfKind(health.FlowSummary)); k != 11 {
		t.Errorf("%d flow.summary events, want 11 (the established connection and the 10 attempts left)", k)
	}
}
