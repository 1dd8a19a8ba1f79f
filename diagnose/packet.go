package diagnose

import (
	"net/netip"

	"github.com/nettrace/nettrace/layers"
)

// packet is one decoded frame as the diagnoses read it: the layers packet
// with its two endpoints (address and port), worked out once per packet.
// It models nothing of its own.
type packet struct {
	*layers.Packet
	src, dst netip.AddrPort
	// tracked holds the tracker's conclusions when hasTracked.
	tracked    Tracked
	hasTracked bool
}

// IP protocol numbers (IANA).
const (
	protoICMP   = layers.ProtoICMP
	protoTCP    = layers.ProtoTCP
	protoUDP    = layers.ProtoUDP
	protoICMPv6 = layers.ProtoICMPv6
)

// dnsPort is DNS's well-known port: responses on it name the destinations
// of later connections (casebook C16).
const dnsPort = 53

// PayloadUsed returns how many leading bytes of p.Payload Network.Packet may
// read: a caller that hands packets over to another goroutine copies only
// those (the parallel pipeline does). Bounded by the HTTP header scan and
// the DNS message size.
func PayloadUsed(p *layers.Packet) int {
	n := len(p.Payload)
	switch p.Transport {
	case layers.TransportUDP:
		if isDNS(p) {
			return n
		}
		return min(n, entropySample)
	case layers.TransportTCP:
		if n >= 14 {
			switch p.Payload[0] {
			case 'G', 'P', 'H', 'D', 'O', 'C', 'T': // httpRequestLine's first test
				return min(n, maxHeaderScan)
			}
		}
	}
	return 0
}

// isDNS reports a UDP datagram to or from the DNS port.
func isDNS(p *layers.Packet) bool {
	return p.Transport == layers.TransportUDP && (p.UDP.SrcPort == dnsPort || p.UDP.DstPort == dnsPort)
}

// isEcho reports an echo request or reply (ICMPv4 8/0, ICMPv6 128/129):
// with DF set, pings of growing sizes measure the path MTU (C19).
func isEcho(q *layers.ICMPHeader) bool {
	if q.V6 {
		return q.Type == 128 || q.Type == 129
	}
	return q.Type == 8 || q.Type == 0
}

// quotedSrc and quotedDst are the endpoints of the packet an ICMP error
// quotes.
func quotedSrc(q *layers.ICMPHeader) netip.AddrPort {
	return netip.AddrPortFrom(q.Quoted.Src, q.Quoted.SrcPort)
}

func quotedDst(q *layers.ICMPHeader) netip.AddrPort {
	return netip.AddrPortFrom(q.Quoted.Dst, q.Quoted.DstPort)
}

// ARP operations (RFC 826).
const (
	arpRequest = 1
	arpReply   = 2
)
