package http

import (
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

// FuzzConn feeds arbitrary client and server bytes, split and with a gap.
func FuzzConn(f *testing.F) {
	seedHTTP(f)
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		cfg := DefaultConfig()
		cfg.Limits.MaxCompressedBytes = 1 << 16
		cfg.Limits.MaxBodyBytes = 1 << 20
		c := NewConn(&tcpstate.StreamContext{Reporter: &health.Collector{KeepMessages: true}}, cfg)
		c.Feed(tcpstate.ClientToServer, req, tcpstate.Position{Frame: 1})
		h := len(resp) / 2
		c.Feed(tcpstate.ServerToClient, resp[:h], tcpstate.Position{Frame: 2})
		c.Gap(tcpstate.ServerToClient, 3, tcpstate.Position{Frame: 3})
		c.Feed(tcpstate.ServerToClient, resp[h:], tcpstate.Position{Frame: 4})
		c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 5})
	})
}
