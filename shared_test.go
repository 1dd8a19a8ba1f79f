package nettrace_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// sharedDir is the capture corpus beside the repository; tests that read it
// skip when it is absent (a user's fresh clone).
const sharedDir = "../shared"

// sharedCaptures lists every capture under ../shared/captures and
// ../shared/public-captures, or skips.
func sharedCaptures(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(sharedDir); err != nil {
		t.Skip("../shared is absent")
	}
	var out []string
	for _, root := range []string{"captures", "public-captures"} {
		filepath.WalkDir(filepath.Join(sharedDir, root), func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
				out = append(out, path)
			}
			return nil
		})
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Skip("no captures under ../shared")
	}
	return out
}

// eachCapture runs f on every capture in parallel subtests (GOMAXPROCS of
// them at once, -parallel) and returns when all are done, so the caller
// can sum up after it. The captures are independent analyses: running
// them side by side asserts the same things in about half the time on two
// cores, and the race detector then also sees analyses run concurrently.
func eachCapture(t *testing.T, paths []string, f func(t *testing.T, path string)) {
	t.Helper()
	t.Run("captures", func(t *testing.T) {
		for _, p := range paths {
			t.Run(strings.TrimPrefix(filepath.ToSlash(p), "../"), func(t *testing.T) {
				t.Parallel()
				f(t, p)
			})
		}
	})
}

// summaryOf reads the tshark summary written beside a capture.
func summaryOf(t *testing.T, capture string) (frames, tcpStreams int, ok bool) {
	b, err := os.ReadFile(strings.TrimSuffix(strings.TrimSuffix(capture, ".pcapng"), ".pcap") + ".summary.json")
	if err != nil {
		b, err = os.ReadFile(capture + ".summary.json")
	}
	if err != nil {
		return 0, 0, false
	}
	var s struct {
		Frames     int `json:"frames"`
		TCPStreams int `json:"tcp_streams"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: summary: %v", capture, err)
	}
	return s.Frames, s.TCPStreams, true
}

// TestJSONContractOnEverySharedCapture runs the analysis with a JSON-lines
// sink over every shared capture, as `doctor -json` does, and checks the
// contract of DESIGN.md: valid JSON lines with the contract's fields, frame
// numbers within the capture, and one flow.summary per TCP connection —
// as many as tshark's tcp.stream values.
func TestJSONContractOnEverySharedCapture(t *testing.T) {
	var agree, total atomic.Int64
	eachCapture(t, sharedCaptures(t), func(t *testing.T, path string) {
		name := filepath.Base(path)
		var out bytes.Buffer
		sink := health.NewJSONSink(&out, true, false)
		rep, err := nettrace.AnalyzeFile(path, nettrace.Options{Reporter: sink, KeyLogFiles: keysFor(path)})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		if err := sink.Flush(); err != nil {
			t.Fatal(err)
		}
		summaries := checkJSONLines(t, name, out.Bytes(), rep.Capture)
		frames, streams, ok := summaryOf(t, path)
		if !ok {
			return
		}
		total.Add(1)
		if int64(frames) != rep.Capture.Frames {
			t.Errorf("%s: read %d frames, tshark counts %d", name, rep.Capture.Frames, frames)
		}
		if summaries == streams {
			agree.Add(1)
		} else {
			t.Errorf("%s: %d flow.summary events, tshark has %d tcp.stream values", name, summaries, streams)
		}
	})
	t.Logf("flow.summary count equals tshark's tcp.stream count on %d of %d captures", agree.Load(), total.Load())
}

func keysFor(capture string) []string {
	k := strings.TrimSuffix(strings.TrimSuffix(capture, ".pcapng"), ".pcap") + ".keys"
	if _, err := os.Stat(k); err == nil {
		return []string{k}
	}
	return nil
}

// checkJSONLines validates every line and returns the number of
// flow.summary events.
func checkJSONLines(t *testing.T, name string, out []byte, capture layers.CaptureInfo) int {
	frames := capture.Frames
	t.Helper()
	summaries := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("%s line %d: not JSON: %v: %s", name, line, err, sc.Bytes())
		}
		for _, field := range []string{"kind", "severity", "time", "frame", "message"} {
			if _, ok := raw[field]; !ok {
				t.Fatalf("%s line %d: no %q field: %s", name, line, field, sc.Bytes())
			}
		}
		var e health.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s line %d: %v", name, line, err)
		}
		if !health.Known(e.Kind) {
			t.Errorf("%s line %d: kind %q is not in health's catalogue", name, line, e.Kind)
		}
		if e.Frame < 0 || e.Frame > frames+1 || (e.Frame == frames+1 && e.Kind != health.CaptureTruncated) {
			t.Errorf("%s line %d: frame %d outside 1..%d: %s", name, line, e.Frame, frames, sc.Bytes())
		}
		if e.Time.Before(capture.First) || e.Time.After(capture.Last) {
			t.Errorf("%s line %d: time %v is outside the capture (%v … %v): %.200s", name, line, e.Time, capture.First, capture.Last, sc.Bytes())
		}
		if e.Kind == health.FlowSummary {
			summaries++
		}
	}
	return summaries
}
