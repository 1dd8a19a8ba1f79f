package layers

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
)

// filterCrossCheckExprs are expressions whose meaning nettrace shares with
// libpcap on captures without VLAN tags or IPv6 extension headers before
// the transport (where the two differ by design: see Filter).
var filterCrossCheckExprs = []string{
	"tcp", "udp", "icmp", "icmp6", "ip", "ip6", "arp",
	"not tcp",
	"port 53", "udp port 53", "tcp port 80", "src port 80", "dst port 445",
	"portrange 1-1024", "tcp portrange 49152-65535",
	"host 10.200.3.20", "src host 10.200.1.10", "dst host 10.200.3.53",
	"net 10.200.3.0/24", "net 10.200", "dst net 10.200.1.0 mask 255.255.255.0",
	"src and dst net 10.0.0.0/8", "ip6 net fe80::/10",
	"ip proto 1", "proto 17",
	"tcp or udp and port 53",
	"tcp and (port 80 or port 443) and not host 10.200.3.80",
	"host 10.200.1.10 or 10.200.3.80",
	"arp or icmp or (udp and not port 53)",
}

// TestFilterAgreesWithTcpdump compares the frames MatchFrame selects with
// those tcpdump writes for the same expression, on the test captures.
func TestFilterAgreesWithTcpdump(t *testing.T) {
	bin, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump is not on the PATH")
	}
	if testing.Short() {
		t.Skip("runs tcpdump hundreds of times")
	}
	captures := []string{
		"c06-frag.pcap", "c14-arp.pcap", "c16-dns.pcap", "tcp-syn-icmp.pcap", "tls12-gcm-snap60.pcap",
		"zeek-icmp-icmp6-toobig.pcap", "zeek-tcp-truncated-header.pcap", "zeek-chksums-ip6-tcp-bad-chksum.pcap",
	}
	for _, name := range captures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			crossCheck(t, bin, testdata(name))
		})
	}
}

func crossCheck(t *testing.T, bin, path string) {
	frames, err := readFrames(t, path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, expr := range filterCrossCheckExprs {
		f := MustCompileFilter(expr)
		out, err := exec.Command(bin, "-r", path, "-w", "-", expr).Output()
		if err != nil {
			t.Fatalf("tcpdump %q on %s: %v", expr, path, err)
		}
		want := subsetFrames(t, frames, out)
		for i := range frames {
			if got := f.MatchFrame(&frames[i]); got != want[i] {
				t.Errorf("%s frame %d: %q: MatchFrame = %v, tcpdump %v", filepath.Base(path), frames[i].Number, expr, got, want[i])
			}
		}
	}
}

// subsetFrames reports, for each of frames, whether the capture sub (a
// subset of them written in order) holds it.
func subsetFrames(t *testing.T, frames []Frame, sub []byte) []bool {
	t.Helper()
	in := make([]bool, len(frames))
	c, err := NewCapture(bytes.NewReader(sub))
	if err != nil {
		t.Fatalf("tcpdump output: %v", err)
	}
	i := 0
	for {
		fr, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("tcpdump output: %v", err)
		}
		for i < len(frames) && !(frames[i].Time.Equal(fr.Time) && bytes.Equal(frames[i].Data, fr.Data)) {
			i++
		}
		if i == len(frames) {
			t.Fatalf("tcpdump wrote a frame (%s) that is not in the capture", fr.Time)
		}
		in[i] = true
		i++
	}
	return in
}
