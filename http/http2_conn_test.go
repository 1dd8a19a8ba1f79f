package http

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// TestH2Exchanges: streams decode as exchanges, one "http" record per
// request and response at the frame that ends it, bodies decoded as
// HTTP/1's, whatever the chunking.
func TestH2Exchanges(t *testing.T) {
	body := strings.Repeat("hello h2 ", 200)
	z := gz([]byte(body))
	var zl bytes.Buffer
	w := zlib.NewWriter(&zl)
	w.Write([]byte(body))
	w.Close()
	runH2Scripts(t, []h2Case{
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "GET then gzip and deflate responses", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...) + cli.headers(3, FlagEndStream, get("/b")...)},
				{dir: s2c, data: h2server + settingsAck + srv.headers(1, 0, status("200", "content-encoding", "gzip", "content-type", "text/plain")...) +
					dataFrame(1, 0, z[:10])},
				{dir: s2c, data: dataFrame(1, FlagEndStream, z[10:]) + srv.headers(3, 0, status("200", "content-encoding", "deflate")...) + dataFrame(3, FlagEndStream, zl.String())},
			}}, wantExch: []string{"f1 GET /a", "f1 GET /b", fmt.Sprintf("f3 GET /a -> 200 %d bytes", len(body)), fmt.Sprintf("f3 GET /b -> 200 %d bytes", len(body))}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "POST with interim 100, trailers, CONTINUATION and padding", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + rawFrame(FrameHeaders, FlagPadded, 1, "\x03"+cli.block(":method", "POST", ":scheme", "https", ":path", "/up")+"\x00\x00\x00") +
					rawFrame(FrameContinuation, FlagEndHeaders, 1, cli.block(":authority", "example.test", "expect", "100-continue", "content-length", "4"))},
				{dir: s2c, data: h2server + srv.headers(1, 0, status("100")...)},
				{dir: c2s, data: rawFrame(FrameData, FlagPadded, 1, "\x02data\x00\x00") + cli.headers(1, FlagEndStream, "x-checksum", "abc")},
				{dir: s2c, data: srv.headers(1, 0, status("201", "content-length", "2")...) + dataFrame(1, 0, "ok") + srv.headers(1, FlagEndStream, "grpc-status", "0")},
			}}, wantExch: []string{"f2 POST /up -> 100 interim", "f3 POST /up", "f4 POST /up -> 201 2 bytes"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "error statuses", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/missing")...) + cli.headers(3, FlagEndStream, get("/boom")...)},
				{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, status("404")...) + srv.headers(3, FlagEndStream, status("503")...)},
			}}, wantExch: []string{"f1 GET /missing", "f1 GET /boom", "f2 GET /missing -> 404 0 bytes", "f2 GET /boom -> 503 0 bytes"},
				wantEvents: []string{"f2 http.error_status notice status=404", "f2 http.error_status warning status=503"}, evFields: []string{"status"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "server push", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/")...)},
				{dir: s2c, data: h2server + rawFrame(FramePushPromise, FlagEndHeaders, 1, u32(2)+srv.block(get("/style.css")...)) +
					srv.headers(1, 0, status("200")...) + dataFrame(1, FlagEndStream, "<html>") +
					srv.headers(2, 0, status("200")...) + dataFrame(2, FlagEndStream, "body{}")},
			}}, wantExch: []string{"f1 GET /", "f2 GET /style.css", "f2 GET / -> 200 6 bytes", "f2 GET /style.css -> 200 6 bytes"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "content-length shorter than the DATA", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
				{dir: s2c, data: h2server + srv.headers(1, 0, status("200", "content-length", "10")...) + dataFrame(1, FlagEndStream, "abc")},
			}}, wantExch: []string{"f1 GET /a", "f2 GET /a -> 200 3 bytes incomplete=sender seen=3"},
				wantEvents: []string{"f2 http.body_truncated warning cause=sender"}, evFields: []string{"cause"}}
		}(),
	})
}

