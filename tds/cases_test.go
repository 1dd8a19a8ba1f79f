package tds

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// ---- builders for synthetic streams ----

func u16le(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func u32le(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func ucs2enc(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// pkt builds one TDS packet.
func pkt(t PacketType, status Status, payload []byte) []byte {
	h := []byte{byte(t), byte(status), 0, 0, 0, 0, 1, 0}
	binary.BigEndian.PutUint16(h[2:], uint16(HeaderLen+len(payload)))
	return append(h, payload...)
}

// preloginPayload builds a PRELOGIN with VERSION and ENCRYPTION.
func preloginPayload(enc Encryption) []byte {
	return []byte{0x00, 0x00, 0x0B, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xFF,
		0x10, 0x00, 0x10, 0x7A, 0x00, 0x00, byte(enc)}
}

func batchPayload(sql string) []byte {
	return cat(u32le(22), u32le(18), u16le(2), make([]byte, 8), u32le(1), ucs2enc(sql))
}

func doneTok(status, curcmd uint16, rows uint64) []byte {
	b := []byte{byte(TokenDone)}
	b = binary.LittleEndian.AppendUint16(b, status)
	b = binary.LittleEndian.AppendUint16(b, curcmd)
	return binary.LittleEndian.AppendUint64(b, rows)
}

func errorTok(number int32, state, class uint8, msg string) []byte {
	body := cat(u32le(uint32(number)), []byte{state, class}, u16le(uint16(len([]rune(msg)))), ucs2enc(msg),
		[]byte{3}, ucs2enc("SRV"), []byte{0}, u32le(1))
	return cat([]byte{byte(TokenError)}, u16le(uint16(len(body))), body)
}

// feeder drives a Conn with synthetic bytes at synthetic positions.
type feeder struct {
	c     *Conn
	rep   *health.Collector
	frame int64
	now   time.Time
}

func newFeeder(cfg Config) *feeder {
	rep := &health.Collector{KeepMessages: true}
	ctx := &tcpstate.StreamContext{Client: netip.MustParseAddrPort("10.0.0.1:50000"),
		Server: netip.MustParseAddrPort("10.0.0.2:1433"), Flow: "10.0.0.1:50000->10.0.0.2:1433/tcp", Reporter: rep}
	return &feeder{c: NewConn(ctx, cfg), rep: rep, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (f *feeder) send(dir tcpstate.Dir, after time.Duration, b []byte) tcpstate.Position {
	f.frame++
	f.now = f.now.Add(after)
	at := tcpstate.Position{Frame: f.frame, Time: f.now}
	f.c.Feed(dir, b, at)
	return at
}

func (f *feeder) close() {
	f.frame++
	f.c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: f.frame, Time: f.now})
}

const (
	cli = tcpstate.ClientToServer
	srv = tcpstate.ServerToClient
)

// ---- casebook ----

// TestCaseC18_PreloginStalled: PRELOGIN sent, never answered (FreeTDS and
// impacket against a silent listener) → tds.prelogin_stalled.
func TestCaseC18_PreloginStalled(t *testing.T) {
	for _, tc := range []struct {
		file     string
		waitedMS float64
	}{
		{"tds-tsql-prelogin-no-answer.pcap", 14999.659},
		{"tds-impacket-mssqlclient-prelogin-no-answer.pcap", 9683.901},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res := runCapture(t, testdata(tc.file), DefaultConfig(), nil, nil)
			ev := res.rep.OfKind(health.TDSPreloginStalled)
			if len(ev) != 1 {
				t.Fatalf("%d prelogin_stalled events, want 1: %s", len(ev), jsonAll(t, res.rep))
			}
			if ev[0].Frame != 4 || ev[0].Evidence["waited_ms"] != tc.waitedMS {
				t.Errorf("event frame %d waited %v, want frame 4 waited %v", ev[0].Frame, ev[0].Evidence["waited_ms"], tc.waitedMS)
			}
			t.Logf("%s", ev[0].Message)
		})
	}
}

// TestCaseC15_LatencySplit: the same TDS connection seen at the client and
// at the server through a 80 ms WAN: at the client each response comes ~81
// ms after its request (round trip + < 1 ms server time); at the server the
// server answers in < 1 ms and the next request comes ~80 ms later.
func TestCaseC15_LatencySplit(t *testing.T) {
	for _, tc := range []struct {
		file, vantage string
	}{
		{"c15-tds-wan-nat-client.pcap", "client"},
		{"c15-tds-wan-nat-server.pcap", "server"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := testdata(tc.file)
			res := runCapture(t, path, DefaultConfig(), nil, handshakeRTT(path))
			ev := res.rep.OfKind(health.TDSLatencySplit)
			if len(ev) != 1 {
				t.Fatalf("%d latency_split events", len(ev))
			}
			e := ev[0].Evidence
			if e["vantage"] != tc.vantage || e["requests"] != 2 {
				t.Errorf("vantage %v requests %v, want %s 2", e["vantage"], e["requests"], tc.vantage)
			}
			rtt := e["rtt_ms"].(float64)
			if rtt < 80 || rtt > 81.5 {
				t.Errorf("rtt %v ms, want ~80.7", rtt)
			}
			switch tc.vantage {
			case "client":
				if lo, hi := e["server_ms_min"].(float64), e["server_ms_max"].(float64); lo < 81 || hi > 81.5 {
					t.Errorf("response times %v–%v ms, want 81.2–81.3", lo, hi)
				}
				if est := e["server_est_ms_max"].(float64); est > 1.5 {
					t.Errorf("estimated server time %v ms, want < 1.5", est)
				}
			case "server":
				if hi := e["server_ms_max"].(float64); hi > 1.0 {
					t.Errorf("server time %v ms, want < 1 (0.6, 0.8)", hi)
				}
				if th := e["think_ms_median"].(float64); th < 80 || th > 81 {
					t.Errorf("think time %v ms, want ~80.6", th)
				}
			}
			if lf := res.rep.OfKind(health.TDSLoginFailed); len(lf) != 1 || lf[0].Evidence["number"] != int32(18456) {
				t.Errorf("login_failed events: %+v", lf)
			}
			st := res.conns[0].Stats()
			if st.LoginsFailed != 1 || st.User != "sa" || st.RequestCount != 2 || len(st.Requests) != 2 {
				t.Errorf("stats: %+v", st)
			}
			t.Logf("%s", ev[0].Message)
		})
	}
}

