// Package clitest checks that a program of examples/ follows the
// command-line convention of package cli, by running its run function in
// the test's process.
package clitest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/examples/internal/cli"
)

// RunFunc is a program's entry point: it returns the exit status.
type RunFunc func(args []string, stdout, stderr io.Writer) int

// Tool describes a program to check.
type Tool struct {
	Name string
	Run  RunFunc
	// Capture is a capture the program analyses with exit status 0, and
	// Args the arguments that go before it.
	Capture string
	Args    []string
	// Normalize, when set, rewrites outputs before they are compared
	// (for a tool that writes files or times).
	Normalize func(string) string
}

// Result is one run of a program.
type Result struct {
	Status         int
	Stdout, Stderr string
}

// Exec runs the tool with args, standard input reading stdin.
func (tl Tool) Exec(t *testing.T, stdin []byte, args ...string) Result {
	t.Helper()
	old := cli.Stdin
	defer func() { cli.Stdin = old }()
	cli.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	status := tl.Run(args, &out, &errb)
	return Result{status, out.String(), errb.String()}
}

func (tl Tool) args(extra ...string) []string {
	return append(append([]string(nil), tl.Args...), extra...)
}

// Check runs the convention's checks as subtests: -h, a bad flag, a bad
// filter, a bad time, a capture from standard input, a damaged capture, an
// input that is not a capture, and -json.
func Check(t *testing.T, tl Tool) {
	capture, err := os.ReadFile(tl.Capture)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		check func(*testing.T, Tool, []byte)
	}{
		{"help", checkHelp},
		{"bad flag", checkBadFlag},
		{"bad filter", checkBadFilter},
		{"bad time", checkBadTime},
		{"stdin", checkStdin},
		{"damaged", checkDamaged},
		{"not a capture", checkNotACapture},
		{"json", checkJSON},
	} {
		t.Run(c.name, func(t *testing.T) { c.check(t, tl, capture) })
	}
}

// norm is tl.Normalize, or the identity.
func (tl Tool) norm(s string) string {
	if tl.Normalize != nil {
		return tl.Normalize(s)
	}
	return s
}

// checkHelp: -h prints the synopsis, the shared flags, examples and the exit statuses, and exits 0.
func checkHelp(t *testing.T, tl Tool, capture []byte) {
	r := tl.Exec(t, nil, "-h")
	if r.Status != cli.ExitOK {
		t.Errorf("-h: exit %d, want 0", r.Status)
	}
	for _, want := range []string{"usage: " + tl.Name + " ", "Examples:", "-filter", "-flow", "-from", "-to", "-json", "-quiet", cli.ExitStatusDoc} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("-h lacks %q:\n%s", want, r.Stdout)
		}
	}
}

// checkBadFlag: an unknown flag is a usage error (exit 2) pointing at -h.
func checkBadFlag(t *testing.T, tl Tool, capture []byte) {
	r := tl.Exec(t, nil, tl.args("-no-such-flag", tl.Capture)...)
	if r.Status != cli.ExitUsage || !strings.Contains(r.Stderr, "run '"+tl.Name+" -h' for help") || r.Stdout != "" {
		t.Errorf("exit %d, want 2; stdout %q stderr %q", r.Status, r.Stdout, r.Stderr)
	}
}

// checkBadFilter: a bad -filter is a usage error naming the position, with a caret under it.
func checkBadFilter(t *testing.T, tl Tool, capture []byte) {
	r := tl.Exec(t, nil, tl.args("-filter", "tcp and prot 80", tl.Capture)...)
	want := tl.Name + ": -filter: position 9: unknown keyword \"prot\""
	if r.Status != cli.ExitUsage || !strings.HasPrefix(r.Stderr, want) || !strings.Contains(r.Stderr, "\n          ^\n") {
		t.Errorf("exit %d, want 2; stderr %q", r.Status, r.Stderr)
	}
}

