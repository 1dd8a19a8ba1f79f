package health_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/health"
)

// ExampleNetDiagnoser feeds a path-MTU exchange (casebook C19) to the
// network diagnoser: a 1500-byte segment answered by an ICMP
// "fragmentation needed" with MTU 1400, after which the sender re-sends the
// data in 1400-byte packets.
func ExampleNetDiagnoser() {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	cl := netip.MustParseAddrPort("10.200.1.10:48896")
	sv := netip.MustParseAddrPort("10.200.3.20:80")
	pkts := []health.Packet{
		{Src: cl, Dst: sv, Proto: 6, IPLen: 60, TCPFlags: health.TCPFlagSYN, TCPSeq: 99, MSS: 1460},
		{Src: sv, Dst: cl, Proto: 6, IPLen: 60, TCPFlags: health.TCPFlagSYN | health.TCPFlagACK, TCPSeq: 999, TCPAck: 100, MSS: 1460},
		{Src: sv, Dst: cl, Proto: 6, IPLen: 1500, PayloadLen: 1448, TCPFlags: health.TCPFlagACK, TCPSeq: 1000, TCPAck: 100},
		{Src: netip.MustParseAddrPort("10.200.3.1:0"), Dst: netip.AddrPortFrom(sv.Addr(), 0), Proto: 1, IPLen: 576,
			ICMP: &health.ICMPObs{Type: 3, Code: 4, MTU: 1400, QuotedValid: true, QuotedSrc: sv, QuotedDst: cl, QuotedProto: 6, QuotedSeq: 1000}},
		{Src: sv, Dst: cl, Proto: 6, IPLen: 1400, PayloadLen: 1348, TCPFlags: health.TCPFlagACK, TCPSeq: 1000, TCPAck: 100},
		{Src: sv, Dst: cl, Proto: 6, IPLen: 152, PayloadLen: 100, TCPFlags: health.TCPFlagACK | health.TCPFlagPSH, TCPSeq: 2348, TCPAck: 100},
		{Src: cl, Dst: sv, Proto: 6, IPLen: 52, TCPFlags: health.TCPFlagACK, TCPSeq: 100, TCPAck: 2448},
	}
	d := health.NewNetDiagnoser(health.NetConfig{})
	for i := range pkts {
		pkts[i].Frame = int64(i + 1)
		pkts[i].Time = t0.Add(time.Duration(i) * time.Millisecond)
		d.Packet(&pkts[i])
	}
	var col health.Collector
	d.Finish(&col)
	for _, e := range col.Events {
		fmt.Println(e.Frame, e.Kind, e.Evidence["mtu"])
	}
	// Output:
	// 4 net.icmp_frag_needed 1400
	// 4 net.pmtu_reduced 1400
}

// ExampleNetDiagnoser_NameOf maps a destination back to the DNS name it
// was resolved from (casebook C16).
func ExampleNetDiagnoser_NameOf() {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	edge := netip.MustParseAddr("10.200.3.80")
	d := health.NewNetDiagnoser(health.NetConfig{})
	d.Packet(&health.Packet{Frame: 1, Time: t0, Proto: 17,
		Src: netip.MustParseAddrPort("10.200.3.53:53"), Dst: netip.MustParseAddrPort("10.200.1.10:41000"),
		DNS: &health.DNSObs{Response: true, Question: "crl.example.test", Answers: []health.DNSAnswer{
			{Name: "crl.example.test", Type: health.DNSTypeCNAME, Target: "crl.cdn.example.test"},
			{Name: "crl.cdn.example.test", Type: health.DNSTypeA, Addr: edge},
		}}})
	name, _ := d.NameOf(edge)
	fmt.Println(name, d.ChainOf(edge))
	// Output:
	// crl.example.test [crl.example.test crl.cdn.example.test]
}