// toLayers converts a testcap packet into the layers.Packet the Analyzer
// would pass to SSRP.Datagram.
func toLayers(p testcap.Packet) layers.Packet {
	return layers.Packet{Frame: p.Frame, Time: p.Time, Src: p.Src.Addr(), Dst: p.Dst.Addr(), Transport: layers.TransportUDP,
		UDP: layers.UDPHeader{SrcPort: p.Src.Port(), DstPort: p.Dst.Port(), Length: uint16(8 + len(p.Payload))}, Payload: p.Payload}
}

func runSSRP(t *testing.T, path string) *health.Collector {
	t.Helper()
	pkts, err := testcap.ReadPackets(path)
	if err != nil {
		t.Fatal(err)
	}
	rep := &health.Collector{KeepMessages: true}
	s := NewSSRP(rep, DefaultSSRPConfig())
	var last tcpstate.Position
	var lp layers.Packet // reused, as the Analyzer does
	for _, p := range pkts {
		last = tcpstate.Position{Frame: p.Frame, Time: p.Time}
		if !p.UDP || p.Src.Port() != SSRPPort && p.Dst.Port() != SSRPPort {
			continue
		}
		lp = toLayers(p)
		s.Datagram(&lp)
	}
	s.Finish(last)
	return rep
}

// TestCaseC9_SSRPReplyFromOtherAddress: the client-side capture shows only
// the unanswered side: 17 requests to 10.200.3.47, no reply.
func TestCaseC9_SSRPReplyFromOtherAddress(t *testing.T) {
	rep := runSSRP(t, testdata("c09-ssrp-reply-other-ip-dropped-client.pcap"))
	ev := rep.OfKind(health.TDSSSRPUnanswered)
	if len(ev) != 1 {
		t.Fatalf("%d ssrp_unanswered events: %s", len(ev), jsonAll(t, rep))
	}
	e := ev[0]
	if e.Evidence["requests"] != 17 || e.Evidence["instance"] != "SQLPROD" || e.Evidence["server"] != "10.200.3.47" || e.Frame != 1 {
		t.Errorf("evidence %v frame %d", e.Evidence, e.Frame)
	}
	if n := len(rep.OfKind(health.TDSSSRPReplyFromOtherAddress)); n != 0 {
		t.Errorf("%d reply-from-other events, want 0 (no reply reaches the client)", n)
	}
	var inst, ex int
	for _, m := range rep.Messages {
		switch m.Fields["type"] {
		case "CLNT_UCAST_INST":
			inst++
			if m.Fields["instance"] != "SQLPROD" {
				t.Errorf("frame %d instance %v", m.Frame, m.Fields["instance"])
			}
		case "CLNT_UCAST_EX":
			ex++
		}
	}
	if inst != 16 || ex != 1 {
		t.Errorf("decoded %d CLNT_UCAST_INST and %d CLNT_UCAST_EX, want 16 and 1", inst, ex)
	}
	t.Logf("%s", e.Message)
}

