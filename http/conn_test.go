package http

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

type seg struct {
	dir  tcpstate.Dir
	data string
}

const (
	c2s = tcpstate.ClientToServer
	s2c = tcpstate.ServerToClient
)

func run(t *testing.T, cfg Config, segs []seg, how chunking) *health.Collector {
	t.Helper()
	col := &health.Collector{KeepMessages: true}
	c := NewConn(&tcpstate.StreamContext{Reporter: col, Flow: "test"}, cfg)
	rng := newRand()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, s := range segs {
		testcap.Feed(c, s.dir, []byte(s.data), tcpstate.Position{Frame: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond)}, how, rng)
	}
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: int64(len(segs) + 1)})
	return col
}

// summaryOf renders messages and events compactly for comparison.
func summaryOf(col *health.Collector) []string {
	var out []string
	for _, m := range col.Messages {
		if st, ok := m.Fields["status"]; ok {
			out = append(out, fmt.Sprintf("f%d %v %v -> %v %v bytes", m.Frame, m.Fields["method"], m.Fields["uri"], st, m.Fields["body_bytes"]))
		} else {
			out = append(out, fmt.Sprintf("f%d %v %v", m.Frame, m.Fields["method"], m.Fields["uri"]))
		}
	}
	for _, e := range col.Events {
		out = append(out, fmt.Sprintf("f%d %s", e.Frame, e.Kind))
	}
	return out
}

func gz(b []byte) string {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.String()
}

