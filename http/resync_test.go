package http

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// step is one delivery of a scripted stream: gap bytes that the capture
// does not hold (Gap), then data (Feed), both at the step's frame.
type step struct {
	dir  tcpstate.Dir
	gap  int
	data string
}

// script is a scripted connection: rtt is the handshake RTT the tracker
// knows when the first bytes come (0: the capture may have started
// mid-connection), reason how it closes.
type script struct {
	rtt    time.Duration
	steps  []step
	reason tcpstate.CloseReason
}

// play runs s through a Conn, each step's data split as how says, and
// returns what it reported.
func play(t *testing.T, cfg Config, s script, how chunking) (*health.Collector, *Conn) {
	t.Helper()
	col := &health.Collector{KeepMessages: true}
	c := NewConn(&tcpstate.StreamContext{Reporter: col, Flow: "test", RTT: s.rtt}, cfg)
	rng := newRand()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range s.steps {
		at := tcpstate.Position{Frame: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond)}
		if st.gap > 0 {
			c.Gap(st.dir, st.gap, at)
		}
		testcap.Feed(c, st.dir, []byte(st.data), at, how, rng)
	}
	c.Close(s.reason, tcpstate.Position{Frame: int64(len(s.steps) + 1)})
	return col, c
}

// eventsOf renders events as "f3 decode.resync info skipped=12 reason=mid-stream",
// with the evidence fields named.
func eventsOf(col *health.Collector, fields ...string) []string {
	var out []string
	for _, e := range col.Events {
		s := fmt.Sprintf("f%d %s %s", e.Frame, e.Kind, e.Severity)
		for _, f := range fields {
			if v, ok := e.Evidence[f]; ok {
				s += fmt.Sprintf(" %s=%v", f, v)
			}
		}
		out = append(out, s)
	}
	return out
}

// messagesOf renders messages as in summaryOf.
func messagesOf(col *health.Collector) []string {
	var out []string
	for _, m := range col.Messages {
		if st, ok := m.Fields["status"]; ok {
			out = append(out, fmt.Sprintf("f%d %v %v -> %v %v bytes", m.Frame, m.Fields["method"], m.Fields["uri"], st, m.Fields["body_bytes"]))
		} else {
			out = append(out, fmt.Sprintf("f%d %v %v", m.Frame, m.Fields["method"], m.Fields["uri"]))
		}
	}
	return out
}

type scriptCase struct {
	name       string
	cfg        Config
	s          script
	wantMsgs   []string
	wantEvents []string // with the evidence fields skipped, reason, bytes
}

