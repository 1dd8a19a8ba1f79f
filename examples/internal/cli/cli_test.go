package cli

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/doctor/demo"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

func newTool(t *testing.T) (*Tool, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	tool := New("tool", "[flags] capture", "Does things to captures.", []string{"tool x.pcap  # an example"}, &out, &errb)
	return tool, &out, &errb
}

func TestHelpPrintsSynopsisExamplesAndExitStatuses(t *testing.T) {
	tool, out, errb := newTool(t)
	if _, status, ok := tool.Parse([]string{"-h"}); ok || status != ExitOK {
		t.Fatalf("-h: ok %v status %d, want the help and status 0", ok, status)
	}
	for _, want := range []string{"usage: tool [flags] capture", "Does things to captures.", "-filter expression", "-flow N",
		"-from time", "-json", "-quiet", "Examples:\n  tool x.pcap  # an example", "tcp or udp and port 53", ExitStatusDoc, InputDoc} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
	if errb.Len() != 0 {
		t.Errorf("help wrote to stderr: %q", errb.String())
	}
}

func TestParseUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string // on stderr
	}{
		{[]string{"-nope"}, "tool: flag provided but not defined: -nope\nusage: tool [flags] capture   (run 'tool -h' for help)\n"},
		{[]string{"-filter", "tcp and hots 10.0.0.1"}, "tool: -filter: position 9: unknown keyword \"hots\" (host names are not resolved: give an address)\n" +
			"  tcp and hots 10.0.0.1\n          ^\nrun 'tool -h' for the filter syntax\n"},
		{[]string{"-filter", "port 80 or"}, "tool: -filter: position 11: expected a primitive after \"or\"\n  port 80 or\n            ^\nrun 'tool -h' for the filter syntax\n"},
		{[]string{"-flow", "x"}, "tool: invalid value \"x\" for flag -flow: \"x\" is not a connection number (tshark's tcp.stream: 0, 1, …)\nusage: tool [flags] capture   (run 'tool -h' for help)\n"},
		{[]string{"-from", "yesterday"}, "tool: -from \"yesterday\": want an RFC 3339 time (2026-11-21T10:00:00Z) or an offset from the first frame (+10s)\nusage: tool [flags] capture   (run 'tool -h' for help)\n"},
		{[]string{"-to", "+-3s"}, "tool: -to \"+-3s\": the offset is negative\nusage: tool [flags] capture   (run 'tool -h' for help)\n"},
	}
	for _, tc := range tests {
		tool, out, errb := newTool(t)
		if _, status, ok := tool.Parse(tc.args); ok || status != ExitUsage {
			t.Errorf("%q: ok %v status %d, want status %d", tc.args, ok, status, ExitUsage)
		}
		if diff := cmp.Diff(tc.want, errb.String()); diff != "" {
			t.Errorf("%q: stderr (-want +got):\n%s", tc.args, diff)
		}
		if out.Len() != 0 {
			t.Errorf("%q: wrote to stdout", tc.args)
		}
	}
}

func TestParseSelectionFlags(t *testing.T) {
	tool, _, _ := newTool(t)
	rest, _, ok := tool.Parse([]string{"-filter", "tcp port 445", "-flow", "3", "-flow", "5,7", "-from", "+10s", "-to", "2026-11-21T10:00:00Z", "x.pcap"})
	if !ok {
		t.Fatal("Parse failed")
	}
	if diff := cmp.Diff([]string{"x.pcap"}, rest); diff != "" {
		t.Errorf("arguments (-want +got):\n%s", diff)
	}
	var o nettrace.Options
	tool.Apply(&o)
	to, _ := time.Parse(time.RFC3339, "2026-11-21T10:00:00Z")
	if o.Filter != "tcp port 445" || !cmp.Equal(o.Streams, []uint64{3, 5, 7}) || o.From != nettrace.AfterFirst(10*time.Second) || !o.To.Time.Equal(to) {
		t.Errorf("options: filter %q streams %v from %v to %v", o.Filter, o.Streams, o.From, o.To)
	}
	if !tool.Selecting() {
		t.Error("Selecting() = false")
	}
}

func TestOpenStdinOnceAndFiles(t *testing.T) {
	old := Stdin
	t.Cleanup(func() { Stdin = old })
	Stdin = strings.NewReader("bytes")
	tool, _, _ := newTool(t)
	in, err := tool.Open("-")
	if err != nil || in.Name != "stdin" {
		t.Fatalf("Open(-) = %+v, %v", in, err)
	}
	if b, _ := io.ReadAll(in.R); string(b) != "bytes" {
		t.Errorf("read %q from stdin", b)
	}
	if _, err := tool.Open("-"); err == nil {
		t.Error("stdin opened twice")
	}
	dir := t.TempDir()
	if _, err := tool.Open(dir); err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "directory") {
		t.Errorf("Open(dir) error %v", err)
	}
	if _, err := tool.Open(filepath.Join(dir, "missing.pcap")); err == nil || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("Open(missing) error %v", err)
	}
	path := filepath.Join(dir, "c.pcapng")
	os.WriteFile(path, demo.Capture, 0o644)
	in, err = tool.Open(path)
	if err != nil || in.Size != int64(len(demo.Capture)) {
		t.Fatalf("Open(file) = %+v, %v", in, err)
	}
	in.Close()
}

