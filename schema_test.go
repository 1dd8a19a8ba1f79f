package nettrace_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/eventschema"
)

var updateSchema = flag.Bool("update-schema", false, "rewrite docs/events-observed.json and docs/events.md")

const (
	observedPath = "docs/events-observed.json"
	schemaDoc    = "docs/events.md"
)

// bundledCaptures lists the captures in the repository: testdata and the
// doctor's demo.
func bundledCaptures(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir("testdata", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng")) {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return append(out, "examples/doctor/demo/branch-office.pcapng")
}

// schemaRecorder keeps, per event, its kind, evidence and JSON line.
type schemaRecorder struct {
	buf  bytes.Buffer
	sink *health.JSONSink
	each func(e health.Event, line string)
}

func (r *schemaRecorder) Event(e health.Event) {
	r.sink.Event(e)
	r.sink.Flush()
	r.each(e, strings.TrimSuffix(r.buf.String(), "\n"))
	r.buf.Reset()
}
func (r *schemaRecorder) Message(health.Message) {}
func (r *schemaRecorder) WantMessages() bool     { return false }

// emitted analyses each capture and calls each for every event.
func emitted(t *testing.T, paths []string, each func(path string, e health.Event, line string)) {
	t.Helper()
	for _, path := range paths {
		rec := &schemaRecorder{}
		rec.sink = health.NewJSONSink(&rec.buf, true, false)
		rec.each = func(e health.Event, line string) { each(path, e, line) }
		opts := nettrace.Options{Reporter: rec, Workers: 1, KeyLogFiles: keysFor(path)}
		if _, err := nettrace.AnalyzeFile(path, opts); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
}

// TestEventSchemaDocumented fails when an event kind or an evidence field
// is emitted without its documentation in health/kinds.go (on the bundled
// captures, and on ../shared when present), when a documented kind is not
// in the catalogue, or when docs/events.md is not what `go generate
// ./health` writes. After a deliberate change, run it with -update-schema
// to rewrite the observed types and examples and the document.
func TestEventSchemaDocumented(t *testing.T) {
	src, err := os.ReadFile("health/kinds.go")
	if err != nil {
		t.Fatal(err)
	}
	kinds, err := eventschema.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]map[string]bool{}
	for _, k := range kinds {
		documented[k.Kind] = map[string]bool{}
		for _, f := range k.Evidence {
			documented[k.Kind][f] = true
		}
		if !health.Known(health.Kind(k.Kind)) {
			t.Errorf("%s (%s) is declared in kinds.go but not in the catalogue", k.Kind, k.Name)
		}
	}
	for _, ki := range health.Catalogue() {
		if documented[string(ki.Kind)] == nil {
			t.Errorf("%s is in the catalogue without a documented constant in kinds.go", ki.Kind)
		}
	}
	missing := map[string]bool{}
	check := func(path string, e health.Event, _ string) {
		fields, ok := documented[string(e.Kind)]
		if !ok {
			missing[string(e.Kind)+" (kind not documented), e.g. "+path] = true
			return
		}
		for k := range e.Evidence {
			if !fields[k] {
				missing[string(e.Kind)+": evidence field "+k+" (not in its comment's Evidence: list), e.g. "+path] = true
			}
		}
	}
	observed := eventschema.Observed{}
	emitted(t, bundledCaptures(t), func(path string, e health.Event, line string) {
		check(path, e, line)
		observed.Add(string(e.Kind), e.Evidence, line)
	})
	if _, err := os.Stat(sharedDir); err == nil {
		emitted(t, sharedCaptures(t), check)
	}
	for _, m := range sortedKeys(missing) {
		t.Errorf("undocumented: %s", m)
	}
	checkObservedAndDoc(t, src, observed)
}

// checkObservedAndDoc compares the observed types and examples, and the
// document rendered from them, with the committed files.
func checkObservedAndDoc(t *testing.T, kindsSrc []byte, observed eventschema.Observed) {
	t.Helper()
	obs, err := json.MarshalIndent(observed, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	obs = append(obs, '\n')
	doc, err := eventschema.Document(kindsSrc, observed)
	if err != nil {
		t.Fatal(err)
	}
	if *updateSchema {
		for path, b := range map[string][]byte{observedPath: obs, schemaDoc: doc} {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	if old, err := os.ReadFile(observedPath); err != nil || !bytes.Equal(old, obs) {
		t.Errorf("%s is not what the bundled captures emit (run this test with -update-schema)", observedPath)
	}
	if old, err := os.ReadFile(schemaDoc); err != nil || !bytes.Equal(old, doc) {
		t.Errorf("%s is out of date: run `go generate ./health` (or this test with -update-schema)", schemaDoc)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
