package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/examples/internal/clitest"
	"github.com/nettrace/nettrace/layers"
)

var synthTool = clitest.Tool{Name: "pcapsynth", Run: run}

// countFrames counts the frames of a capture.
func countFrames(t *testing.T, b []byte) int {
	t.Helper()
	c, err := layers.NewCapture(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := c.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
}

// With no template pcapsynth works from the bundled demo capture, one
// template per TCP connection, and its output analyses cleanly: a fresh
// clone needs nothing else.
func TestPcapsynthFromTheBundledDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "synth.pcap")
	r := synthTool.Exec(t, nil, "-o", out, "-packets", "5000", "-json")
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	doc := clitest.JSONValues(t, r.Stdout)[0]
	if doc["packets"] != 5000.0 || len(doc["templates"].([]any)) != 9 {
		t.Errorf("summary %v", doc)
	}
	rep, err := nettrace.AnalyzeFile(out, nettrace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Capture.Frames != 5000 || rep.Profile.Duplicates != 0 || len(rep.Flows)+rep.FlowsDropped < 100 {
		t.Errorf("synthetic capture: %d frames, %d connections, %d duplicates", rep.Capture.Frames, len(rep.Flows)+rep.FlowsDropped, rep.Profile.Duplicates)
	}
}

func TestPcapsynthToStdoutWithSelection(t *testing.T) {
	r := synthTool.Exec(t, nil, "-o", "-", "-packets", "300", "-filter", "tcp port 445 or port 139")
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	if n := countFrames(t, []byte(r.Stdout)); n != 300 {
		t.Errorf("%d frames on stdout, want 300", n)
	}
	rep, err := nettrace.New(nettrace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := rep.Analyze("synth", strings.NewReader(r.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Protocols) != 1 || res.Protocols["smb"] == 0 {
		t.Errorf("protocols %v, want only smb", res.Protocols)
	}
	if !strings.HasPrefix(r.Stderr, "pcapsynth: wrote 300 packets from 1 templates to -") {
		t.Errorf("stderr %q", r.Stderr)
	}
}

func TestPcapsynthTemplateFromStdinAndFlow(t *testing.T) {
	tmpl, err := os.ReadFile("../../testdata/root/c04-epm-vip-client.pcap")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "s.pcap")
	r := synthTool.Exec(t, tmpl, "-o", out, "-packets", "200", "-flow", "1", "-")
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	rep, err := nettrace.AnalyzeFile(out, nettrace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Flows {
		if f.Server.Port() != 49152 {
			t.Errorf("-flow 1 (the WINREG connection) replicated a connection to %s", f.Server)
		}
	}
}

func TestPcapsynthExitStatuses(t *testing.T) {
	dir := t.TempDir()
	tmpl, _ := os.ReadFile("../../testdata/root/c04-epm-vip-client.pcap")
	cut := filepath.Join(dir, "cut.pcap")
	os.WriteFile(cut, tmpl[:len(tmpl)*2/3], 0o644)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("no capture"), 0o644)
	out := filepath.Join(dir, "o.pcap")
	tests := []struct {
		args   []string
		status int
		stderr string
	}{
		{[]string{"-o", out, "-packets", "100", cut}, cli.ExitIncomplete, "pcapsynth: warning: template " + cut + " is damaged"},
		{[]string{"-o", out, notes}, cli.ExitUsage, "pcapsynth: " + notes + ": layers: capture: not a capture file"},
		{[]string{"-packets", "10"}, cli.ExitUsage, "pcapsynth: -o is required"},
		{[]string{"-o", "-", "-json"}, cli.ExitUsage, "pcapsynth: -json writes the summary on standard output"},
		{[]string{"-o", out, "-corpus", dir, cut}, cli.ExitUsage, "pcapsynth: give templates or -corpus, not both"},
		{[]string{"-o", out, "-corpus", dir}, cli.ExitUsage, "pcapsynth: no templates found under " + dir},
		{[]string{"-o", out, "-filter", "tcp port", cut}, cli.ExitUsage, "pcapsynth: -filter: position 9"},
		{[]string{"-o", out, "-filter", "udp port 9"}, cli.ExitUsage, "pcapsynth: no Ethernet/IPv4 frames to replicate"},
	}
	for _, tc := range tests {
		r := synthTool.Exec(t, nil, tc.args...)
		if r.Status != tc.status || !strings.Contains(r.Stderr, tc.stderr) {
			t.Errorf("%v: exit %d, want %d; stderr %q, want %q", tc.args, r.Status, tc.status, r.Stderr, tc.stderr)
		}
	}
	r := synthTool.Exec(t, nil, "-h")
	if r.Status != cli.ExitOK || !strings.Contains(r.Stdout, "usage: pcapsynth -o FILE") || !strings.Contains(r.Stdout, cli.ExitStatusDoc) {
		t.Errorf("-h: exit %d:\n%s", r.Status, r.Stdout)
	}
}