// TestCaseC9_SSRPReplyFromOtherAddressSynthetic: a request to .47 answered
// from .49 (the node address), matched by ports and time.
func TestCaseC9_SSRPReplyFromOtherAddressSynthetic(t *testing.T) {
	rep := &health.Collector{KeepMessages: true}
	s := NewSSRP(rep, DefaultSSRPConfig())
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	resp := "ServerName;NODE2;InstanceName;SQLPROD;IsClustered;Yes;Version;15.0.2000.5;tcp;49733;np;\\\\NODE2\\pipe\\MSSQL$SQLPROD\\sql\\query;;"
	mk := func(frame int64, dt time.Duration, src, dst string, payload []byte) *layers.Packet {
		a, b := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
		return &layers.Packet{Frame: frame, Time: t0.Add(dt), Src: a.Addr(), Dst: b.Addr(), Transport: layers.TransportUDP,
			UDP: layers.UDPHeader{SrcPort: a.Port(), DstPort: b.Port()}, Payload: payload}
	}
	s.Datagram(mk(1, 0, "10.200.1.10:39227", "10.200.3.47:1434", append([]byte("\x04SQLPROD"), 0)))
	s.Datagram(mk(2, 300*time.Microsecond, "10.200.3.49:1434", "10.200.1.10:39227", cat([]byte{5}, u16le(uint16(len(resp))), []byte(resp))))
	// A normal exchange with another server: no finding.
	s.Datagram(mk(3, time.Second, "10.200.1.10:40000", "10.200.3.20:1434", []byte{3}))
	s.Datagram(mk(4, time.Second+time.Millisecond, "10.200.3.20:1434", "10.200.1.10:40000", cat([]byte{5}, u16le(uint16(len(resp))), []byte(resp))))
	s.Finish(tcpstate.Position{Frame: 5, Time: t0.Add(2 * time.Second)})

	ev := rep.OfKind(health.TDSSSRPReplyFromOtherAddress)
	if len(ev) != 1 {
		t.Fatalf("%d reply-from-other events: %s", len(ev), jsonAll(t, rep))
	}
	if ev[0].Evidence["requested"] != "10.200.3.47" || ev[0].Evidence["replied"] != "10.200.3.49" || ev[0].Frame != 2 || ev[0].Evidence["request_frame"] != int64(1) {
		t.Errorf("event %+v", ev[0])
	}
	if n := len(rep.OfKind(health.TDSSSRPUnanswered)); n != 0 {
		t.Errorf("%d unanswered events, want 0", n)
	}
	var got []map[string]any
	for _, m := range rep.Messages {
		if m.Fields["dir"] == "response" && m.Frame == 2 {
			got = m.Fields["instances"].([]map[string]any)
		}
	}
	want := []map[string]any{{"server": "NODE2", "instance": "SQLPROD", "clustered": "Yes", "version": "15.0.2000.5", "tcp": "49733", "np": `\\NODE2\pipe\MSSQL$SQLPROD\sql\query`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("instances (-want +got):\n%s", diff)
	}
	t.Logf("%s", ev[0].Message)
}

// TestSSRPUnreachableCaptures: the FreeTDS captures whose SSRP requests get
// ICMP port unreachable: requests decoded and reported unanswered.
func TestSSRPUnreachableCaptures(t *testing.T) {
	for _, tc := range []struct {
		file     string
		requests int
		instance string
	}{
		{"tds-tsql-ssrp-instance-port-unreachable.pcap", 16, "SQLEXPRESS"},
		{"tds-tsql-list-instances-ssrp-unreachable.pcap", 15, ""},
	} {
		rep := runSSRP(t, testdata(tc.file))
		ev := rep.OfKind(health.TDSSSRPUnanswered)
		if len(ev) != 1 || ev[0].Evidence["requests"] != tc.requests || ev[0].Evidence["instance"] != tc.instance {
			t.Errorf("%s: %s", tc.file, jsonAll(t, rep))
		}
	}
}

// ---- secrets ----

// deobfuscate reverses the LOGIN7 password obfuscation ([MS-TDS] 2.2.6.4):
// test code only, to know what must never appear in the output.
func deobfuscate(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		c ^= 0xA5
		out[i] = c<<4 | c>>4
	}
	u := make([]uint16, len(out)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(out[2*i:])
	}
	return string(utf16.Decode(u))
}

