package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// doctor -conn on the bundled capture: Zeek's TSV header, then one line
// per TCP connection with all the columns; -json gives the same
// connections as JSON objects with Zeek's field names; the worker count
// changes nothing.
func TestConnLogTSVAndJSON(t *testing.T) {
	var tsv, js, tsv3, stderr bytes.Buffer
	if code := run([]string{"-conn", "-workers", "1"}, &tsv, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if code := run([]string{"-conn", "-workers", "3"}, &tsv3, &stderr); code != 0 || tsv3.String() != tsv.String() {
		t.Fatalf("-workers 3 printed another conn.log (exit %d)", code)
	}
	if code := run([]string{"-conn", "-json"}, &js, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(tsv.String(), "\n"), "\n")
	if !strings.HasPrefix(lines[0], "#separator \\x09") || !strings.HasPrefix(lines[5], "#fields\tts\tuid\tid.orig_h") || !strings.HasPrefix(lines[6], "#types\ttime") {
		t.Fatalf("header:\n%s", strings.Join(lines[:min(7, len(lines))], "\n"))
	}
	records := lines[7:]
	jsonLines := strings.Split(strings.TrimSuffix(js.String(), "\n"), "\n")
	if len(records) < 5 || len(records) != len(jsonLines) {
		t.Fatalf("%d TSV records, %d JSON lines", len(records), len(jsonLines))
	}
	states := map[string]bool{}
	for i, line := range records {
		cols := strings.Split(line, "\t")
		if len(cols) != 18 {
			t.Fatalf("record %d has %d columns: %q", i, len(cols), line)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(jsonLines[i]), &m); err != nil {
			t.Fatalf("JSON line %d: %v", i, err)
		}
		if m["uid"] != cols[1] || m["id.orig_h"] != cols[2] || m["conn_state"] != cols[11] || m["proto"] != "tcp" {
			t.Errorf("line %d: JSON %v disagrees with TSV %q", i, m, line)
		}
		states[cols[11]] = true
	}
	// The demo holds a refused and an unanswered connection (casebook).
	for _, s := range []string{"REJ", "S0"} {
		if !states[s] {
			t.Errorf("no %s connection in the demo's conn.log; states %v", s, states)
		}
	}
}
