package main

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/examples/internal/clitest"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/adversary"
	"github.com/nettrace/nettrace/tds"
)

var dissectTool = clitest.Tool{Name: "dissect", Run: run, Capture: "../../testdata/root/c04-epm-vip-client.pcap"}

func TestDissectFollowsTheCLIConvention(t *testing.T) { clitest.Check(t, dissectTool) }

func TestDissectSelection(t *testing.T) {
	r := dissectTool.Exec(t, nil, "-filter", "src host 10.200.1.10", dissectTool.Capture)
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	for _, rec := range clitest.JSONValues(t, r.Stdout) {
		if rec["proto"] == "tcp" && !strings.HasPrefix(rec["flow"].(string), "10.200.1.10:") {
			t.Errorf("-filter 'src host 10.200.1.10' printed a packet from %v", rec["flow"])
		}
	}
	r = dissectTool.Exec(t, nil, "-flow", "1", "-packets=false", dissectTool.Capture)
	recs := clitest.JSONValues(t, r.Stdout)
	if r.Status != cli.ExitOK || len(recs) == 0 {
		t.Fatalf("exit %d, %d records: %s", r.Status, len(recs), r.Stderr)
	}
	for _, rec := range recs {
		if rec["flow"] != recs[0]["flow"] {
			t.Errorf("-flow 1 printed records of two flows: %v and %v", recs[0]["flow"], rec["flow"])
		}
	}
}

// ssrpFlood builds a capture of n undecodable SQL Browser (UDP 1434)
// datagrams from each of two clients: n error records per flow.
func ssrpFlood(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		for _, src := range []string{"10.0.0.1", "10.0.0.2"} {
			eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 1, 2, 3, 4, 5}, DstMAC: net.HardwareAddr{0, 1, 2, 3, 4, 6}, EthernetType: layers.EthernetTypeIPv4}
			ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(src).To4(), DstIP: net.IP{10, 0, 0, 9}}
			udp := &layers.UDP{SrcPort: 50000, DstPort: 1434}
			udp.SetNetworkLayerForChecksum(ip)
			sb := gopacket.NewSerializeBuffer()
			gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload{0xee, 0xee, 0xee})
			at = at.Add(time.Millisecond)
			w.WritePacket(gopacket.CaptureInfo{Timestamp: at, CaptureLength: len(sb.Bytes()), Length: len(sb.Bytes())}, sb.Bytes())
		}
	}
	return buf.Bytes()
}

// A flood of undecodable messages does not flood the output: past the caps
// the error records are counted, and one line on stderr says how many.
func TestDissectFoldsErrorRecords(t *testing.T) {
	flood := ssrpFlood(t, 300) // frames alternate between the two flows
	tests := []struct {
		perFlow, perProto string
		printed           int // per flow
		stderr            string
	}{
		{"5", "100", 5, "dissect: 590 error records beyond -max-errors-per-flow 5, -max-errors-per-proto 100 were counted, not printed: ssrp ×590 on 2 flows, frames 11 to 600\n"},
		{"20", "30", 15, "dissect: 570 error records beyond -max-errors-per-flow 20, -max-errors-per-proto 30 were counted, not printed: ssrp ×570 on 2 flows, frames 31 to 600\n"},
	}
	for _, tc := range tests {
		r := dissectTool.Exec(t, flood, "-packets=false", "-max-errors-per-flow", tc.perFlow, "-max-errors-per-proto", tc.perProto, "-")
		if r.Status != cli.ExitOK {
			t.Fatalf("exit %d: %s", r.Status, r.Stderr)
		}
		perFlow := map[any]int{}
		for _, rec := range clitest.JSONValues(t, r.Stdout) {
			if rec["proto"] != "ssrp" || rec["fields"].(map[string]any)["error"] == nil {
				t.Fatalf("unexpected record %v", rec)
			}
			perFlow[rec["flow"]]++
		}
		if perFlow["10.0.0.1:50000->10.0.0.9:1434/udp"] != tc.printed || perFlow["10.0.0.2:50000->10.0.0.9:1434/udp"] != tc.printed {
			t.Errorf("caps %s/%s: error records printed per flow %v, want %d each", tc.perFlow, tc.perProto, perFlow, tc.printed)
		}
		if r.Stderr != tc.stderr {
			t.Errorf("stderr %q, want %q", r.Stderr, tc.stderr)
		}
	}
	// The defaults let a capture's worth through; -1 removes the caps.
	if r := dissectTool.Exec(t, flood, "-packets=false", "-max-errors-per-flow", "-1", "-"); len(clitest.JSONValues(t, r.Stdout)) != 600 || r.Stderr != "" {
		t.Errorf("no cap: %d records, stderr %q", len(clitest.JSONValues(t, r.Stdout)), r.Stderr)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// firstWrite remembers how much input had been read when output began.
type firstWrite struct {
	in      *countingReader
	readAt  int
	written int
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.written == 0 {
		w.readAt = w.in.n
	}
	w.written += len(p)
	return len(p), nil
}

// dissect streams: records are written while the capture is still being
// read, not all at the end.
func TestDissectStreams(t *testing.T) {
	flood := ssrpFlood(t, 5000)
	in := &countingReader{r: bytes.NewReader(flood)}
	old := cli.Stdin
	defer func() { cli.Stdin = old }()
	cli.Stdin = in
	out := &firstWrite{in: in}
	var errb bytes.Buffer
	if status := run([]string{"-max-errors-per-flow", "-1", "-max-errors-per-proto", "-1", "-"}, out, &errb); status != cli.ExitOK {
		t.Fatalf("exit %d: %s", status, errb.String())
	}
	if out.readAt == 0 || out.readAt >= len(flood) {
		t.Errorf("output began after %d of %d input bytes: not streamed", out.readAt, len(flood))
	}
}

// Typed messages (SMB, DCE/RPC, TDS, TLS, HTTP) carry their fields in
// their value, not in Fields: their error records are folded all the same.
func TestDissectFoldsTypedErrorRecords(t *testing.T) {
	col := &health.Collector{KeepMessages: true}
	f := newErrorFolder(col, "", 2, 100)
	for i := range 5 {
		m := &tds.Message{Error: "tds: malformed token"}
		m.Frame, m.Flow = int64(i+1), "10.0.0.1:50000->10.0.0.9:1433/tcp"
		f.Message(health.Message{Frame: m.Frame, Flow: m.Flow, Proto: "tds", Value: m})
	}
	if len(col.Messages) != 2 || col.Messages[0].Fields["error"] != "tds: malformed token" {
		t.Fatalf("%d records passed on (%v), want the first 2 error records", len(col.Messages), col.Messages)
	}
	if s := f.summary(); !strings.Contains(s, "tds ×3 on 1 flow") {
		t.Errorf("summary %q", s)
	}
}

// A capture of frames that do not decode has no records; one line on
// standard error says so, rather than printing nothing as if the capture
// were empty.
func TestDissectSaysUndecodedFrames(t *testing.T) {
	capture, err := adversary.Bytes("decode-errors", 50)
	if err != nil {
		t.Fatal(err)
	}
	r := dissectTool.Exec(t, capture, "-")
	if r.Stdout != "" || r.Status != cli.ExitOK {
		t.Errorf("exit %d, stdout %q", r.Status, r.Stdout)
	}
	if want := "dissect: 50 frames did not decode and have no record (capture.decode_error), the first at frame 1: "; !strings.HasPrefix(r.Stderr, want) || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("stderr %q, want one line %q…", r.Stderr, want)
	}
}
