package tls

import (
	"bytes"
	stdtls "crypto/tls"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// The tests of this file hold the rules that keep findings true on
// captures made elsewhere (one side only, started mid-stream, with gaps,
// without keys, of protocols that are not TLS): an error or a warning
// only for what the capture proves, and a notice about our coverage when
// nettrace does not understand the bytes.

// seenBoth is what the tracker reports for a connection captured whole.
var seenBoth = tcpstate.Visibility{Packets: [2]int64{6, 6}}

// replayClosed feeds the first n segments of s (all when n < 0) to a new
// Conn, then closes it with reason at the last one's frame plus after,
// the capture having shown vis. It returns the Conn and its events.
func replayClosed(t testing.TB, s *testcap.Stream, n int, kl *KeyLog, how chunking, reason tcpstate.CloseReason,
	after time.Duration, vis tcpstate.Visibility) (*Conn, *health.Collector) {
	t.Helper()
	col := newCollector()
	cfg := DefaultConfig()
	cfg.KeyLog = kl
	ctx := &tcpstate.StreamContext{Flow: "test", Reporter: col}
	c := NewConn(ctx, cfg)
	if n < 0 || n > len(s.Segments) {
		n = len(s.Segments)
	}
	rng := newRand()
	var last tcpstate.Position
	for _, seg := range s.Segments[:n] {
		last = tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
		testcap.Feed(c, segDir(seg), seg.Data, last, how, rng)
	}
	ctx.Visibility = vis
	c.Close(reason, tcpstate.Position{Frame: last.Frame, Time: last.Time.Add(after)})
	return c, col
}

func segDir(seg testcap.Segment) tcpstate.Dir {
	if seg.ClientToServer {
		return tcpstate.ClientToServer
	}
	return tcpstate.ServerToClient
}

// TestHandshakeStalledNeedsTheServerSide: a ClientHello is "never
// answered" only when the capture shows the server's side, whole, from
// the start of the connection, and the client waited for an answer.
func TestHandshakeStalledNeedsTheServerSide(t *testing.T) {
	s := readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))[0]
	for _, tc := range []struct {
		name   string
		vis    tcpstate.Visibility
		reason tcpstate.CloseReason
		after  time.Duration
		gap    bool   // a gap in the server's direction
		reply  []byte // what the server sent instead of a ServerHello
		want   int
	}{
		{name: "both sides captured (casebook C1)", vis: seenBoth, reason: tcpstate.CloseRST, after: 14 * time.Second, want: 1},
		{name: "capture ended after 3 s", vis: seenBoth, reason: tcpstate.CloseEndOfCapture, after: 3 * time.Second, want: 1},
		{name: "capture ended 5 ms later", vis: seenBoth, reason: tcpstate.CloseEndOfCapture, after: 5 * time.Millisecond},
		{name: "one-sided: client only", vis: tcpstate.Visibility{Packets: [2]int64{6, 0}, OneSided: true}, reason: tcpstate.CloseRST, after: 14 * time.Second},
		{name: "server bytes acknowledged but not captured", vis: tcpstate.Visibility{Packets: [2]int64{6, 3}, Unseen: [2]int64{0, 1400}},
			reason: tcpstate.CloseRST, after: 14 * time.Second},
		{name: "started mid-stream", vis: tcpstate.Visibility{Packets: [2]int64{6, 6}, MidStream: true}, reason: tcpstate.CloseRST, after: 14 * time.Second},
		{name: "gap in the server's direction", vis: seenBoth, reason: tcpstate.CloseRST, after: 14 * time.Second, gap: true},
		{name: "server answered, not with TLS", vis: seenBoth, reason: tcpstate.CloseRST, after: 14 * time.Second,
			reply: []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := newCollector()
			ctx := &tcpstate.StreamContext{Reporter: col}
			c := NewConn(ctx, DefaultConfig())
			seg := s.Segments[0] // the ClientHello, frame 4
			at := tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
			c.Feed(tcpstate.ClientToServer, seg.Data, at)
			if tc.gap {
				c.Gap(tcpstate.ServerToClient, 1400, at)
			}
			if tc.reply != nil {
				c.Feed(tcpstate.ServerToClient, tc.reply, tcpstate.Position{Frame: seg.Frame + 1, Time: seg.Time})
			}
			ctx.Visibility = tc.vis
			c.Close(tc.reason, tcpstate.Position{Frame: 99, Time: seg.Time.Add(tc.after)})
			ev := col.OfKind(health.TLSHandshakeStalled)
			if len(ev) != tc.want {
				t.Fatalf("%d handshake_stalled events, want %d: %+v", len(ev), tc.want, col.Events)
			}
			if tc.want > 0 && (ev[0].Frame != seg.Frame || ev[0].Evidence["waited_ms"] != tc.after.Milliseconds()) {
				t.Errorf("stalled: %+v", ev[0])
			}
		})
	}
}

