package layers

import (
	"fmt"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"golang.org/x/crypto/cryptobyte"
)

// This file decodes the encapsulations a frame can carry before the IP
// packet that is analysed: link-layer ones (stacked VLAN tags, PPPoE
// sessions, MPLS label stacks) and tunnels over IP (GRE with its
// transparent-Ethernet and ERSPAN payloads, VXLAN, IP-in-IP). Each is
// decoded by hand, without allocating, and hands its payload back to the
// link or IP decoders, so the inner packet is analysed like any other.
// Nesting is bounded by maxEncapDepth.

// Encap is the set of encapsulations a Packet was carried in, outermost
// first in no particular order. It is zero for a plain frame.
type Encap uint16

// Encapsulations.
const (
	EncapVLAN   Encap = 1 << iota // 802.1Q tag, 802.1ad (QinQ) or 0x9100 stacked tags
	EncapPPPoE                    // PPPoE session (RFC 2516)
	EncapMPLS                     // MPLS label stack (RFC 3032)
	EncapGRE                      // GRE (RFC 2784, 2890; PPTP's enhanced GRE, RFC 2637)
	EncapVXLAN                    // VXLAN (RFC 7348)
	EncapERSPAN                   // ERSPAN type I, II or III over GRE
	EncapIPinIP                   // IPv4 or IPv6 in IPv4 or IPv6 (IP protocols 4 and 41)
)

var encapNames = [...]string{"vlan", "pppoe", "mpls", "gre", "vxlan", "erspan", "ip-in-ip"}

// String lists the encapsulations, joined by "+": "gre+erspan", "" for
// none.
func (e Encap) String() string {
	var b []byte
	for i, n := range encapNames {
		if e&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '+')
			}
			b = append(b, n...)
		}
	}
	return string(b)
}

// maxEncapDepth bounds the encapsulations decoded by hand in one frame
// (VLAN tags beyond gopacket's, PPPoE, MPLS stacks, GRE, ERSPAN, VXLAN,
// IP-in-IP after reassembly); a frame nested deeper is counted as not
// decoded.
const maxEncapDepth = 8

// maxMPLSLabels bounds one MPLS label stack (RFC 3032, 2.1: the bottom of
// stack bit ends it).
const maxMPLSLabels = 16

// EtherTypes and protocol numbers of the encapsulations.
const (
	etherIPv4          = 0x0800
	etherARP           = 0x0806
	etherVLAN          = 0x8100 // IEEE 802.1Q
	etherQinQ          = 0x88a8 // IEEE 802.1ad
	etherQinQOld       = 0x9100 // pre-standard stacked VLAN
	etherIPv6          = 0x86dd
	etherPPPoEDisc     = 0x8863 // RFC 2516, 5.1-5.5
	etherPPPoESess     = 0x8864 // RFC 2516, 6
	etherMPLS          = 0x8847
	etherMPLSMulticast = 0x8848
	etherTEB           = 0x6558 // transparent Ethernet bridging (GRE)
	etherERSPAN2       = 0x88be // ERSPAN type I (no sequence number) and II
	etherERSPAN3       = 0x22eb
	etherPPP           = 0x880b // PPP over PPTP's enhanced GRE (RFC 2637, 4.1)

	pppIPv4 = 0x0021 // RFC 1332
	pppIPv6 = 0x0057 // RFC 5072

	vxlanPort = 4789 // RFC 7348, 5 (IANA)

	protoIPIP = 4  // IPv4 encapsulation (RFC 2003)
	protoIPv6 = 41 // IPv6 encapsulation (RFC 4213)
	protoGRE  = 47
)

// enter counts one more encapsulation of the current frame and reports
// whether the nesting bound allows decoding it.
func (d *Decoder) enter(e Encap) bool {
	d.depth++
	if d.depth > maxEncapDepth {
		return false
	}
	d.pkt.Encap |= e
	return true
}