// runScripts runs every case for every chunking.
func runScripts(t *testing.T, tests []scriptCase) {
	t.Helper()
	for _, tc := range tests {
		cfg := tc.cfg
		if cfg.Limits == (Limits{}) {
			cfg = DefaultConfig()
		}
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				col, _ := play(t, cfg, tc.s, how)
				if diff := cmp.Diff(tc.wantMsgs, messagesOf(col)); diff != "" {
					t.Errorf("messages (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantEvents, eventsOf(col, "skipped", "reason", "bytes")); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			})
		}
	}
}

const (
	getA   = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	getB   = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
	resp2  = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	rtt5ms = 5 * time.Millisecond
)

// TestMidStreamStartIsNotMalformed: a direction whose capture starts inside
// a message (no handshake seen) resynchronises on the next start line,
// wherever it is on its line, with one decode.resync and no
// http.malformed.
func TestMidStreamStartIsNotMalformed(t *testing.T) {
	binary := "\x8b\x00\xff\x10\x7f\x1f" + strings.Repeat("\xa5\x5a\x00", 30)
	long := strings.Repeat("\x93", 20000) // over MaxLineBytes, no LF
	runScripts(t, []scriptCase{
		{name: "server inside a text body", s: script{steps: []step{
			{dir: c2s, data: getB},
			{dir: s2c, data: "tail of an earlier body\r\n</html>\r\n"},
			{dir: s2c, data: resp2},
		}}, wantMsgs: []string{"f1 GET /b", "f3 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f3 decode.resync info skipped=34 reason=mid-stream"}},
		{name: "server inside a binary body glued to the status line", s: script{steps: []step{
			{dir: c2s, data: getB},
			{dir: s2c, data: binary + resp2},
		}}, wantMsgs: []string{"f1 GET /b", "f2 GET /b -> 200 2 bytes"},
			wantEvents: []string{fmt.Sprintf("f2 decode.resync info skipped=%d reason=mid-stream", len(binary))}},
		{name: "server line longer than the limit before the status line", s: script{steps: []step{
			{dir: c2s, data: getB},
			{dir: s2c, data: long},
			{dir: s2c, data: resp2},
		}}, wantMsgs: []string{"f1 GET /b", "f3 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f3 decode.resync info skipped=20000 reason=mid-stream"}},
		{name: "client inside a header block", s: script{steps: []step{
			{dir: c2s, data: "Agent: curl/8.5\r\nAccept: */*\r\n\r\n"},
			{dir: c2s, data: getB},
			{dir: s2c, data: resp2},
		}}, wantMsgs: []string{"f2 GET /b", "f3 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f2 decode.resync info skipped=32 reason=mid-stream"}},
		{name: "client inside a body without a final CRLF", s: script{steps: []step{
			{dir: c2s, data: `{"k": 1}` + getB},
			{dir: s2c, data: resp2},
		}}, wantMsgs: []string{"f1 GET /b", "f2 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f1 decode.resync info skipped=8 reason=mid-stream"}},
		{name: "at a message boundary: nothing to report", s: script{steps: []step{
			{dir: c2s, data: getB},
			{dir: s2c, data: resp2},
		}}, wantMsgs: []string{"f1 GET /b", "f2 GET /b -> 200 2 bytes"}},
		{name: "no message start before the end", s: script{steps: []step{
			{dir: s2c, data: binary},
			{dir: s2c, data: binary},
		}, reason: tcpstate.CloseEndOfCapture},
			wantEvents: []string{fmt.Sprintf("f1 decode.gave_up notice reason=no message start found (mid-stream) bytes=%d", 2*len(binary))}},
	})
}

// TestMidStreamStartIsNotMalformedOnCapture cuts a real capture (curl
// fetching four files from nginx over one connection) so that it starts
// in the middle of the first response's body: the later exchanges decode
// as tshark shows them, the bodies hash to the served files, and the only
// event is one decode.resync of the server's stream.
func TestMidStreamStartIsNotMalformedOnCapture(t *testing.T) {
	streams, err := testcap.ReadStreams(repoTestdata("http", "http-gzip-chunked-nginx-curl.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	s := streams[0]
	const cut = 3 // segment 3 (frame 12) is in the middle of /big.txt's body
	var skipped int
	for _, seg := range s.Segments[cut:] {
		if seg.ClientToServer {
			break
		}
		skipped += len(seg.Data)
	}
	mid := testcap.Stream{Client: s.Client, Server: s.Server, Segments: s.Segments[cut:]}
	for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
		t.Run(fmt.Sprint(how), func(t *testing.T) {
			col := &health.Collector{KeepMessages: true}
			mid.Replay(NewConn(&tcpstate.StreamContext{Reporter: col}, DefaultConfig()), how, newRand())
			want := []string{fmt.Sprintf("f81 decode.resync info skipped=%d reason=mid-stream", skipped)}
			if diff := cmp.Diff(want, eventsOf(col, "skipped", "reason")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			_, resps, shas, _ := view(col)
			if diff := cmp.Diff([]string{"200", "200", "200"}, resps); diff != "" {
				t.Errorf("responses (-want +got):\n%s", diff)
			}
			for _, uri := range []string{"/data.json", "/small.txt", "/image.bin"} {
				if shas[uri] != served[uri] {
					t.Errorf("%s: sha256 %q, served %s", uri, shas[uri], served[uri])
				}
			}
		})
	}
}

// TestKeepAliveCRLFBeforeRequest: empty lines before a request line are
// skipped silently (RFC 9112, 2.2), at the start of a stream and between
// messages.
func TestKeepAliveCRLFBeforeRequest(t *testing.T) {
	for _, rtt := range []time.Duration{0, rtt5ms} {
		runScripts(t, []scriptCase{
			{name: fmt.Sprintf("CRLF at the start/rtt %v", rtt), s: script{rtt: rtt, steps: []step{
				{dir: c2s, data: "\r\n" + getA},
				{dir: s2c, data: resp2},
			}}, wantMsgs: []string{"f1 GET /a", "f2 GET /a -> 200 2 bytes"}},
			{name: fmt.Sprintf("CRLFs and a bare LF between requests/rtt %v", rtt), s: script{rtt: rtt, steps: []step{
				{dir: c2s, data: getA + "\r\n\r\n"},
				{dir: c2s, data: "\n" + getB},
				{dir: s2c, data: resp2 + "\r\n" + resp2},
			}}, wantMsgs: []string{"f1 GET /a", "f2 GET /b", "f3 GET /a -> 200 2 bytes", "f3 GET /b -> 200 2 bytes"}},
		})
	}
}

// TestStrayByteIsNotGluedToRequest: a stray byte before a start line is
// skipped (decode.resync), not read as part of the method or version; a
// method that is one token is kept whole, known or not.
func TestStrayByteIsNotGluedToRequest(t *testing.T) {
	runScripts(t, []scriptCase{
		{name: "letter before GET", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA + "x"},
			{dir: c2s, data: getB},
		}}, wantMsgs: []string{"f1 GET /a", "f2 GET /b"},
			wantEvents: []string{"f2 decode.resync info skipped=1 reason=stray bytes between messages"}},
		{name: "NUL and CR before GET", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA + "\x00\r" + getB},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b"},
			wantEvents: []string{"f1 decode.resync info skipped=2 reason=stray bytes between messages"}},
		{name: "extra body byte before a status line", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA + getB},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokk"},
			{dir: s2c, data: resp2},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b", "f2 GET /a -> 200 2 bytes", "f3 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f3 decode.resync info skipped=1 reason=stray bytes between messages"}},
		{name: "stray byte before the first request", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: "0" + getA},
		}}, wantMsgs: []string{"f1 GET /a"},
			wantEvents: []string{"f1 decode.resync info skipped=1 reason=stray bytes before the first message"}},
		{name: "extension methods are one token", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: "BPROPFIND /x HTTP/1.1\r\n\r\nmkcalendar /y HTTP/1.1\r\n\r\n"},
		}}, wantMsgs: []string{"f1 BPROPFIND /x", "f1 mkcalendar /y"}},
	})
}

