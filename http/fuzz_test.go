package http

import (
	"encoding/json"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

func seedHTTP(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	if streams, err := testcap.ReadStreams(repoTestdata("http", "http-gzip-corrupt-nginx-gzipstatic.pcap")); err == nil {
		s := streams[0]
		b := s.Bytes(false)
		f.Add(s.Bytes(true), b[:min(len(b), 4096)])
	}
}

// FuzzParseLines runs the line parsers over arbitrary bytes.
func FuzzParseLines(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1"))
	f.Add([]byte("HTTP/1.1 200 OK"))
	f.Add([]byte("1a;x=y"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRequestLine(b); err == nil && r.Method == "" {
			t.Fatal("empty method accepted")
		}
		if s, err := ParseStatusLine(b); err == nil && (s.Status < 100 || s.Status > 999) {
			t.Fatal("bad status accepted")
		}
		ParseHeaderField(b)
		if n, err := ParseChunkSize(b); err == nil && n < 0 {
			t.Fatal("negative chunk size")
		}
	})
}

// FuzzConn feeds arbitrary client and server bytes, split and with a gap,
// whole and then cut into small pieces: no panic, and the same events and
// messages either way (chunking must not change results).
func FuzzConn(f *testing.F) {
	seedHTTP(f)
	f.Add([]byte("x\r\nGET /a HTTP/1.1\r\n\r\n\r\nzGET /b HTTP/1.1\r\n\r\n"), []byte("tail\x00HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabcdefghiHTTP/1.1 204 x\r\n\r\n"))
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), []byte("\x00\x00\x00\x04\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		cfg := DefaultConfig()
		cfg.Limits.MaxCompressedBytes = 1 << 16
		cfg.Limits.MaxBodyBytes = 1 << 20
		cfg.Limits.MaxLineBytes = 64 // reach the line limits with short inputs
		var out [2][]byte
		for i, how := range []chunking{chunkWhole, chunkRandom} {
			col := &health.Collector{KeepMessages: true}
			c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
			rng := newRand()
			testcap.Feed(c, tcpstate.ClientToServer, req, tcpstate.Position{Frame: 1}, how, rng)
			h := len(resp) / 2
			testcap.Feed(c, tcpstate.ServerToClient, resp[:h], tcpstate.Position{Frame: 2}, how, rng)
			c.Gap(tcpstate.ServerToClient, 3, tcpstate.Position{Frame: 3})
			testcap.Feed(c, tcpstate.ServerToClient, resp[h:], tcpstate.Position{Frame: 4}, how, rng)
			c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 5})
			b, err := json.Marshal(col)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = b
		}
		if string(out[0]) != string(out[1]) {
			t.Fatalf("chunking changed the results:\nwhole: %s\nsplit: %s", out[0], out[1])
		}
	})
}
