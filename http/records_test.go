package http

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// fieldsOf returns the named fields of every "http" record, "-" for the
// absent ones.
func fieldsOf(col *health.Collector, names ...string) [][]string {
	var out [][]string
	for _, m := range col.Messages {
		if m.Proto != "http" {
			continue
		}
		row := []string{fmt.Sprintf("f%d", m.Frame)}
		for _, n := range names {
			v, ok := m.Fields[n]
			if !ok {
				v = "-"
			}
			row = append(row, fmt.Sprint(v))
		}
		out = append(out, row)
	}
	return out
}

// TestRecordsCarryTheFieldsPeopleRead: content_type and content_length
// as announced, in requests and responses; interim responses are marked
// and keep their request waiting.
func TestRecordsCarryTheFieldsPeopleRead(t *testing.T) {
	col, _ := play(t, DefaultConfig(), script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
		{dir: c2s, data: "POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"},
		{dir: s2c, data: "HTTP/1.1 100 Continue\r\n\r\n"},
		{dir: c2s, data: "a=b"},
		{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	}}, chunkRandom)
	want := [][]string{
		{"f2", "POST", "/form", "100", "true", "-", "-", "-"},
		{"f3", "POST", "/form", "-", "-", "application/x-www-form-urlencoded", "3", "100-continue"},
		{"f4", "POST", "/form", "200", "-", "text/html; charset=utf-8", "-", "-"},
	}
	if diff := cmp.Diff(want, fieldsOf(col, "method", "uri", "status", "interim", "content_type", "content_length", "expect")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestIncompleteBodiesAreMarked: a record whose body the capture or the
// connection cut says so, with the bytes seen against those announced.
func TestIncompleteBodiesAreMarked(t *testing.T) {
	names := []string{"status", "body_bytes", "incomplete", "body_seen_bytes", "body_announced_bytes"}
	for _, tc := range []struct {
		name string
		s    script
		want [][]string
	}{
		{name: "gap inside a Content-Length body", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
			{dir: s2c, gap: 4, data: "hij"},
		}}, want: [][]string{{"f1", "-", "-", "-", "-", "-"}, {"f3", "200", "10", "capture", "6", "10"}}},
		{name: "capture ends inside a chunked body", s: script{rtt: rtt5ms, reason: tcpstate.CloseEndOfCapture, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"},
		}}, want: [][]string{{"f1", "-", "-", "-", "-", "-"}, {"f3", "200", "2", "capture", "2", "-"}}},
		{name: "FIN inside a Content-Length body", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
		}}, want: [][]string{{"f1", "-", "-", "-", "-", "-"}, {"f3", "200", "3", "connection", "3", "10"}}},
		{name: "request body cut by the capture", s: script{rtt: rtt5ms, reason: tcpstate.CloseEndOfCapture, steps: []step{
			{dir: c2s, data: "PUT /u HTTP/1.1\r\nContent-Length: 8\r\n\r\nabcd"},
		}}, want: [][]string{{"f2", "-", "4", "capture", "4", "8"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
				col, _ := play(t, DefaultConfig(), tc.s, how)
				if diff := cmp.Diff(tc.want, fieldsOf(col, names...)); diff != "" {
					t.Errorf("chunking %d (-want +got):\n%s", how, diff)
				}
			}
		})
	}
}

// TestNoResponseInventedAfterMissingSegments: bytes lost inside a
// response give one incomplete record for it, never a second, partial
// response made of its remaining bytes, and never a response paired with
// a request it may not answer.
func TestNoResponseInventedAfterMissingSegments(t *testing.T) {
	page := "<pre>\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n</pre>\r\n" // a page about HTTP
	chunk := fmt.Sprintf("%x\r\n%s\r\n", len(page), page)
	runScripts(t, []scriptCase{
		{name: "gap inside a response's header block", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: getA + getB},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nServer: x\r\nContent-"},
			{dir: s2c, gap: 20, data: "\r\n\r\nabcd" + resp2},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b", "f3 GET /a -> 200 0 bytes", "f3 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f3 decode.resync info skipped=8 reason=after a gap of 20 bytes"}},
		{name: "gap inside a chunked body about HTTP", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: getA + getB},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab"},
			{dir: s2c, gap: 2 + 2 + len(chunk) - len(page) - 2 + 3, data: page[3:] + "\r\n0\r\n\r\n" + resp2},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b", "f3 GET /a -> 200 4 bytes", "f3 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f3 http.body_truncated notice", fmt.Sprintf("f3 decode.resync info skipped=%d reason=after a gap of %d bytes", len(page)+4, len(chunk)-len(page)+5)}},
		{name: "a gap swallows a response start, two requests wait", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: getA + getB + "GET /c HTTP/1.1\r\n\r\n"},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"},
			{dir: s2c, gap: 30, data: "xyz" + resp2},
		}}, wantMsgs: []string{"f1 GET /a", "f1 GET /b", "f1 GET /c", "f3 GET /a -> 200 4 bytes", "f3 <nil> <nil> -> 200 2 bytes"},
			wantEvents: []string{"f3 http.body_truncated notice", "f3 decode.resync info skipped=3 reason=after a gap of 30 bytes"}},
		{name: "a gap swallows a response start, one request waits", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: getA},
			{dir: s2c, data: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"},
			{dir: c2s, data: getB},
			{dir: s2c, gap: 30, data: "xyz" + resp2},
		}}, wantMsgs: []string{"f1 GET /a", "f3 GET /b", "f4 GET /a -> 200 4 bytes", "f4 GET /b -> 200 2 bytes"},
			wantEvents: []string{"f4 http.body_truncated notice", "f4 decode.resync info skipped=3 reason=after a gap of 30 bytes"}},
	})
}