// checkBadTime: a bad -from is a usage error.
func checkBadTime(t *testing.T, tl Tool, capture []byte) {
	r := tl.Exec(t, nil, tl.args("-from", "10:00", tl.Capture)...)
	if r.Status != cli.ExitUsage || !strings.HasPrefix(r.Stderr, tl.Name+": -from") {
		t.Errorf("exit %d, want 2; stderr %q", r.Status, r.Stderr)
	}
}

// checkStdin: "-" reads the capture from standard input, plain or gzip-compressed, with the output of the file.
func checkStdin(t *testing.T, tl Tool, capture []byte) {
	file := tl.Exec(t, nil, tl.args(tl.Capture)...)
	if file.Status != cli.ExitOK {
		t.Fatalf("%s: exit %d: %s", tl.Capture, file.Status, file.Stderr)
	}
	stdin := tl.Exec(t, capture, tl.args("-")...)
	if stdin.Status != cli.ExitOK {
		t.Fatalf("-: exit %d: %s", stdin.Status, stdin.Stderr)
	}
	if got, want := tl.norm(stdin.Stdout), tl.norm(strings.ReplaceAll(file.Stdout, tl.Capture, "stdin")); got != want {
		t.Errorf("output from stdin differs from the file's:\n%s\nwant\n%s", got, want)
	}
	gz := tl.Exec(t, gzipped(t, capture), tl.args("-")...)
	if gz.Status != cli.ExitOK || tl.norm(gz.Stdout) != tl.norm(stdin.Stdout) {
		t.Errorf("gzip-compressed stdin: exit %d, output differs: %s", gz.Status, gz.Stderr)
	}
}

// checkDamaged: a capture cut short is analysed up to the cut, said in one warning, exit 1.
func checkDamaged(t *testing.T, tl Tool, capture []byte) {
	path := filepath.Join(t.TempDir(), "cut"+filepath.Ext(tl.Capture))
	if err := os.WriteFile(path, capture[:len(capture)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	r := tl.Exec(t, nil, tl.args(path)...)
	if r.Status != cli.ExitIncomplete {
		t.Errorf("exit %d, want 1; stderr %q", r.Status, r.Stderr)
	}
	prefix := tl.Name + ": warning: " + path + " is damaged at frame "
	if !strings.HasPrefix(r.Stderr, prefix) || strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, "(byte offset ") ||
		!strings.Contains(r.Stderr, "frames before it were analysed\n") {
		t.Errorf("stderr %q, want one warning %q…", r.Stderr, prefix)
	}
}

// checkNotACapture: a file that is not a capture, a missing file and junk on standard input are usage errors (exit 2) said in one line.
func checkNotACapture(t *testing.T, tl Tool, capture []byte) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(path, []byte("not a capture\n"), 0o644)
	for _, args := range [][]string{tl.args(path), tl.args(filepath.Join(t.TempDir(), "missing.pcap"))} {
		r := tl.Exec(t, nil, args...)
		if r.Status != cli.ExitUsage || !strings.HasPrefix(r.Stderr, tl.Name+": ") || strings.Count(r.Stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, want 2 and one line on stderr; stderr %q", args, r.Status, r.Stderr)
		}
	}
	r := tl.Exec(t, []byte("not a capture either"), tl.args("-")...)
	if r.Status != cli.ExitUsage || !strings.Contains(r.Stderr, "stdin") {
		t.Errorf("stdin: exit %d, want 2 naming stdin; stderr %q", r.Status, r.Stderr)
	}
}

// checkJSON: -json writes JSON (one document or JSON lines).
func checkJSON(t *testing.T, tl Tool, capture []byte) {
	r := tl.Exec(t, nil, tl.args("-json", tl.Capture)...)
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	dec := json.NewDecoder(strings.NewReader(r.Stdout))
	n := 0
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("-json output is not JSON: %v\n%s", err, r.Stdout)
		}
		n++
	}
	if n == 0 {
		t.Error("-json wrote nothing")
	}
}

// JSONValues decodes the JSON values of s (one document, or JSON lines).
func JSONValues(t *testing.T, s string) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	var out []map[string]any
	for {
		var v map[string]any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("not JSON: %v\n%s", err, s)
		}
		out = append(out, v)
	}
}

// gzipped returns b gzip-compressed.
func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
