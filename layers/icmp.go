package layers

import (
	"fmt"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// ICMP types that carry a quoted packet or an MTU (RFC 792, RFC 1191,
// RFC 4443).
const (
	icmp4EchoReply      = 0
	icmp4Unreachable    = 3
	icmp4SourceQuench   = 4
	icmp4Redirect       = 5
	icmp4Echo           = 8
	icmp4TimeExceeded   = 11
	icmp4ParamProblem   = 12
	icmp4CodeFragNeeded = 4

	icmp6Unreachable  = 1
	icmp6PacketTooBig = 2
	icmp6TimeExceeded = 3
	icmp6ParamProblem = 4
	icmp6Echo         = 128
	icmp6EchoReply    = 129
	icmp6Redirect     = 137
)

// decodeICMP fills p.ICMP from the ICMPv4 or ICMPv6 message in b (declared
// bytes long per the IP header).
func (d *Decoder) decodeICMP(b []byte, declared int) bool {
	p := &d.pkt
	if len(b) < 8 && !(p.Truncated && declared >= 8) {
		d.decodeError(ProtoName(p.IPProto), fmt.Sprintf("message needs 8 bytes, %d available", len(b)))
		return false
	}
	if err := ParseICMP(b, p.Network == 6, &p.ICMP); err != nil {
		if p.Truncated {
			return true
		}
		d.decodeError(ProtoName(p.IPProto), err.Error())
		return false
	}
	p.Transport = TransportICMP
	p.PayloadLen = declared - 8
	p.Payload = b[8:min(len(b), declared)]
	if !d.lim.SkipChecksums && len(b) >= declared && !p.Truncated {
		p.L4Checksum = d.l4Checksum(p.IPProto, b[:declared])
	}
	return true
}

// ParseICMP decodes an ICMPv4 (RFC 792) or ICMPv6 (RFC 4443) message into
// h: type, code, echo id/seq, the next-hop MTU of "fragmentation needed"
// (RFC 1191) or "packet too big", a redirect's gateway, and for error
// messages the headers of the quoted packet (which may be cut to 8 transport
// bytes, RFC 792). h does not alias b. It fails only when b holds fewer than
// the 8-byte ICMP header.
func ParseICMP(b []byte, v6 bool, h *ICMPHeader) error {
	*h = ICMPHeader{V6: v6}
	s := cryptobyte.String(b)
	var csum uint16
	var rest cryptobyte.String
	if !s.ReadUint8(&h.Type) || !s.ReadUint8(&h.Code) || !s.ReadUint16(&csum) || !s.ReadBytes((*[]byte)(&rest), 4) {
		return fmt.Errorf("icmp: header needs 8 bytes, %d available", len(b))
	}
	var quote []byte
	if !v6 {
		switch h.Type {
		case icmp4Echo, icmp4EchoReply, 13, 14, 15, 16: // echo, timestamp, information
			rest.ReadUint16(&h.ID)
			rest.ReadUint16(&h.Seq)
		case icmp4Unreachable:
			h.IsError = true
			if h.Code == icmp4CodeFragNeeded {
				var unused uint16
				rest.ReadUint16(&unused)
				rest.ReadUint16(&h.MTU)
			}
		case icmp4Redirect:
			h.IsError = true
			var gw [4]byte
			rest.CopyBytes(gw[:])
			h.Gateway = netip.AddrFrom4(gw)
		case icmp4SourceQuench, icmp4TimeExceeded, icmp4ParamProblem:
			h.IsError = true
		}
		if h.IsError {
			quote = s
		}
	} else {
		switch h.Type {
		case icmp6Echo, icmp6EchoReply:
			rest.ReadUint16(&h.ID)
			rest.ReadUint16(&h.Seq)
		case icmp6PacketTooBig:
			h.IsError = true
			var mtu uint32
			rest.ReadUint32(&mtu)
			h.MTU = uint16(min(mtu, 65535))
			quote = s
		case icmp6Unreachable, icmp6TimeExceeded, icmp6ParamProblem:
			h.IsError = true
			quote = s
		case icmp6Redirect: // RFC 4861, 4.5: reserved, target, destination
			h.IsError = true
			var target [16]byte
			if s.CopyBytes(target[:]) {
				h.Gateway = netip.AddrFrom16(target)
			}
		}
	}
	if quote != nil {
		h.Quoted = parseQuoted(quote)
	}
	return nil
}

// parseQuoted decodes the IP header and the first transport bytes of the
// packet an ICMP error quotes. Valid is false when the IP header is not
// complete.
func parseQuoted(b []byte) Quoted {
	var q Quoted
	s := cryptobyte.String(b)
	var vihl uint8
	if len(b) == 0 {
		return q
	}
	vihl = b[0]
	var transport cryptobyte.String
	switch vihl >> 4 {
	case 4:
		ihl := int(vihl&0x0f) * 4
		var hdr cryptobyte.String
		if ihl < 20 || !s.ReadBytes((*[]byte)(&hdr), ihl) {
			return q
		}
		var src, dst [4]byte
		hdr.Skip(2)
		hdr.ReadUint16(&q.IPLen)
		hdr.Skip(5)
		hdr.ReadUint8(&q.Proto)
		hdr.Skip(2)
		hdr.CopyBytes(src[:])
		hdr.CopyBytes(dst[:])
		q.Src, q.Dst = netip.AddrFrom4(src), netip.AddrFrom4(dst)
		transport = s
	case 6:
		var hdr cryptobyte.String
		if !s.ReadBytes((*[]byte)(&hdr), 40) {
			return q
		}
		var src, dst [16]byte
		var plen uint16
		hdr.Skip(4)
		hdr.ReadUint16(&plen)
		hdr.ReadUint8(&q.Proto)
		hdr.Skip(1)
		hdr.CopyBytes(src[:])
		hdr.CopyBytes(dst[:])
		q.Src, q.Dst = netip.AddrFrom16(src), netip.AddrFrom16(dst)
		q.IPLen = uint16(min(int(plen)+40, 65535))
		transport = s
		// Skip extension headers, a few at most.
		for i := 0; i < 4; i++ {
			switch q.Proto {
			case 0, 43, 60:
				var nh, l uint8
				if !transport.ReadUint8(&nh) || !transport.ReadUint8(&l) || !transport.Skip(int(l)*8+6) {
					q.Valid = true
					return q
				}
				q.Proto = nh
				continue
			case 44:
				var nh uint8
				if !transport.ReadUint8(&nh) || !transport.Skip(7) {
					q.Valid = true
					return q
				}
				q.Proto = nh
				continue
			}
			break
		}
	default:
		return q
	}
	q.Valid = true
	switch q.Proto {
	case ProtoTCP, ProtoUDP:
		transport.ReadUint16(&q.SrcPort)
		transport.ReadUint16(&q.DstPort)
		if q.Proto == ProtoTCP {
			transport.ReadUint32(&q.TCPSeq)
		}
	}
	return q
}

// arp decodes an ARP packet (RFC 826). Only Ethernet/IPv4 addresses are
// filled in; other hardware or protocol types keep Op only.
func (d *Decoder) arp(b []byte) (*Packet, bool) {
	p := &d.pkt
	s := cryptobyte.String(b)
	var htype, ptype uint16
	var hlen, plen uint8
	a := &p.ARP
	if !s.ReadUint16(&htype) || !s.ReadUint16(&ptype) || !s.ReadUint8(&hlen) || !s.ReadUint8(&plen) || !s.ReadUint16(&a.Op) {
		if p.Truncated {
			return nil, false
		}
		d.decodeError("arp", fmt.Sprintf("header needs 8 bytes, %d available", len(b)))
		return nil, false
	}
	p.Transport = TransportARP
	if hlen != 6 || plen != 4 {
		return p, true
	}
	var sip, tip [4]byte
	if !s.CopyBytes(a.SenderMAC[:]) || !s.CopyBytes(sip[:]) || !s.CopyBytes(a.TargetMAC[:]) || !s.CopyBytes(tip[:]) {
		if p.Truncated {
			return p, true
		}
		d.decodeError("arp", fmt.Sprintf("addresses need 20 bytes, %d available", len(b)-8))
		return nil, false
	}
	a.SenderIP, a.TargetIP = netip.AddrFrom4(sip), netip.AddrFrom4(tip)
	return p, true
}
