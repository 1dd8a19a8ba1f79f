package layers

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// Jump targets that end the evaluation of a filter.
const (
	jumpAccept int32 = -1
	jumpReject int32 = -2
)

// insn is one test of a compiled filter: evaluation continues at jt when
// the test holds and at jf when it does not (an index, or jumpAccept /
// jumpReject). Like a BPF program, a filter is a chain of such tests; "and",
// "or" and "not" exist only as jumps.
type insn struct {
	prim
	jt, jf int32
}

// compileProgram turns the parsed expression into tests linked by
// forward jumps, evaluated from index 0.
func compileProgram(root *fnode) []insn {
	var b []insn
	var gen func(n *fnode, t, f int32) int32
	// gen appends the tests of n, which jump to t when n holds and to f
	// when it does not, and returns the index of n's first test. Targets
	// are generated before the tests that jump to them, so the program is
	// built backwards: the last appended test runs first.
	gen = func(n *fnode, t, f int32) int32 {
		switch n.kind {
		case nodeNot:
			return gen(n.kids[0], f, t)
		case nodeAnd:
			entry := t
			for i := len(n.kids) - 1; i >= 0; i-- {
				entry = gen(n.kids[i], entry, f)
			}
			return entry
		case nodeOr:
			entry := f
			for i := len(n.kids) - 1; i >= 0; i-- {
				entry = gen(n.kids[i], t, entry)
			}
			return entry
		}
		b = append(b, insn{prim: n.prim, jt: t, jf: f})
		return int32(len(b) - 1)
	}
	gen(root, jumpAccept, jumpReject)
	// Reverse into execution order: the entry (appended last) becomes 0 and
	// every jump, which went to an earlier-appended test, goes forward.
	last := int32(len(b) - 1)
	prog := make([]insn, len(b))
	for i, in := range b {
		if in.jt >= 0 {
			in.jt = last - in.jt
		}
		if in.jf >= 0 {
			in.jf = last - in.jf
		}
		prog[last-int32(i)] = in
	}
	return prog
}

// test reports whether the primitive holds for v.
func (in *insn) test(v *filterView) bool {
	switch in.op {
	case opProto:
		switch in.proto {
		case protoIP:
			return v.network == 4
		case protoIP6:
			return v.network == 6
		case protoARP:
			return v.arp
		case protoTCP:
			return v.network != 0 && v.proto == ProtoTCP
		case protoUDP:
			return v.network != 0 && v.proto == ProtoUDP
		case protoICMP:
			return v.network == 4 && v.proto == ProtoICMP
		case protoICMP6:
			return v.network == 6 && v.proto == ProtoICMPv6
		}
		return false
	case opIPProto:
		return in.networkOK(v) && v.proto == in.num
	case opHost, opNet:
		if !in.networkOK(v) && !(v.arp && (in.proto == protoAny || in.proto == protoARP)) {
			return false
		}
		return in.dirTest(in.net.Contains(v.src), in.net.Contains(v.dst))
	case opPortRange:
		if !v.ports || in.proto == protoTCP && v.proto != ProtoTCP || in.proto == protoUDP && v.proto != ProtoUDP {
			return false
		}
		return in.dirTest(in.lo <= v.sport && v.sport <= in.hi, in.lo <= v.dport && v.dport <= in.hi)
	case opVLAN:
		return v.vlan && (in.vlan < 0 || uint16(in.vlan) == v.vlanID)
	}
	return false
}

// networkOK reports whether v is an IP packet of the primitive's network
// qualifier (any, ip or ip6; arp is not IP).
func (in *insn) networkOK(v *filterView) bool {
	switch in.proto {
	case protoIP:
		return v.network == 4
	case protoIP6:
		return v.network == 6
	case protoARP:
		return false
	}
	return v.network != 0
}

// dirTest combines the source and destination results by direction.
func (in *insn) dirTest(src, dst bool) bool {
	switch in.dir {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirBoth:
		return src && dst
	}
	return src || dst
}

