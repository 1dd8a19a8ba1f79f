package fuzz

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/tcpstate"
)

// httpBody runs one GET and a response carrying body with the given
// Content-Encoding (chunked or with a Content-Length) through an http.Conn
// with small caps, and returns the events and the bytes allocated.
func httpBody(enc string, body []byte, chunked bool, lim http.Limits) ([]health.Event, uint64) {
	col := &health.Collector{}
	var alloc uint64
	alloc = measure(func() {
		c := http.NewConn(&tcpstate.StreamContext{Flow: "fuzz", Reporter: col}, http.Config{Limits: lim})
		at := tcpstate.Position{Frame: 1, Time: time.Unix(1, 0)}
		c.Feed(tcpstate.ClientToServer, []byte("GET /b HTTP/1.1\r\nHost: x\r\n\r\n"), at)
		var resp bytes.Buffer
		fmt.Fprintf(&resp, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n", enc)
		if chunked {
			resp.WriteString("Transfer-Encoding: chunked\r\n\r\n")
			for b := body; len(b) > 0; {
				n := min(len(b), 1000)
				fmt.Fprintf(&resp, "%x\r\n%s\r\n", n, b[:n])
				b = b[n:]
			}
			resp.WriteString("0\r\n\r\n")
		} else {
			fmt.Fprintf(&resp, "Content-Length: %d\r\n\r\n", len(body))
			resp.Write(body)
		}
		for i, b := 0, resp.Bytes(); len(b) > 0; i++ {
			n := min(len(b), 1448)
			at.Frame++
			c.Feed(tcpstate.ServerToClient, b[:n], at)
			b = b[n:]
		}
		c.Close(tcpstate.CloseFIN, at)
	})
	return col.Events, alloc
}

func compress(enc string, b []byte) []byte {
	var out bytes.Buffer
	var w interface {
		Write([]byte) (int, error)
		Close() error
	}
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&out)
	case "deflate":
		w = zlib.NewWriter(&out)
	default:
		w, _ = flate.NewWriter(&out, flate.BestCompression)
	}
	w.Write(b)
	w.Close()
	return out.Bytes()
}

var bodyLimits = http.Limits{MaxCompressedBytes: 1 << 16, MaxBodyBytes: 1 << 18, MaxRatio: 100, MinRatioBytes: 1 << 14}

// FuzzHTTPCompressedBody decodes arbitrary gzip/deflate bodies (the fuzzed
// bytes as they are, and the fuzzed bytes compressed, optionally repeated
// into a bomb): no panic; a valid body under the caps decodes without
// http.body_decode_failed; a bomb stops at the cap with http.body_limit;
// allocation stays within allocBound of the compressed input plus the
// decompressor's fixed state.
func FuzzHTTPCompressedBody(f *testing.F) {
	f.Add([]byte("hello, world"), uint8(0), false, uint16(1))
	f.Add(compress("gzip", []byte("abc")), uint8(1), true, uint16(0))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff}, uint8(2), false, uint16(0))
	f.Add(bytes.Repeat([]byte{0}, 64), uint8(0), true, uint16(60000))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, chunked bool, repeat uint16) {
		if len(data) > 64<<10 {
			return
		}
		enc := []string{"gzip", "deflate"}[sel&1]
		raw := sel&2 != 0
		var body []byte
		// Up to 320 KiB expanded: beyond MaxBodyBytes, quick to compress.
		times := min(int(repeat)+1, (320<<10)/max(1, len(data)))
		expanded := len(data) * times
		if raw {
			body = data
		} else {
			body = compress(enc, bytes.Repeat(data, times))
		}
		events, alloc := httpBody(enc, body, chunked, bodyLimits)
		if bound := allocBound(len(body)) + 4<<20; alloc > bound {
			t.Fatalf("%s body of %d bytes (raw=%v): allocated %d, bound %d", enc, len(body), raw, alloc, bound)
		}
		var failed, limited int
		for _, e := range events {
			switch e.Kind {
			case health.HTTPBodyDecodeFailed:
				failed++
			case health.HTTPBodyLimit:
				limited++
			}
		}
		if raw {
			return
		}
		ratioBomb := expanded >= int(bodyLimits.MinRatioBytes) && int64(expanded) > bodyLimits.MaxRatio*int64(len(body))
		switch {
		case expanded > int(bodyLimits.MaxBodyBytes) || len(body) > bodyLimits.MaxCompressedBytes || ratioBomb:
			if limited == 0 {
				t.Fatalf("%s body of %d bytes expanding to %d: no http.body_limit (events %v)", enc, len(body), expanded, kinds(events))
			}
		case failed != 0 || limited != 0:
			t.Fatalf("valid %s body of %d bytes expanding to %d: %v", enc, len(body), expanded, kinds(events))
		}
	})
}

func kinds(es []health.Event) []health.Kind {
	var k []health.Kind
	for _, e := range es {
		k = append(k, e.Kind)
	}
	return k
}