// TestResyncAfterGap: bytes lost outside a body leave the direction hunting
// for the next start line; decode.resync says how many bytes it skipped
// after a gap of how many.
func TestResyncAfterGap(t *testing.T) {
	runScripts(t, []scriptCase{
		{name: "gap inside a header block", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: "GET /a HTTP/1.1\r\nHo"},
			{dir: c2s, gap: 40, data: "ccept: */*\r\n\r\n" + getB},
			{dir: s2c, data: resp2},
			{dir: s2c, data: resp2},
		}}, wantMsgs: []string{"f2 GET /b", "f3 GET /a -> 200 2 bytes", "f4 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f2 decode.resync info skipped=14 reason=after a gap of 40 bytes"}},
		{name: "gap at a message boundary", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA},
			{dir: c2s, gap: 30, data: getB},
		}}, wantMsgs: []string{"f1 GET /a", "f2 GET /b"}},
		{name: "gap, then no start line", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\n"},
			{dir: s2c, gap: 100, data: "rest of something\r\n"},
		}, reason: tcpstate.CloseEndOfCapture}, wantMsgs: []string{"f1 GET /a", "f3 GET /a -> 200 0 bytes"},
			wantEvents: []string{"f3 decode.gave_up notice reason=no message start found (after a gap of 100 bytes) bytes=19"}},
	})
}