// etherPayload continues after a link header (Ethernet, a VLAN tag, Linux
// cooked capture) that named etype for b.
func (d *Decoder) etherPayload(etype uint16, b []byte) (*Packet, bool) {
	switch etype {
	case etherIPv4:
		return d.link(d.pIP4, glayers.LayerTypeIPv4, b)
	case etherIPv6:
		return d.link(d.pIP6, glayers.LayerTypeIPv6, b)
	case etherARP:
		return d.arp(b)
	case etherVLAN, etherQinQ, etherQinQOld:
		return d.vlan(b)
	case etherPPPoESess:
		return d.pppoe(b)
	case etherMPLS, etherMPLSMulticast:
		return d.mpls(b)
	}
	d.notDecoded(undecodedEtherType, uint32(etype))
	return nil, false
}

// vlan decodes one VLAN tag (IEEE 802.1Q: TCI, then the EtherType of what
// follows) that gopacket's parser did not (0x9100 tags, or a tag after an
// encapsulation decoded by hand).
func (d *Decoder) vlan(b []byte) (*Packet, bool) {
	if !d.enter(EncapVLAN) {
		return d.tooDeep()
	}
	s := cryptobyte.String(b)
	var tci, etype uint16
	if !s.ReadUint16(&tci) || !s.ReadUint16(&etype) {
		return d.shortHeader("vlan", 4, len(b))
	}
	return d.etherPayload(etype, []byte(s))
}

// pppoe decodes a PPPoE session header (RFC 2516, 4: version and type 1,
// code 0, session id, length) and the PPP protocol field after it, and
// continues with an IPv4 or IPv6 payload. PPP control protocols (LCP,
// IPCP, authentication) carry no IP packet: they are counted as not
// decoded.
func (d *Decoder) pppoe(b []byte) (*Packet, bool) {
	if !d.enter(EncapPPPoE) {
		return d.tooDeep()
	}
	s := cryptobyte.String(b)
	var verType, code uint8
	var session, length uint16
	if !s.ReadUint8(&verType) || !s.ReadUint8(&code) || !s.ReadUint16(&session) || !s.ReadUint16(&length) {
		return d.shortHeader("pppoe", 6, len(b))
	}
	if verType != 0x11 || code != 0 {
		d.decodeError("pppoe", fmt.Sprintf("session frame with version/type 0x%02x, code 0x%02x (want 0x11, 0)", verType, code))
		return nil, false
	}
	payload := []byte(s)
	if int(length) < len(payload) { // Ethernet padding after the PPP frame
		payload = payload[:length]
	}
	return d.ppp(payload)
}

// ppp decodes the PPP protocol field (RFC 1661, 2; one byte when
// compressed, RFC 1661, 6.5) and continues with an IP payload.
func (d *Decoder) ppp(b []byte) (*Packet, bool) {
	if len(b) == 0 {
		return d.shortHeader("ppp", 1, 0)
	}
	proto, n := uint16(b[0]), 1
	if b[0]&1 == 0 { // an even first byte: a two-byte protocol field
		if len(b) < 2 {
			return d.shortHeader("ppp", 2, len(b))
		}
		proto, n = uint16(b[0])<<8|uint16(b[1]), 2
	}
	switch proto {
	case pppIPv4:
		return d.link(d.pIP4, glayers.LayerTypeIPv4, b[n:])
	case pppIPv6:
		return d.link(d.pIP6, glayers.LayerTypeIPv6, b[n:])
	}
	d.notDecoded(undecodedPPP, uint32(proto))
	return nil, false
}

