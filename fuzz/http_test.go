package fuzz

import (
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/tcpstate"
)

// FuzzHTTPStream feeds arbitrary client and server bytes to an http.Conn,
// interleaved in chunks of a fuzzed size with a gap at a fuzzed offset,
// under small body caps: it must never panic, and every event must name a
// delivered frame.
func FuzzHTTPStream(f *testing.F) {
	addStreamSeeds(f, "../testdata/http/*.pcap", 1<<31, func([]byte, []byte) bool { return true })
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16, gapAt uint32) {
		col := &health.Collector{KeepMessages: true}
		cfg := http.DefaultConfig()
		cfg.Limits.MaxCompressedBytes = 1 << 16
		cfg.Limits.MaxBodyBytes = 1 << 20
		c := http.NewConn(&tcpstate.StreamContext{Flow: "fuzz", Reporter: col}, cfg)
		frame := feedStream(c, client, server, chunk, gapAt)
		checkFrames(t, col.Events, frame)
	})
}
