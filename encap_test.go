package nettrace_test

import (
	"os"
	"strings"
	"testing"

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
