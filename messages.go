package nettrace

import (
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// dnsPort is DNS's well-known port; DNS messages are decoded for dissect.
const dnsPort = 53

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
	if p.Transport == layers.TransportUDP && (p.UDP.SrcPort == dnsPort || p.UDP.DstPort == dnsPort) {
		if m, err := layers.ParseDNS(p.Payload); err == nil {
			a.rep.Message(health.Message{Frame: p.Frame, Time: p.Time, Flow: flow, Proto: "dns", Fields: layers.DNSFields(m)})
		}
	}
}
