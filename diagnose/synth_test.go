package diagnose

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// netSynth builds synthetic packet sequences for the diagnoser tests (named
// "...Synthetic" where no real capture exists).
type netSynth struct {
	t0   time.Time
	pkts []spec
}

// spec describes a synthetic packet in the few words the tests need;
// packet() builds the layers.Packet the diagnoser reads.
type spec struct {
	Frame                 int64
	Time                  time.Time
	Src, Dst              netip.AddrPort
	Proto                 uint8
	IPLen, PayloadLen     int
	DF                    bool
	TCPFlags              layers.TCPFlags
	TCPSeq, TCPAck        uint32
	MSS                   uint16
	Fragment, Reassembled bool
	FragCount             int
	Payload               []byte
	ICMP                  *icmpSpec
	ARP                   *layers.ARPHeader
}

// icmpSpec is an ICMP message and the flow it quotes.
type icmpSpec struct {
	V6                   bool
	Type, Code           uint8
	Echo                 bool // only documents intent: echo is told by type
	ID, Seq, MTU         uint16
	QuotedValid          bool
	QuotedSrc, QuotedDst netip.AddrPort
	QuotedProto          uint8
	QuotedSeq            uint32
}

func (s spec) packet() layers.Packet {
	p := layers.Packet{
		Frame: s.Frame, Time: s.Time, Src: s.Src.Addr(), Dst: s.Dst.Addr(), IPProto: s.Proto,
		IPLen: s.IPLen, PayloadLen: s.PayloadLen, DF: s.DF, Fragment: s.Fragment, Reassembled: s.Reassembled,
		Payload: s.Payload,
	}
	if s.Src.Addr().IsValid() {
		p.Network = 4
		if s.Src.Addr().Is6() {
			p.Network = 6
		}
	}
	for i := 0; i < s.FragCount; i++ {
		p.FragFrames = append(p.FragFrames, s.Frame)
	}
	switch {
	case s.ARP != nil:
		p.Transport, p.ARP, p.Network = layers.TransportARP, *s.ARP, 0
	case s.ICMP != nil:
		q := s.ICMP
		p.Transport = layers.TransportICMP
		p.ICMP = layers.ICMPHeader{V6: q.V6, Type: q.Type, Code: q.Code, MTU: q.MTU, ID: q.ID, Seq: q.Seq, IsError: !q.Echo}
		if q.QuotedValid {
			p.ICMP.Quoted = layers.Quoted{Valid: true, Src: q.QuotedSrc.Addr(), Dst: q.QuotedDst.Addr(), Proto: q.QuotedProto,
				SrcPort: q.QuotedSrc.Port(), DstPort: q.QuotedDst.Port(), TCPSeq: q.QuotedSeq}
		}
	case s.Proto == protoTCP:
		p.Transport = layers.TransportTCP
		p.TCP = layers.TCPHeader{SrcPort: s.Src.Port(), DstPort: s.Dst.Port(), Seq: s.TCPSeq, Ack: s.TCPAck, Flags: s.TCPFlags, MSS: s.MSS, WindowScale: -1}
	case s.Proto == protoUDP && !s.Fragment:
		p.Transport = layers.TransportUDP
		p.UDP = layers.UDPHeader{SrcPort: s.Src.Port(), DstPort: s.Dst.Port(), Length: uint16(8 + s.PayloadLen)}
	}
	return p
}

// packets returns the sequence as layers packets.
func (s *netSynth) packets() []layers.Packet { return specPackets(s.pkts) }

func specPackets(specs []spec) []layers.Packet {
	out := make([]layers.Packet, len(specs))
	for i, s := range specs {
		out[i] = s.packet()
	}
	return out
}

func newNetSynth() *netSynth {
	return &netSynth{t0: time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)}
}

func netAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func (s *netSynth) at(ms float64) time.Time {
	return s.t0.Add(time.Duration(ms * float64(time.Millisecond)))
}

// add appends p with the next frame number and returns that number.
func (s *netSynth) add(p spec) int64 {
	p.Frame = int64(len(s.pkts) + 1)
	s.pkts = append(s.pkts, p)
	return p.Frame
}

func (s *netSynth) tcp(ms float64, src, dst string, flags layers.TCPFlags, seq, ack uint32, payload int) int64 {
	return s.add(spec{
		Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoTCP,
		IPLen: 52 + payload, PayloadLen: payload, TCPFlags: flags, TCPSeq: seq, TCPAck: ack, DF: true,
	})
}

func (s *netSynth) syn(ms float64, src, dst string, seq uint32, mss uint16) int64 {
	return s.add(spec{
		Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoTCP, IPLen: 60,
		TCPFlags: layers.FlagSYN, TCPSeq: seq, MSS: mss, DF: true,
	})
}

func (s *netSynth) synack(ms float64, src, dst string, seq, ack uint32, mss uint16) int64 {
	return s.add(spec{
		Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoTCP, IPLen: 60,
		TCPFlags: layers.FlagSYN | layers.FlagACK, TCPSeq: seq, TCPAck: ack, MSS: mss, DF: true,
	})
}

func (s *netSynth) udp(ms float64, src, dst string, payload []byte) int64 {
	return s.add(spec{
		Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoUDP,
		IPLen: 28 + len(payload), PayloadLen: len(payload), Payload: payload,
	})
}

func (s *netSynth) arp(ms float64, op uint16, mac byte, sender, target string) int64 {
	a := &layers.ARPHeader{Op: op, SenderMAC: [6]byte{2, 0, 0, 0, 0, mac}, SenderIP: netip.MustParseAddr(sender), TargetIP: netip.MustParseAddr(target)}
	return s.add(spec{Time: s.at(ms), ARP: a})
}

// dnsRR is one answer of a synthetic DNS response: an address record (addr
// set) or a CNAME (target set).
type dnsRR struct {
	name, target string
	addr         netip.Addr
}

// dnsResponse encodes a DNS response (RFC 1035, 4.1) to question q with
// the answers rrs, without name compression.
func dnsResponse(id uint16, q string, rrs ...dnsRR) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x81, 0x80, 0, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rrs)))
	b = append(b, 0, 0, 0, 0)
	b = append(encodeDNSName(b, q), 0, 1, 0, 1)
	for _, rr := range rrs {
		b = encodeDNSName(b, rr.name)
		var typ uint16
		var rdata []byte
		switch {
		case rr.target != "":
			typ, rdata = layers.DNSTypeCNAME, encodeDNSName(nil, rr.target)
		case rr.addr.Is4():
			typ, rdata = layers.DNSTypeA, rr.addr.AsSlice()
		default:
			typ, rdata = layers.DNSTypeAAAA, rr.addr.AsSlice()
		}
		b = binary.BigEndian.AppendUint16(b, typ)
		b = append(b, 0, 1, 0, 0, 0, 60)
		b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
		b = append(b, rdata...)
	}
	return b
}

func encodeDNSName(b []byte, name string) []byte {
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0)
}

// netEvidence returns e.Evidence[k] or nil.
func netEvidence(e health.Event, k string) any {
	if e.Evidence == nil {
		return nil
	}
	return e.Evidence[k]
}
