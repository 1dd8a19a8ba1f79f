package nettrace

import (
	"net/netip"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// netScratch holds the rare parts of a health.Packet (ICMP, ARP, DNS) so
// that toHealthPacket allocates nothing for them. One per Analyzer; the
// filled health.Packet is valid until the next call.
type netScratch struct {
	icmp    health.ICMPObs
	arp     health.ARPObs
	dns     health.DNSObs
	answers [64]health.DNSAnswer
}

// toHealthPacket fills out, the network diagnoser's view of a decoded
// packet, from p. s provides storage for the ICMP/ARP/DNS parts; with a nil
// s they are allocated. out.Payload aliases p.Payload.
func toHealthPacket(p *layers.Packet, out *health.Packet, s *netScratch) {
	if s == nil {
		s = new(netScratch)
	}
	*out = health.Packet{
		Frame:       p.Frame,
		Time:        p.Time,
		Src:         p.SrcAddrPort(),
		Dst:         p.DstAddrPort(),
		Proto:       p.IPProto,
		IPLen:       p.IPLen,
		PayloadLen:  p.PayloadLen,
		DF:          p.DF,
		Fragment:    p.Fragment,
		Reassembled: p.Reassembled,
		FragCount:   len(p.FragFrames),
		Payload:     p.Payload,
	}
	switch p.Transport {
	case layers.TransportTCP:
		out.TCPFlags = health.TCPFlags(p.TCP.Flags)
		out.TCPSeq, out.TCPAck, out.MSS = p.TCP.Seq, p.TCP.Ack, p.TCP.MSS
	case layers.TransportUDP:
		// dnsPort (messages.go): parsed for destinations explained (C16).
		if p.UDP.SrcPort == dnsPort || p.UDP.DstPort == dnsPort {
			if m, err := layers.ParseDNS(p.Payload); err == nil {
				out.DNS = fillDNS(&m, s)
			}
		}
	case layers.TransportICMP:
		if !p.ICMP.IsError {
			// Echo request/reply (RFC 792, RFC 4443): DF pings measure the
			// path MTU (casebook C19).
			if t := p.ICMP.Type; !p.ICMP.V6 && (t == 8 || t == 0) || p.ICMP.V6 && (t == 128 || t == 129) {
				s.icmp = health.ICMPObs{V6: p.ICMP.V6, Type: t, Code: p.ICMP.Code, Echo: true, ID: p.ICMP.ID, Seq: p.ICMP.Seq}
				out.ICMP = &s.icmp
			}
			break
		}
		q := &p.ICMP.Quoted
		s.icmp = health.ICMPObs{
			V6: p.ICMP.V6, Type: p.ICMP.Type, Code: p.ICMP.Code, MTU: p.ICMP.MTU,
			QuotedValid: q.Valid,
			QuotedSrc:   netip.AddrPortFrom(q.Src, q.SrcPort),
			QuotedDst:   netip.AddrPortFrom(q.Dst, q.DstPort),
			QuotedProto: q.Proto,
			QuotedSeq:   q.TCPSeq,
			QuotedIPLen: int(q.IPLen),
		}
		out.ICMP = &s.icmp
	case layers.TransportARP:
		a := &p.ARP
		s.arp = health.ARPObs{Op: a.Op, SenderMAC: a.SenderMAC, SenderIP: a.SenderIP, TargetMAC: a.TargetMAC, TargetIP: a.TargetIP}
		out.ARP = &s.arp
		out.Proto = 0
	}
}

// fillDNS converts a parsed DNS message into s.dns.
func fillDNS(m *layers.DNSMessage, s *netScratch) *health.DNSObs {
	s.dns = health.DNSObs{ID: m.ID, Response: m.Response, RCode: m.RCode, Answers: s.answers[:0]}
	if len(m.Questions) > 0 {
		s.dns.Question, s.dns.QType = m.Questions[0].Name, m.Questions[0].Type
	}
	for _, a := range m.Answers {
		if len(s.dns.Answers) == len(s.answers) {
			break
		}
		switch a.Type {
		case layers.DNSTypeA, layers.DNSTypeAAAA:
			s.dns.Answers = append(s.dns.Answers, health.DNSAnswer{Name: a.Name, Type: a.Type, Addr: a.Addr.Unmap(), TTL: a.TTL})
		case layers.DNSTypeCNAME:
			s.dns.Answers = append(s.dns.Answers, health.DNSAnswer{Name: a.Name, Type: a.Type, Target: a.Host, TTL: a.TTL})
		}
	}
	return &s.dns
}