// mpls decodes an MPLS label stack (RFC 3032, 2.1) up to its bottom entry
// and guesses the payload as tshark does: a first nibble of 4 is IPv4, 6
// is IPv6; otherwise an Ethernet pseudowire (RFC 4448), without a control
// word when an EtherType nettrace decodes sits where Ethernet's would,
// else with one (RFC 4385, 3: four bytes, first nibble 0).
func (d *Decoder) mpls(b []byte) (*Packet, bool) {
	if !d.enter(EncapMPLS) {
		return d.tooDeep()
	}
	s := cryptobyte.String(b)
	for i := 0; ; i++ {
		var entry uint32
		if !s.ReadUint32(&entry) {
			return d.shortHeader("mpls", 4*(i+1), len(b))
		}
		if entry&0x100 != 0 { // bottom of stack
			break
		}
		if i+1 >= maxMPLSLabels {
			d.decodeError("mpls", fmt.Sprintf("no bottom of stack within %d labels", maxMPLSLabels))
			return nil, false
		}
	}
	payload := []byte(s)
	if len(payload) == 0 {
		return d.shortHeader("mpls payload", 1, 0)
	}
	switch payload[0] >> 4 {
	case 4:
		return d.link(d.pIP4, glayers.LayerTypeIPv4, payload)
	case 6:
		return d.link(d.pIP6, glayers.LayerTypeIPv6, payload)
	}
	switch {
	case plainEthernet(payload):
		return d.innerEthernet(payload)
	case payload[0]>>4 == 0 && len(payload) > 4 && plainEthernet(payload[4:]):
		return d.innerEthernet(payload[4:])
	}
	d.notDecoded(undecodedMPLSPayload, uint32(payload[0]>>4))
	return nil, false
}

// plainEthernet reports whether b starts with an Ethernet header whose
// EtherType nettrace decodes.
func plainEthernet(b []byte) bool {
	if len(b) < 14 {
		return false
	}
	switch uint16(b[12])<<8 | uint16(b[13]) {
	case etherIPv4, etherIPv6, etherARP, etherVLAN, etherQinQ, etherQinQOld, etherPPPoESess, etherMPLS, etherMPLSMulticast:
		return true
	}
	return false
}

// innerEthernet decodes an Ethernet frame carried inside another packet.
func (d *Decoder) innerEthernet(b []byte) (*Packet, bool) {
	return d.link(d.pEth, glayers.LayerTypeEthernet, b)
}

// tunnel handles an IP packet whose protocol is a tunnel (GRE, IP-in-IP)
// and b its payload; ok false means proto is not one.
func (d *Decoder) tunnel(proto uint8, b []byte) (p *Packet, decoded, ok bool) {
	switch proto {
	case protoGRE:
		p, decoded = d.gre(b)
		return p, decoded, true
	case protoIPIP, protoIPv6:
		if !d.enter(EncapIPinIP) {
			p, decoded = d.tooDeep()
			return p, decoded, true
		}
		d.innerPacket()
		if proto == protoIPIP {
			p, decoded = d.link(d.pIP4, glayers.LayerTypeIPv4, b)
		} else {
			p, decoded = d.link(d.pIP6, glayers.LayerTypeIPv6, b)
		}
		return p, decoded, true
	}
	return nil, false, false
}

// innerPacket clears the IP and transport fields of the outer packet
// before its inner packet is decoded into the same Packet: the frame's
// fields, its reassembly and its encapsulations stay.
func (d *Decoder) innerPacket() {
	p := &d.pkt
	keep := *p
	*p = Packet{}
	p.Frame, p.Time, p.CapLen, p.WireLen, p.Raw, p.Truncated = keep.Frame, keep.Time, keep.CapLen, keep.WireLen, keep.Raw, keep.Truncated
	p.Reassembled, p.FragFrames, p.Encap = keep.Reassembled, keep.FragFrames, keep.Encap
	d.l4seg = nil
}

// GRE header flags (RFC 2784, 2.1; RFC 2890, 2; RFC 2637, 4.1).
const (
	greChecksum = 0x8000
	greRouting  = 0x4000
	greKey      = 0x2000
	greSeq      = 0x1000
	greAck      = 0x0080 // enhanced GRE (version 1) only
	greVersion  = 0x0007
)