// TestMissingKeyAfterFullHandshakeIsNotAFailure: a reset after a session
// whose records could not be read (no key, or not every key) is not "reset
// before the handshake completed" when both sides went on past their
// Finished; a reset in the middle of the handshake still is, when the
// capture shows both sides.
func TestMissingKeyAfterFullHandshakeIsNotAFailure(t *testing.T) {
	req := []byte("GET / HTTP/1.1\r\nHost: go.example.test\r\n\r\n")
	resp := []byte("HTTP/1.1 204 No Content\r\n\r\n")
	go12, _ := goSession(t, stdtls.VersionTLS12, 0xc02f, req, resp)
	go13, keys13 := goSession(t, stdtls.VersionTLS13, 0, req, resp)
	clientKeysOnly := func(keys []byte) *KeyLog {
		var b bytes.Buffer
		for _, line := range strings.Split(string(keys), "\n") {
			if strings.HasPrefix(line, "CLIENT_") {
				b.WriteString(line + "\n")
			}
		}
		kl := NewKeyLog()
		if err := kl.Add(b.Bytes()); err != nil {
			t.Fatal(err)
		}
		return kl
	}
	file13, _ := os.ReadFile(testdata("tls13-aes128gcm-curl-nginx.keys"))
	oneSided := tcpstate.Visibility{Packets: [2]int64{6, 0}, OneSided: true}
	for _, tc := range []struct {
		name string
		s    *testcap.Stream
		n    int // segments fed (-1: all)
		kl   *KeyLog
		vis  tcpstate.Visibility
		want int
	}{
		{name: "TLS 1.2 capture, no key log", s: readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))[0], n: -1, vis: seenBoth},
		{name: "TLS 1.2 capture, key log without its key", s: readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))[0], n: -1,
			kl: mustKeyLog(t, testdata("tls13-aes128gcm-curl-nginx.keys")), vis: seenBoth},
		{name: "TLS 1.3 capture, client keys only", s: readStreams(t, testdata("tls13-aes128gcm-curl-nginx.pcap"))[0], n: -1,
			kl: clientKeysOnly(file13), vis: seenBoth},
		{name: "TLS 1.3 capture, no key log", s: readStreams(t, testdata("tls13-aes128gcm-curl-nginx.pcap"))[0], n: -1, vis: seenBoth},
		{name: "Go TLS 1.2, no key log", s: wireStream(go12), n: -1, vis: seenBoth},
		{name: "Go TLS 1.3, client keys only", s: wireStream(go13), n: -1, kl: clientKeysOnly(keys13), vis: seenBoth},
		// True findings stay: the server's flight, then the reset.
		{name: "TLS 1.2 reset after the server's flight", s: readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))[0], n: 2,
			vis: seenBoth, want: 1},
		{name: "Go TLS 1.2 reset before the server's Finished", s: wireStream(go12), n: 3, vis: seenBoth, want: 1},
		{name: "TLS 1.2 reset after the server's flight, one-sided", s: readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))[0], n: 2,
			vis: oneSided},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, how := range []chunking{chunkWhole, chunkRandom} {
				_, col := replayClosed(t, tc.s, tc.n, tc.kl, how, tcpstate.CloseRST, 10*time.Millisecond, tc.vis)
				if ev := col.OfKind(health.TLSHandshakeFailed); len(ev) != tc.want {
					t.Fatalf("chunking %d: %d handshake_failed events, want %d: %+v", how, len(ev), tc.want, ev)
				}
			}
		})
	}
}

