package nettrace_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/artefact"
	"github.com/nettrace/nettrace/internal/testcap"
)

// Regression tests of issue "Trustworthy on any capture", one per rule the
// Analyzer itself applies (the decoders' rules are tested in their
// packages, the artefacts in trust_test.go).

func analyzeCapture(t *testing.T, c *testcap.Builder) (*nettrace.Report, *health.Collector) {
	t.Helper()
	col := &health.Collector{}
	a, err := nettrace.New(nettrace.Options{Reporter: col})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("built", bytes.NewReader(c.Buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return rep, col
}

// TestPortIsACandidateNotAVerdict: plaintext HTTP on port 443 is decoded
// as HTTP — the first bytes, not the port, decide — and is not reported as
// bad TLS.
func TestPortIsACandidateNotAVerdict(t *testing.T) {
	c := testcap.NewBuilder(0)
	v := c.Conv("10.0.0.1", "10.0.0.2", 40000, 443, 1000, 5000)
	v.Handshake()
	v.Send(true, []byte("GET /status HTTP/1.1\r\nHost: x\r\n\r\n"), 1460)
	v.Send(false, []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), 1460)
	v.Fin()
	rep, col := analyzeCapture(t, c)
	if rep.Protocols["http"] != 1 || rep.Protocols["tls"] != 0 {
		t.Errorf("protocols %v, want the connection decoded as http", rep.Protocols)
	}
	for _, e := range col.Events {
		if strings.HasPrefix(string(e.Kind), "tls.") || e.Kind == health.DecodeGaveUp {
			t.Errorf("%s: %s", e.Kind, e.Message)
		}
	}
}

// TestResetAfterCompleteHTTPExchangeIsInfo: a client that resets the
// connection once the response is complete (and acknowledged by the reset
// itself) closes it the way many clients do: tcp.reset is info, with the
// context.
func TestResetAfterCompleteHTTPExchangeIsInfo(t *testing.T) {
	c := testcap.NewBuilder(0)
	v := c.Conv("10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000)
	v.Handshake()
	v.Send(true, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 1460)
	v.Send(false, []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), 1460)
	c.Raw(c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "RA", nil))
	_, col := analyzeCapture(t, c)
	r := col.OfKind(health.TCPReset)
	if len(r) != 1 || r[0].Severity != health.Info || r[0].Evidence["after"] != "the HTTP exchange was complete" {
		t.Fatalf("tcp.reset %+v", r)
	}
	// Mid-response, the same reset throws the server's data away: a
	// warning.
	c = testcap.NewBuilder(0)
	v = c.Conv("10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000)
	v.Handshake()
	v.Send(true, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 1460)
	c.Raw(c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, v.SSeq, v.CSeq, "PA", []byte("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\nhel")))
	c.Raw(c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "RA", nil))
	_, col = analyzeCapture(t, c)
	if r := col.OfKind(health.TCPReset); len(r) != 1 || r[0].Severity != health.Warning {
		t.Fatalf("tcp.reset mid-response %+v", r)
	}
}

// TestFindingCountsEveryConnection: a finding on 30 connections says 30,
// not the 16 flows it keeps as examples.
func TestFindingCountsEveryConnection(t *testing.T) {
	c := testcap.NewBuilder(0)
	for i := range 30 {
		v := c.Conv("10.0.0.1", "10.0.0.2", uint16(40000+i), 81, 1000, 0)
		c.Raw(c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, 1000, 0, "S", nil))
		c.Raw(c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, 0, 1001, "RA", nil))
	}
	rep, _ := analyzeCapture(t, c)
	for _, f := range rep.Findings {
		if f.Kind != health.TCPRefused {
			continue
		}
		if f.Count != 30 || f.FlowCount != 30 || len(f.Flows) != 16 {
			t.Errorf("tcp.refused: count %d, flows %d (%d examples)", f.Count, f.FlowCount, len(f.Flows))
		}
		for i := 1; i < len(f.Frames); i++ {
			if f.Frames[i] <= f.Frames[i-1] {
				t.Errorf("frames %v: not distinct and in order", f.Frames)
			}
		}
		return
	}
	t.Fatal(fmt.Sprint("no tcp.refused finding: ", rep.Findings))
}