// gre decodes a GRE header (RFC 2784 with the key and sequence number of
// RFC 2890; version 1 is PPTP's enhanced GRE, RFC 2637, 4.1) at the front
// of b, the payload of the outer IP packet, and continues with what its
// protocol type names. When the payload is not decoded, the outer packet
// is returned as an IP packet of protocol 47 and the frame is counted as
// not decoded.
func (d *Decoder) gre(b []byte) (*Packet, bool) {
	if !d.enter(EncapGRE) {
		return d.tooDeep()
	}
	s := cryptobyte.String(b)
	var flags, proto uint16
	if !s.ReadUint16(&flags) || !s.ReadUint16(&proto) {
		return d.outer(undecodedShortGRE, 0)
	}
	version := flags & greVersion
	switch {
	case version > 1:
		return d.outer(undecodedGREVersion, uint32(version))
	case flags&greRouting != 0: // RFC 1701 source routing, deprecated by RFC 2784
		return d.outer(undecodedGRERouting, 0)
	}
	skip := 0
	for _, f := range [...]uint16{greChecksum, greKey, greSeq} {
		if flags&f != 0 {
			skip += 4 // checksum+reserved, key (PPTP: payload length+call id), sequence number
		}
	}
	if version == 1 && flags&greAck != 0 {
		skip += 4
	}
	if !s.Skip(skip) {
		return d.outer(undecodedShortGRE, 0)
	}
	payload := []byte(s)
	switch proto {
	case etherIPv4, etherIPv6, etherTEB, etherMPLS, etherMPLSMulticast:
		d.innerPacket()
		switch proto {
		case etherIPv4:
			return d.link(d.pIP4, glayers.LayerTypeIPv4, payload)
		case etherIPv6:
			return d.link(d.pIP6, glayers.LayerTypeIPv6, payload)
		case etherTEB:
			return d.innerEthernet(payload)
		}
		return d.mpls(payload)
	case etherERSPAN2:
		if flags&greSeq == 0 { // type I: no ERSPAN header, the mirrored frame follows
			if !d.enter(EncapERSPAN) {
				return d.tooDeep()
			}
			d.innerPacket()
			return d.innerEthernet(payload)
		}
		return d.erspan2(payload)
	case etherERSPAN3:
		return d.erspan3(payload)
	case etherPPP:
		if version == 1 {
			return d.pptp(payload)
		}
	}
	return d.outer(undecodedGREProto, uint32(proto))
}

// pptp decodes the PPP frame of PPTP's enhanced GRE (RFC 2637, 4.1): an
// optional address and control field (0xff 0x03, RFC 1662, 3.1), then the
// protocol.
func (d *Decoder) pptp(b []byte) (*Packet, bool) {
	if len(b) == 0 { // an acknowledgment without payload
		return d.outer(undecodedPPP, 0)
	}
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		b = b[2:]
	}
	if len(b) > 0 && (b[0] == 0x21 || len(b) > 1 && b[0] == 0 && (b[1] == 0x21 || b[1] == 0x57)) {
		d.innerPacket()
		return d.ppp(b)
	}
	var proto uint32
	if len(b) > 1 {
		proto = uint32(b[0])<<8 | uint32(b[1])
	}
	return d.outer(undecodedPPP, proto)
}

// erspan2 decodes an ERSPAN type II header (8 bytes: version 1, VLAN,
// CoS, encapsulation type, truncated bit, session ID, index; see
// draft-foschiano-erspan, 4.1) and the mirrored Ethernet frame after it.
func (d *Decoder) erspan2(b []byte) (*Packet, bool) {
	if !d.enter(EncapERSPAN) {
		return d.tooDeep()
	}
	if len(b) < 8 {
		return d.outer(undecodedShortERSPAN, 2)
	}
	if v := b[0] >> 4; v != 1 {
		return d.outer(undecodedERSPANVersion, uint32(v))
	}
	d.innerPacket()
	return d.innerEthernet(b[8:])
}

