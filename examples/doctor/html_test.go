package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDoctorHTML: -html writes a self-contained page with the findings and
// the graphs of their connections, next to the text report.
func TestDoctorHTML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "report.html")
	var out, errOut bytes.Buffer
	if code := run([]string{"-html", path}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "FINDINGS") {
		t.Error("no text report next to the page")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"http.body_decode_failed", `data-graph="tcp-sequence"`, `data-graph="latency"`, `id="conn-table"`, "TLS decryption: 1 of 2"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?i)(src|href)=["']?(https?:|//)`).MatchString(page) {
		t.Error("the page references an external resource")
	}
	if code := run([]string{"-html", path, "a.pcap", "b.pcap"}, &out, &errOut); code != 2 {
		t.Errorf("-html with two captures: exit %d, want 2", code)
	}
}

// TestDoctorTrueAggregates: the report labels payload bytes, splits
// tls.alert by level and description (a close_notify is not a fatal
// alert), and says what TLS decryption did.
func TestDoctorTrueAggregates(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	report := out.String()
	for _, want := range []string{
		"payload →/←",
		"32 KB captured",
		"by kind: fatal certificate_expired ×1 (warning), warning close_notify ×1 (info)",
		"TLS decryption: 1 of 2 TLS connections decrypted; 1 connection with no key in the key log",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(report, "bytes →/←") {
		t.Error("unlabelled bytes column")
	}
}