// wireStream turns a goSession's writes into a stream, one frame each.
func wireStream(w *wire) *testcap.Stream {
	s := &testcap.Stream{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, seg := range w.segs {
		s.Segments = append(s.Segments, testcap.Segment{ClientToServer: seg.dir == tcpstate.ClientToServer, Data: seg.data,
			Frame: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond)})
	}
	return s
}

// TestCleartextAfterTLSGivesUp: when a direction's bytes stop being TLS
// records (GridFTP and FTP's CCC go on in cleartext; a port of TLS used by
// something else), its decoding stops with one decode.gave_up notice, not
// a tls.malformed per record; only a record header that is TLS and
// invalid is a warning.
func TestCleartextAfterTLSGivesUp(t *testing.T) {
	s := readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))[0]
	lastFrame := [2]int64{}
	for _, seg := range s.Segments {
		lastFrame[segDir(seg)] = seg.Frame
	}
	withTail := func(client, server []byte) *testcap.Stream {
		out := &testcap.Stream{Segments: append([]testcap.Segment(nil), s.Segments...)}
		last := s.Segments[len(s.Segments)-1]
		out.Segments = append(out.Segments,
			testcap.Segment{ClientToServer: true, Data: client, Frame: last.Frame + 1, Time: last.Time},
			testcap.Segment{ClientToServer: false, Data: server, Frame: last.Frame + 2, Time: last.Time})
		return out
	}
	notTLS := func(client, server []byte) *testcap.Stream {
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		return &testcap.Stream{Segments: []testcap.Segment{
			{ClientToServer: true, Data: client, Frame: 4, Time: t0},
			{ClientToServer: false, Data: server, Frame: 6, Time: t0},
		}}
	}
	ftpClient := []byte("PROT C\r\nRETR /data/file.bin\r\nQUIT\r\n")
	ftpServer := []byte("200 Protection level set to Clear.\r\n150 Opening BINARY mode data connection.\r\n226 Transfer complete.\r\n")
	httpReq := []byte("GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n")
	httpResp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	type stop struct {
		Dir, Reason string
		Bytes       int
	}
	for _, tc := range []struct {
		name      string
		s         *testcap.Stream
		want      []stop
		malformed int // tls.malformed warnings
	}{
		{name: "cleartext after TLS (GridFTP, FTP CCC)", s: withTail(ftpClient, ftpServer), want: []stop{
			{"client", fmt.Sprintf("not TLS after frame %d", lastFrame[0]), len(ftpClient)},
			{"server", fmt.Sprintf("not TLS after frame %d", lastFrame[1]), len(ftpServer)},
		}},
		{name: "HTTP on a TLS port", s: notTLS(httpReq, httpResp), want: []stop{
			{"client", "not TLS", len(httpReq)}, {"server", "not TLS", len(httpResp)},
		}},
		{name: "record header beyond the RFC's bound", s: withTail([]byte{23, 3, 3, 0xff, 0xff, 0}, nil), want: []stop{
			{"client", "invalid record header", 6},
		}, malformed: 1},
		{name: "first record beyond the RFC's bound", s: notTLS([]byte{22, 3, 1, 0x48, 0x01, 1}, nil), want: []stop{
			{"client", "invalid record header", 6},
		}, malformed: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ref []byte
			for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
				_, col := replayClosed(t, tc.s, -1, nil, how, tcpstate.CloseFIN, 0, seenBoth)
				var got []stop
				for _, e := range col.OfKind(health.DecodeGaveUp) {
					if e.Severity != health.Notice || e.Evidence["decoder"] != "tls" {
						t.Errorf("gave_up %+v", e)
					}
					got = append(got, stop{e.Evidence["dir"].(string), e.Evidence["reason"].(string), e.Evidence["bytes"].(int)})
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("chunking %d: decode.gave_up mismatch (-want +got):\n%s", how, diff)
				}
				warnings := 0
				for _, e := range col.Events {
					if e.Kind == health.TLSMalformed && e.Severity == health.Warning {
						warnings++
					} else if e.Severity >= health.Warning && e.Kind != health.TLSAlert {
						t.Errorf("chunking %d: %s %s: %s", how, e.Severity, e.Kind, e.Message)
					}
				}
				if warnings != tc.malformed {
					t.Errorf("chunking %d: %d tls.malformed warnings, want %d: %+v", how, warnings, tc.malformed, col.Events)
				}
				b, _ := json.Marshal(col.Events)
				if how == chunkWhole {
					ref = b
				} else if diff := cmp.Diff(string(ref), string(b)); diff != "" {
					t.Errorf("chunking %d changes the events (-whole +chunked):\n%s", how, diff)
				}
			}
		})
	}
}