// erspan3 decodes an ERSPAN type III header (12 bytes: version 2, VLAN,
// CoS, BSO, truncated bit, session ID, timestamp, SGT, then P, frame type,
// hardware ID, direction, granularity and O, which announces an 8-byte
// platform-specific subheader; draft-foschiano-erspan, 4.2) and the
// mirrored frame after it: Ethernet (frame type 0) or IP (frame type 2).
func (d *Decoder) erspan3(b []byte) (*Packet, bool) {
	if !d.enter(EncapERSPAN) {
		return d.tooDeep()
	}
	s := cryptobyte.String(b)
	var verVLAN, sess, sgt, last uint16
	var ts uint32
	if !s.ReadUint16(&verVLAN) || !s.ReadUint16(&sess) || !s.ReadUint32(&ts) || !s.ReadUint16(&sgt) || !s.ReadUint16(&last) {
		return d.outer(undecodedShortERSPAN, 3)
	}
	if v := verVLAN >> 12; v != 2 {
		return d.outer(undecodedERSPANVersion, uint32(v))
	}
	if last&1 != 0 && !s.Skip(8) { // O: platform-specific subheader
		return d.outer(undecodedShortERSPAN, 3)
	}
	payload := []byte(s)
	switch ft := (last >> 10) & 0x1f; ft {
	case 0:
		d.innerPacket()
		return d.innerEthernet(payload)
	case 2:
		if len(payload) > 0 && payload[0]>>4 == 4 {
			d.innerPacket()
			return d.link(d.pIP4, glayers.LayerTypeIPv4, payload)
		}
		if len(payload) > 0 && payload[0]>>4 == 6 {
			d.innerPacket()
			return d.link(d.pIP6, glayers.LayerTypeIPv6, payload)
		}
		return d.outer(undecodedERSPANFrameType, uint32(ft))
	default:
		return d.outer(undecodedERSPANFrameType, uint32(ft))
	}
}

// isVXLAN reports whether a UDP datagram to the VXLAN port holds a VXLAN
// header with its I flag set (RFC 7348, 5: it must be), so that other
// traffic on port 4789 stays UDP.
func isVXLAN(p *Packet) bool {
	return p.UDP.DstPort == vxlanPort && len(p.Payload) >= 8 && p.Payload[0]&0x08 != 0
}

// vxlan decodes the VXLAN header (RFC 7348, 5: flags, reserved, VNI,
// reserved) at the front of b and the Ethernet frame after it.
func (d *Decoder) vxlan(b []byte) (*Packet, bool) {
	if !d.enter(EncapVXLAN) {
		return d.tooDeep()
	}
	d.innerPacket()
	return d.innerEthernet(b[8:])
}

// outer counts the frame as not decoded because of what its tunnel
// carries, and returns the outer IP packet, which is still analysed.
func (d *Decoder) outer(what undecodedWhat, code uint32) (*Packet, bool) {
	d.notDecoded(what, code)
	d.checkChecksums()
	return &d.pkt, true
}

// tooDeep counts a frame nested deeper than maxEncapDepth.
func (d *Decoder) tooDeep() (*Packet, bool) {
	d.notDecoded(undecodedTooDeep, maxEncapDepth)
	return nil, false
}

// shortHeader reports an encapsulation header the frame is too short for:
// a decode error, unless the snapshot length cut it.
func (d *Decoder) shortHeader(layer string, need, have int) (*Packet, bool) {
	if !d.pkt.Truncated {
		d.decodeError(layer, fmt.Sprintf("header needs %d bytes, %d available", need, have))
	}
	return nil, false
}

// linkEtherType returns the EtherType (or, for BSD loopback, the address
// family) that the last link layer gopacket decoded names, and its
// payload.
func (d *Decoder) linkEtherType(last gopacket.LayerType) (etype uint16, payload []byte, what undecodedWhat) {
	switch last {
	case glayers.LayerTypeEthernet:
		if d.eth.EthernetType == glayers.EthernetTypeLLC {
			return 0, nil, undecodedLLC
		}
		return uint16(d.eth.EthernetType), d.eth.Payload, undecodedEtherType
	case glayers.LayerTypeDot1Q:
		return uint16(d.dot1q.Type), d.dot1q.Payload, undecodedEtherType
	case glayers.LayerTypeLinuxSLL:
		return uint16(d.sll.EthernetType), d.sll.Payload, undecodedEtherType
	case glayers.LayerTypeLoopback:
		return uint16(d.loop.Family), nil, undecodedLoopFamily
	}
	return 0, nil, undecodedOther
}
