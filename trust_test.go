package nettrace_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/artefact"
)

// The artefact tests take clean captures and rewrite them into the
// captures that capture artefacts make of the same traffic (see package
// internal/artefact): one side only, started mid-connection, filtered
// down to some segments, duplicated by two capture points, checksums never
// computed, addresses rewritten, slightly reordered. A finding is a claim
// about the network: an artefact must not raise a warning or an error the
// clean capture did not have, and the lossless artefacts (duplicates,
// checksums, rewritten addresses, reordering) must keep every warning and
// error of the clean capture.

// artefactCase is one way of damaging a capture.
type artefactCase struct {
	name     string
	lossless bool // the artefact keeps everything the network did
	apply    func(*artefact.Capture) *artefact.Capture
}

var artefactCases = []artefactCase{
	{"one-sided (client only)", false, func(c *artefact.Capture) *artefact.Capture { return artefact.OneSided(c, false) }},
	{"one-sided (server only)", false, func(c *artefact.Capture) *artefact.Capture { return artefact.OneSided(c, true) }},
	{"started mid-stream (first 10 frames cut)", false, func(c *artefact.Capture) *artefact.Capture { return artefact.StartAt(c, 10) }},
	{"filtered (one segment per message)", false, artefact.Filtered},
	{"duplicated 50 ms later", true, func(c *artefact.Capture) *artefact.Capture { return artefact.Duplicated(c, 50*time.Millisecond) }},
	{"checksums zero", true, artefact.ZeroChecksums},
	{"addresses rewritten", true, artefact.RewriteAddresses},
	{"reordered within 1 ms", true, func(c *artefact.Capture) *artefact.Capture { return artefact.Reordered(c, time.Millisecond) }},
}

// artefactExceptions are the new alarms an artefact may raise because it
// removed the evidence itself, each with the reason. Nothing else may.
var artefactExceptions = []struct {
	capture, artefact string
	kind              health.Kind
	why               string
}{
	{"synthetic-reuse-rst-same-isn.pcap", "one-sided (client only)", health.TCPSynUnanswered,
		"the server's only answers were resets, and the artefact removed them: two SYNs 2 s apart with nothing of the server anywhere in the capture is what unanswered SYNs look like"},
	{"tcp-lossy-netem-smb-client.pcap", "started mid-stream (first 10 frames cut)", health.TCPRetransmission,
		"frame 267 of the clean capture is a fast retransmission (its IPv4 ID follows the previous segment's) that tshark's out-of-order rule calls out-of-order because it comes within the handshake RTT; without the handshake it is called a retransmission, which it is"},
}

// addressKinds compare an address a payload names with the headers'
// addresses: once the headers are rewritten, a real mismatch looks like a
// fake one, so these findings become notices that say why (lost on the
// rewritten-addresses artefact by design).
func addressKind(k health.Kind) bool {
	return k == health.RPCEPMAddressMismatch || k == health.TDSSSRPReplyFromOtherAddress
}

func isArtefactException(capture, artefact string, k health.Kind) bool {
	for _, e := range artefactExceptions {
		if e.capture == capture && e.artefact == artefact && e.kind == k {
			return true
		}
	}
	return false
}

// artefactCaptures returns the clean captures the artefacts are made of:
// the project's own test captures, and every capture in ../shared when it
// is there.
func artefactCaptures(t *testing.T) []string {
	var out []string
	for _, g := range []string{"testdata/*/*.pcap", "testdata/*/*.pcapng", sharedDir + "/captures/*/*.pcap", sharedDir + "/public-captures/*.pcap*"} {
		m, _ := filepath.Glob(g)
		for _, p := range m {
			if !strings.HasSuffix(p, ".json") {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// alarms returns the warning and error findings of a report by kind, with
// an example of each.
func alarms(rep *nettrace.Report) map[health.Kind]health.Event {
	out := map[health.Kind]health.Event{}
	for _, f := range rep.Findings {
		if f.Severity >= health.Warning {
			out[f.Kind] = f.Example
		}
	}
	return out
}

// checksumKinds are findings about checksums, which the checksum and
// address artefacts change by design.
func checksumKind(k health.Kind) bool { return strings.HasPrefix(string(k), "ip.") }

func analyzeBytes(t *testing.T, b []byte, keys []string) *nettrace.Report {
	t.Helper()
	a, err := nettrace.New(nettrace.Options{KeyLogFiles: keys, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("artefact", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestArtefactsRaiseNoFalseAlarm runs every artefact on every clean
// capture and compares the warnings and errors (see above).
func TestArtefactsRaiseNoFalseAlarm(t *testing.T) {
	eachCapture(t, artefactCaptures(t), func(t *testing.T, path string) {
		for _, p := range artefactProblems(t, path) {
			t.Error(p)
		}
	})
}

// artefactProblems returns, sorted, the alarms the artefacts raise on the
// capture at path that its clean analysis does not (or, for the lossless
// ones, lose).
func artefactProblems(t *testing.T, path string) []string {
	var problems []string
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := artefact.Read(bytes.NewReader(raw))
	if err != nil || len(c.Frames) == 0 {
		return nil
	}
	keys := keysFor(path)
	clean := alarms(analyzeBytes(t, c.Bytes(), keys))
	for _, ac := range artefactCases {
		got := alarms(analyzeBytes(t, ac.apply(c).Bytes(), keys))
		for k, e := range got {
			if _, ok := clean[k]; !ok && !(ac.lossless && checksumKind(k)) && !isArtefactException(filepath.Base(path), ac.name, k) {
				problems = append(problems, fmt.Sprintf("%s, %s: new %s %s at frame %d: %s", filepath.Base(path), ac.name, e.Severity, k, e.Frame, e.Message))
			}
		}
		if !ac.lossless {
			continue
		}
		for k := range clean {
			if _, ok := got[k]; !ok && !checksumKind(k) && !(ac.name == "addresses rewritten" && addressKind(k)) {
				problems = append(problems, fmt.Sprintf("%s, %s: lost %s", filepath.Base(path), ac.name, k))
			}
		}
	}
	sort.Strings(problems)
	return problems
}