// TestNotHTTPGivesUpOnce: a connection that does not carry HTTP/1.x (SSH,
// any bytes when the capture holds the connection's start) is given up
// after its first line: one decode.gave_up per direction at Close, with
// the bytes not decoded, and never http.malformed. (The HTTP/2 preface
// switches the connection to HTTP/2 instead: http2_switch_test.go.)
func TestNotHTTPGivesUpOnce(t *testing.T) {
	ssh := "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"
	garbage := strings.Repeat("\x17\x03\x03\x00\x20\x9a\x10\n", 50)
	runScripts(t, []scriptCase{
		{name: "SSH on port 80", s: script{rtt: rtt5ms, steps: []step{
			{dir: s2c, data: ssh},
			{dir: c2s, data: "SSH-2.0-OpenSSH_9.6\r\n"},
			{dir: c2s, data: garbage},
			{dir: s2c, data: garbage},
		}}, wantEvents: []string{
			fmt.Sprintf("f2 decode.gave_up notice reason=not HTTP/1.x bytes=%d", 21+len(garbage)),
			fmt.Sprintf("f1 decode.gave_up notice reason=not HTTP/1.x bytes=%d", len(ssh)+len(garbage)),
		}},
		{name: "binary first bytes with the handshake seen", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: garbage},
			{dir: s2c, data: garbage},
		}}, wantEvents: []string{
			fmt.Sprintf("f1 decode.gave_up notice reason=not HTTP/1.x bytes=%d", len(garbage)),
			fmt.Sprintf("f2 decode.gave_up notice reason=not HTTP/1.x bytes=%d", len(garbage)),
		}},
	})
}