// The Ethernet types the filter looks at are those of encap.go.

// maxVLANTags bounds the tags walked in one frame.
const maxVLANTags = 8

func isVLANType(t uint16) bool { return t == etherVLAN || t == etherQinQ || t == etherQinQOld }

// fromFrame fills v from a frame's bytes of link type link: the link
// header, VLAN tags, the outer IPv4/IPv6 header or ARP, and the TCP/UDP
// ports of a first fragment. What is cut short stays unset.
func (v *filterView) fromFrame(b []byte, link uint16) {
	s := cryptobyte.String(b)
	var etype uint16
	switch link {
	case linkEthernet:
		if !s.Skip(12) || !s.ReadUint16(&etype) {
			return
		}
	case linkSLL:
		if !s.Skip(14) || !s.ReadUint16(&etype) {
			return
		}
	case LinkTypeLinuxSLL2:
		if !s.ReadUint16(&etype) || !s.Skip(sll2HeaderLen-2) {
			return
		}
	case linkNull, linkLoop:
		if !s.Skip(4) {
			return
		}
		v.fromIP(s)
		return
	case linkRaw, linkIPv4, linkIPv6, linkDLTRaw12, linkDLTRaw14:
		v.fromIP(s)
		return
	default:
		return
	}
	for i := 0; i < maxVLANTags && isVLANType(etype); i++ {
		var tci uint16
		if !s.ReadUint16(&tci) || !s.ReadUint16(&etype) {
			return
		}
		if !v.vlan {
			v.vlan, v.vlanID = true, tci&0x0fff
		}
	}
	switch etype {
	case etherIPv4, etherIPv6:
		v.fromIP(s)
	case etherARP:
		v.fromARP(s)
	}
}

// fromIP reads an IPv4 or IPv6 packet (by its version nibble).
func (v *filterView) fromIP(s cryptobyte.String) {
	if len(s) == 0 {
		return
	}
	switch s[0] >> 4 {
	case 4:
		v.fromIPv4(s)
	case 6:
		v.fromIPv6(s)
	}
}

// fromIPv4 reads an IPv4 header (RFC 791, 3.1) and, in a first fragment,
// the ports after it.
func (v *filterView) fromIPv4(s cryptobyte.String) {
	var vihl, proto uint8
	var frag uint16
	var src, dst [4]byte
	if !s.ReadUint8(&vihl) || !s.Skip(5) || !s.ReadUint16(&frag) || !s.Skip(1) || !s.ReadUint8(&proto) || !s.Skip(2) ||
		!s.CopyBytes(src[:]) || !s.CopyBytes(dst[:]) {
		return
	}
	ihl := int(vihl&0x0f) * 4
	if ihl < 20 {
		return
	}
	v.network, v.proto = 4, proto
	v.src, v.dst = netip.AddrFrom4(src), netip.AddrFrom4(dst)
	if frag&0x1fff != 0 || !s.Skip(ihl-20) {
		return // a later fragment has no transport header
	}
	v.readPorts(s)
}

// IPv6 next-header values walked to the transport (RFC 8200, 4).
const (
	ip6HopByHop = 0
	ip6Routing  = 43
	ip6Fragment = 44
	ip6AH       = 51
	ip6DestOpts = 60
)

// maxIPv6Ext bounds the extension headers walked.
const maxIPv6Ext = 8

