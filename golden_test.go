package nettrace_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden/events.sha256 from the current output")

// goldenEvents is the digest of the JSON-lines events (doctor -json) of
// every capture in ../shared, analysed with its key log.
const goldenEvents = "testdata/golden/events.sha256"

// TestEventsUnchangedOnSharedCaptures locks the events of every capture in
// ../shared: a refactoring must leave them byte for byte as they were, and
// a deliberate change of the output rewrites the digests with
// `go test -run TestEventsUnchangedOnSharedCaptures -update .` in the same
// commit (which then says why). The digests were first written from the
// output before the redesign of packages (diagnose, pair, http, pipeline).
func TestEventsUnchangedOnSharedCaptures(t *testing.T) {
	got := map[string]string{}
	var mu sync.Mutex
	eachCapture(t, sharedCaptures(t), func(t *testing.T, path string) {
		d := eventsDigest(t, path)
		mu.Lock()
		defer mu.Unlock()
		got[filepath.ToSlash(strings.TrimPrefix(path, sharedDir+string(filepath.Separator)))] = d
	})
	if t.Failed() {
		return
	}
	if *updateGolden {
		writeDigests(t, got)
		return
	}
	want := readDigests(t)
	var changed []string
	for name, sum := range got {
		if w, ok := want[name]; !ok {
			changed = append(changed, name+" (new capture)")
		} else if w != sum {
			changed = append(changed, name)
		}
	}
	sort.Strings(changed)
	for _, name := range changed {
		t.Errorf("%s: events differ from %s; see them with `go run ./examples/doctor -json ../shared/%s`, and after a deliberate change run this test with -update", name, goldenEvents, name)
	}
}

// eventsDigest analyses the capture at path (with its key log when there
// is one) on one worker and returns the SHA-256 of its JSON-lines events.
func eventsDigest(t *testing.T, path string) string {
	t.Helper()
	var out bytes.Buffer
	sink := health.NewJSONSink(&out, true, false)
	opts := nettrace.Options{Reporter: sink, Workers: 1}
	opts.KeyLogFiles = keysFor(path)
	if _, err := nettrace.AnalyzeFile(path, opts); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(out.Bytes())
	return hex.EncodeToString(sum[:])
}

func readDigests(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(goldenEvents)
	if err != nil {
		t.Fatalf("%v (write it with -update)", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sum, name, ok := strings.Cut(sc.Text(), "  "); ok {
			out[name] = sum
		}
	}
	return out
}

func writeDigests(t *testing.T, sums map[string]string) {
	t.Helper()
	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&b, "%s  %s\n", sums[n], n)
	}
	if err := os.MkdirAll(filepath.Dir(goldenEvents), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenEvents, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