// TestResyncAfterGapIsNotMalformed: bytes the capture missed leave a
// direction inside a record; it finds the next record start and reports
// what it skipped as decode.resync (info), not as malformed TLS, and
// decryption goes on.
func TestResyncAfterGapIsNotMalformed(t *testing.T) {
	name := "tls12-ecdhe-rsa-aes128-sha256-cbc-curl-nginx"
	s := readStreams(t, testdata(name+".pcap"))[0]
	kl := mustKeyLog(t, testdata(name+".keys"))
	// The server's segment that continues a record begun in the segment
	// before it: losing the earlier one leaves the direction inside a
	// record.
	lost := -1
	for i := 1; i+1 < len(s.Segments) && lost < 0; i++ {
		if !s.Segments[i].ClientToServer && !s.Segments[i+1].ClientToServer && !plausibleHeader(s.Segments[i+1].Data[:5]) {
			lost = i
		}
	}
	if lost < 0 {
		t.Fatal("no server segment continues a record")
	}
	for _, tc := range []struct {
		name   string
		vis    tcpstate.Visibility
		from   int // first segment fed
		gap    bool
		reason string
	}{
		{name: "gap", vis: seenBoth, gap: true, reason: lostInGap},
		{name: "capture started inside a record", vis: tcpstate.Visibility{Packets: [2]int64{6, 6}, MidStream: true}, from: lost + 1, reason: lostAtStart},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := newCollector()
			cfg := DefaultConfig()
			cfg.KeyLog = kl
			sink := &plainSink{}
			cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return sink }
			ctx := &tcpstate.StreamContext{Reporter: col}
			c := NewConn(ctx, cfg)
			var last tcpstate.Position
			for i, seg := range s.Segments[tc.from:] {
				last = tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
				if tc.gap && tc.from+i == lost {
					c.Gap(segDir(seg), len(seg.Data), last)
					continue
				}
				c.Feed(segDir(seg), seg.Data, last)
			}
			ctx.Visibility = tc.vis
			c.Close(tcpstate.CloseFIN, last)
			ev := col.OfKind(health.DecodeResync)
			if len(ev) != 1 || ev[0].Severity != health.Info || ev[0].Evidence["reason"] != tc.reason ||
				ev[0].Evidence["dir"] != "server" || ev[0].Evidence["skipped"].(int) <= 0 {
				t.Fatalf("decode.resync: %+v", col.Events)
			}
			if tc.gap && len(sink.data[1]) == 0 {
				t.Error("no server plaintext after the gap")
			}
			for _, e := range col.Events {
				if e.Kind == health.TLSMalformed || e.Kind == health.DecodeGaveUp || e.Severity >= health.Warning {
					t.Errorf("%s %s: %s", e.Severity, e.Kind, e.Message)
				}
			}
			t.Log(ev[0].Message)
		})
	}
}

