package fuzz

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// netAddrs is a small address pool so that fuzzed packets meet each other:
// replies, ICMP quotes, ARP claims and DNS answers refer to the same hosts.
var netAddrs = []netip.Addr{
	netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
	netip.MustParseAddr("10.0.0.3"), netip.MustParseAddr("10.0.0.255"),
	netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("224.0.0.251"),
}

var netPorts = []uint16{0, 53, 80, 139, 443, 1434, 40000, 40001}

// netPacket builds one health.Packet from 16 fuzz bytes.
func netPacket(b []byte, frame int64, at time.Time) health.Packet {
	addr := func(i byte) netip.Addr { return netAddrs[int(i)%len(netAddrs)] }
	port := func(i byte) uint16 { return netPorts[int(i)%len(netPorts)] }
	p := health.Packet{
		Frame: frame, Time: at,
		Src:        netip.AddrPortFrom(addr(b[1]), port(b[2])),
		Dst:        netip.AddrPortFrom(addr(b[3]), port(b[4])),
		IPLen:      int(binary.BigEndian.Uint16(b[5:7])),
		PayloadLen: int(binary.BigEndian.Uint16(b[5:7])) - 40,
		TCPFlags:   health.TCPFlags(b[7]),
		TCPSeq:     uint32(b[8]) << 10,
		TCPAck:     uint32(b[9]) << 10,
		MSS:        uint16(b[10]) << 4,
		DF:         b[11]&1 != 0,
		Payload:    b[12:],
	}
	switch b[0] % 8 {
	case 0, 1:
		p.Proto = 6
	case 2:
		p.Proto = 17
		p.Reassembled = b[11]&2 != 0
		p.FragCount = int(b[11] >> 4)
	case 3:
		p.Proto = 17
		p.Fragment = true
	case 4:
		p.Proto = 1
		p.ICMP = &health.ICMPObs{V6: b[11]&4 != 0, Type: b[8] % 13, Code: b[9] % 17, MTU: binary.BigEndian.Uint16(b[5:7]),
			QuotedValid: b[11]&8 != 0, QuotedSrc: netip.AddrPortFrom(addr(b[2]), port(b[4])),
			QuotedDst: netip.AddrPortFrom(addr(b[4]), port(b[2])), QuotedProto: []uint8{6, 17, 1}[int(b[10])%3], QuotedSeq: uint32(b[8]) << 10,
			Echo: b[11]&16 != 0, ID: uint16(b[1] % 2), Seq: uint16(b[2] % 4)}
	case 5:
		p.ARP = &health.ARPObs{Op: uint16(b[7]%3) + 1, SenderMAC: [6]byte{2, 0, 0, 0, 0, b[8] % 4}, SenderIP: addr(b[1]), TargetIP: addr(b[3])}
	case 6:
		p.Proto = 17
		p.DNS = &health.DNSObs{Response: true, Question: "q.example", Answers: []health.DNSAnswer{
			{Name: "q.example", Type: health.DNSTypeCNAME, Target: "c.example"},
			{Name: "c.example", Type: health.DNSTypeCNAME, Target: "q.example"}, // a loop
			{Name: "c.example", Type: health.DNSTypeA, Addr: addr(b[8])},
		}}
	default:
		p.Proto = b[8]
	}
	return p
}

// FuzzNetDiagnoser feeds arbitrary packet sequences (16 bytes each, times
// moving by a fuzzed step, sometimes backwards) to the network diagnoser
// with small caps: it must not panic, must stay within its caps, and every
// finding must be a known kind naming a frame of the sequence.
func FuzzNetDiagnoser(f *testing.F) {
	f.Add([]byte("\x00\x00\x06\x01\x02\x05\xdc\x02\x01\x00\x01\x00GET / HTTP/1.1\r\n"))
	f.Add(make([]byte, 16*40))
	seed := make([]byte, 0, 16*64)
	for i := range 64 {
		seed = append(seed, byte(i%8), byte(i), byte(i/2), byte(i+1), byte(i*3), 0x05, 0xdc, byte(i), byte(i), byte(i), 0x5b, byte(i), 1, 2, 3, 4)
	}
	f.Add(seed)
	f.Fuzz(fuzzNetSequence)
}