// TestReportSaysWhatKindOfCaptureItIs: the capture.profile event and
// Report.Profile state the kind of capture — here one side of a real
// capture only, then the same capture seen twice.
func TestReportSaysWhatKindOfCaptureItIs(t *testing.T) {
	c := readArtefactCapture(t, "testdata/http/http-gzip-chunked-nginx-curl.pcap")
	for _, tc := range []struct {
		name  string
		apply func(*artefact.Capture) *artefact.Capture
		want  string
	}{
		{"clean", func(c *artefact.Capture) *artefact.Capture { return c }, "seen both ways, nothing missed or captured twice"},
		{"one-sided", func(c *artefact.Capture) *artefact.Capture { return artefact.OneSided(c, false) }, "one-sided on 1 of 1 TCP connections"},
		{"duplicated", func(c *artefact.Capture) *artefact.Capture { return artefact.Duplicated(c, 50*time.Millisecond) }, "captured twice"},
		{"mid-stream", func(c *artefact.Capture) *artefact.Capture { return artefact.StartAt(c, 10) }, "picked up mid-stream"},
	} {
		rep := analyzeBytes(t, tc.apply(c).Bytes(), nil)
		if !strings.Contains(rep.Profile.Summary, tc.want) {
			t.Errorf("%s: profile %q, want %q", tc.name, rep.Profile.Summary, tc.want)
		}
		if len(rep.Findings) == 0 {
			continue
		}
		found := false
		for _, f := range rep.Findings {
			found = found || f.Kind == health.CaptureProfile && f.Example.Message == rep.Profile.Summary
		}
		if !found {
			t.Errorf("%s: no capture.profile event", tc.name)
		}
	}
}

func readArtefactCapture(t *testing.T, path string) *artefact.Capture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := artefact.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRequestAfterKeepAliveCRLFIsParsed: a request preceded by an empty
// line (a keep-alive CRLF, RFC 9112, 2.2) on a port no decoder claims,
// whose response was not captured, is recognised and parsed as HTTP, not
// lost.
func TestRequestAfterKeepAliveCRLFIsParsed(t *testing.T) {
	c := testcap.NewBuilder(0)
	v := c.Conv("10.0.0.1", "10.0.0.2", 40000, 8081, 1000, 5000)
	v.Handshake()
	v.Send(true, []byte("\r\n"), 1460)
	v.Send(true, []byte("GET /after-crlf HTTP/1.1\r\nHost: x\r\n\r\n"), 1460)
	v.Fin()
	col := &health.Collector{KeepMessages: true}
	a, err := nettrace.New(nettrace.Options{Reporter: col, Messages: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("built", bytes.NewReader(c.Buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range col.Messages {
		found = found || m.Proto == "http" && strings.Contains(fmt.Sprint(m.Fields), "/after-crlf")
	}
	if rep.Protocols["http"] != 1 || !found {
		t.Errorf("protocols %v, messages %+v: the request was not parsed", rep.Protocols, col.Messages)
	}
}

// inQinQPPPoE carries an Ethernet/IPv4 frame in two VLAN tags (802.1ad
// outer, 802.1Q inner) and a PPPoE session (RFC 2516), as a DSL
// aggregation network does.
func inQinQPPPoE(frame []byte) []byte {
	ip := frame[14:]
	out := append([]byte(nil), frame[:12]...)
	out = append(out, 0x88, 0xa8, 0x00, 0x64) // S-tag, VLAN 100
	out = append(out, 0x81, 0x00, 0x00, 0xc8) // C-tag, VLAN 200
	out = append(out, 0x88, 0x64)             // PPPoE session
	n := len(ip) + 2                          // the PPP protocol field and the IP packet
	out = append(out, 0x11, 0x00, 0x12, 0x34, byte(n>>8), byte(n), 0x00, 0x21)
	return append(out, ip...)
}

// TestEncapsulatedFaultsAreSeen (issue "trustworthy", missed): a 503 and a
// reset inside QinQ+PPPoE were not seen at all, the connection never
// tracked. They are found as in a plain Ethernet capture.
func TestEncapsulatedFaultsAreSeen(t *testing.T) {
	findings := func(wrap func([]byte) []byte) map[health.Kind]health.Severity {
		c := testcap.NewBuilder(0)
		c.Wrap = wrap
		v := c.Conv("100.64.1.10", "203.0.113.80", 51000, 80, 1000, 9000)
		v.Handshake()
		v.Send(true, []byte("GET /api/orders HTTP/1.1\r\nHost: shop.example\r\n\r\n"), 1400)
		v.Send(false, []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"), 1400)
		v.Send(true, []byte("GET /api/orders HTTP/1.1\r\nHost: shop.example\r\n\r\n"), 1400)
		c.Raw(c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, v.SSeq, v.CSeq, "RA", nil))
		rep := analyzeBytes(t, c.Buf.Bytes(), nil)
		got := map[health.Kind]health.Severity{}
		for _, f := range rep.Findings {
			got[f.Kind] = f.Severity
		}
		if rep.Profile.Undecoded.Frames != 0 {
			t.Errorf("%d frames not decoded", rep.Profile.Undecoded.Frames)
		}
		return got
	}
	plain, wrapped := findings(nil), findings(inQinQPPPoE)
	for _, k := range []health.Kind{health.HTTPErrorStatus, health.TCPReset} {
		if _, ok := plain[k]; !ok {
			t.Fatalf("the plain capture has no %s: %v", k, plain)
		}
		if wrapped[k] != plain[k] {
			t.Errorf("%s: %v in QinQ+PPPoE, %v in plain Ethernet", k, wrapped[k], plain[k])
		}
	}
}