// TestLogin7PasswordNeverOutput greps everything the decoder reports (events,
// messages, stats, errors) for the password of the captures, in clear,
// UCS-2 and obfuscated form.
func TestLogin7PasswordNeverOutput(t *testing.T) {
	for _, name := range []string{"tds-tsql-login7-failed-fakeserver.pcap", "c15-tds-wan-nat-client.pcap", "c15-tds-wan-nat-server.pcap"} {
		t.Run(name, func(t *testing.T) {
			streams, err := testcap.ReadStreams(testdata(name))
			if err != nil {
				t.Fatal(err)
			}
			// Find the LOGIN7 and its password field.
			cb := streams[0].Bytes(true)
			var password string
			var obf []byte
			for b := cb; len(b) >= HeaderLen; {
				p, rest, err := ParsePacket(b)
				if err != nil {
					break
				}
				if p.Type == TypeLogin7 {
					off := binary.LittleEndian.Uint16(p.Payload[44:])
					n := binary.LittleEndian.Uint16(p.Payload[46:])
					obf = p.Payload[off : off+2*n]
					password = deobfuscate(obf)
				}
				b = rest
			}
			if len(password) < 4 {
				t.Fatalf("no password found in %s", name)
			}
			res := runCapture(t, testdata(name), DefaultConfig(), nil, nil)
			all := jsonAll(t, res.rep)
			for _, c := range res.conns {
				all += fmt.Sprintf("%+v %#v", *c.Stats(), *c.Stats())
			}
			l, _, _ := ParseLogin7(func() []byte {
				for b := cb; ; {
					p, rest, _ := ParsePacket(b)
					if p.Type == TypeLogin7 {
						return p.Payload
					}
					b = rest
				}
			}())
			all += fmt.Sprintf("%+v %#v", l, l)
			for _, needle := range []string{password, string(ucs2enc(password)), string(obf), hex.EncodeToString(obf),
				strings.ToUpper(hex.EncodeToString(obf)), fmt.Sprintf("% x", obf)} {
				if strings.Contains(all, needle) {
					t.Fatalf("output contains the LOGIN7 password (form %q)", needle)
				}
			}
			if !strings.Contains(all, fmt.Sprintf("%d chars, obfuscated, not shown", len(password))) {
				t.Errorf("password presence/length not reported")
			}
			t.Logf("password of %d characters recognised and never output (%d bytes of output checked)", len(password), len(all))
		})
	}
}

// ---- chunking ----

// TestChunkingDoesNotChangeResults feeds every capture whole, byte by byte
// and split at random points: the messages, events and packets must be
// identical.
func TestChunkingDoesNotChangeResults(t *testing.T) {
	files, _ := filepath.Glob(testdata("*.pcap"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			base := runCapture(t, f, DefaultConfig(), whole, handshakeRTT(f))
			want := jsonAll(t, base.rep)
			for name, ch := range map[string]chunker{"bytes": bytewise, "random1": randomSplit(1), "random2": randomSplit(2)} {
				got := runCapture(t, f, DefaultConfig(), ch, handshakeRTT(f))
				if diff := cmp.Diff(want, jsonAll(t, got.rep)); diff != "" {
					t.Errorf("%s: output differs (-whole +chunked):\n%s", name, diff)
				}
				if diff := cmp.Diff(base.packets, got.packets); diff != "" {
					t.Errorf("%s: packets differ:\n%s", name, diff)
				}
			}
		})
	}
}
