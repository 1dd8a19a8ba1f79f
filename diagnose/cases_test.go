package diagnose

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"

	"github.com/google/go-cmp/cmp"
)

// netPick returns the named evidence fields of e as strings, for cmp.Diff.
func netPick(e health.Event, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		out[k] = fmt.Sprint(netEvidence(e, k))
	}
	return out
}

// netOnly returns the single event of kind k, failing the test otherwise.
func netOnly(t *testing.T, col *health.Collector, k health.Kind) health.Event {
	t.Helper()
	evs := col.OfKind(k)
	if len(evs) != 1 {
		for _, e := range col.Events {
			t.Logf("%s frame %d: %s", e.Kind, e.Frame, e.Message)
		}
		t.Fatalf("got %d %s events, want 1", len(evs), k)
	}
	return evs[0]
}

func TestCaseC2_ManyConnectionsSingleSourceNAT(t *testing.T) {
	// Real capture: 60 curl connections NATed to 10.200.2.1, server drops
	// SYNs over a per-source rate. tshark (summary.json): tcp_syn=240,
	// tcp_synack=29, 60 streams.
	_, col := netRun(t, NetworkConfig{}, netReadCapture(t, netTestdata("c02-nat-per-source-limit-server.pcap")))
	e := netOnly(t, col, health.NetManyConnectionsSingleSource)
	want := map[string]string{
		"source": "10.200.2.1", "server": "10.200.3.20:80", "connections": "60", "syns": "240",
		"syns_unanswered": "211", "unanswered_pct": "88", "accepted": "29", "never_answered": "31",
	}
	if diff := cmp.Diff(want, netPick(e, "source", "server", "connections", "syns", "syns_unanswered", "unanswered_pct", "accepted", "never_answered")); diff != "" {
		t.Errorf("evidence mismatch (-want +got):\n%s", diff)
	}
	if peak := netEvidence(e, "peak_concurrent").(int); peak < 50 || peak > 60 {
		t.Errorf("peak_concurrent = %d, want 50..60 (60 started together, early ones finish)", peak)
	}
	if !strings.Contains(e.Message, "NAT") || e.Frame != 1 {
		t.Errorf("event = frame %d %q", e.Frame, e.Message)
	}
	t.Logf("agreement with tshark: SYNs 240/240, answered (SYN-ACKs) %v/29; %s", netEvidence(e, "accepted"), e.Message)
	if len(col.OfKind(health.NetSYNFlood)) != 0 {
		t.Errorf("C2 is not a SYN flood")
	}
}

func TestManyConnectionsAllAnsweredSynthetic(t *testing.T) {
	// 40 concurrent connections from one source, all accepted: no finding.
	s := newNetSynth()
	for i := range 40 {
		c := fmt.Sprintf("10.0.0.1:%d", 40000+i)
		s.syn(float64(i), c, "10.0.0.2:443", 100, 1460)
		s.synack(float64(i)+0.1, "10.0.0.2:443", c, 500, 101, 1460)
	}
	_, col := netRun(t, NetworkConfig{}, s.packets())
	if n := len(col.OfKind(health.NetManyConnectionsSingleSource)); n != 0 {
		t.Errorf("got %d findings, want 0", n)
	}
}