// analyse runs the tool's Analyze over capture bytes.
func analyse(t *testing.T, tool *Tool, b []byte, opts nettrace.Options) *Run {
	t.Helper()
	run, err := tool.Analyze(&Input{Name: "c.pcapng", R: bytes.NewReader(b)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestCheckSaysDamageOnceAndExitsIncomplete(t *testing.T) {
	tool, _, errb := newTool(t)
	run := analyse(t, tool, demo.Capture[:len(demo.Capture)/2], nettrace.Options{})
	if status := run.Check(); status != ExitIncomplete {
		t.Errorf("status %d, want %d", status, ExitIncomplete)
	}
	want := "tool: warning: c.pcapng is damaged at frame 31 (byte offset 18412): unexpected EOF; the 30 frames before it were analysed\n"
	if diff := cmp.Diff(want, errb.String()); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
}

func TestCheckCleanCaptureIsOK(t *testing.T) {
	tool, _, errb := newTool(t)
	if status := analyse(t, tool, demo.Capture, nettrace.Options{}).Check(); status != ExitOK || errb.Len() != 0 {
		t.Errorf("status %d, stderr %q", status, errb.String())
	}
}

// Connections evicted by the connection limit are shed (exit 1, said on
// stderr); the idle timeout is not.
func TestCheckSaysWhatWasShed(t *testing.T) {
	tool, _, errb := newTool(t)
	cfg := tcpstate.DefaultConfig()
	cfg.MaxConns = 2
	b, err := os.ReadFile("../../../testdata/health/c02-nat-per-source-limit-server.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if status := analyse(t, tool, b, nettrace.Options{TCP: &cfg}).Check(); status != ExitIncomplete {
		t.Errorf("status %d, want %d", status, ExitIncomplete)
	}
	if got := errb.String(); !strings.HasPrefix(got, "tool: warning: c.pcapng: not everything was analysed: tcp.evicted ×") ||
		strings.Count(got, "\n") != 1 {
		t.Errorf("stderr %q", got)
	}

	w := &watcher{next: health.Discard}
	w.Event(health.Event{Kind: health.TCPEvicted, Evidence: map[string]any{"reason": "idle"}})
	rep := &nettrace.Report{Findings: []nettrace.Finding{{Kind: health.TCPEvicted, Count: 1}}}
	if s := w.shed(rep); s != "" {
		t.Errorf("idle eviction counted as shed: %q", s)
	}
}

func TestMissingFlowIsWarned(t *testing.T) {
	tool, _, errb := newTool(t)
	if _, _, ok := tool.Parse([]string{"-flow", "1", "-flow", "40"}); !ok {
		t.Fatal("Parse")
	}
	if status := analyse(t, tool, demo.Capture, nettrace.Options{}).Check(); status != ExitOK {
		t.Errorf("status %d", status)
	}
	if want := "tool: warning: c.pcapng: no TCP connection 40 (-flow): the capture has 9\n"; errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
}

// The progress line is drawn only on a terminal, after a second, and
// erased at the end; -quiet and pipes get none.
func TestProgress(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		terminal bool
		quiet    bool
		want     string
	}{
		{"terminal", true, false, "\rbig.pcap: 50 MB of 200 MB (25%) · 250k of ~1.0M packets · 25 MB/s · 6s left\x1b[K\r\x1b[K"},
		{"quiet", true, true, ""},
		{"pipe", false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tool, _, errb := newTool(t)
			tool.Quiet = tc.quiet
			tool.isTerminal = func(io.Writer) bool { return tc.terminal }
			clock := now
			tool.now = func() time.Time { return clock }
			p := tool.NewProgress("big.pcap")
			clock = now.Add(500 * time.Millisecond)
			p.Update(10e6, 200e6, 50_000, 0) // too early: nothing
			clock = now.Add(2 * time.Second)
			p.Update(50e6, 200e6, 250_000, 0)
			p.Done()
			if diff := cmp.Diff(tc.want, errb.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		elapsed                                  time.Duration
		bytes, totalBytes, packets, totalPackets int64
		want                                     string
	}{
		{2 * time.Second, 1.5e9, 0, 3e6, 0, "x: 1.5 GB · 3.0M packets · 750 MB/s"},
		{4 * time.Second, 0, 0, 100_000, 400_000, "x: 0 B · 100k of 400k packets · 25k packets/s · 12s left"},
		{time.Second, 2e3, 4e3, 10, 0, "x: 2 kB of 4 kB (50%) · 10 of ~20 packets · 2 kB/s · 1s left"},
	}
	for _, tc := range tests {
		if got := progressLine("x", tc.elapsed, tc.bytes, tc.totalBytes, tc.packets, tc.totalPackets); got != tc.want {
			t.Errorf("progressLine = %q, want %q", got, tc.want)
		}
	}
}

func TestWorst(t *testing.T) {
	if Worst() != ExitOK || Worst(ExitOK, ExitIncomplete) != ExitIncomplete || Worst(ExitUsage, ExitIncomplete) != ExitUsage {
		t.Error("Worst does not keep the most serious status")
	}
}
