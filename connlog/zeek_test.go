package connlog_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/connlog"
)

// zeekLines are what Zeek logged for four of the public captures in
// ../shared/public-captures (PROVENANCE.md), from the conn.log (and, for
// fin_retransmission, the endpoint records) of Zeek's own test baselines:
// core.tcp.miss-end-data, core.tcp.missing-syn, core.tcp.rxmit-history
// (retransmit-fast009) and core.tcp.fin-retransmit. Fields: ts, id.orig_h,
// id.orig_p, id.resp_h, id.resp_p, proto, service, duration, orig_bytes,
// resp_bytes, conn_state, missed_bytes, history, orig_pkts,
// orig_ip_bytes, resp_pkts, resp_ip_bytes (the uid is Zeek's random one).
var zeekLines = map[string]string{
	"zeek-tcp-miss_end_data.pcap": "1331764471.664131 192.168.122.230 60648 77.238.160.184 80 tcp http 10.048360 538 2902 SF 2902 ShADafgF 5 750 4 172",
	"zeek-tcp-missing-syn.pcap":   "1128727435.633408 141.42.64.125 56730 125.190.109.199 80 tcp http 1.550793 98 9417 SF 0 ^hADdFaf 11 670 10 9945",
	// Zeek logs no service: with a 54-byte snapshot length no payload was
	// captured for its HTTP analyzer to confirm.
	"zeek-tcp-retransmit-fast009.pcap": "1285862902.700271 10.0.88.85 50368 192.168.0.27 80 tcp - 60.991770 474 23783 RSTO 24257 ShADaGdgtR 17 1250 22 28961",
	// From Zeek's endpoint records: orig CLOSED, resp RESET (RSTR), sizes
	// 0 and 0, 3 packets and 156 IP bytes, 2 packets and 92 IP bytes.
	"zeek-tcp-fin_retransmission.pcap": "RSTR 0 0 3 156 2 92",
}

// zeekFields renders r as the fields of zeekLines.
func zeekFields(r connlog.Record, short bool) string {
	cols := strings.Split(string(r.AppendTSV(nil)), "\t")
	// ts uid orig_h orig_p resp_h resp_p proto service duration orig_bytes
	// resp_bytes conn_state missed_bytes history orig_pkts orig_ip resp_pkts resp_ip
	if short {
		return strings.Join([]string{cols[11], cols[9], cols[10], cols[14], cols[15], cols[16], cols[17]}, " ")
	}
	return strings.Join(append(cols[:1:1], cols[2:]...), " ")
}

// TestAgreesWithZeekOnPublicCaptures compares every field but the uid
// with Zeek's log of the same capture: all agree.
func TestAgreesWithZeekOnPublicCaptures(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "public-captures")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared is absent")
	}
	for name, want := range zeekLines {
		t.Run(name, func(t *testing.T) {
			rep, err := nettrace.AnalyzeFile(filepath.Join(dir, name), nettrace.Options{})
			if err != nil {
				t.Fatal(err)
			}
			conns := rep.Conns()
			if len(conns) != 1 {
				t.Fatalf("%d connections, want 1", len(conns))
			}
			if got := zeekFields(conns[0], !strings.Contains(want, ".")); got != want {
				t.Errorf("\n got %s\nwant %s", got, want)
			}
		})
	}
}