// TestH2BodyHash: the SHA-256 of a decoded response body is the body's.
func TestH2BodyHash(t *testing.T) {
	cli, srv := newEnc(), newEnc()
	body := strings.Repeat("x", 3000)
	col, _ := playH2(t, DefaultConfig(), script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
		{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/x")...)},
		{dir: s2c, data: h2server + srv.headers(1, 0, status("200", "content-encoding", "gzip")...) + dataFrame(1, FlagEndStream, gz([]byte(body)))},
	}}, chunkRandom)
	sum := sha256.Sum256([]byte(body))
	var got []any
	for _, m := range col.Messages {
		if m.Proto == "http" && m.Fields["status"] != nil {
			got = append(got, m.Fields["body_sha256"], m.Fields["content_encoding"])
		}
	}
	if diff := cmp.Diff([]any{hex.EncodeToString(sum[:]), "gzip"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestH2ResetAndGoAway: RST_STREAM and GOAWAY are events whose severity
// follows the error code and the stream's state; a message a reset cut is
// reported incomplete.
func TestH2ResetAndGoAway(t *testing.T) {
	ev := []string{"state", "error", "unprocessed"}
	runH2Scripts(t, []h2Case{
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "client cancels inside the body", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/big")...)},
				{dir: s2c, data: h2server + srv.headers(1, 0, status("200", "content-length", "100")...) + dataFrame(1, 0, "0123456789")},
				{dir: c2s, data: rstFrame(1, ErrCodeCancel)},
				{dir: s2c, data: dataFrame(1, 0, "in flight")}, // expected after the reset: no event
			}}, wantExch: []string{"f1 GET /big", "f3 GET /big -> 200 10 bytes incomplete=reset seen=10"},
				wantEvents: []string{"f3 http2.stream_reset notice state=inside the response body (10 bytes received) error=CANCEL"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "server resets after a complete response", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, 0, ":method", "PUT", ":scheme", "https", ":path", "/u", "content-length", "3000")},
				{dir: s2c, data: h2server + srv.headers(1, 0, status("413")...) + dataFrame(1, FlagEndStream, "too big") + rstFrame(1, ErrCodeNo)},
				{dir: c2s, data: dataFrame(1, FlagEndStream, "")},
			}}, wantExch: []string{"f2 PUT /u -> 413 7 bytes", "f2 PUT /u incomplete=reset seen=0"},
				wantEvents: []string{"f2 http.error_status notice", "f2 http2.stream_reset info state=after the response error=NO_ERROR"}}
		}(),
		func() h2Case {
			cli := newEnc()
			return h2Case{name: "protocol error before the response", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
				{dir: s2c, data: h2server + rstFrame(1, ErrCodeProtocol)},
			}}, wantExch: []string{"f1 GET /a"},
				wantEvents: []string{"f2 http2.stream_reset warning state=before the response error=PROTOCOL_ERROR"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "reset after the exchange, graceful GOAWAY", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...) + cli.headers(3, FlagEndStream, get("/b")...) + cli.headers(5, FlagEndStream, get("/c")...)},
				{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, status("204")...) + goAwayFrame(3, ErrCodeNo, "")},
				{dir: c2s, data: rstFrame(1, ErrCodeStreamClosed) + rstFrame(5, ErrCodeCancel)},
				{dir: s2c, data: srv.headers(3, FlagEndStream, status("204")...)},
			}}, wantExch: []string{"f1 GET /a", "f1 GET /b", "f1 GET /c", "f2 GET /a -> 204 0 bytes", "f4 GET /b -> 204 0 bytes"},
				wantEvents: []string{"f2 http2.goaway info error=NO_ERROR unprocessed=[5]",
					"f3 http2.stream_reset info state=after the exchange was complete error=STREAM_CLOSED",
					"f3 http2.stream_reset info state=on a stream the server's GOAWAY had left unprocessed error=CANCEL"}}
		}(),
		func() h2Case {
			cli := newEnc()
			return h2Case{name: "GOAWAY with an error and debug data", evFields: []string{"error", "debug"}, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
				{dir: s2c, data: h2server + goAwayFrame(0, ErrCodeEnhanceYourCalm, "too many\x00requests")},
			}}, wantExch: []string{"f1 GET /a"},
				wantEvents: []string{"f2 http2.goaway warning error=ENHANCE_YOUR_CALM debug=too many.requests"}}
		}(),
	})
}

