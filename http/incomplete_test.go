package http

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// TestBodyCutByGapIsNotTruncatedBySender: a body the capture holds only
// part of (a gap, the capture's end) is incomplete in the capture, a
// Notice with the bytes captured of those declared; a compressed body
// with bytes missing is not decoded, so no http.body_decode_failed.
func TestBodyCutByGapIsNotTruncatedBySender(t *testing.T) {
	var body []byte // text that does not compress to nothing
	for x := uint32(1); len(body) < 4000; x = x*1103515245 + 12345 {
		body = append(body, 'a'+byte(x>>16)%26)
	}
	z := gz(body)
	half := len(z) / 2
	gzResp := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", len(z))
	runScripts(t, []scriptCase{
		{name: "gap past the end of a Content-Length body", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA + getB},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
			{dir: s2c, gap: 7 + len(resp2), data: resp2},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b", "f3 GET /a -> 200 10 bytes", "f3 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f3 http.body_truncated notice"}},
		{name: "gap inside a gzip body", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: gzResp + z[:half]},
			{dir: s2c, gap: 100, data: z[half+100:]},
		}}, wantMsgs: []string{"f1 GET /a", fmt.Sprintf("f3 GET /a -> 200 %d bytes", 0)},
			wantEvents: []string{"f3 http.body_truncated notice"}},
		{name: "gap inside chunk data, then the last chunk", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123"},
			{dir: s2c, gap: 8, data: "cdef\r\n0\r\n\r\n"},
		}}, wantMsgs: []string{"f1 GET /a", "f3 GET /a -> 200 16 bytes"},
			wantEvents: []string{"f3 http.body_truncated notice"}},
		{name: "gap over the chunk framing", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA + getB},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd"},
			{dir: s2c, gap: 9, data: "\r\n" + resp2},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b", "f3 GET /a -> 200 4 bytes", "f3 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f3 http.body_truncated notice"}},
		{name: "capture ends inside a gzip body", s: script{rtt: rtt5ms, reason: tcpstate.CloseEndOfCapture, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: gzResp + z[:half]},
		}}, wantMsgs: []string{"f1 GET /a", "f3 GET /a -> 200 0 bytes"},
			wantEvents: []string{"f3 http.body_truncated notice"}},
		{name: "capture ends inside a close-delimited body", s: script{rtt: rtt5ms, reason: tcpstate.CloseEndOfCapture, steps: []step{
			{dir: c2s, data: "GET / HTTP/1.0\r\n\r\n"},
			{dir: s2c, data: "HTTP/1.0 200 OK\r\n\r\n<html>"},
		}}, wantMsgs: []string{"f1 GET /", "f3 GET / -> 200 6 bytes"},
			wantEvents: []string{"f3 http.body_truncated notice"}},
		{name: "idle eviction inside a body", s: script{rtt: rtt5ms, reason: tcpstate.CloseIdle, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
		}}, wantMsgs: []string{"f1 GET /a", "f3 GET /a -> 200 3 bytes"},
			wantEvents: []string{"f3 http.body_truncated notice"}},
		{name: "FIN after a gap in the body", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
			{dir: s2c, gap: 2, data: "de"},
		}}, wantMsgs: []string{"f1 GET /a", "f4 GET /a -> 200 7 bytes"},
			wantEvents: []string{"f4 http.body_truncated notice"}},
	})
}

