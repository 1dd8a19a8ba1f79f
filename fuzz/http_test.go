package fuzz

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/layers/http"
	"github.com/nettrace/nettrace/tcpstate"
)

// FuzzHTTPStream feeds arbitrary client and server bytes to an http.Conn,
// interleaved in chunks of a fuzzed size with a gap at a fuzzed offset,
// under small body caps: it must never panic, and every event must name a
// delivered frame.
func FuzzHTTPStream(f *testing.F) {
	paths, _ := filepath.Glob("../testdata/http/*.pcap")
	for _, p := range paths {
		streams, err := testcap.ReadStreams(p)
		if err != nil {
			continue
		}
		for _, s := range streams {
			c, srv := s.Bytes(true), s.Bytes(false)
			if len(srv) > 32<<10 {
				srv = srv[:32<<10]
			}
			f.Add(c, srv, uint16(1448), uint32(1<<31))
		}
	}
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16, gapAt uint32) {
		col := &health.Collector{KeepMessages: true}
		cfg := http.DefaultConfig()
		cfg.Limits.MaxCompressedBytes = 1 << 16
		cfg.Limits.MaxBodyBytes = 1 << 20
		c := http.NewConn(&tcpstate.StreamContext{Flow: "fuzz", Reporter: col}, cfg)
		n := int(chunk)%4096 + 1
		frame := int64(0)
		t0 := time.Unix(0, 0)
		for i := 0; i < len(client) || i < len(server); i += n {
			for d, b := range [][]byte{client, server} {
				if i >= len(b) {
					continue
				}
				frame++
				at := tcpstate.Position{Frame: frame, Time: t0.Add(time.Duration(frame) * time.Millisecond)}
				if uint32(i) == gapAt {
					c.Gap(tcpstate.Dir(d), 100, at)
				}
				c.Feed(tcpstate.Dir(d), b[i:min(i+n, len(b))], at)
			}
		}
		c.Close(tcpstate.CloseEndOfCapture, tcpstate.Position{Frame: frame})
		for _, e := range col.Events {
			if e.Frame < 0 || e.Frame > frame {
				t.Fatalf("event %s names frame %d of %d", e.Kind, e.Frame, frame)
			}
		}
	})
}
