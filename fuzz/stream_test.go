package fuzz

import (
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
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
