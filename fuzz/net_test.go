package fuzz

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/nettrace/nettrace/diagnose"
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

// netDNSLoop is a DNS response whose CNAMEs loop (q.example → c.example →
// q.example) and whose address record is patched in at netDNSAddrAt.
var netDNSLoop = []byte("\x00\x07\x81\x80\x00\x01\x00\x03\x00\x00\x00\x00" +
	"\x01q\x07example\x00\x00\x01\x00\x01" +
	"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x04\x01c\xc0\x0e" +
	"\xc0\x27\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x02\xc0\x0c" +
	"\xc0\x27\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x00\x00\x01")

// netDNSAddrAt is the offset of the address in netDNSLoop.
var netDNSAddrAt = len(netDNSLoop) - 4

// netPacket builds one decoded packet from 16 fuzz bytes.
func netPacket(b []byte, frame int64, at time.Time) layers.Packet {
	addr := func(i byte) netip.Addr { return netAddrs[int(i)%len(netAddrs)] }
	port := func(i byte) uint16 { return netPorts[int(i)%len(netPorts)] }
	src, dst := addr(b[1]), addr(b[3])
	p := layers.Packet{
		Frame: frame, Time: at, Src: src, Dst: dst, Network: 4,
		IPLen:      int(binary.BigEndian.Uint16(b[5:7])),
		PayloadLen: int(binary.BigEndian.Uint16(b[5:7])) - 40,
		DF:         b[11]&1 != 0,
		Payload:    b[12:],
	}
	tcp := layers.TCPHeader{SrcPort: port(b[2]), DstPort: port(b[4]), Flags: layers.TCPFlags(b[7]),
		Seq: uint32(b[8]) << 10, Ack: uint32(b[9]) << 10, MSS: uint16(b[10]) << 4, WindowScale: -1}
	udp := layers.UDPHeader{SrcPort: port(b[2]), DstPort: port(b[4])}
	switch b[0] % 8 {
	case 0, 1:
		p.IPProto, p.Transport, p.TCP = layers.ProtoTCP, layers.TransportTCP, tcp
	case 2:
		p.IPProto, p.Transport, p.UDP = layers.ProtoUDP, layers.TransportUDP, udp
		p.Reassembled = b[11]&2 != 0
		p.FragFrames = make([]int64, b[11]>>4)
	case 3:
		p.IPProto, p.Fragment = layers.ProtoUDP, true
	case 4:
		p.IPProto, p.Transport = layers.ProtoICMP, layers.TransportICMP
		p.ICMP = layers.ICMPHeader{V6: b[11]&4 != 0, Type: b[8] % 13, Code: b[9] % 17, MTU: binary.BigEndian.Uint16(b[5:7]),
			IsError: b[11]&16 == 0, ID: uint16(b[1] % 2), Seq: uint16(b[2] % 4)}
		if b[11]&8 != 0 {
			p.ICMP.Quoted = layers.Quoted{Valid: true, Src: addr(b[2]), Dst: addr(b[4]), SrcPort: port(b[4]), DstPort: port(b[2]),
				Proto: []uint8{6, 17, 1}[int(b[10])%3], TCPSeq: uint32(b[8]) << 10}
		}
	case 5:
		p = layers.Packet{Frame: frame, Time: at, Transport: layers.TransportARP}
		p.ARP = layers.ARPHeader{Op: uint16(b[7]%3) + 1, SenderMAC: [6]byte{2, 0, 0, 0, 0, b[8] % 4}, SenderIP: src, TargetIP: dst}
	case 6:
		dns := append([]byte(nil), netDNSLoop...)
		if a := addr(b[8]); a.Is4() {
			copy(dns[netDNSAddrAt:], a.AsSlice())
		}
		udp.SrcPort = 53
		p.IPProto, p.Transport, p.UDP, p.Payload, p.PayloadLen = layers.ProtoUDP, layers.TransportUDP, udp, dns, len(dns)
	default:
		p.IPProto = b[8]
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
	cfg := diagnose.NetworkConfig{MaxConns: 16, MaxKeys: 16, MaxNames: 8, MaxIntervals: 64, MaxEventsPerKind: 4,
		FloodMinDatagrams: 3, FloodMinRate: 2, SYNFloodMinRate: 3, ManyConnsMin: 2, ARPBurstMin: 2, PeriodicMinCount: 3,
		BlackholeMinRetrans: 2, PMTUMinSegments: 2}
	d := diagnose.NewNetwork(cfg)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var frame int64
	for len(data) >= 16 && frame < 2000 {
		frame++
		step := time.Duration(int8(data[15])) * 37 * time.Millisecond
		at = at.Add(step)
		p := netPacket(data[:16], frame, at)
		d.Packet(&p)
		if frame%7 == 0 {
			src, dst := p.SrcAddrPort(), p.DstAddrPort()
			d.Event(health.Event{Kind: health.NetFragmentIncomplete, Frame: frame})
			d.Flow(&health.FlowStats{Client: src, Server: dst, HandshakeRTT: time.Millisecond})
			d.HTTPRequest(frame, at, src, dst, "GET /x HTTP/1.1")
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

// FuzzNetDNS hands arbitrary DNS responses to the diagnoser as UDP payload
// from port 53, then connects to every answered address: NameOf must agree
// with the answers layers.ParseDNS finds and nothing may panic (CNAME
// loops, empty names, odd types).
func FuzzNetDNS(f *testing.F) {
	// A response for crl.example.test: CNAME crl.cdn.example.test, A 10.200.3.80.
	f.Add([]byte("\x12\x34\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00" +
		"\x03crl\x07example\x04test\x00\x00\x01\x00\x01" +
		"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x06\x03cdn\xc0\x10" +
		"\xc0\x2e\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\xc8\x03\x50"))
	f.Add(netDNSLoop)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := layers.ParseDNS(b)
		if err != nil {
			return
		}
		d := diagnose.NewNetwork(diagnose.NetworkConfig{})
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		dns := layers.Packet{Frame: 1, Time: at, Network: 4, Src: netip.MustParseAddr("10.0.0.53"), Dst: netip.MustParseAddr("10.0.0.1"),
			IPProto: layers.ProtoUDP, Transport: layers.TransportUDP, UDP: layers.UDPHeader{SrcPort: 53, DstPort: 40000},
			Payload: b, PayloadLen: len(b)}
		d.Packet(&dns)
		for i, a := range m.Answers {
			if !a.Addr.IsValid() {
				continue
			}
			p := layers.Packet{Frame: int64(i + 2), Time: at.Add(time.Millisecond), Network: 4, Src: netip.MustParseAddr("10.0.0.1"),
				Dst: a.Addr, IPProto: layers.ProtoTCP, Transport: layers.TransportTCP,
				TCP: layers.TCPHeader{SrcPort: 40001, DstPort: 80, Flags: layers.FlagSYN, WindowScale: -1}}
			d.Packet(&p)
			if m.Response && (a.Type == layers.DNSTypeA || a.Type == layers.DNSTypeAAAA) {
				if _, ok := d.NameOf(a.Addr.Unmap()); !ok {
					t.Fatalf("answer %v not named", a.Addr)
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
		d := diagnose.NewNetwork(diagnose.NetworkConfig{})
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		cl, sv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
		tcp := func(frame int64, src, dst netip.Addr, sp, dp uint16, ipLen int, flags layers.TCPFlags, seq, ack uint32) layers.Packet {
			return layers.Packet{Frame: frame, Time: at, Network: 4, Src: src, Dst: dst, IPProto: layers.ProtoTCP, Transport: layers.TransportTCP,
				IPLen: ipLen, PayloadLen: max(ipLen-52, 0), TCP: layers.TCPHeader{SrcPort: sp, DstPort: dp, Flags: flags, Seq: seq, Ack: ack, MSS: 1460, WindowScale: -1}}
		}
		pkts := []layers.Packet{
			tcp(1, cl, sv, 40000, 80, 60, layers.FlagSYN, 0, 0),
			tcp(2, sv, cl, 80, 40000, 60, layers.FlagSYN|layers.FlagACK, 0, 1),
			tcp(3, sv, cl, 80, 40000, 1500, layers.FlagACK, 1, 0),
			{Frame: 4, Time: at, Network: 4, Src: netip.MustParseAddr("10.0.0.254"), Dst: sv, IPProto: layers.ProtoICMP,
				Transport: layers.TransportICMP, IPLen: 576, ICMP: h},
			tcp(5, sv, cl, 80, 40000, 1400, layers.FlagACK, 1, 0),
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