// TestALPNh2NotFedToHTTP1: decrypted application data goes to the HTTP/1
// decoder only when the server selected no protocol or HTTP/1.x; HTTP/2
// (ALPN h2, or its connection preface) is one decode.gave_up notice, and
// Config.Decrypted gets the plaintext whatever the protocol.
func TestALPNh2NotFedToHTTP1(t *testing.T) {
	h2req := []byte(http2Preface + "\x00\x00\x00\x04\x00\x00\x00\x00\x00")
	h1req := []byte("GET / HTTP/1.1\r\nHost: go.example.test\r\n\r\n")
	resp := []byte("\x00\x00\x00\x04\x01\x00\x00\x00\x00")
	for _, tc := range []struct {
		name     string
		version  uint16
		alpn     []string // offered by the client, accepted by the server
		req      []byte
		wantHTTP bool
		reason   string
	}{
		{name: "TLS 1.2 h2", version: stdtls.VersionTLS12, alpn: []string{"h2"}, req: h2req, reason: "HTTP/2 (ALPN h2) not decoded"},
		{name: "TLS 1.3 h2 (EncryptedExtensions)", version: stdtls.VersionTLS13, alpn: []string{"h2"}, req: h2req, reason: "HTTP/2 (ALPN h2) not decoded"},
		{name: "TLS 1.3 other protocol", version: stdtls.VersionTLS13, alpn: []string{"imap"}, req: h1req, reason: `ALPN "imap" is not HTTP/1: not decoded`},
		{name: "TLS 1.3 http/1.1", version: stdtls.VersionTLS13, alpn: []string{"http/1.1"}, req: h1req, wantHTTP: true},
		{name: "TLS 1.2 no ALPN", version: stdtls.VersionTLS12, req: h1req, wantHTTP: true},
		{name: "TLS 1.3 no ALPN, HTTP/2 preface", version: stdtls.VersionTLS13, req: h2req, reason: "HTTP/2 (connection preface) not decoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, keys := goSessionWith(t, tc.version, 0, tc.req, resp, sessionOpts{clientALPN: tc.alpn, serverALPN: tc.alpn})
			kl := NewKeyLog()
			if err := kl.Add(keys); err != nil {
				t.Fatal(err)
			}
			col := newCollector()
			plain, raw := &plainSink{}, &plainSink{}
			opened := false
			cfg := DefaultConfig()
			cfg.KeyLog = kl
			cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { opened = true; return plain }
			cfg.Decrypted = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return raw }
			c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
			for i, s := range w.segs {
				c.Feed(s.dir, s.data, tcpstate.Position{Frame: int64(i + 1)})
			}
			c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: int64(len(w.segs))})
			if !bytes.Equal(raw.data[0], tc.req) || !bytes.Equal(raw.data[1], resp) || !raw.closed {
				t.Errorf("Decrypted got %d/%d bytes (closed %v), want %d/%d", len(raw.data[0]), len(raw.data[1]), raw.closed, len(tc.req), len(resp))
			}
			ev := col.OfKind(health.DecodeGaveUp)
			if tc.wantHTTP {
				if !opened || !bytes.Equal(plain.data[0], tc.req) || len(ev) != 0 {
					t.Errorf("HTTP/1 not fed: opened %v, %d bytes, events %+v", opened, len(plain.data[0]), ev)
				}
				return
			}
			if opened {
				t.Errorf("Plaintext was called for %v", tc.alpn)
			}
			if len(ev) != 1 || ev[0].Evidence["reason"] != tc.reason || ev[0].Severity != health.Notice ||
				ev[0].Evidence["bytes"] != len(tc.req)+len(resp) || ev[0].Evidence["dir"] != "client" {
				t.Fatalf("decode.gave_up: %+v", col.Events)
			}
			t.Log(ev[0].Message)
		})
	}
}