// TestH2MalformedSeverity: frames that break RFC 9113 are http2.malformed,
// a Warning when the direction was followed from its start with nothing
// lost, else a Notice; the frames after them are still decoded.
func TestH2MalformedSeverity(t *testing.T) {
	ev := []string{"frame_type"}
	cases := []struct {
		name, bad string
		want      string
	}{
		{"SETTINGS on a stream", rawFrame(FrameSettings, 0, 1, ""), "SETTINGS"},
		{"DATA on stream 0", dataFrame(0, 0, "x"), "DATA"},
		{"WINDOW_UPDATE of 0", rawFrame(FrameWindowUpdate, 0, 0, u32(0)), "WINDOW_UPDATE"},
		{"CONTINUATION alone", rawFrame(FrameContinuation, FlagEndHeaders, 1, "\x82"), "CONTINUATION"},
		{"PUSH_PROMISE from the client", rawFrame(FramePushPromise, FlagEndHeaders, 1, u32(2)+"\x82"), "PUSH_PROMISE"},
		{"bad ENABLE_PUSH", settingsFrame(uint32(SettingEnablePush), 2), "SETTINGS"},
		{"over SETTINGS_MAX_FRAME_SIZE", rawFrame(0xfa, 0, 0, strings.Repeat("p", defaultMaxFrameSize+1)), "FrameType(0xfa)"},
	}
	var tests []h2Case
	for _, c := range cases {
		for _, gap := range []bool{false, true} {
			cli, srv := newEnc(), newEnc()
			steps := []step{{dir: c2s, data: h2client}, {dir: s2c, data: h2server}}
			sev := "warning"
			if gap {
				steps = append(steps, step{dir: c2s, gap: 10, data: ""})
				sev = "notice"
				// A gap outside a frame loses the direction's framing:
				// here the gap sits inside a DATA frame on stream 1.
				steps[0].data += cli.headers(1, 0, ":method", "POST", ":scheme", "https", ":path", "/p") + dataFrame(1, FlagEndStream, "0123456789abcdefghij")[:15]
				steps[2].data = "ghij"
			}
			steps = append(steps,
				step{dir: c2s, data: c.bad + cli.headers(3, FlagEndStream, get("/after")...)},
				step{dir: s2c, data: srv.headers(3, FlagEndStream, status("200")...)})
			name := c.name
			want := []string{"f3 GET /after", "f4 GET /after -> 200 0 bytes"}
			events := []string{fmt.Sprintf("f3 http2.malformed %s frame_type=%s", sev, c.want)}
			if gap {
				name += " after a gap"
				want = []string{"f3 POST /p incomplete=capture seen=10", "f4 GET /after", "f5 GET /after -> 200 0 bytes"}
				events = []string{"f3 http.body_truncated notice", fmt.Sprintf("f4 http2.malformed %s frame_type=%s", sev, c.want)}
			}
			tests = append(tests, h2Case{name: name, evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: steps},
				wantExch: want, wantEvents: events})
		}
	}
	runH2Scripts(t, tests)
}

// TestH2MalformedHeaderSections: header sections RFC 9113, 8.2 and 8.3
// forbid are http2.malformed (Warning on a proven direction); the
// exchange is still reported.
func TestH2MalformedHeaderSections(t *testing.T) {
	for _, tc := range []struct {
		name string
		kv   []string
	}{
		{"upper-case name", append(get("/a"), "X-Upper", "1")},
		{"connection-specific field", append(get("/a"), "connection", "keep-alive")},
		{"te other than trailers", append(get("/a"), "te", "gzip")},
		{"pseudo-header after a regular field", []string{":method", "GET", "accept", "*/*", ":path", "/a"}},
		{"response pseudo-header in a request", append(get("/a"), ":status", "200")},
		{"no :method", []string{":path", "/a", ":scheme", "https"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli, srv := newEnc(), newEnc()
			col, _ := playH2(t, DefaultConfig(), script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, tc.kv...)},
				{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, status("200")...)},
			}}, chunkWhole)
			if diff := cmp.Diff([]string{"f1 http2.malformed warning"}, eventsOf(col)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if n := len(exchangesOf(col)); n != 2 {
				t.Errorf("%d exchange records, want 2: %v", n, exchangesOf(col))
			}
		})
	}
}

