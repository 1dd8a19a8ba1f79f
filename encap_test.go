package nettrace_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

// TestTunnelledConnectionsAreTracked: the TLS connections carried in
// PPPoE, VLAN, MPLS, GRE, VXLAN, ERSPAN and IP-in-IP frames
// (testdata/layers/encap) are tracked and decoded like any other: every
// encapsulation's copy of the handshake is a connection with its TLS
// decoder, and no frame is counted as undecoded.
func TestTunnelledConnectionsAreTracked(t *testing.T) {
	b, err := os.ReadFile("testdata/layers/encap/encap-ethernet.pcap")
	if err != nil {
		t.Fatal(err)
	}
	rep := analyzeBytes(t, b, nil)
	// The 15 encapsulations repeat the same 4-tuple: the tracker sees the
	// one connection again and again (port reuse), decoded as TLS each time.
	if rep.Protocols["tls"] == 0 || rep.Profile.Connections == 0 {
		t.Errorf("protocols %v, connections %d: the tunnelled TLS connection was not tracked", rep.Protocols, rep.Profile.Connections)
	}
	if rep.Profile.Undecoded.Frames != 0 {
		t.Errorf("undecoded %+v", rep.Profile.Undecoded)
	}
}

// TestCaptureOfUndecodedFramesIsNotNothingWrong: a capture whose frames
// nettrace cannot decode (LLDP, PPPoE discovery, PPP LCP, a GRE payload of
// unknown type) says so in its profile and in a capture.undecoded notice,
// so its report never reads "nothing wrong".
func TestCaptureOfUndecodedFramesIsNotNothingWrong(t *testing.T) {
	b, err := os.ReadFile("testdata/layers/encap/undecoded.pcap")
	if err != nil {
		t.Fatal(err)
	}
	rep := analyzeBytes(t, b, nil)
	if u := rep.Profile.Undecoded; u.Frames != 6 || u.MayCarryIP != 1 || len(u.Kinds) != 4 {
		t.Errorf("profile undecoded %+v", u)
	}
	if !strings.Contains(rep.Profile.Summary, "6 frames not decoded because of their link type or encapsulation") {
		t.Errorf("profile summary %q", rep.Profile.Summary)
	}
	found := false
	for _, f := range rep.Findings {
		if f.Kind == health.CaptureUndecoded {
			found = f.Severity >= health.Notice && f.Example.Frame == 1
		}
	}
	if !found {
		t.Errorf("no capture.undecoded notice at frame 1 in %+v", rep.Findings)
	}
}

// TestMDNSAndLLMNRDecodedAsDNS: mDNS (UDP 5353) and LLMNR (UDP 5355)
// messages of a real loopback capture are decoded as DNS, with their
// service named and the additional records listed (tshark:
// dns.count.add_rr 4 at frame 4: SRV, TXT, A, AAAA).
func TestMDNSAndLLMNRDecodedAsDNS(t *testing.T) {
	b, err := os.ReadFile("testdata/layers/dns/dns-mdns-llmnr.pcap")
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{KeepMessages: true}
	a, err := nettrace.New(nettrace.Options{Reporter: col, Workers: 1, Messages: true, PacketMessages: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Analyze("dns", bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	var additional any
	for _, m := range col.Messages {
		if m.Proto != "dns" {
			continue
		}
		svc, _ := m.Fields["service"].(string)
		got[m.Frame] = svc + " " + fmt.Sprint(m.Fields["qry_name"])
		if m.Frame == 4 {
			additional = m.Fields["additional"]
		}
	}
	want := map[int64]string{1: " www.example.test", 2: " www.example.test", 3: "mdns _http._tcp.local", 4: "mdns <nil>",
		5: "llmnr fileserver", 6: "llmnr fileserver"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dns messages by frame (-want +got):\n%s", diff)
	}
	wantAdd := []string{"printer._http._tcp.local SRV printer.local:631", "printer._http._tcp.local TXT",
		"printer.local A 192.0.2.31", "printer.local AAAA fe80::31"}
	if diff := cmp.Diff(wantAdd, additional); diff != "" {
		t.Errorf("additional records (-want +got):\n%s", diff)
	}
}
