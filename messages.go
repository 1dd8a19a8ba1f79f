package nettrace

import (
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// DNS ports: DNS messages are decoded for dissect on DNS's well-known
// port, mDNS's (RFC 6762) and LLMNR's (RFC 4795), whose messages have
// DNS's format.
const (
	dnsPort   = 53
	mdnsPort  = 5353
	llmnrPort = 5355
)

// dnsService names the DNS service of a UDP datagram by its ports: "dns",
// "mdns", "llmnr", or "" for none.
func dnsService(p *layers.Packet) string {
	for _, port := range [2]uint16{p.UDP.SrcPort, p.UDP.DstPort} {
		switch port {
		case dnsPort:
			return "dns"
		case mdnsPort:
			return "mdns"
		case llmnrPort:
			return "llmnr"
		}
	}
	return ""
}

// packetMessage emits the packet-level decoded message(s) of p.
func (a *Analyzer) packetMessage(p *layers.Packet) {
	proto, fields := layers.PacketFields(p)
	if proto == "" {
		return
	}
	flow := ""
	if p.Transport == layers.TransportTCP || p.Transport == layers.TransportUDP {
		flow = layers.FlowOf(p).String()
	}
	a.rep.Message(health.Message{Frame: p.Frame, Time: p.Time, Flow: flow, Proto: proto, Fields: fields})
	if p.Transport != layers.TransportUDP {
		return
	}
	if svc := dnsService(p); svc != "" {
		if m, err := layers.ParseDNS(p.Payload); err == nil {
			f := layers.DNSFields(m)
			if svc != "dns" {
				f["service"] = svc
			}
			a.rep.Message(health.Message{Frame: p.Frame, Time: p.Time, Flow: flow, Proto: "dns", Fields: f})
		}
	}
}