// TestAnonymousSuitesAreWeak: a ServerHello selecting an anonymous
// (DH_anon, ECDH_anon) suite is tls.weak_cipher: no server authentication.
func TestAnonymousSuitesAreWeak(t *testing.T) {
	s := readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))[0]
	ch, sh := s.Segments[0].Data, s.Segments[1].Data // frames 4 and 6
	// The cipher suite follows the record and handshake headers, the
	// version, the random and the session ID (RFC 5246, 7.4.1.3).
	suiteAt := recordHeaderLen + handshakeHeaderLen + 2 + 32 + 1 + int(sh[recordHeaderLen+handshakeHeaderLen+2+32])
	if got := uint16(sh[suiteAt])<<8 | uint16(sh[suiteAt+1]); got != 0xc02f {
		t.Fatalf("suite at %d is 0x%04x, want 0xc02f", suiteAt, got)
	}
	for _, id := range []uint16{0x0017, 0x0018, 0x0019, 0x001a, 0x001b, 0x0034, 0x003a, 0x0046, 0x006c, 0x006d, 0x0089,
		0x009b, 0x00a6, 0x00a7, 0x00bf, 0x00c5, 0xc015, 0xc016, 0xc017, 0xc018, 0xc019, 0xc046, 0xc047, 0xc05a, 0xc05b, 0xc084, 0xc085} {
		t.Run(fmt.Sprintf("0x%04x", id), func(t *testing.T) {
			hello := append([]byte(nil), sh...)
			hello[suiteAt], hello[suiteAt+1] = byte(id>>8), byte(id)
			col := newCollector()
			c := NewConn(&tcpstate.StreamContext{Reporter: col}, DefaultConfig())
			c.Feed(tcpstate.ClientToServer, ch, tcpstate.Position{Frame: 4})
			c.Feed(tcpstate.ServerToClient, hello, tcpstate.Position{Frame: 6})
			ev := col.OfKind(health.TLSWeakCipher)
			if len(ev) != 1 || ev[0].Severity != health.Warning || ev[0].Frame != 6 ||
				ev[0].Evidence["reason"] != "anonymous key exchange: no server authentication" ||
				!strings.Contains(ev[0].Evidence["suite"].(string), "_anon_") {
				t.Fatalf("weak_cipher: %+v", col.Events)
			}
		})
	}
	// An authenticated suite is not weak.
	col := newCollector()
	c := NewConn(&tcpstate.StreamContext{Reporter: col}, DefaultConfig())
	c.Feed(tcpstate.ClientToServer, ch, tcpstate.Position{Frame: 4})
	c.Feed(tcpstate.ServerToClient, sh, tcpstate.Position{Frame: 6})
	if n := len(col.OfKind(health.TLSWeakCipher)); n != 0 {
		t.Errorf("%d weak_cipher events for ECDHE-RSA-AES128-GCM", n)
	}
}

// finisherSink is a plaintext decoder that tells how its protocol ended.
type finisherSink struct {
	plainSink
	how string
}

func (f *finisherSink) Finished() string { return f.how }

