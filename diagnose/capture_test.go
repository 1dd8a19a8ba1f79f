package diagnose

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// netReadCapture decodes a capture with the layers Decoder, as the Analyzer
// does, and returns a copy of every decoded packet (payloads included), so
// that the diagnoses can be run on real traffic on their own.
func netReadCapture(t testing.TB, path string) []layers.Packet {
	t.Helper()
	c, err := layers.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dec := layers.NewDecoder(health.Discard, layers.DefaultLimits())
	var out []layers.Packet
	for {
		f, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p, ok := dec.Decode(f)
		if !ok {
			continue
		}
		cp := *p
		cp.Raw = nil
		cp.Payload = append([]byte(nil), p.Payload...)
		cp.FragFrames = append([]int64(nil), p.FragFrames...)
		out = append(out, cp)
	}
	return out
}

// netTestdata returns the path of a capture in testdata/health.
func netTestdata(name string) string { return filepath.Join("..", "testdata", "health", name) }

// netSharedCapture returns the path of a capture under ../shared/captures, or
// skips the test when the shared folder is absent.
func netSharedCapture(t testing.TB, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "shared", "captures", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared capture not available: %v", err)
	}
	return p
}

// netRun feeds pkts into a new diagnoser and returns it with the findings.
func netRun(t testing.TB, cfg NetworkConfig, pkts []layers.Packet) (*Network, *health.Collector) {
	t.Helper()
	d := NewNetwork(cfg)
	for i := range pkts {
		d.Packet(&pkts[i])
	}
	var col health.Collector
	d.Finish(&col)
	return d, &col
}
