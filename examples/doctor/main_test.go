package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/examples/doctor/demo"
)

// The bundled demo is real lab traffic with known faults; the report must
// name each of them.
func TestDoctorBundledCaptureReport(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	report := out.String()
	t.Log("\n" + report)
	for _, want := range []string{
		"nettrace doctor · " + demoName,
		"128 frames",
		"FINDINGS",
		"tcp.synack_payload",       // c01: 2 bytes added to the SYN-ACK in transit
		"rpc.epm_address_mismatch", // c04: the tower names the node, not the VIP
		"http.body_decode_failed",  // C5: broken.json.gz
		"tds.login_failed",         // fake server rejects LOGIN7
		"smb.auth_failed",          // wrong password
		"tcp.refused",              // RST answering SYN
		"tcp.syn_unanswered",       // dropped by nftables
		"tls.cert_expired",         // expired certificate
		"CONNECTIONS",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	// Errors come before warnings, warnings before notices.
	if e, w := strings.Index(report, "ERROR"), strings.Index(report, "WARNING"); e < 0 || w < 0 || e > w {
		t.Errorf("findings not sorted by severity (ERROR at %d, WARNING at %d)", e, w)
	}
}

func TestDoctorJSONLines(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-json"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	summaries := 0
	for i, line := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i+1, err, line)
		}
		if e["kind"] == "flow.summary" {
			summaries++
		}
	}
	if summaries != 9 { // tshark -z conv,tcp: 9 TCP conversations
		t.Errorf("%d flow.summary lines, want 9", summaries)
	}
}

func TestDoctorBadInputs(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, not a capture\n"), 0o644)
	missing := filepath.Join(dir, "missing.pcap")
	for _, path := range []string{missing, text, dir} {
		var out, errOut bytes.Buffer
		code := run([]string{path}, &out, &errOut)
		msg := strings.TrimSpace(errOut.String())
		if code != 2 {
			t.Errorf("%s: exit %d, want 2", path, code)
		}
		if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, path) {
			t.Errorf("%s: error is not one line naming the file: %q", path, msg)
		}
	}
}

// A damaged capture is analysed up to the damage, says so once on stderr
// (frame, byte offset, what was analysed) and exits 1.
func TestDoctorTruncatedCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cut.pcapng")
	os.WriteFile(path, demo.Capture[:len(demo.Capture)*2/3], 0o644)
	for _, args := range [][]string{{path}, {"-json", path}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != 1 {
			t.Fatalf("%v: exit %d, want 1; stderr %s", args, code, errOut.String())
		}
		if !strings.Contains(out.String(), "capture.truncated") {
			t.Errorf("%v: output does not say where the capture stopped:\n%s", args, out.String())
		}
		want := "doctor: warning: " + path + " is damaged at frame 57 (byte offset 25560): unexpected EOF; the 56 frames before it were analysed\n"
		if errOut.String() != want {
			t.Errorf("%v: stderr %q, want one warning %q", args, errOut.String(), want)
		}
	}
}

func TestDoctorBadFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-d", "notaport"}, &out, &errOut); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