// fromIPv6 reads an IPv6 header (RFC 8200, 3) and walks its extension
// headers to the transport; a later fragment has no ports.
func (v *filterView) fromIPv6(s cryptobyte.String) {
	var next uint8
	var src, dst [16]byte
	if !s.Skip(6) || !s.ReadUint8(&next) || !s.Skip(1) || !s.CopyBytes(src[:]) || !s.CopyBytes(dst[:]) {
		return
	}
	v.network, v.proto = 6, next
	v.src, v.dst = netip.AddrFrom16(src), netip.AddrFrom16(dst)
	for i := 0; i < maxIPv6Ext; i++ {
		var nh, hl uint8
		switch next {
		case ip6HopByHop, ip6Routing, ip6DestOpts:
			if !s.ReadUint8(&nh) || !s.ReadUint8(&hl) || !s.Skip(int(hl)*8+6) {
				return
			}
		case ip6AH:
			if !s.ReadUint8(&nh) || !s.ReadUint8(&hl) || !s.Skip((int(hl)+2)*4-2) {
				return
			}
		case ip6Fragment:
			var off uint16
			if !s.ReadUint8(&nh) || !s.Skip(1) || !s.ReadUint16(&off) || !s.Skip(4) {
				return
			}
			v.proto = nh
			if off&0xfff8 != 0 {
				return // a later fragment
			}
		default:
			v.readPorts(s)
			return
		}
		next = nh
		v.proto = next
	}
}

// readPorts reads the TCP or UDP ports at the front of s.
func (v *filterView) readPorts(s cryptobyte.String) {
	if v.proto != ProtoTCP && v.proto != ProtoUDP {
		return
	}
	if s.ReadUint16(&v.sport) && s.ReadUint16(&v.dport) {
		v.ports = true
	}
}

// fromARP reads the sender and target protocol addresses of an ARP packet
// for IPv4 (RFC 826).
func (v *filterView) fromARP(s cryptobyte.String) {
	var ptype uint16
	var hlen, plen uint8
	if !s.Skip(2) || !s.ReadUint16(&ptype) || !s.ReadUint8(&hlen) || !s.ReadUint8(&plen) || !s.Skip(2) {
		return
	}
	v.arp = true
	if ptype != etherIPv4 || plen != 4 {
		return
	}
	var spa, tpa [4]byte
	if !s.Skip(int(hlen)) || !s.CopyBytes(spa[:]) || !s.Skip(int(hlen)) || !s.CopyBytes(tpa[:]) {
		return
	}
	v.src, v.dst = netip.AddrFrom4(spa), netip.AddrFrom4(tpa)
}

// rawVLAN finds the VLAN tag of a decoded packet in its frame bytes. The
// Packet does not record its link type, so a tag counts only when the
// bytes after it hold the packet the Decoder found there (its IP version
// and source address, or ARP): Ethernet and Linux cooked (SLL) headers are
// tried.
func rawVLAN(p *Packet) (bool, uint16) {
	raw := p.Raw
	for _, off := range [...]int{12, 14} { // Ethernet, SLL
		if len(raw) < off+4 || !isVLANType(binary.BigEndian.Uint16(raw[off:])) {
			continue
		}
		id := binary.BigEndian.Uint16(raw[off+2:]) & 0x0fff
		s := cryptobyte.String(raw[off:])
		var etype, tci uint16
		for i := 0; i < maxVLANTags; i++ {
			if !s.ReadUint16(&etype) {
				break
			}
			if !isVLANType(etype) {
				if packetAt(p, etype, s) {
					return true, id
				}
				break
			}
			if !s.ReadUint16(&tci) {
				break
			}
		}
	}
	return false, 0
}

// packetAt reports whether s, of Ethernet type etype, starts with the
// network header p was decoded from.
func packetAt(p *Packet, etype uint16, s cryptobyte.String) bool {
	switch {
	case etype == etherARP:
		return p.Transport == TransportARP
	case etype == etherIPv4 && p.Network == 4:
		var src [4]byte
		return len(s) >= 16 && s[0]>>4 == 4 && copy(src[:], s[12:16]) == 4 && netip.AddrFrom4(src) == p.Src
	case etype == etherIPv6 && p.Network == 6:
		var src [16]byte
		return len(s) >= 24 && s[0]>>4 == 6 && copy(src[:], s[8:24]) == 16 && netip.AddrFrom16(src) == p.Src
	}
	return false
}