// TestH2IncompleteInTheCapture: a gap inside a DATA frame keeps the
// framing and makes the body incomplete in the capture (a Notice, the
// compressed body not decoded); the capture's end inside a body is a
// Notice, the connection's end a Warning.
func TestH2IncompleteInTheCapture(t *testing.T) {
	z := gz([]byte(strings.Repeat("abcdefgh", 500)))
	ev := []string{"cause", "received"}
	runH2Scripts(t, []h2Case{
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			d := dataFrame(1, FlagEndStream, z)
			return h2Case{name: "gap inside gzip DATA", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/z")...)},
				{dir: s2c, data: h2server + srv.headers(1, 0, status("200", "content-encoding", "gzip")...) + d[:20]},
				{dir: s2c, gap: 10, data: d[30:]},
			}}, wantExch: []string{"f1 GET /z", fmt.Sprintf("f3 GET /z -> 200 0 bytes incomplete=capture seen=%d", len(z)-10)},
				wantEvents: []string{fmt.Sprintf("f3 http.body_truncated notice cause=capture received=%d", len(z)-10)}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "capture ends inside the body", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseEndOfCapture, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
				{dir: s2c, data: h2server + srv.headers(1, 0, status("200", "content-length", "10")...) + dataFrame(1, 0, "abc")},
			}}, wantExch: []string{"f1 GET /a", "f3 GET /a -> 200 3 bytes incomplete=capture seen=3"},
				wantEvents: []string{"f3 http.body_truncated notice cause=capture received=3"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "connection ends inside the body", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseRST, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
				{dir: s2c, data: h2server + srv.headers(1, 0, status("200")...) + dataFrame(1, 0, "abc")},
			}}, wantExch: []string{"f1 GET /a", "f3 GET /a -> 200 3 bytes incomplete=connection seen=3"},
				wantEvents: []string{"f3 http.body_truncated warning cause=connection received=3"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "connection ends inside a frame", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
				{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, status("204")...) + goAwayFrame(1, ErrCodeNo, "")[:12]},
			}}, wantExch: []string{"f1 GET /a", "f2 GET /a -> 204 0 bytes"},
				wantEvents: []string{"f3 http2.malformed warning"}}
		}(),
	})
}

// TestH2GapsLoseWhatTheyMust: a gap inside a header block leaves the HPACK
// state unknown: later header blocks of that direction are counted, not
// decoded (one decode.gave_up), and their streams give no records; a gap
// across frame boundaries gives the direction up.
func TestH2GapsLoseWhatTheyMust(t *testing.T) {
	ev := []string{"reason", "bytes"}
	cli, srv := newEnc(), newEnc()
	h1 := srv.headers(1, 0, status("200", "x-long", strings.Repeat("v", 40))...)
	h3 := srv.headers(3, FlagEndStream, status("200", "x-long", strings.Repeat("v", 40))...)
	cli2, srv2 := newEnc(), newEnc()
	runH2Scripts(t, []h2Case{
		{name: "gap inside a header block", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...) + cli.headers(3, FlagEndStream, get("/b")...)},
			{dir: s2c, data: h2server + h1[:20]},
			{dir: s2c, gap: 5, data: h1[25:] + dataFrame(1, FlagEndStream, "abc") + h3},
		}}, wantExch: []string{"f1 GET /a", "f1 GET /b"},
			wantEvents: []string{fmt.Sprintf("f3 decode.gave_up notice reason=the HPACK state is unknown after a HEADERS frame with 5 bytes not captured bytes=%d", len(h1)+len(h3)-18)}},
		{name: "gap across frames", evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: h2client + cli2.headers(1, FlagEndStream, get("/a")...)},
			{dir: s2c, data: h2server + srv2.headers(1, 0, status("200")...)},
			{dir: s2c, gap: 100, data: dataFrame(1, FlagEndStream, "abc")},
		}}, wantExch: []string{"f1 GET /a", "f4 GET /a -> 200 0 bytes incomplete=capture seen=0"},
			wantEvents: []string{"f4 http.body_truncated notice",
				"f3 decode.gave_up notice reason=a gap of 100 bytes across frame boundaries bytes=12"}},
	})
}

