package layers

import (
	"net/netip"
)

// Protocol numbers used in Flow keys (IANA).
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Flow is a directed transport 5-tuple. It is comparable and fixed-size, so
// it can key a map without allocating.
type Flow struct {
	Src, Dst netip.AddrPort
	Proto    uint8
}

// FlowOf returns p's directed flow.
func FlowOf(p *Packet) Flow {
	return Flow{Src: p.SrcAddrPort(), Dst: p.DstAddrPort(), Proto: p.IPProto}
}

// Reverse returns the flow in the other direction.
func (f Flow) Reverse() Flow { return Flow{Src: f.Dst, Dst: f.Src, Proto: f.Proto} }

// Canonical returns the same key for both directions of a flow, and whether
// f was reversed to get it.
func (f Flow) Canonical() (Flow, bool) {
	if c := f.Src.Addr().Compare(f.Dst.Addr()); c > 0 || (c == 0 && f.Src.Port() > f.Dst.Port()) {
		return f.Reverse(), true
	}
	return f, false
}

// String formats the flow as events print it: "10.1.1.1:1099->172.16.1.1:80/tcp".
func (f Flow) String() string {
	var buf [64]byte // IPv4 flows fit: one allocation, the string
	b := f.Src.AppendTo(buf[:0])
	b = append(b, "->"...)
	b = f.Dst.AppendTo(b)
	b = append(b, '/')
	b = append(b, ProtoName(f.Proto)...)
	return string(b)
}

// ProtoName returns "tcp", "udp", "icmp", "icmpv6" or the number.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmpv6"
	}
	const digits = "0123456789"
	if p < 10 {
		return digits[p : p+1]
	}
	var buf [3]byte
	i := len(buf)
	for p > 0 {
		i--
		buf[i] = digits[p%10]
		p /= 10
	}
	return string(buf[i:])
}
