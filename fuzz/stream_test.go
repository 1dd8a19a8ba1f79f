package fuzz

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// feedStream drives a stream decoder the way the tracker would, from fuzz
// input: client and server bytes interleaved in chunks of chunk%4096+1
// bytes, one frame per chunk, a 100-byte gap before the chunk at offset
// gapAt, then Close. It returns the last frame number used.
func feedStream(h tcpstate.StreamHandler, client, server []byte, chunk uint16, gapAt uint32) int64 {
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
				h.Gap(tcpstate.Dir(d), 100, at)
			}
			h.Feed(tcpstate.Dir(d), b[i:min(i+n, len(b))], at)
		}
	}
	h.Close(tcpstate.CloseEndOfCapture, tcpstate.Position{Frame: frame})
	return frame
}

// checkFrames fails t when an event names a frame that was never delivered.
func checkFrames(t *testing.T, events []health.Event, last int64) {
	t.Helper()
	for _, e := range events {
		if e.Frame < 0 || e.Frame > last {
			t.Fatalf("event %s names frame %d of %d", e.Kind, e.Frame, last)
		}
	}
}

// addStreamSeeds seeds a stream fuzzer (client, server, chunk, gapAt) with
// the client and server bytes of every connection of the captures matching
// glob that keep accepts (nil: every connection whose client sent bytes),
// each side cut to its first 32 KiB so that seeds stay quick to run.
func addStreamSeeds(f *testing.F, glob string, gapAt uint32, keep func(client, server []byte) bool) {
	paths, _ := filepath.Glob(glob)
	for _, p := range paths {
		streams, err := testcap.ReadStreams(p)
		if err != nil {
			continue
		}
		for _, s := range streams {
			c, srv := firstBytes(s.Bytes(true)), firstBytes(s.Bytes(false))
			if (keep == nil && len(c) == 0) || (keep != nil && !keep(c, srv)) {
				continue
			}
			f.Add(c, srv, uint16(1448), gapAt)
		}
	}
}

// firstBytes cuts a seed stream to 32 KiB.
func firstBytes(b []byte) []byte { return b[:min(len(b), 32<<10)] }