// TestNotHTTPGivesUpOnceOnCapture feeds the two directions of real TLS
// connections (as a port-80 connection carrying TLS would deliver them)
// to the HTTP decoder: each direction gives up once.
func TestNotHTTPGivesUpOnceOnCapture(t *testing.T) {
	for _, name := range []string{"tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap", "ndpi-ssl-cert-name-mismatch.pcap"} {
		streams, err := testcap.ReadStreams(repoTestdata("tls", name))
		if err != nil {
			t.Fatal(err)
		}
		s := streams[0]
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", name, how), func(t *testing.T) {
				col := &health.Collector{KeepMessages: true}
				s.Replay(NewConn(&tcpstate.StreamContext{Reporter: col, RTT: rtt5ms}, DefaultConfig()), how, newRand())
				want := []string{
					fmt.Sprintf("decode.gave_up notice client reason=not HTTP/1.x bytes=%d", len(s.Bytes(true))),
					fmt.Sprintf("decode.gave_up notice server reason=not HTTP/1.x bytes=%d", len(s.Bytes(false))),
				}
				var got []string
				for _, e := range col.Events {
					got = append(got, fmt.Sprintf("%s %s %v reason=%v bytes=%v", e.Kind, e.Severity, e.Evidence["dir"], e.Evidence["reason"], e.Evidence["bytes"]))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestHuntIsBounded: a hunt gives up after MaxBodyBytes without a start
// line, and its line buffer stays within MaxLineBytes however long the
// line.
func TestHuntIsBounded(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits.MaxBodyBytes = 10000
	runScripts(t, []scriptCase{
		{name: "gives up", cfg: cfg, s: script{steps: []step{
			{dir: s2c, data: strings.Repeat("body line\r\n", 1000)},
			{dir: s2c, data: resp2},
		}}, wantEvents: []string{"f1 decode.gave_up notice reason=no message start found within 10000 bytes (mid-stream) bytes=11040"}},
	})
	c := NewConn(&tcpstate.StreamContext{}, DefaultConfig())
	chunk := []byte(strings.Repeat("\xee", 1500))
	for i := range 1000 {
		c.Feed(s2c, chunk, tcpstate.Position{Frame: int64(i + 1)})
	}
	if h := &c.half[s2c]; h.st != stResync || cap(h.lb.b) > 2*c.lim.MaxLineBytes || len(h.lb.marks) > c.lim.MaxLineBytes {
		t.Errorf("state %d, line buffer cap %d, %d marks", h.st, cap(h.lb.b), len(h.lb.marks))
	}
}

// TestFindStart checks where findStart places a message start.
func TestFindStart(t *testing.T) {
	tests := []struct {
		dir    tcpstate.Dir
		line   string
		inSync bool
		off    int
		ok     bool
	}{
		{c2s, "GET / HTTP/1.1", true, 0, true},
		{c2s, "GET / HTTP/1.1", false, 0, true},
		{c2s, "xGET / HTTP/1.1", true, 1, true},
		{c2s, "FOO / HTTP/1.1", true, 0, true},
		{c2s, "FOO / HTTP/1.1", false, 0, false},
		{c2s, "some text GET /x HTTP/1.0", false, 10, true},
		{c2s, "xPROPPATCH /x HTTP/1.1", true, 1, true},
		{c2s, "GET x HTTP/1.1", false, 0, false}, // not a target form a hunt trusts
		{c2s, "GET / HTTP/2.0", true, 0, false},
		{c2s, "GET /a b HTTP/1.1", true, 0, false},
		{c2s, "PRI * HTTP/2.0", true, 0, false},
		{s2c, "HTTP/1.1 200 OK", true, 0, true},
		{s2c, "\x1fHTTP/1.1 404 Not Found", false, 1, true},
		{s2c, "HTTP/1.1 200 O\x01K", false, 0, false},
		{s2c, "HTTP/1.1 200 O\x01K", true, 0, true},
		{s2c, "HTTP/1.1 099 x", true, 0, false},
		{s2c, "HTTP/1.1 20", true, 0, false},
		{s2c, "xx HTTP/1.1 abc HTTP/1.0 301 Moved", false, 16, true},
	}
	for _, tc := range tests {
		off, ok := findStart(tc.dir, []byte(tc.line), tc.inSync)
		if off != tc.off || ok != tc.ok {
			t.Errorf("findStart(%s, %q, %v) = %d, %v; want %d, %v", tc.dir, tc.line, tc.inSync, off, ok, tc.off, tc.ok)
		}
	}
}

// TestResyncEventsAreCapped: a server that puts a stray byte before every
// response is reported maxResyncEvents times, and every response still
// decodes.
func TestResyncEventsAreCapped(t *testing.T) {
	const n = 3 * maxResyncEvents
	col, _ := play(t, DefaultConfig(), script{rtt: rtt5ms, steps: []step{
		{dir: c2s, data: strings.Repeat(getA, n)},
		{dir: s2c, data: resp2 + strings.Repeat("\r"+resp2, n-1)},
	}}, chunkRandom)
	if got := len(col.OfKind(health.DecodeResync)); got != maxResyncEvents {
		t.Errorf("%d decode.resync events, want %d", got, maxResyncEvents)
	}
	if got := len(col.Messages); got != 2*n {
		t.Errorf("%d messages, want %d", got, 2*n)
	}
}

// TestHuntAfterLongLineDoesNotDependOnChunking: after a header line over
// MaxLineBytes, the hunt looks at the same tail of that line however the
// stream was split, so a request glued to its end is found every time.
func TestHuntAfterLongLineDoesNotDependOnChunking(t *testing.T) {
	req := "GET /" + strings.Repeat("b", 4000) + " HTTP/1.1\r\n\r\n"
	for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
		t.Run(fmt.Sprint(how), func(t *testing.T) {
			col, _ := play(t, DefaultConfig(), script{rtt: rtt5ms, steps: []step{
				{dir: c2s, data: getA},
				{dir: c2s, data: "POST /p HTTP/1.1\r\nX: " + strings.Repeat("\x01", 5000) + req},
			}}, how)
			want := []string{"f2 http.malformed notice", "f2 decode.resync info skipped=5003 reason=after unparseable bytes"}
			if diff := cmp.Diff(want, eventsOf(col, "skipped", "reason")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if len(col.Messages) != 2 || col.Messages[1].Fields["uri"] != "/"+strings.Repeat("b", 4000) {
				t.Errorf("%d messages", len(col.Messages))
			}
		})
	}
}