// TestFinishedAfterCloseNotify: a Conn is a tcpstate.Finisher. A
// close_notify ends the session cleanly, in clear or decrypted; otherwise
// the decrypted protocol's decoder tells; a stream not decrypted tells
// nothing.
func TestFinishedAfterCloseNotify(t *testing.T) {
	const closed = "the TLS session was closed (close_notify)"
	const inner = "the HTTP response was complete"
	req, resp := []byte("GET / HTTP/1.1\r\n\r\n"), []byte("HTTP/1.1 204 No Content\r\n\r\n")
	s12 := readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))[0]
	run := func(s *testcap.Stream, kl *KeyLog, extra ...[]byte) string {
		cfg := DefaultConfig()
		cfg.KeyLog = kl
		cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return &finisherSink{how: inner} }
		c := NewConn(&tcpstate.StreamContext{Reporter: newCollector()}, cfg)
		s.Replay(c, chunkWhole, newRand())
		for _, b := range extra {
			c.Feed(tcpstate.ServerToClient, b, tcpstate.Position{Frame: 100})
		}
		return c.Finished()
	}
	closing13, keys13 := goSessionWith(t, stdtls.VersionTLS13, 0, req, resp, sessionOpts{closeNotify: true})
	closing12, keys12 := goSessionWith(t, stdtls.VersionTLS12, 0xc02f, req, resp, sessionOpts{closeNotify: true})
	open13, openKeys13 := goSession(t, stdtls.VersionTLS13, 0, req, resp)
	keyLog := func(b []byte) *KeyLog {
		kl := NewKeyLog()
		if err := kl.Add(b); err != nil {
			t.Fatal(err)
		}
		return kl
	}
	for _, tc := range []struct {
		name string
		got  string
		want string
	}{
		{"TLS 1.3 close_notify, decrypted", run(wireStream(closing13), keyLog(keys13)), closed},
		{"TLS 1.2 close_notify, decrypted", run(wireStream(closing12), keyLog(keys12)), closed},
		{"close_notify in clear", run(&testcap.Stream{Segments: s12.Segments[:2]}, nil, []byte{21, 3, 3, 0, 2, 1, 0}), closed},
		{"decrypted, no close_notify: the inner decoder's", run(wireStream(open13), keyLog(openKeys13)), inner},
		{"TLS 1.3 close_notify, not decrypted", run(wireStream(closing13), nil), ""},
		{"capture decrypted: curl's close_notify", run(s12, mustKeyLog(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.keys"))), closed},
		{"capture not decrypted", run(s12, nil), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: Finished() = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// TestMidStreamRecordsAreNotCleartext: a capture that starts after the
// handshake, or inside it, shows protected records: they are not read as
// alerts or handshake messages in clear, nor handed over as plaintext.
func TestMidStreamRecordsAreNotCleartext(t *testing.T) {
	name := "tls12-ecdhe-rsa-aes128gcm-curl-nginx"
	s := readStreams(t, testdata(name+".pcap"))[0]
	// From the first application data record on.
	fromAppData := -1
	for i, seg := range s.Segments {
		if seg.Data[0] == byte(TypeApplicationData) && fromAppData < 0 {
			fromAppData = i
		}
	}
	// From the server's protected Finished on: the record after its
	// ChangeCipherSpec, cut out of its segment.
	var fromFinished *testcap.Stream
	for i, seg := range s.Segments {
		if j := bytes.Index(seg.Data, []byte{20, 3, 3, 0, 1, 1}); !seg.ClientToServer && j >= 0 && fromFinished == nil {
			first := seg
			first.Data = seg.Data[j+6:]
			fromFinished = &testcap.Stream{Segments: append([]testcap.Segment{first}, s.Segments[i+1:]...)}
		}
	}
	if fromAppData < 0 || fromFinished == nil || fromFinished.Segments[0].Data[0] != byte(TypeHandshake) {
		t.Fatal("no application data, or no protected Finished")
	}
	for _, tc := range []struct {
		name string
		s    *testcap.Stream
	}{
		{"from the first application data", &testcap.Stream{Segments: s.Segments[fromAppData:]}},
		{"from the server's protected Finished", fromFinished},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := newCollector()
			sink := &plainSink{}
			cfg := DefaultConfig()
			cfg.KeyLog = mustKeyLog(t, testdata(name+".keys"))
			cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return sink }
			ctx := &tcpstate.StreamContext{Reporter: col, Visibility: tcpstate.Visibility{Packets: [2]int64{6, 6}, MidStream: true}}
			c := NewConn(ctx, cfg)
			tc.s.Replay(c, chunkRandom, newRand())
			for _, e := range col.Events {
				t.Errorf("%s %s: %s", e.Severity, e.Kind, e.Message)
			}
			if len(sink.data[0])+len(sink.data[1]) != 0 {
				t.Errorf("%d/%d bytes of ciphertext handed over as plaintext", len(sink.data[0]), len(sink.data[1]))
			}
		})
	}
}
