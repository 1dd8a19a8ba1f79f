package nettrace_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// demoCapture is the capture doctor analyses with no arguments: eight real
// lab captures merged, with a Decryption Secrets Block.
const demoCapture = "examples/doctor/demo/branch-office.pcapng"

// runOutput analyses path with the given workers and returns everything a
// user can see: every event and decoded message as JSON lines (packet
// messages included), then the Report as JSON.
func runOutput(t *testing.T, path string, workers int, keys []string) []byte {
	t.Helper()
	var out bytes.Buffer
	sink := health.NewJSONSink(&out, true, true)
	rep, err := nettrace.AnalyzeFile(path, nettrace.Options{
		Reporter: sink, Messages: true, PacketMessages: true,
		KeyLogFiles: keys, Workers: workers,
	})
	if err != nil {
		t.Fatalf("%s, %d workers: %v", path, workers, err)
	}
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	// The most the decoders held at once is summed over the workers'
	// budgets: a measurement of the run, not of the capture.
	rep.Memory.HighWater = 0
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatalf("%s: Report does not marshal: %v", path, err)
	}
	out.Write(b)
	return out.Bytes()
}

// firstDifference describes where two outputs first differ, by line.
func firstDifference(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d:\n  1 worker: %.300s\n  parallel: %.300s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("one output is a prefix of the other (%d vs %d lines)", len(la), len(lb))
}

// keysBeside returns the key log written beside a capture, if any.
func keysBeside(capture string) []string {
	base := strings.TrimSuffix(strings.TrimSuffix(capture, ".pcapng"), ".pcap")
	if _, err := os.Stat(base + ".keys"); err == nil {
		return []string{base + ".keys"}
	}
	return nil
}

func assertSameOutput(t *testing.T, path string, keys []string, workers ...int) {
	t.Helper()
	want := runOutput(t, path, 1, keys)
	for _, w := range workers {
		if got := runOutput(t, path, w, keys); !bytes.Equal(got, want) {
			t.Errorf("%s: %d workers differ from 1 worker at %s", path, w, firstDifference(want, got))
		}
	}
}

// The bundled capture exercises every decoder, TLS decryption with keys
// from a Decryption Secrets Block (which drains the pipeline) and the
// endpoint mapper; runs on any clone.
func TestWorkersOutputIdenticalOnBundledCapture(t *testing.T) {
	out := runOutput(t, demoCapture, 1, nil)
	// The comparison proves something only if every decoder spoke.
	for _, proto := range []string{`"proto":"tls"`, `"proto":"http"`, `"proto":"smb2"`, `"proto":"dcerpc"`, `"proto":"tds"`, `"kind":"flow.summary"`} {
		if !bytes.Contains(out, []byte(proto)) {
			t.Fatalf("no %s in the output of the bundled capture", proto)
		}
	}
	assertSameOutput(t, demoCapture, nil, 2, 3, 8)
}

// Options.Workers promises byte-identical output: events, messages, the
// Report. Checked on every capture in ../shared, with its key log.
func TestWorkersOutputIdenticalOnSharedCaptures(t *testing.T) {
	eachCapture(t, sharedCaptures(t), func(t *testing.T, path string) {
		workers := []int{2}
		if strings.Contains(path, "/cases/") {
			workers = append(workers, 3) // other stream-to-worker assignments
		}
		assertSameOutput(t, path, keysBeside(path), workers...)
	})
}

// A parallel run reads the capture ahead on its own goroutine: it still
// counts the frames and TCP streams tshark counts (the *.summary.json
// references), on every capture of ../shared that has one.
func TestWorkersFramesAndStreamsAsTshark(t *testing.T) {
	var checked atomic.Int64
	eachCapture(t, sharedCaptures(t), func(t *testing.T, path string) {
		frames, streams, ok := summaryOf(t, path)
		if !ok {
			return
		}
		rep, err := nettrace.AnalyzeFile(path, nettrace.Options{Workers: 2, MaxFlowsKept: 100000})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if rep.Capture.Frames != int64(frames) {
			t.Errorf("%s: %d frames with 2 workers, tshark %d", path, rep.Capture.Frames, frames)
		}
		if got := len(rep.Flows) + rep.FlowsDropped; got != streams {
			t.Errorf("%s: %d TCP connections with 2 workers, tshark %d tcp.stream values", path, got, streams)
		}
		checked.Add(1)
	})
	if checked.Load() < 50 {
		t.Fatalf("only %d captures had a tshark summary", checked.Load())
	}
	t.Logf("frames and tcp.stream counts equal tshark's on %d captures", checked.Load())
}

// The endpoint mapper's reply is decoded on one worker and the connection
// to the endpoint it names starts on another: the lookup must still see it.
func TestWorkersLearnedEndpointCrossesWorkers(t *testing.T) {
	for _, w := range []int{2, 3, 4} {
		rep, _ := analyze(t, "testdata/root/c04-epm-vip-client.pcap", nettrace.Options{Workers: w})
		if len(rep.Flows) != 2 || rep.Flows[1].Protocol != nettrace.ProtoDCERPC {
			t.Fatalf("%d workers: flows %+v, want stream 1 decoded as %s", w, rep.Flows, nettrace.ProtoDCERPC)
		}
	}
}

// An Analyzer that fails to open its capture starts no goroutines, and one
// that ran has stopped them: a second Analyze call is refused cleanly.
func TestWorkersNotACaptureAndSecondRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := nettrace.AnalyzeFile(path, nettrace.Options{Workers: 4}); err == nil {
		t.Fatal("a text file was accepted as a capture")
	}
	a, err := nettrace.New(nettrace.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AnalyzeFile("testdata/root/c04-epm-vip-client.pcap"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AnalyzeFile("testdata/root/c04-epm-vip-client.pcap"); err == nil {
		t.Fatal("second run on one Analyzer accepted")
	}
}

// A decoder panic on a worker becomes the same internal.error, at the
// same frame, as on the calling goroutine; the run continues.
func TestWorkersDecoderPanic(t *testing.T) {
	for _, w := range []int{1, 2} {
		opts := nettrace.Options{Workers: w, Decoders: []nettrace.Decoder{{
			Name:  "buggy",
			Ports: []uint16{135},
			New:   func(*tcpstate.StreamContext) tcpstate.StreamHandler { return panicking{} },
		}}}
		rep, col := analyze(t, "testdata/root/c04-epm-vip-client.pcap", opts)
		errs := col.OfKind(health.InternalError)
		if len(errs) != 1 || errs[0].Frame <= 0 || len(rep.Flows) != 2 {
			t.Fatalf("%d workers: internal.error events %+v, %d flows; want one naming its frame, and 2 flows", w, errs, len(rep.Flows))
		}
	}
}

// A capture cut part-way: the capture.truncated event, raised on the
// calling goroutine, lands where it does with one worker.
func TestWorkersTruncatedCapture(t *testing.T) {
	whole, err := os.ReadFile(demoCapture)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.pcapng")
	if err := os.WriteFile(cut, whole[:len(whole)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	out := runOutput(t, cut, 1, nil)
	if !bytes.Contains(out, []byte(`"kind":"capture.truncated"`)) {
		t.Fatal("the cut capture raised no capture.truncated")
	}
	assertSameOutput(t, cut, nil, 2)
}