func TestSYNFloodSynthetic(t *testing.T) {
	s := newNetSynth()
	for i := range 600 {
		c := fmt.Sprintf("198.51.%d.%d:%d", i/250, i%250+1, 1024+i)
		s.syn(float64(i), c, "192.0.2.10:80", uint32(i), 1460) // 1000 SYNs/s
	}
	_, col := netRun(t, NetworkConfig{}, s.packets())
	e := netOnly(t, col, health.NetSYNFlood)
	if diff := cmp.Diff(map[string]string{"syns": "600", "unanswered": "600", "sources": "more than 64"},
		netPick(e, "syns", "unanswered", "sources")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r := netEvidence(e, "rate_per_s").(int64); r < 500 {
		t.Errorf("rate %d", r)
	}
	// Only the SYNs are in the capture: whether the server answered
	// cannot be told, so the flood is a notice, and says why.
	if e.Severity != health.Notice || !strings.Contains(e.Message, "cannot be told") {
		t.Errorf("one-sided flood: %s %q", e.Severity, e.Message)
	}
}

// TestSYNFloodProvenBySYNACKs: the server answers every SYN with a SYN-ACK
// that no client acknowledges (spoofed sources): the capture holds both
// directions, no handshake completed, and the flood is a warning. The
// diagnoser's connection table (MaxConns 100 here) fills: the SYNs beyond
// it are still counted toward the flood.
func TestSYNFloodProvenBySYNACKs(t *testing.T) {
	s := newNetSynth()
	for i := range 600 {
		c := fmt.Sprintf("198.51.%d.%d:%d", i/250, i%250+1, 1024+i)
		s.syn(float64(i), c, "192.0.2.10:80", uint32(i), 1460)
		s.synack(float64(i)+0.2, "192.0.2.10:80", c, uint32(7*i), uint32(i)+1, 1460)
	}
	_, col := netRun(t, NetworkConfig{MaxConns: 100}, s.packets())
	e := netOnly(t, col, health.NetSYNFlood)
	if diff := cmp.Diff(map[string]string{"syns": "600", "untracked": "500", "never_completed": "100", "synacks": "100", "completed": "0", "server_seen": "true"},
		netPick(e, "syns", "untracked", "never_completed", "synacks", "completed", "server_seen")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if e.Severity != health.Warning {
		t.Errorf("severity %s, want warning: the capture shows the server answering", e.Severity)
	}
}

// c06Synthetic builds casebook C6 from its figures: a web-shell request,
// then 8200-byte UDP datagrams in 6 fragments each, 150 per second.
func c06Synthetic() *netSynth {
	s := newNetSynth()
	s.syn(0, "10.0.1.10:42844", "20.0.0.1:80", 1000, 1460)
	s.synack(0.1, "20.0.0.1:80", "10.0.1.10:42844", 5000, 1001, 1460)
	s.tcp(0.2, "10.0.1.10:42844", "20.0.0.1:80", layers.FlagACK, 1001, 5001, 0)
	req := "GET /webdav/shell.php?act=phptools&host=10.0.1.66&time=120&port=10647 HTTP/1.1\r\nHost: 20.0.0.1\r\n\r\n"
	s.add(spec{Time: s.at(0.3), Src: netAP("10.0.1.10:42844"), Dst: netAP("20.0.0.1:80"), Proto: protoTCP,
		IPLen: 52 + len(req), PayloadLen: len(req), TCPFlags: layers.FlagACK | layers.FlagPSH, TCPSeq: 1001, TCPAck: 5001, Payload: []byte(req)})
	payload := make([]byte, 8192)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	for i := range 300 {
		ms := 350 + float64(i)*1000/150
		for f := range 5 {
			s.add(spec{Time: s.at(ms), Src: netAP("20.0.0.1:0"), Dst: netAP("10.0.1.66:0"), Proto: protoUDP, IPLen: 1500, Fragment: true})
			_ = f
		}
		s.add(spec{Time: s.at(ms), Src: netAP("20.0.0.1:2976"), Dst: netAP("10.0.1.66:10647"), Proto: protoUDP,
			IPLen: 8220, PayloadLen: 8192, Payload: payload, Reassembled: true, FragCount: 6})
		if i%50 == 0 {
			s.add(spec{Time: s.at(ms + 0.03), Src: netAP("10.0.1.66:0"), Dst: netAP("20.0.0.1:0"), Proto: protoICMP, IPLen: 576,
				ICMP: &icmpSpec{Type: 3, Code: 3, QuotedValid: true, QuotedSrc: netAP("20.0.0.1:2976"), QuotedDst: netAP("10.0.1.66:10647"), QuotedProto: protoUDP}})
		}
	}
	return s
}

func TestCaseC6_UDPFloodAfterWebShellSynthetic(t *testing.T) {
	_, col := netRun(t, NetworkConfig{}, c06Synthetic().packets())
	e := netOnly(t, col, health.NetUDPFlood)
	want := map[string]string{
		"source": "20.0.0.1:2976", "target": "10.0.1.66:10647", "datagrams": "300", "replies": "0",
		"icmp_unreachable": "6", "fragments_per_datagram": "6", "reassembled": "300",
		"preceded_by":          "GET /webdav/shell.php?act=phptools&host=10.0.1.66&time=120&port=10647 HTTP/1.1",
		"preceded_by_client":   "10.0.1.10:42844",
		"request_names_target": "true",
	}
	if diff := cmp.Diff(want, netPick(e, "source", "target", "datagrams", "replies", "icmp_unreachable", "fragments_per_datagram",
		"reassembled", "preceded_by", "preceded_by_client", "request_names_target")); diff != "" {
		t.Errorf("evidence mismatch (-want +got):\n%s", diff)
	}
	if r := netEvidence(e, "rate_pps").(int64); r < 140 || r > 160 {
		t.Errorf("rate_pps = %d, want ~150", r)
	}
	frag := netOnly(t, col, health.NetFragmented)
	if diff := cmp.Diff(map[string]string{"datagrams": "300", "fragments": "1800", "fragments_per_datagram": "6"},
		netPick(frag, "datagrams", "fragments", "fragments_per_datagram")); diff != "" {
		t.Errorf("fragmented (-want +got):\n%s", diff)
	}
	icmp := netOnly(t, col, health.NetICMPUnreachable)
	if diff := cmp.Diff(map[string]string{"reason": "port unreachable", "count": "6", "quoted_flow": "20.0.0.1:2976->10.0.1.66:10647/udp"},
		netPick(icmp, "reason", "count", "quoted_flow")); diff != "" {
		t.Errorf("icmp (-want +got):\n%s", diff)
	}
}

func TestCaseC6_UDPFloodAfterWebShell(t *testing.T) {
	// Real capture (1.7 MB, shared only). README: 200 datagrams of 6
	// fragments, 131 datagrams/s, 8.7 Mbit/s, 7 ICMP port unreachable
	// (tshark: icmp 3/3 x7), after GET /webdav/shell.php... in frame 4.
	path := netSharedCapture(t, "cases/c06-udp-flood-after-webshell-server.pcap")
	_, col := netRun(t, NetworkConfig{}, netReadCapture(t, path))
	e := netOnly(t, col, health.NetUDPFlood)
	want := map[string]string{
		"source": "10.200.3.20:2976", "target": "10.200.1.66:10647", "datagrams": "200", "reassembled": "200",
		"fragments_per_datagram": "6", "icmp_unreachable": "7", "preceded_by_frame": "4", "request_names_target": "true", "mbps": "8.7",
	}
	if diff := cmp.Diff(want, netPick(e, "source", "target", "datagrams", "reassembled", "fragments_per_datagram", "icmp_unreachable",
		"preceded_by_frame", "request_names_target", "mbps")); diff != "" {
		t.Errorf("evidence mismatch (-want +got):\n%s", diff)
	}
	icmp := netOnly(t, col, health.NetICMPUnreachable)
	t.Logf("agreement: ICMP port unreachable %v/7 (tshark icmp 3/3 x7); flood: %s", netEvidence(icmp, "count"), e.Message)
}

func TestCaseC9_ReplyFromOtherAddressSynthetic(t *testing.T) {
	// Casebook C9 made generic: queries to a cluster IP answered from the
	// node's own address (here DNS on UDP 53; SSRP on 1434 is reported by
	// the tds package instead).
	s := newNetSynth()
	var replies []int64
	for i := range 9 {
		c := fmt.Sprintf("192.168.1.7:%d", 4309+i)
		s.udp(float64(i)*2000, c, "192.168.29.47:53", []byte("query"))
		replies = append(replies, s.udp(float64(i)*2000+0.4, "192.168.29.49:53", c, []byte("answer")))
	}
	// SSRP: left to tds.
	s.udp(20000, "192.168.1.7:4400", "192.168.29.47:1434", []byte("\x04SQLPROD"))
	s.udp(20000.4, "192.168.29.49:1434", "192.168.1.7:4400", []byte("\x05\x20\x00ServerName;NODE1;"))
	// A normal exchange and a broadcast query answered by a host: no finding.
	s.udp(30000, "192.168.1.7:5000", "192.168.1.1:53", []byte("q"))
	s.udp(30001, "192.168.1.1:53", "192.168.1.7:5000", []byte("a"))
	s.udp(30010, "192.168.1.7:6000", "192.168.1.255:1434", []byte("\x02"))
	s.udp(30011, "192.168.1.20:1434", "192.168.1.7:6000", []byte("\x05"))
	// TCP: a SYN to a VIP answered by a SYN-ACK from the node.
	s.syn(40000, "192.168.1.7:50000", "192.168.29.47:1433", 10, 1460)
	s.synack(40000.5, "192.168.29.49:1433", "192.168.1.7:50000", 99, 11, 1460)

	_, col := netRun(t, NetworkConfig{}, s.packets())
	evs := col.OfKind(health.NetReplyFromOtherAddress)
	if len(evs) != 2 {
		t.Fatalf("got %d events, want 2 (udp, tcp): %+v", len(evs), evs)
	}
	want := map[string]string{
		"client": "192.168.1.7", "requested": "192.168.29.47:53", "replied": "192.168.29.49:53",
		"count": "9", "request_frame": "1", "direct_replies": "0", "frames": fmt.Sprint(replies),
	}
	if diff := cmp.Diff(want, netPick(evs[0], "client", "requested", "replied", "count", "request_frame", "direct_replies", "frames")); diff != "" {
		t.Errorf("udp (-want +got):\n%s", diff)
	}
	if evs[0].Flow != "192.168.29.49:53->192.168.1.7:4309/udp" {
		t.Errorf("flow = %s", evs[0].Flow)
	}
	if diff := cmp.Diff(map[string]string{"requested": "192.168.29.47:1433", "replied": "192.168.29.49:1433", "count": "1"},
		netPick(evs[1], "requested", "replied", "count")); diff != "" {
		t.Errorf("tcp (-want +got):\n%s", diff)
	}
}

func TestCaseC14_ARPStorm(t *testing.T) {
	// Real capture: 20 ARP requests from 10.200.5.10 in 0.4 ms (frames
	// 181..200), 20 replies; tshark summary: arp=40.
	pkts := netReadCapture(t, netTestdata("c14-arp-burst-resets-after-idle-client.pcap"))
	arps := 0
	for _, p := range pkts {
		if p.Transport == layers.TransportARP {
			arps++
		}
	}
	_, col := netRun(t, NetworkConfig{}, pkts)
	e := netOnly(t, col, health.NetARPStorm)
	want := map[string]string{"sender": "10.200.5.10", "burst": "20", "first_frame": "181", "last_frame": "200", "targets": "20", "requests": "20"}
	if diff := cmp.Diff(want, netPick(e, "sender", "burst", "first_frame", "last_frame", "targets", "requests")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if span := netEvidence(e, "span_ms").(float64); span <= 0 || span >= 0.5 {
		t.Errorf("span_ms = %v, want < 0.5", span)
	}
	if arps != 40 {
		t.Errorf("ARP frames %d, tshark 40", arps)
	}
	t.Logf("agreement: ARP frames %d/40 (tshark); %s", arps, e.Message)
	if n := len(col.OfKind(health.NetARPConflict)); n != 0 {
		t.Errorf("no conflicts expected, got %d", n)
	}
}

func TestARPConflictSynthetic(t *testing.T) {
	s := newNetSynth()
	s.arp(0, arpReply, 1, "10.0.0.5", "10.0.0.1")
	s.arp(10, arpRequest, 2, "10.0.0.5", "10.0.0.9") // another MAC claims 10.0.0.5
	g := s.arp(20, arpRequest, 3, "10.0.0.7", "10.0.0.7")
	s.arp(30, arpRequest, 4, "0.0.0.0", "10.0.0.8") // probe: no claim
	_, col := netRun(t, NetworkConfig{}, s.packets())
	evs := col.OfKind(health.NetARPConflict)
	if len(evs) != 2 {
		t.Fatalf("got %d conflicts, want 2: %+v", len(evs), evs)
	}
	if diff := cmp.Diff(map[string]string{"ip": "10.0.0.5", "macs": "[02:00:00:00:00:01 02:00:00:00:00:02]", "frames": "[1 2]"},
		netPick(evs[0], "ip", "macs", "frames")); diff != "" {
		t.Errorf("duplicate (-want +got):\n%s", diff)
	}
	if evs[1].Frame != g || netEvidence(evs[1], "gratuitous") != 1 {
		t.Errorf("gratuitous = %+v", evs[1])
	}
	if len(col.OfKind(health.NetARPStorm)) != 0 {
		t.Errorf("no storm expected")
	}
}

func TestCaseC16_DestinationsFromDNS(t *testing.T) {
	// Real capture: A crl.example.test → CNAME crl.cdn.example.test → CNAME
	// crl-edge.cdn.example.net → A 10.200.3.80 (frame 3); then GET
	// /pki/crl/products/CSPCA.crl to 10.200.3.80:80.
	d, col := netRun(t, NetworkConfig{}, netReadCapture(t, netTestdata("c16-dns-cname-then-http-crl-client.pcap")))
	ip := netip.MustParseAddr("10.200.3.80")
	if name, ok := d.NameOf(ip); !ok || name != "crl.example.test" {
		t.Errorf("NameOf(%s) = %q, %v", ip, name, ok)
	}
	if diff := cmp.Diff([]string{"crl.example.test", "crl.cdn.example.test", "crl-edge.cdn.example.net"}, d.ChainOf(ip)); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}
	e := netOnly(t, col, health.NetResolvedDestination)
	want := map[string]string{
		"addr": "10.200.3.80", "name": "crl.example.test", "dns_frame": "3", "connections": "1", "requests": "1",
		"request_lines": "[GET /pki/crl/products/CSPCA.crl HTTP/1.1 (Host crl.example.test)]",
	}
	if diff := cmp.Diff(want, netPick(e, "addr", "name", "dns_frame", "connections", "requests", "request_lines")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := d.NameOf(netip.MustParseAddr("10.200.3.53")); ok {
		t.Errorf("the DNS server's address was never resolved")
	}
	w := d.Workload()
	if len(w.Services) == 0 || w.Services[0].Name != "crl.example.test" {
		t.Errorf("workload does not name the service: %+v", w.Services)
	}
}

func TestCaseC17_PeriodicAttempts(t *testing.T) {
	// Real capture: 4 blocked attempts to 10.200.3.20:139 at 0, 5, 10, 15 s,
	// 4 SYNs each (frames 1, 5, 9, 13 start them).
	_, col := netRun(t, NetworkConfig{}, netReadCapture(t, netTestdata("c17-smb1-periodic-139-blocked-server.pcap")))
	e := netOnly(t, col, health.NetPeriodic)
	want := map[string]string{"source": "10.200.1.10", "destination": "10.200.3.20:139", "count": "4", "unanswered": "4", "frames": "[1 5 9 13]"}
	if diff := cmp.Diff(want, netPick(e, "source", "destination", "count", "unanswered", "frames")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if p := netEvidence(e, "period_s").(float64); p < 4.9 || p > 5.1 {
		t.Errorf("period_s = %v, want 5.0", p)
	}
}

func TestPeriodicSynthetic(t *testing.T) {
	// Every 12 minutes (casebook C17 figures), plus an irregular series.
	s := newNetSynth()
	for i := range 6 {
		ms := float64(i) * 12 * 60 * 1000
		s.syn(ms, fmt.Sprintf("10.1.1.1:%d", 50000+i), "10.1.1.50:139", uint32(i), 1460)
		s.syn(ms+1000, fmt.Sprintf("10.1.1.1:%d", 50000+i), "10.1.1.50:139", uint32(i), 1460) // retry: not a new attempt
	}
	for i, ms := range []float64{0, 1300, 5000, 5600, 17000, 17500} {
		s.syn(ms, fmt.Sprintf("10.1.1.2:%d", 51000+i), "10.1.1.50:445", uint32(i), 1460)
	}
	_, col := netRun(t, NetworkConfig{}, s.packets())
	e := netOnly(t, col, health.NetPeriodic)
	if diff := cmp.Diff(map[string]string{"period_s": "720", "count": "6", "destination": "10.1.1.50:139", "unanswered": "6"},
		netPick(e, "period_s", "count", "destination", "unanswered")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCaseC19_PMTU(t *testing.T) {
	t.Run("frag-needed server side", func(t *testing.T) {
		// First 80 frames of tcp-pmtu-frag-needed-server: 9 ICMP 3/4 with
		// MTU 1400 from 10.200.3.1 (tshark: icmp 3/4 x9, icmp.mtu=1400);
		// nginx re-sends in 1400-byte packets.
		_, col := netRun(t, NetworkConfig{}, netReadCapture(t, netTestdata("tcp-pmtu-frag-needed-server-cut.pcap")))
		icmp := netOnly(t, col, health.NetICMPFragNeeded)
		want := map[string]string{"mtu": "1400", "count": "9", "from": "10.200.3.1", "quoted_flow": "10.200.3.20:80->10.200.1.10:48896/tcp", "flow_seen": "true"}
		if diff := cmp.Diff(want, netPick(icmp, "mtu", "count", "from", "quoted_flow", "flow_seen")); diff != "" {
			t.Errorf("icmp (-want +got):\n%s", diff)
		}
		e := netOnly(t, col, health.NetPMTUReduced)
		want = map[string]string{"mtu": "1400", "largest_sent": "1500", "largest_after": "1400", "icmp_count": "9", "resent": "11", "first_adapted_frame": "25"}
		if diff := cmp.Diff(want, netPick(e, "mtu", "largest_sent", "largest_after", "icmp_count", "resent", "first_adapted_frame")); diff != "" {
			t.Errorf("reduced (-want +got):\n%s", diff)
		}
		if e.Frame != 12 || len(col.OfKind(health.NetPMTUBlackhole)) != 0 {
			t.Errorf("frame %d, blackholes %d", e.Frame, len(col.OfKind(health.NetPMTUBlackhole)))
		}
		t.Logf("agreement: ICMP 3/4 %v/9, MTU %v/1400 (tshark); %s", netEvidence(icmp, "count"), netEvidence(icmp, "mtu"), e.Message)
	})
	t.Run("frag-needed client side", func(t *testing.T) {
		// First 80 frames of the client side: only 1400-byte segments
		// arrive although both MSS options are 1460.
		_, col := netRun(t, NetworkConfig{}, netReadCapture(t, netTestdata("tcp-pmtu-frag-needed-client-cut.pcap")))
		e := netOnly(t, col, health.NetPMTUReduced)
		if diff := cmp.Diff(map[string]string{"mtu": "1400", "inferred": "true", "mss_allows": "1500"},
			netPick(e, "mtu", "inferred", "mss_allows")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("blackhole", func(t *testing.T) {
		// tcp-pmtu-blackhole-server: 1500-byte segment at seq 259 resent 5
		// times (tshark: retransmission=5), 310-byte response head ACKed,
		// no ICMP.
		_, col := netRun(t, NetworkConfig{}, netReadCapture(t, netTestdata("tcp-pmtu-blackhole-server.pcap")))
		e := netOnly(t, col, health.NetPMTUBlackhole)
		want := map[string]string{"size": "1500", "retransmissions": "5", "largest_delivered": "310", "icmp_seen": "false", "frames": "[19 20 21 22 25]"}
		if diff := cmp.Diff(want, netPick(e, "size", "retransmissions", "largest_delivered", "icmp_seen", "frames")); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		t.Logf("agreement: retransmissions %v/5 (tshark)", netEvidence(e, "retransmissions"))
		if len(col.OfKind(health.NetPMTUReduced)) != 0 {
			t.Errorf("no reduction in a black hole")
		}
	})
	t.Run("shared full captures", func(t *testing.T) {
		for _, c := range []struct {
			name string
			kind health.Kind
		}{{"tcp/tcp-pmtu-frag-needed-server.pcap", health.NetPMTUReduced}, {"tcp/tcp-pmtu-frag-needed-client.pcap", health.NetPMTUReduced}} {
			_, col := netRun(t, NetworkConfig{}, netReadCapture(t, netSharedCapture(t, c.name)))
			e := netOnly(t, col, c.kind)
			if netEvidence(e, "mtu") != 1400 {
				t.Errorf("%s: mtu %v, want 1400 (README)", c.name, netEvidence(e, "mtu"))
			}
		}
		_, col := netRun(t, NetworkConfig{}, netReadCapture(t, netSharedCapture(t, "tcp/tcp-lossy-netem-curl-server.pcap")))
		for _, k := range []health.Kind{health.NetPMTUBlackhole, health.NetPMTUReduced} {
			if n := len(col.OfKind(k)); n != 0 {
				t.Errorf("lossy capture (no MTU problem): %d %s", n, k)
			}
		}
	})
}

// pmtuSynthetic builds a bulk sender whose 1500-byte segments are lost;
// with icmp an ICMP frag-needed (MTU 1400) arrives and is ignored.
func pmtuSynthetic(icmp bool) *netSynth {
	s := newNetSynth()
	cl, sv := "10.0.0.1:50000", "10.9.0.1:443"
	s.syn(0, cl, sv, 100, 1460)
	s.synack(1, sv, cl, 1000, 101, 1460)
	s.tcp(2, cl, sv, layers.FlagACK, 101, 1001, 0)
	s.tcp(3, cl, sv, layers.FlagACK|layers.FlagPSH, 101, 1001, 200)
	s.tcp(4, sv, cl, layers.FlagACK|layers.FlagPSH, 1001, 301, 300)
	s.tcp(5, cl, sv, layers.FlagACK, 301, 1301, 0) // the small segment is delivered
	s.tcp(6, sv, cl, layers.FlagACK, 1301, 301, 1448)
	if icmp {
		s.add(spec{Time: s.at(6.1), Src: netAP("10.9.0.254:0"), Dst: netAP("10.9.0.1:0"), Proto: protoICMP, IPLen: 576,
			ICMP: &icmpSpec{Type: 3, Code: 4, MTU: 1400, QuotedValid: true, QuotedSrc: netAP(sv), QuotedDst: netAP(cl), QuotedProto: protoTCP, QuotedSeq: 1301}})
	}
	for i, ms := range []float64{206, 620, 1450, 3100, 6400} {
		_ = i
		s.tcp(ms, sv, cl, layers.FlagACK, 1301, 301, 1448)
	}
	return s
}

func TestPMTUBlackholeSynthetic(t *testing.T) {
	_, col := netRun(t, NetworkConfig{}, pmtuSynthetic(false).packets())
	e := netOnly(t, col, health.NetPMTUBlackhole)
	if diff := cmp.Diff(map[string]string{"size": "1500", "retransmissions": "5", "largest_delivered": "352", "icmp_seen": "false"},
		netPick(e, "size", "retransmissions", "largest_delivered", "icmp_seen")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, col = netRun(t, NetworkConfig{}, pmtuSynthetic(true).packets())
	e = netOnly(t, col, health.NetPMTUBlackhole)
	if diff := cmp.Diff(map[string]string{"icmp_seen": "true", "icmp_ignored": "true", "mtu": "1400", "retransmissions": "5"},
		netPick(e, "icmp_seen", "icmp_ignored", "mtu", "retransmissions")); diff != "" {
		t.Errorf("icmp ignored (-want +got):\n%s", diff)
	}
	netOnly(t, col, health.NetICMPFragNeeded)
}

func TestICMPv6PacketTooBigSynthetic(t *testing.T) {
	s := newNetSynth()
	cl, sv := "[2001:db8::1]:50000", "[2001:db8:1::1]:443"
	s.syn(0, cl, sv, 100, 1440)
	s.synack(1, sv, cl, 1000, 101, 1440)
	s.tcp(6, sv, cl, layers.FlagACK, 1001, 101, 1428)
	s.add(spec{Time: s.at(6.1), Src: netAP("[2001:db8:1::fe]:0"), Dst: netAP("[2001:db8:1::1]:0"), Proto: protoICMPv6, IPLen: 1280,
		ICMP: &icmpSpec{V6: true, Type: 2, MTU: 1400, QuotedValid: true, QuotedSrc: netAP(sv), QuotedDst: netAP(cl), QuotedProto: protoTCP}})
	s.tcp(7, sv, cl, layers.FlagACK, 1001, 101, 1328)
	s.tcp(8, cl, sv, layers.FlagACK, 101, 2329, 0)
	// And a host unreachable for another flow, and a TTL exceeded.
	s.add(spec{Time: s.at(9), Src: netAP("[2001:db8::fe]:0"), Dst: netAP("[2001:db8::1]:0"), Proto: protoICMPv6, IPLen: 100,
		ICMP: &icmpSpec{V6: true, Type: 1, Code: 3, QuotedValid: true, QuotedSrc: netAP("[2001:db8::1]:5353"), QuotedDst: netAP("[2001:db8:9::9]:53"), QuotedProto: protoUDP}})
	s.add(spec{Time: s.at(10), Src: netAP("[2001:db8::fe]:0"), Dst: netAP("[2001:db8::1]:0"), Proto: protoICMPv6, IPLen: 100,
		ICMP: &icmpSpec{V6: true, Type: 3, Code: 0, QuotedValid: true, QuotedSrc: netAP("[2001:db8::1]:33434"), QuotedDst: netAP("[2001:db8:9::9]:33435"), QuotedProto: protoUDP}})
	_, col := netRun(t, NetworkConfig{}, s.packets())
	e := netOnly(t, col, health.NetPMTUReduced)
	if diff := cmp.Diff(map[string]string{"mtu": "1400", "largest_after": "1380", "resent": "1"}, netPick(e, "mtu", "largest_after", "resent")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r := netEvidence(netOnly(t, col, health.NetICMPUnreachable), "reason"); r != "address unreachable" {
		t.Errorf("reason %v", r)
	}
	if r := netEvidence(netOnly(t, col, health.NetICMPError), "reason"); r != "time exceeded: hop limit exceeded in transit" {
		t.Errorf("reason %v", r)
	}
}

func TestICMPReason(t *testing.T) {
	tests := []struct {
		v6         bool
		typ, code  uint8
		wantReason string
	}{
		{false, 3, 0, "network unreachable"},
		{false, 3, 1, "host unreachable"},
		{false, 3, 2, "protocol unreachable"},
		{false, 3, 3, "port unreachable"},
		{false, 3, 4, "fragmentation needed and DF set"},
		{false, 3, 9, "network administratively prohibited"},
		{false, 3, 10, "host administratively prohibited"},
		{false, 3, 13, "communication administratively prohibited"},
		{false, 3, 99, "destination unreachable (code 99)"},
		{false, 11, 0, "time exceeded: TTL exceeded in transit"},
		{false, 11, 1, "time exceeded: fragment reassembly time exceeded"},
		{false, 5, 1, "redirect for host"},
		{false, 12, 0, "parameter problem (code 0)"},
		{true, 1, 1, "communication administratively prohibited"},
		{true, 1, 4, "port unreachable"},
		{true, 2, 0, "packet too big"},
		{true, 137, 0, "redirect"},
		{true, 200, 1, "ICMPv6 type 200 code 1"},
	}
	for _, tc := range tests {
		if got := ICMPReason(tc.v6, tc.typ, tc.code); got != tc.wantReason {
			t.Errorf("ICMPReason(%v, %d, %d) = %q, want %q", tc.v6, tc.typ, tc.code, got, tc.wantReason)
		}
	}
}

func TestCaseC21_WorkloadProfile(t *testing.T) {
	// Real capture c02: 60 connections to 10.200.3.20:80, 29 served with
	// GET /small.txt -> 200 (600-byte body). tshark: http.request.method
	// GET x29, http.response.code 200 x29.
	d, _ := netRun(t, NetworkConfig{}, netReadCapture(t, netTestdata("c02-nat-per-source-limit-server.pcap")))
	w := d.Workload()
	if len(w.Services) != 1 {
		t.Fatalf("services = %+v", w.Services)
	}
	p := w.Services[0]
	if diff := cmp.Diff(map[string]string{"server": "10.200.3.20:80", "proto": "tcp", "app": "http", "conns": "60", "requests": "29", "responses": "29", "clients": "1"},
		map[string]string{"server": p.Server.String(), "proto": p.Proto, "app": p.App, "conns": fmt.Sprint(p.Connections),
			"requests": fmt.Sprint(p.Requests), "responses": fmt.Sprint(p.Responses.Count), "clients": fmt.Sprint(p.Clients)}); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if p.Responses.Min < 600 || p.Responses.Max > 1200 || p.Responses.P50 < p.Responses.Min || p.Responses.P50 > p.Responses.Max {
		t.Errorf("response sizes %+v, want 600-byte bodies plus headers", p.Responses)
	}
	if p.PeakConcurrent < 50 || p.PeakRequestsPerS < 5 || p.Bytes[1] < 29*600 {
		t.Errorf("profile %+v", p)
	}
	if p.DistinctRequests != 1 || p.RepeatPct != 96 {
		t.Errorf("distinct %d repeat %d%%, want 1 and 96%% (29 × GET /small.txt)", p.DistinctRequests, p.RepeatPct)
	}
	t.Logf("agreement: requests %d/29, responses %d/29 (tshark); peak %d concurrent, %d req/s at peak, %.2f/%.2f Mbit/s mean",
		p.Requests, p.Responses.Count, p.PeakConcurrent, p.PeakRequestsPerS, p.MeanMbps[0], p.MeanMbps[1])
}

func TestWorkloadSynthetic(t *testing.T) {
	s := newNetSynth()
	// 3 keep-alive HTTP requests on one connection with 1000, 2000, 4000-byte responses.
	cl, sv := "10.0.0.1:40000", "10.0.0.2:80"
	s.syn(0, cl, sv, 0, 1460)
	s.synack(1, sv, cl, 0, 1, 1460)
	seq, sseq := uint32(1), uint32(1)
	for i, n := range []int{1000, 2000, 4000} {
		req := []byte("GET /r" + fmt.Sprint(i) + " HTTP/1.1\r\nHost: x\r\n\r\n")
		s.add(spec{Time: s.at(float64(10 + i*100)), Src: netAP(cl), Dst: netAP(sv), Proto: protoTCP, IPLen: 52 + len(req),
			PayloadLen: len(req), Payload: req, TCPFlags: layers.FlagACK | layers.FlagPSH, TCPSeq: seq, TCPAck: sseq})
		seq += uint32(len(req))
		s.tcp(float64(11+i*100), sv, cl, layers.FlagACK|layers.FlagPSH, sseq, seq, n)
		sseq += uint32(n)
	}
	s.tcp(400, cl, sv, layers.FlagACK|layers.FlagFIN, seq, sseq, 0)
	s.tcp(401, sv, cl, layers.FlagACK|layers.FlagFIN, sseq, seq+1, 0)
	// A UDP service: 4 queries, 4 replies of 100 bytes.
	for i := range 4 {
		s.udp(float64(500+i), "10.0.0.1:5555", "10.0.0.3:53", make([]byte, 30))
		s.udp(float64(500+i)+0.5, "10.0.0.3:53", "10.0.0.1:5555", make([]byte, 100))
	}
	d, _ := netRun(t, NetworkConfig{}, s.packets())
	w := d.Workload()
	if len(w.Services) != 2 {
		t.Fatalf("services %+v", w.Services)
	}
	h, u := w.Services[0], w.Services[1]
	if diff := cmp.Diff(SizeDist{Count: 3, Min: 1000, Max: 4000, Mean: 2333, P50: 2047, P90: 4000, P99: 4000, Unit: "response"}, h.Responses); diff != "" {
		t.Errorf("http responses (-want +got):\n%s", diff)
	}
	if h.Requests != 3 || h.Connections != 1 || h.PeakConcurrent != 1 || h.PeakRequestsPerS != 3 || h.Bytes[1] != 7000 {
		t.Errorf("http %+v", h)
	}
	if u.Server != netAP("10.0.0.3:53") || u.Proto != "udp" || u.Requests != 4 || u.Responses.Count != 4 || u.Responses.Max != 100 {
		t.Errorf("udp %+v", u)
	}
}

func TestHTTPRequestHookDeduplicates(t *testing.T) {
	s := newNetSynth()
	cl, sv := "10.0.0.1:40000", "10.0.0.2:80"
	s.syn(0, cl, sv, 0, 1460)
	req := []byte("POST /x HTTP/1.1\r\nHost: h\r\n\r\n")
	f := s.add(spec{Time: s.at(1), Src: netAP(cl), Dst: netAP(sv), Proto: protoTCP, IPLen: 100, PayloadLen: len(req), Payload: req, TCPFlags: layers.FlagACK})
	d := NewNetwork(NetworkConfig{})
	for _, p := range s.packets() {
		d.Packet(&p)
	}
	d.HTTPRequest(f, s.at(1), netAP(cl), netAP(sv), "POST /x HTTP/1.1")          // same request: counted once
	d.HTTPRequest(f+1, s.at(2), netAP(cl), netAP(sv), "GET /decrypted HTTP/1.1") // a TLS-decrypted one
	d.Finish(health.Discard)
	if got := d.Workload().Services[0].Requests; got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
}

func TestHTTPRequestLine(t *testing.T) {
	tests := []struct {
		in, line, host string
		ok             bool
	}{
		{"GET / HTTP/1.1\r\nHost: a.b\r\n\r\n", "GET / HTTP/1.1", "a.b", true},
		{"PROPFIND /d HTTP/1.1\r\nhost: X\r\n", "PROPFIND /d HTTP/1.1", "X", true},
		{"GET /no-version-here-at-all", "", "", false},
		{"HTTP/1.1 200 OK\r\n\r\n", "", "", false},
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03abcdef", "", "", false},
		{"GET /\x00\xff HTTP/1.0\n\n", "GET /.. HTTP/1.0", "", true},
	}
	for _, tc := range tests {
		line, host, ok := httpRequestLine([]byte(tc.in))
		if line != tc.line || host != tc.host || ok != tc.ok {
			t.Errorf("httpRequestLine(%q) = %q, %q, %v; want %q, %q, %v", tc.in, line, host, ok, tc.line, tc.host, tc.ok)
		}
	}
}

func TestNetDiagnoserBounded(t *testing.T) {
	s := newNetSynth()
	for i := range 200 {
		src := fmt.Sprintf("10.1.%d.%d:%d", i/200, i%200+1, 1000+i)
		s.syn(float64(i), src, fmt.Sprintf("10.2.0.%d:80", i%250+1), 1, 1460)
		s.udp(float64(i), src, fmt.Sprintf("10.3.0.%d:9999", i%250+1), []byte("x"))
		s.arp(float64(i), arpRequest, byte(i), fmt.Sprintf("10.4.0.%d", i+1), "10.4.1.1")
	}
	cfg := NetworkConfig{MaxConns: 10, MaxKeys: 8, MaxNames: 4, MaxIntervals: 5, MaxEventsPerKind: 2}
	d := NewNetwork(cfg)
	for _, p := range s.packets() {
		d.Packet(&p)
	}
	if len(d.conns) > 10 || len(d.udp) > 8 || len(d.arp) > 8 || len(d.services) > 8 || len(d.pending) > 8 || len(d.periodic) > 8 {
		t.Errorf("tables over their caps: conns %d udp %d arp %d services %d pending %d periodic %d",
			len(d.conns), len(d.udp), len(d.arp), len(d.services), len(d.pending), len(d.periodic))
	}
	d.Finish(health.Discard)
	if d.nIntvl > 5 {
		t.Errorf("intervals %d > 5", d.nIntvl)
	}
	if w := d.Workload(); len(w.Capped) == 0 {
		t.Errorf("Capped is empty")
	}
}

func TestFinishTwiceAndAfterFinish(t *testing.T) {
	s := c06Synthetic()
	d, col := netRun(t, NetworkConfig{}, s.packets())
	n := len(col.Events)
	p0 := s.packets()[0]
	d.Packet(&p0)
	d.Finish(col)
	if len(col.Events) != n {
		t.Errorf("second Finish emitted %d more events", len(col.Events)-n)
	}
	for i := 1; i < len(col.Events); i++ {
		if col.Events[i].Frame < col.Events[i-1].Frame {
			t.Errorf("events not in frame order")
		}
	}
	for _, e := range col.Events {
		if !health.Known(e.Kind) || e.Frame == 0 || e.Message == "" {
			t.Errorf("bad event %+v", e)
		}
	}
}

func TestPacketNoAllocsCommonPath(t *testing.T) {
	d := NewNetwork(NetworkConfig{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := spec{Src: netAP("10.0.0.1:40000"), Dst: netAP("10.0.0.2:443"), Proto: protoTCP, IPLen: 1500, PayloadLen: 1448, TCPFlags: layers.FlagACK}.packet()
	u := spec{Src: netAP("10.0.0.1:40001"), Dst: netAP("10.0.0.2:5353"), Proto: protoUDP, IPLen: 100, PayloadLen: 72, Payload: make([]byte, 72)}.packet()
	i := 0
	step := func() {
		i++
		p.Frame, p.Time, p.TCP.Seq = int64(i), t0.Add(time.Duration(i)*time.Microsecond), uint32(i*1448)
		d.Packet(&p)
		u.Frame, u.Time = int64(i), p.Time
		d.Packet(&u)
	}
	for range 100 {
		step()
	}
	if a := testing.AllocsPerRun(1000, step); a != 0 {
		t.Errorf("Packet allocates %.1f times per TCP+UDP packet pair, want 0", a)
	}
}

func BenchmarkNetDiagnoserPacket(b *testing.B) {
	d := NewNetwork(NetworkConfig{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := spec{Src: netAP("10.0.0.1:40000"), Dst: netAP("10.0.0.2:443"), Proto: protoTCP, IPLen: 1500, PayloadLen: 1448, TCPFlags: layers.FlagACK}.packet()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Frame, p.Time, p.TCP.Seq = int64(i), t0.Add(time.Duration(i)*time.Microsecond), uint32(i*1448)
		d.Packet(&p)
	}
}

func TestCaseC19_PingDFSynthetic(t *testing.T) {
	// Casebook C19: "ping -f -l 1472 fails, -l 1448 works": 1500-byte DF
	// echoes (1472 bytes of data) unanswered, 1476-byte ones answered.
	s := newNetSynth()
	echo := func(ms float64, src, dst string, typ uint8, seq uint16, size int) {
		s.add(spec{Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoICMP, IPLen: size, DF: true,
			ICMP: &icmpSpec{Type: typ, Echo: true, ID: 1, Seq: seq}})
	}
	seq := uint16(0)
	for i := range 4 {
		seq++
		echo(float64(i)*1000, "10.0.0.1:0", "10.9.9.9:0", 8, seq, 1500)
	}
	for i := range 4 {
		seq++
		echo(5000+float64(i)*1000, "10.0.0.1:0", "10.9.9.9:0", 8, seq, 1476)
		echo(5000+float64(i)*1000+20, "10.9.9.9:0", "10.0.0.1:0", 0, seq, 1476)
	}
	_, col := netRun(t, NetworkConfig{}, s.packets())
	e := netOnly(t, col, health.NetPMTUBlackhole)
	want := map[string]string{"method": "ping", "size": "1500", "retransmissions": "4", "mtu_at_least": "1476", "mtu_below": "1500"}
	if diff := cmp.Diff(want, netPick(e, "method", "size", "retransmissions", "mtu_at_least", "mtu_below")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(col.OfKind(health.NetICMPError)) != 0 {
		t.Errorf("echoes are not ICMP errors")
	}
	// With an ICMP fragmentation-needed quoting the big pings, the ICMP
	// event tells the story: no black hole.
	s.add(spec{Time: s.at(100), Src: netAP("10.0.0.254:0"), Dst: netAP("10.0.0.1:0"), Proto: protoICMP, IPLen: 576,
		ICMP: &icmpSpec{Type: 3, Code: 4, MTU: 1476, QuotedValid: true, QuotedSrc: netAP("10.0.0.1:0"), QuotedDst: netAP("10.9.9.9:0"), QuotedProto: protoICMP}})
	_, col = netRun(t, NetworkConfig{}, s.packets())
	if len(col.OfKind(health.NetPMTUBlackhole)) != 0 || len(col.OfKind(health.NetICMPFragNeeded)) != 1 {
		t.Errorf("with ICMP: %+v", col.Events)
	}
}

// TestNATTraversalAnswersFromSecondAddressByDesign: a Teredo server
// answers a qualification from its second address (RFC 4380, 5.2.1) and a
// STUN server a CHANGE-REQUEST from another address (RFC 5780): that is
// the protocol, not a firewall problem, so no finding. A server that
// answers from another address while also answering directly serves the
// client: a notice that says so, not a warning.
func TestNATTraversalAnswersFromSecondAddressByDesign(t *testing.T) {
	s := newNetSynth()
	for i := range 6 {
		c := fmt.Sprintf("10.0.0.7:%d", 40000+i)
		s.udp(float64(i)*1000, c, "198.51.100.1:3544", []byte("teredo rs"))
		s.udp(float64(i)*1000+30, "198.51.100.2:3544", c, []byte("teredo ra"))
		s.udp(float64(i)*1000+100, c, "203.0.113.5:3478", []byte("stun change-request"))
		s.udp(float64(i)*1000+140, "203.0.113.6:3479", c, []byte("stun response"))
	}
	for i := range 6 {
		c := fmt.Sprintf("10.0.0.7:%d", 50000+i)
		s.udp(10000+float64(i)*1000, c, "192.0.2.53:53", []byte("query"))
		s.udp(10000+float64(i)*1000+1, "192.0.2.54:53", c, []byte("answer from the second path"))
		if i%2 == 0 {
			s.udp(10000+float64(i)*1000+2, "192.0.2.53:53", c, []byte("answer"))
		}
	}
	_, col := netRun(t, NetworkConfig{}, s.packets())
	evs := col.OfKind(health.NetReplyFromOtherAddress)
	if len(evs) != 1 || evs[0].Evidence["requested"] != "192.0.2.53:53" {
		t.Fatalf("events %+v; want only the DNS one", evs)
	}
	if evs[0].Severity != health.Notice || evs[0].Evidence["direct_replies"] != 3 {
		t.Errorf("severity %s, direct replies %v; want a notice counting 3", evs[0].Severity, evs[0].Evidence["direct_replies"])
	}
}