// fuzzNetSequence is FuzzNetDiagnoser's body.
func fuzzNetSequence(t *testing.T, data []byte) {
	cfg := health.NetConfig{MaxConns: 16, MaxKeys: 16, MaxNames: 8, MaxIntervals: 64, MaxEventsPerKind: 4,
		FloodMinDatagrams: 3, FloodMinRate: 2, SYNFloodMinRate: 3, ManyConnsMin: 2, ARPBurstMin: 2, PeriodicMinCount: 3,
		BlackholeMinRetrans: 2, PMTUMinSegments: 2}
	d := health.NewNetDiagnoser(cfg)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var frame int64
	for len(data) >= 16 && frame < 2000 {
		frame++
		step := time.Duration(int8(data[15])) * 37 * time.Millisecond
		at = at.Add(step)
		p := netPacket(data[:16], frame, at)
		d.Packet(&p)
		if frame%7 == 0 {
			d.Event(health.Event{Kind: health.NetFragmentIncomplete, Frame: frame})
			d.Flow(&health.FlowStats{Client: p.Src, Server: p.Dst, HandshakeRTT: time.Millisecond})
			d.HTTPRequest(frame, at, p.Src, p.Dst, "GET /x HTTP/1.1")
		}
		data = data[16:]
	}
	col := &health.Collector{}
	d.Finish(col)
	for _, e := range col.Events {
		if !health.Known(e.Kind) || e.Frame < 0 || e.Frame > frame || e.Message == "" {
			t.Fatalf("bad event %+v (frames 1..%d)", e, frame)
		}
	}
	w := d.Workload()
	if len(w.Services) > 16 {
		t.Fatalf("%d services over the cap", len(w.Services))
	}
	for _, s := range w.Services {
		if s.Responses.Count > 0 && (s.Responses.P50 < s.Responses.Min || s.Responses.P50 > s.Responses.Max) {
			t.Fatalf("median %d outside [%d, %d]", s.Responses.P50, s.Responses.Min, s.Responses.Max)
		}
	}
}

// FuzzNetDNS parses arbitrary DNS responses with layers.ParseDNS, hands
// their answers to the diagnoser as the root package does, then connects to
// every answered address: NameOf must agree with the answers and nothing may
// panic (CNAME loops, empty names, odd types).
func FuzzNetDNS(f *testing.F) {
	// A response for crl.example.test: CNAME crl.cdn.example.test, A 10.200.3.80.
	f.Add([]byte("\x12\x34\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00" +
		"\x03crl\x07example\x04test\x00\x00\x01\x00\x01" +
		"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x06\x03cdn\xc0\x10" +
		"\xc0\x2e\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\xc8\x03\x50"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := layers.ParseDNS(b)
		if err != nil {
			return
		}
		obs := &health.DNSObs{ID: m.ID, Response: m.Response}
		if len(m.Questions) > 0 {
			obs.Question = m.Questions[0].Name
		}
		for _, a := range m.Answers {
			obs.Answers = append(obs.Answers, health.DNSAnswer{Name: a.Name, Type: a.Type, Addr: a.Addr, Target: a.Host})
		}
		d := health.NewNetDiagnoser(health.NetConfig{})
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		dns := health.Packet{Frame: 1, Time: at, Src: netip.MustParseAddrPort("10.0.0.53:53"), Dst: netip.MustParseAddrPort("10.0.0.1:40000"),
			Proto: 17, DNS: obs}
		d.Packet(&dns)
		for i, a := range obs.Answers {
			if !a.Addr.IsValid() {
				continue
			}
			p := health.Packet{Frame: int64(i + 2), Time: at.Add(time.Millisecond), Src: netip.MustParseAddrPort("10.0.0.1:40001"),
				Dst: netip.AddrPortFrom(a.Addr, 80), Proto: 6, TCPFlags: health.TCPFlagSYN}
			d.Packet(&p)
			if m.Response && (a.Type == health.DNSTypeA || a.Type == health.DNSTypeAAAA) {
				if _, ok := d.NameOf(a.Addr); !ok {
					t.Fatalf("answer %v for %q not named", a.Addr, obs.Question)
				}
			}
		}
		d.Finish(health.Discard)
	})
}