func TestFraming(t *testing.T) {
	body := strings.Repeat("hello world ", 100)
	zl := func() string {
		var buf bytes.Buffer
		w := zlib.NewWriter(&buf)
		w.Write([]byte(body))
		w.Close()
		return buf.String()
	}()
	raw := func() string {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, 5)
		w.Write([]byte(body))
		w.Close()
		return buf.String()
	}()
	tests := []struct {
		name string
		segs []seg
		want []string
	}{
		{name: "pipelined with content-length", segs: []seg{
			{c2s, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"},
			{s2c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"},
		}, want: []string{"f1 GET /a", "f1 GET /b", "f2 GET /a -> 200 3 bytes", "f2 GET /b -> 404 0 bytes", "f2 http.error_status"}},
		{name: "chunked with extension and trailer", segs: []seg{
			{c2s, "GET /c HTTP/1.1\r\n\r\n"},
			{s2c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"},
		}, want: []string{"f1 GET /c", "f2 GET /c -> 200 5 bytes"}},
		{name: "head 204 304 without body", segs: []seg{
			{c2s, "HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\nGET /m HTTP/1.1\r\n\r\n"},
			{s2c, "HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n"},
		}, want: []string{"f1 HEAD /h", "f1 GET /n", "f1 GET /m", "f2 HEAD /h -> 200 0 bytes", "f2 GET /n -> 204 0 bytes", "f2 GET /m -> 304 0 bytes"}},
		{name: "interim 100 continue", segs: []seg{
			{c2s, "POST /p HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"},
			{s2c, "HTTP/1.1 100 Continue\r\n\r\n"},
			{c2s, "data"},
			{s2c, "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"},
		}, want: []string{"f2 POST /p -> 100 <nil> bytes", "f3 POST /p", "f4 POST /p -> 201 2 bytes"}},
		{name: "connect tunnel", segs: []seg{
			{c2s, "CONNECT example.test:443 HTTP/1.1\r\n\r\n"},
			{s2c, "HTTP/1.1 200 Connection established\r\n\r\n"},
			{c2s, "\x16\x03\x01\x00\x05hello"},
			{s2c, "\x16\x03\x03garbage"},
		}, want: []string{"f1 CONNECT example.test:443", "f2 CONNECT example.test:443 -> 200 0 bytes"}},
		{name: "close delimited", segs: []seg{
			{c2s, "GET / HTTP/1.0\r\n\r\n"},
			{s2c, "HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n<html>"},
			{s2c, "</html>"},
		}, want: []string{"f1 GET /", "f4 GET / -> 200 13 bytes"}},
		{name: "content-length cut by close", segs: []seg{
			{c2s, "GET /t HTTP/1.1\r\n\r\n"},
			{s2c, "HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\nabc"},
		}, want: []string{"f1 GET /t", "f3 GET /t -> 500 3 bytes", "f2 http.error_status", "f3 http.body_truncated"}},
		{name: "gzip zlib raw-deflate x-gzip", segs: []seg{
			{c2s, "GET /g HTTP/1.1\r\n\r\nGET /z HTTP/1.1\r\n\r\nGET /r HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n"},
			{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(gz([]byte(body))), gz([]byte(body)))},
			{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s", len(zl), zl)},
			{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n%s", len(raw), raw)},
			{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: x-gzip\r\nContent-Length: %d\r\n\r\n%s", len(gz([]byte(body))), gz([]byte(body)))},
		}, want: []string{"f1 GET /g", "f1 GET /z", "f1 GET /r", "f1 GET /x", "f2 GET /g -> 200 1200 bytes", "f3 GET /z -> 200 1200 bytes", "f4 GET /r -> 200 1200 bytes", "f5 GET /x -> 200 1200 bytes"}},
		{name: "first bytes not a status line: resync, not malformed", segs: []seg{
			{c2s, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"},
			{s2c, "XTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
			{s2c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		}, want: []string{"f1 GET /a", "f1 GET /b", "f3 GET /a -> 200 0 bytes", "f3 decode.resync"}},
		{name: "malformed status after a valid response", segs: []seg{
			{c2s, "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n"},
			{s2c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
			{s2c, "XTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
			{s2c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
		}, want: []string{"f1 GET /a", "f1 GET /b", "f1 GET /c", "f2 GET /a -> 200 0 bytes", "f4 GET /b -> 200 0 bytes",
			"f3 http.malformed", "f4 decode.resync"}},
	}
	for _, tc := range tests {
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				got := summaryOf(run(t, DefaultConfig(), tc.segs, how))
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestBodyHash: the SHA-256 of decoded bodies equals the original's.
func TestBodyHash(t *testing.T) {
	body := []byte(strings.Repeat("abcdefgh", 5000))
	z := gz(body)
	col := run(t, DefaultConfig(), []seg{
		{c2s, "GET /g HTTP/1.1\r\n\r\n"},
		{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(z), z)},
	}, chunkRandom)
	want := fmt.Sprintf("%x", sha256.Sum256(body))
	if got := col.Messages[1].Fields["body_sha256"]; got != want {
		t.Errorf("sha256 %v, want %s", got, want)
	}
	if got := col.Messages[1].Fields["response_ms"]; got != float64(1) {
		t.Errorf("response_ms %v, want 1", got)
	}
}

// TestDecompressionBomb: a small gzip body inflating past the ratio cap is
// http.body_limit, and decoding stops there.
func TestDecompressionBomb(t *testing.T) {
	bomb := gz(make([]byte, 64<<20)) // 64 MiB of zeros in ~65 KB
	cfg := DefaultConfig()
	col := run(t, cfg, []seg{
		{c2s, "GET /bomb HTTP/1.1\r\n\r\n"},
		{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(bomb), bomb)},
	}, chunkWhole)
	ev := col.OfKind(health.HTTPBodyLimit)
	if len(ev) != 1 || ev[0].Evidence["limit"] != "ratio" {
		t.Fatalf("events %+v", col.Events)
	}
	if n := col.Messages[1].Fields["body_bytes"].(int64); n > int64(len(bomb))*cfg.Limits.MaxRatio+32<<10 {
		t.Errorf("decoded %d bytes past the cap", n)
	}
	// Size cap.
	cfg.Limits.MaxBodyBytes = 1 << 20
	cfg.Limits.MaxRatio = 1 << 40
	col = run(t, cfg, []seg{
		{c2s, "GET /bomb HTTP/1.1\r\n\r\n"},
		{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(bomb), bomb)},
	}, chunkWhole)
	if ev := col.OfKind(health.HTTPBodyLimit); len(ev) != 1 || ev[0].Evidence["limit"] != "size" || col.Messages[1].Fields["body_bytes"] != int64(1<<20) {
		t.Fatalf("size cap: %+v", col.Events)
	}
	// Compressed buffer cap.
	cfg = DefaultConfig()
	cfg.Limits.MaxCompressedBytes = 1000
	col = run(t, cfg, []seg{
		{c2s, "GET /bomb HTTP/1.1\r\n\r\n"},
		{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(bomb), bomb)},
	}, chunkWhole)
	if ev := col.OfKind(health.HTTPBodyLimit); len(ev) != 1 || ev[0].Evidence["limit"] != "compressed_bytes" {
		t.Fatalf("compressed cap: %+v", col.Events)
	}
}

// TestBombRatioIsDecodedOverRead: the ratio a stopped bomb reports is that
// of the bytes decoded to the compressed bytes read when the cap stopped
// decoding, not to the whole body. 1100 gzip members of 1 MiB of zeros
// (about 1 KB each) make a body of about 1.1 MB: stopped after about one
// member, the old ratio (decoded over the whole body) printed "1:1".
func TestBombRatioIsDecodedOverRead(t *testing.T) {
	member := gz(make([]byte, 1<<20))
	bomb := strings.Repeat(member, 1100)
	cfg := DefaultConfig()
	cfg.Limits.MaxRatio = 100
	col := run(t, cfg, []seg{
		{c2s, "GET /bomb HTTP/1.1\r\n\r\n"},
		{s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(bomb), bomb)},
	}, chunkWhole)
	ev := col.OfKind(health.HTTPBodyLimit)
	if len(ev) != 1 || ev[0].Evidence["limit"] != "ratio" {
		t.Fatalf("events %+v", col.Events)
	}
	ratio := ev[0].Evidence["ratio"].(float64)
	if ratio < 100 || strings.Contains(ev[0].Message, "ratio 1:1") {
		t.Errorf("ratio %.1f, message %q: want over the 100:1 cap", ratio, ev[0].Message)
	}
	if read, _ := ev[0].Evidence["compressed_read"].(int64); read <= 0 || read > int64(len(bomb))/10 {
		t.Errorf("compressed_read %d of %d", read, len(bomb))
	}
}

// TestRejectLongHeaderLine: a header line over MaxLineBytes is malformed
// and the buffer does not grow.
func TestRejectLongHeaderLine(t *testing.T) {
	col := run(t, DefaultConfig(), []seg{
		{c2s, "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 10000) + "\r\n\r\n"},
	}, chunkRandom)
	if len(col.OfKind(health.HTTPMalformed)) == 0 {
		t.Errorf("events %+v", col.Events)
	}
}

func TestErrorStatusEvent(t *testing.T) {
	col := run(t, DefaultConfig(), []seg{
		{c2s, "GET /missing HTTP/1.1\r\n\r\n"},
		{s2c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"},
	}, chunkWhole)
	ev := col.OfKind(health.HTTPErrorStatus)
	if len(ev) != 1 || ev[0].Severity != health.Warning || ev[0].Evidence["request"] != "GET /missing" || ev[0].Evidence["status"] != 503 {
		t.Fatalf("%+v", ev)
	}
}

func TestGapInBody(t *testing.T) {
	col := &health.Collector{KeepMessages: true}
	c := NewConn(&tcpstate.StreamContext{Reporter: col}, DefaultConfig())
	c.Feed(c2s, []byte("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), tcpstate.Position{Frame: 1})
	c.Feed(s2c, []byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), tcpstate.Position{Frame: 2})
	c.Gap(s2c, 4, tcpstate.Position{Frame: 3})
	c.Feed(s2c, []byte("xyzHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nq"), tcpstate.Position{Frame: 4})
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 5})
	got := summaryOf(col)
	want := []string{"f1 GET /a", "f1 GET /b", "f4 GET /a -> 200 10 bytes", "f4 GET /b -> 200 1 bytes", "f4 http.body_truncated"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := col.Messages[2].Fields["body_sha256"]; ok {
		t.Error("a body with a gap has no hash")
	}
}

func TestParsers(t *testing.T) {
	if r, err := ParseRequestLine([]byte("GET /x?y HTTP/1.1")); err != nil || r != (RequestLine{"GET", "/x?y", "HTTP/1.1"}) {
		t.Errorf("%+v %v", r, err)
	}
	if s, err := ParseStatusLine([]byte("HTTP/1.1 404 Not Found")); err != nil || s.Status != 404 || s.Reason != "Not Found" {
		t.Errorf("%+v %v", s, err)
	}
	for _, bad := range []string{"", "GET", "GET /", "G(T / HTTP/1.1", "GET / HTTP/2.0"} {
		if _, err := ParseRequestLine([]byte(bad)); err == nil {
			t.Errorf("ParseRequestLine(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"HTTP/1.1", "HTTP/1.1 20", "HTTP/1.1 abc", "HTTP/1.1 2000"} {
		if _, err := ParseStatusLine([]byte(bad)); err == nil {
			t.Errorf("ParseStatusLine(%q) accepted", bad)
		}
	}
	if n, err := ParseChunkSize([]byte("1aF;x=y")); err != nil || n != 0x1af {
		t.Errorf("%d %v", n, err)
	}
	if _, err := ParseChunkSize([]byte("ffffffffffffffffff")); err == nil {
		t.Error("huge chunk accepted")
	}
	if !Detect(c2s, []byte("GET / HTTP/1.1")) || !Detect(s2c, []byte("HTTP/1.1 200")) || Detect(c2s, []byte("\x16\x03\x01")) {
		t.Error("Detect")
	}
}

// TestDetectAfterEmptyLines: a request or response preceded by empty lines
// (a keep-alive CRLF, RFC 9112, 2.2) is recognised as HTTP; empty lines
// alone are not.
func TestDetectAfterEmptyLines(t *testing.T) {
	for _, tc := range []struct {
		dir  tcpstate.Dir
		in   string
		want bool
	}{
		{tcpstate.ClientToServer, "\r\nGET / HTTP/1.1\r\n", true},
		{tcpstate.ClientToServer, "\r\n\r\n\nPOST /x HTTP/1.1\r\n", true},
		{tcpstate.ServerToClient, "\r\nHTTP/1.1 200 OK\r\n", true},
		{tcpstate.ClientToServer, "\r\n\r\n", false},
		{tcpstate.ClientToServer, "\r\nGETX / HTTP/1.1\r\n", false},
	} {
		if got := Detect(tc.dir, []byte(tc.in)); got != tc.want {
			t.Errorf("Detect(%v, %q) = %v, want %v", tc.dir, tc.in, got, tc.want)
		}
	}
}