// TestBodyCutByConnectionIsTruncated: a connection that ends (FIN or RST)
// inside a body the capture holds every byte of is http.body_truncated, a
// Warning.
func TestBodyCutByConnectionIsTruncated(t *testing.T) {
	for _, reason := range []tcpstate.CloseReason{tcpstate.CloseFIN, tcpstate.CloseRST} {
		runScripts(t, []scriptCase{
			{name: "Content-Length/" + reason.String(), s: script{rtt: rtt5ms, reason: reason, steps: []step{
				{dir: c2s, data: getA},
				{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
			}}, wantMsgs: []string{"f1 GET /a", "f3 GET /a -> 200 3 bytes"},
				wantEvents: []string{"f3 http.body_truncated warning"}},
			{name: "chunked/" + reason.String(), s: script{rtt: rtt5ms, reason: reason, steps: []step{
				{dir: c2s, data: getA},
				{dir: s2c, data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"},
			}}, wantMsgs: []string{"f1 GET /a", "f3 GET /a -> 200 3 bytes"},
				wantEvents: []string{"f3 http.body_truncated warning"}},
		})
	}
}

// TestBodyCutByGapIsNotTruncatedBySenderOnCapture cuts the C5 capture
// (two gzip responses from nginx, the second one corrupt): a gap in the
// first body gives a Notice and no decode failure; the second body, whole,
// still fails to decode (http.body_decode_failed, Error). The capture
// ending inside the second body (its last segment missing) is a Notice,
// a FIN there with every byte captured a Warning; neither claims a
// decode failure.
func TestBodyCutByGapIsNotTruncatedBySenderOnCapture(t *testing.T) {
	streams, err := testcap.ReadStreams(repoTestdata("http", "http-gzip-corrupt-nginx-gzipstatic.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	s := streams[0]
	// Segment 3 (frame 10) is inside /static/ok.json's body, segment 13
	// (frame 23) the end of /static/broken.json's.
	tests := []struct {
		name   string
		gap    int // segment replaced by a gap (-1: none)
		drop   int // last segment dropped (-1: none)
		reason tcpstate.CloseReason
		want   []string
	}{
		{name: "whole", gap: -1, drop: -1, want: []string{"f17 http.body_decode_failed error"}},
		{name: "gap in the first body", gap: 3, drop: -1, want: []string{"f14 http.body_truncated notice", "f17 http.body_decode_failed error"}},
		{name: "capture ends inside the second body", gap: -1, drop: 13, reason: tcpstate.CloseEndOfCapture, want: []string{"f22 http.body_truncated notice"}},
		{name: "FIN inside the second body", gap: -1, drop: 13, reason: tcpstate.CloseFIN, want: []string{"f22 http.body_truncated warning"}},
	}
	for _, tc := range tests {
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				col := &health.Collector{KeepMessages: true}
				c := NewConn(&tcpstate.StreamContext{Reporter: col, RTT: rtt5ms}, DefaultConfig())
				rng := newRand()
				var last tcpstate.Position
				for i, seg := range s.Segments {
					if i == tc.drop {
						break
					}
					dir := s2c
					if seg.ClientToServer {
						dir = c2s
					}
					last = tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
					if i == tc.gap {
						c.Gap(dir, len(seg.Data), last)
						continue
					}
					testcap.Feed(c, dir, seg.Data, last, how, rng)
				}
				c.Close(tc.reason, last)
				if diff := cmp.Diff(tc.want, eventsOf(col)); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestMalformedIsWarningOnlyFromProvenPeer: http.malformed is a Warning
// only for invalid bytes from a direction whose last message was framed
// for sure and came whole; otherwise, and for limits, a Notice.
func TestMalformedIsWarningOnlyFromProvenPeer(t *testing.T) {
	runScripts(t, []scriptCase{
		{name: "bad header after a valid exchange", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA + getB},
			{dir: s2c, data: resp2},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b", "f2 GET /a -> 200 2 bytes"},
			wantEvents: []string{"f3 http.malformed warning", "f3 decode.gave_up notice reason=no message start found (after unparseable bytes) bytes=21"}},
		{name: "bad header in the first message", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"},
		}}, wantMsgs: []string{"f1 GET /a"},
			wantEvents: []string{"f2 http.malformed notice", "f2 decode.gave_up notice reason=no message start found (after unparseable bytes) bytes=21"}},
		{name: "bad chunk size after a gap", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA + getB},
			{dir: s2c, data: resp2},
			{dir: s2c, gap: 10, data: resp2},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b", "f2 GET /a -> 200 2 bytes", "f3 GET /b -> 200 2 bytes", "f4 <nil> <nil> -> 200 0 bytes"},
			wantEvents: []string{"f4 http.malformed notice", "f4 decode.gave_up notice reason=no message start found (after unparseable bytes) bytes=4"}},
		{name: "line over the limit after a valid exchange", s: script{rtt: rtt5ms, steps: []step{
			{dir: c2s, data: getA + "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n\r\n"},
		}}, wantMsgs: []string{"f1 GET /a"},
			wantEvents: []string{"f1 http.malformed notice", "f1 decode.gave_up notice reason=no message start found (after unparseable bytes) bytes=9018"}},
	})
}

// TestFinished: the Conn tells tcpstate (Finisher) that the HTTP exchange
// was complete only when a response came, no request waits for one and
// no message is partly received.
func TestFinished(t *testing.T) {
	const done = "the HTTP exchange was complete"
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{name: "request answered", steps: []step{{dir: c2s, data: getA}, {dir: s2c, data: resp2}}, want: done},
		{name: "keep-alive CRLF after", steps: []step{{dir: c2s, data: getA + "\r\n"}, {dir: s2c, data: resp2}}, want: done},
		{name: "nothing", steps: nil},
		{name: "request waiting", steps: []step{{dir: c2s, data: getA + getB}, {dir: s2c, data: resp2}}},
		{name: "response body partly received", steps: []step{{dir: c2s, data: getA}, {dir: s2c, data: resp2[:len(resp2)-1]}}},
		{name: "next request partly received", steps: []step{{dir: c2s, data: getA + "GET /b HT"}, {dir: s2c, data: resp2}}},
		{name: "close-delimited body", steps: []step{{dir: c2s, data: getA}, {dir: s2c, data: "HTTP/1.0 200 OK\r\n\r\nabc"}}},
		{name: "tunnel", steps: []step{{dir: c2s, data: "CONNECT h:443 HTTP/1.1\r\n\r\n"}, {dir: s2c, data: "HTTP/1.1 200 OK\r\n\r\n"}}},
		{name: "server gave up", steps: []step{{dir: c2s, data: getA}, {dir: s2c, data: "\x15\x03\x03\x00\x02\x02\x28\n"}}},
	}
	for _, tc := range tests {
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				c := NewConn(&tcpstate.StreamContext{RTT: rtt5ms}, DefaultConfig())
				rng := newRand()
				for i, st := range tc.steps {
					testcap.Feed(c, st.dir, []byte(st.data), tcpstate.Position{Frame: int64(i + 1)}, how, rng)
				}
				var f tcpstate.Finisher = c
				if got := f.Finished(); got != tc.want {
					t.Errorf("Finished() = %q, want %q", got, tc.want)
				}
			})
		}
	}
}