// FuzzNetICMPQuote parses arbitrary ICMP errors with layers.ParseICMP and
// hands them, quoting (or not) a tracked TCP connection, to the diagnoser.
func FuzzNetICMPQuote(f *testing.F) {
	// ICMPv4 frag needed, MTU 1400, quoting 10.0.0.2:80 -> 10.0.0.1:40000.
	f.Add(false, []byte("\x03\x04\x00\x00\x00\x00\x05\x78"+
		"\x45\x00\x05\xdc\x00\x00\x40\x00\x40\x06\x00\x00\x0a\x00\x00\x02\x0a\x00\x00\x01"+
		"\x00\x50\x9c\x40\x00\x00\x10\x00"))
	f.Add(true, []byte("\x02\x00\x00\x00\x00\x00\x05\x78"))
	f.Fuzz(func(t *testing.T, v6 bool, b []byte) {
		var h layers.ICMPHeader
		if layers.ParseICMP(b, v6, &h) != nil || !h.IsError {
			return
		}
		d := health.NewNetDiagnoser(health.NetConfig{})
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		cl, sv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")
		pkts := []health.Packet{
			{Frame: 1, Time: at, Src: cl, Dst: sv, Proto: 6, IPLen: 60, TCPFlags: health.TCPFlagSYN, MSS: 1460},
			{Frame: 2, Time: at, Src: sv, Dst: cl, Proto: 6, IPLen: 60, TCPFlags: health.TCPFlagSYN | health.TCPFlagACK, MSS: 1460, TCPAck: 1},
			{Frame: 3, Time: at, Src: sv, Dst: cl, Proto: 6, IPLen: 1500, PayloadLen: 1448, TCPFlags: health.TCPFlagACK, TCPSeq: 1},
			{Frame: 4, Time: at, Src: netip.MustParseAddrPort("10.0.0.254:0"), Dst: netip.AddrPortFrom(sv.Addr(), 0), Proto: 1, IPLen: 576,
				ICMP: &health.ICMPObs{V6: h.V6, Type: h.Type, Code: h.Code, MTU: h.MTU, QuotedValid: h.Quoted.Valid,
					QuotedSrc: netip.AddrPortFrom(h.Quoted.Src, h.Quoted.SrcPort), QuotedDst: netip.AddrPortFrom(h.Quoted.Dst, h.Quoted.DstPort),
					QuotedProto: h.Quoted.Proto, QuotedSeq: h.Quoted.TCPSeq, QuotedIPLen: int(h.Quoted.IPLen)}},
			{Frame: 5, Time: at, Src: sv, Dst: cl, Proto: 6, IPLen: 1400, PayloadLen: 1348, TCPFlags: health.TCPFlagACK, TCPSeq: 1},
		}
		for i := range pkts {
			d.Packet(&pkts[i])
		}
		col := &health.Collector{}
		d.Finish(col)
		if len(col.Events) == 0 {
			t.Fatalf("ICMP error type %d code %d produced no finding", h.Type, h.Code)
		}
		for _, e := range col.Events {
			if !health.Known(e.Kind) || e.Frame < 1 || e.Frame > 5 {
				t.Fatalf("bad event %+v", e)
			}
		}
	})
}
