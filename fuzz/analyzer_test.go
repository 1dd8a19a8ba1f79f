package fuzz

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

// addCaptureSeeds adds the project's own small captures as seeds.
func addCaptureSeeds(f *testing.F) {
	addFileSeeds(f, 64<<10, "../testdata/*/*.pcap", "../testdata/*/*.pcapng", "../examples/doctor/demo/*.pcapng")
}

// FuzzAnalyzeCapture runs the whole analysis over arbitrary capture bytes:
// it must never panic, and every event it reports must name a frame within
// the capture (or 0 for whole-capture findings, or the frame after the last
// one read for capture.truncated).
func FuzzAnalyzeCapture(f *testing.F) {
	addCaptureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		col := &health.Collector{KeepMessages: true}
		a, err := nettrace.New(nettrace.Options{Reporter: col, Messages: true, PacketMessages: true})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := a.Analyze("fuzz", bytes.NewReader(data))
		if err != nil {
			return // not a capture: a clear error is the right answer
		}
		for _, e := range col.Events {
			if e.Kind == health.InternalError {
				t.Fatalf("decoder failed: %s", e.Message)
			}
			if e.Frame < 0 || e.Frame > rep.Capture.Frames+1 {
				t.Fatalf("event %s names frame %d of %d", e.Kind, e.Frame, rep.Capture.Frames)
			}
		}
	})
}

// FuzzAnalyzeWorkers analyses the input with one worker and with three:
// every event, message and the Report must be the same (Options.Workers).
func FuzzAnalyzeWorkers(f *testing.F) {
	addCaptureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		one, err1 := analyzeJSON(data, 1)
		three, err3 := analyzeJSON(data, 3)
		if (err1 == nil) != (err3 == nil) {
			t.Fatalf("1 worker: error %v; 3 workers: error %v", err1, err3)
		}
		if !bytes.Equal(one, three) {
			t.Fatalf("3 workers differ from 1:\n%s\n---\n%s", one, three)
		}
	})
}

// analyzeJSON returns every event and message as JSON lines, then the
// Report as JSON.
func analyzeJSON(data []byte, workers int) ([]byte, error) {
	var out bytes.Buffer
	sink := health.NewJSONSink(&out, true, true)
	a, err := nettrace.New(nettrace.Options{Reporter: sink, Messages: true, PacketMessages: true, Workers: workers})
	if err != nil {
		return nil, err
	}
	rep, err := a.Analyze("fuzz", bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	sink.Flush()
	// The most the decoders held at once is summed over the workers'
	// budgets: a measurement of the run, not of the capture.
	rep.Memory.HighWater = 0
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	out.Write(b)
	return out.Bytes(), nil
}
