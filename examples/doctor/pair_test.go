package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

func pairCapture(name string) string { return filepath.Join("..", "..", "testdata", "pair", name) }

// doctor -pair prints each capture's report, then what changed between the
// two capture points (casebook C15: the same connection through NAT, the
// delay in the WAN; C1: the SYN-ACK changed in transit).
func TestDoctorPair(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want []string
	}{
		{"c15-tds-wan-nat-client.pcap", "c15-tds-wan-nat-server.pcap", []string{
			"nettrace doctor · " + pairCapture("c15-tds-wan-nat-client.pcap"),
			"nettrace doctor · " + pairCapture("c15-tds-wan-nat-server.pcap"),
			"BETWEEN THE TWO CAPTURES",
			"same connection: 10.200.1.10:59044 → 10.200.3.20:1433 (a, frame 1) = 10.200.2.1:59044 → 10.200.3.20:1433 (b, frame 1) · through NAT",
			"NOTICE   pair.delay_split       a frame 4      (b frame 4)",
			"the delay is in the network between the captures (WAN)",
			"the SYN's MSS is 1460 in a and 1380 in b",
		}},
		{"c01-synack-payload-client.pcap", "c01-synack-payload-server.pcap", []string{
			"tcp.synack_payload",
			"BETWEEN THE TWO CAPTURES",
			"WARNING  pair.packet_changed    a frame 2      (b frame 2)",
			"2 bytes of payload added in transit",
		}},
		{"c01-synack-payload-client.pcap", "c15-tds-wan-nat-server.pcap", []string{
			"BETWEEN THE TWO CAPTURES",
			"no connection found in both captures (1 TCP connection in a, 1 in b)",
		}},
	} {
		var out, errOut bytes.Buffer
		if code := run([]string{"-pair", pairCapture(tc.a), pairCapture(tc.b)}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d, stderr: %s", code, errOut.String())
		}
		report := out.String()
		t.Log("\n" + report)
		for _, w := range tc.want {
			if !strings.Contains(report, w) {
				t.Errorf("%s + %s: report lacks %q", tc.a, tc.b, w)
			}
		}
		if i, j := strings.Index(report, "CONNECTIONS"), strings.Index(report, "BETWEEN THE TWO CAPTURES"); i < 0 || j < i {
			t.Errorf("the pair section does not follow the reports")
		}
	}
}

func TestDoctorPairJSONAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-pair", pairCapture("c15-tds-wan-nat-client.pcap")}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "-pair needs exactly two captures") {
		t.Fatalf("one capture: exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := run([]string{"-json", "-pair", pairCapture("c01-synack-payload-client.pcap"), pairCapture("c01-synack-payload-server.pcap")}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut.String())
	}
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not JSON: %v: %s", err, line)
		}
		kinds[e["kind"].(string)]++
	}
	if kinds["pair.matched"] != 1 || kinds["pair.packet_changed"] != 1 {
		t.Errorf("pair events in JSON lines: %v", kinds)
	}
}