// TestH2Limits: each cap on what a connection keeps is an http2.limit (or
// http.body_limit for a body's buffer) saying what was dropped.
func TestH2Limits(t *testing.T) {
	small := DefaultConfig()
	small.Limits.MaxH2Streams = 2
	small.Limits.MaxHeaders = 3
	small.Limits.MaxH2FrameBytes = 64
	small.Limits.MaxH2BufferedBytes = 100
	ev := []string{"limit"}
	var text []byte // letters that do not compress to nothing
	for x := uint32(1); len(text) < 1000; x = x*1103515245 + 12345 {
		text = append(text, 'a'+byte(x>>16)%26)
	}
	z := gz(text)
	runH2Scripts(t, []h2Case{
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "streams", cfg: small, evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, 0, "method", "x")[:0] + cli.headers(1, FlagEndStream, ":method", "GET", ":path", "/1") +
					cli.headers(3, FlagEndStream, ":method", "GET", ":path", "/3") + cli.headers(5, FlagEndStream, ":method", "GET", ":path", "/5")},
				{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, ":status", "200") + srv.headers(5, FlagEndStream, ":status", "200")},
			}}, wantExch: []string{"f1 GET /1", "f1 GET /3", "f1 GET /5", "f2 GET /5 -> 200 0 bytes"},
				wantEvents: []string{"f1 http2.limit notice limit=streams"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "header fields", cfg: small, evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, ":method", "GET", ":path", "/a", "a", "1", "b", "2")},
				{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, ":status", "200")},
			}}, wantExch: []string{"f1 GET /a", "f2 GET /a -> 200 0 bytes"},
				wantEvents: []string{"f1 http2.limit notice limit=header_list"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "frame buffer", cfg: small, evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, ":method", "GET", ":path", "/"+strings.Repeat("a", 100))},
				{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, ":status", "200")},
			}}, wantExch: []string{"f2 <nil> <nil> -> 200 0 bytes"}, // the request's header block was not decoded
				wantEvents: []string{"f1 http2.limit notice limit=frame_bytes", "f1 decode.gave_up notice"}}
		}(),
		func() h2Case {
			cli, srv := newEnc(), newEnc()
			return h2Case{name: "buffered bodies", cfg: small, evFields: ev, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
				{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, ":method", "GET", ":path", "/z")},
				{dir: s2c, data: h2server + srv.headers(1, 0, ":status", "200", "content-encoding", "gzip") + dataFrame(1, FlagEndStream, z)},
			}}, wantExch: []string{"f1 GET /z", "f2 GET /z -> 200 0 bytes"},
				wantEvents: []string{"f2 http.body_limit warning limit=compressed_bytes"}}
		}(),
	})
}

// TestH2NotAPreface: a client that does not start with the preface is not
// HTTP/2: its direction is given up once, with the bytes.
func TestH2NotAPreface(t *testing.T) {
	runH2Scripts(t, []h2Case{{name: "HTTP/1 under ALPN h2", evFields: []string{"bytes"}, s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
		{dir: c2s, data: "GET / HTTP/1.1\r\n\r\n"},
	}}, wantEvents: []string{"f1 decode.gave_up notice bytes=18"}}})
}

// TestH2Finished: a reset after complete exchanges is how a client closes.
func TestH2Finished(t *testing.T) {
	cli, srv := newEnc(), newEnc()
	steps := []step{
		{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
		{dir: s2c, data: h2server + srv.headers(1, 0, status("200")...) + dataFrame(1, 0, "ab")},
		{dir: s2c, data: dataFrame(1, FlagEndStream, "cd")},
	}
	for n, want := range []string{"", "", "", "the HTTP/2 exchanges were complete"} {
		col := &health.Collector{}
		c := NewH2Conn(&tcpstate.StreamContext{Reporter: col}, DefaultConfig())
		for i, st := range steps[:n] {
			c.Feed(st.dir, []byte(st.data), tcpstate.Position{Frame: int64(i + 1)})
		}
		if got := c.Finished(); got != want {
			t.Errorf("after %d steps: Finished() = %q, want %q", n, got, want)
		}
	}
}

// TestH2RecordsRedactSecrets: credentials in header fields never reach the
// records (STYLE: secrets never appear in output).
func TestH2RecordsRedactSecrets(t *testing.T) {
	cli, srv := newEnc(), newEnc()
	col, _ := playH2(t, DefaultConfig(), script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
		{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, append(get("/a"), "authorization", "Basic dXNlcjpwYXNz", "cookie", "sid=secret")...)},
		{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, status("200", "set-cookie", "sid=secret2")...)},
	}}, chunkWhole)
	for _, m := range col.Messages {
		s := fmt.Sprint(m.Fields)
		if strings.Contains(s, "dXNlcjpwYXNz") || strings.Contains(s, "secret") {
			t.Errorf("record leaks a credential: %s", s)
		}
		if m.Fields["type"] == "HEADERS" && m.Fields["stream"] == uint32(1) && m.Fields["from"] == "client" {
			want := "authorization: <redacted, 18 bytes>"
			if hs := m.Fields["headers"].([]string); !contains(hs, want) {
				t.Errorf("headers %q lack %q", hs, want)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestH2FrameRecords: one "http2" record per frame, at the frame that
// completes it, with its type, stream and flags.
func TestH2FrameRecords(t *testing.T) {
	cli, srv := newEnc(), newEnc()
	hdr := cli.headers(1, FlagEndStream, get("/a")...)
	col, _ := playH2(t, DefaultConfig(), script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
		{dir: c2s, data: h2client + hdr[:10]},
		{dir: c2s, data: hdr[10:]},
		{dir: s2c, data: h2server + settingsAck + srv.headers(1, 0, status("200")...) + rawFrame(FramePing, 0, 0, "12345678") + dataFrame(1, FlagEndStream, "x")},
	}}, chunkBytes)
	want := []string{"f1 client SETTINGS 0", "f2 client HEADERS 1 END_STREAM|END_HEADERS", "f3 server SETTINGS 0", "f3 server SETTINGS 0 ACK",
		"f3 server HEADERS 1 END_HEADERS", "f3 server PING 0", "f3 server DATA 1 END_STREAM"}
	if diff := cmp.Diff(want, framesOf(col)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, m := range col.Messages {
		if m.Proto == "http2" && m.Fields["type"] == "HEADERS" && m.Fields["from"] == "client" && m.Fields["first_frame"] != int64(1) {
			t.Errorf("HEADERS record: first_frame %v, want 1", m.Fields["first_frame"])
		}
	}
}

// TestHTTP2KindsAreEmitted: each HTTP/2 kind of health/kinds.go is
// emitted by H2Conn, with its catalogue severity where the kind has one
// severity.
func TestHTTP2KindsAreEmitted(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits.MaxH2Streams = 1
	cli := newEnc()
	col, _ := playH2(t, cfg, script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
		{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...) + cli.headers(3, FlagEndStream, get("/b")...)},
		{dir: s2c, data: h2server + rstFrame(3, ErrCodeRefusedStream) + goAwayFrame(1, ErrCodeNo, "") + rawFrame(FrameSettings, 0, 5, "")},
	}}, chunkWhole)
	got := map[health.Kind]health.Severity{}
	for _, e := range col.Events {
		got[e.Kind] = e.Severity
	}
	for _, k := range []health.Kind{health.HTTP2StreamReset, health.HTTP2GoAway, health.HTTP2Malformed, health.HTTP2Limit} {
		sev, ok := got[k]
		if !ok || !health.Known(k) {
			t.Errorf("%s not emitted (or not in the catalogue): %v", k, eventsOf(col))
			continue
		}
		if k == health.HTTP2Limit && sev != health.DefaultSeverity(k) {
			t.Errorf("%s at %s, want %s", k, sev, health.DefaultSeverity(k))
		}
	}
}
