package diagnose

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// ICMP errors matched to the flows they quote (RFC 792, RFC 1191, RFC 4443).
// Errors are grouped by quoted flow, type and code; one event per group is
// emitted at Finish with the count and the frames.

type icmpKey struct {
	src, dst   netip.AddrPort
	proto      uint8
	v6         bool
	typ, code  uint8
	mtu        uint16
	from       netip.Addr
	quotedOnly bool // no quoted packet: src/dst are the ICMP's own addresses
}

type icmpAgg struct {
	count     int
	frames    netFrames
	first     time.Time
	flowKnown bool // the quoted flow was seen in this capture
}

// ICMP types (RFC 792, RFC 4443).
const (
	icmp4Unreachable   = 3
	icmp4Redirect      = 5
	icmp4TimeExceeded  = 11
	icmp4ParamProblem  = 12
	icmp6Unreachable   = 1
	icmp6PacketTooBig  = 2
	icmp6TimeExceeded  = 3
	icmp6ParamProblem  = 4
	icmp6Redirect      = 137
	icmp4CodeFragNeeds = 4
)

// icmp4UnreachableCodes names ICMPv4 destination-unreachable codes (RFC 792,
// RFC 1122, RFC 1812).
var icmp4UnreachableCodes = [...]string{
	0:  "network unreachable",
	1:  "host unreachable",
	2:  "protocol unreachable",
	3:  "port unreachable",
	4:  "fragmentation needed and DF set",
	5:  "source route failed",
	6:  "destination network unknown",
	7:  "destination host unknown",
	8:  "source host isolated",
	9:  "network administratively prohibited",
	10: "host administratively prohibited",
	11: "network unreachable for TOS",
	12: "host unreachable for TOS",
	13: "communication administratively prohibited",
	14: "host precedence violation",
	15: "precedence cutoff in effect",
}

// icmp6UnreachableCodes names ICMPv6 destination-unreachable codes (RFC 4443,
// 3.1).
var icmp6UnreachableCodes = [...]string{
	0: "no route to destination",
	1: "communication administratively prohibited",
	2: "beyond scope of source address",
	3: "address unreachable",
	4: "port unreachable",
	5: "source address failed ingress/egress policy",
	6: "reject route to destination",
	7: "error in source routing header",
}

// ICMPReason returns a readable name for an ICMP or ICMPv6 error type and
// code, e.g. "port unreachable" or "time exceeded: TTL exceeded in transit".
func ICMPReason(v6 bool, typ, code uint8) string {
	if v6 {
		switch typ {
		case icmp6Unreachable:
			if int(code) < len(icmp6UnreachableCodes) {
				return icmp6UnreachableCodes[code]
			}
			return fmt.Sprintf("destination unreachable (code %d)", code)
		case icmp6PacketTooBig:
			return "packet too big"
		case icmp6TimeExceeded:
			if code == 1 {
				return "time exceeded: fragment reassembly time exceeded"
			}
			return "time exceeded: hop limit exceeded in transit"
		case icmp6ParamProblem:
			return fmt.Sprintf("parameter problem (code %d)", code)
		case icmp6Redirect:
			return "redirect"
		}
		return fmt.Sprintf("ICMPv6 type %d code %d", typ, code)
	}
	switch typ {
	case icmp4Unreachable:
		if int(code) < len(icmp4UnreachableCodes) {
			return icmp4UnreachableCodes[code]
		}
		return fmt.Sprintf("destination unreachable (code %d)", code)
	case icmp4TimeExceeded:
		if code == 1 {
			return "time exceeded: fragment reassembly time exceeded"
		}
		return "time exceeded: TTL exceeded in transit"
	case icmp4ParamProblem:
		return fmt.Sprintf("parameter problem (code %d)", code)
	case icmp4Redirect:
		switch code {
		case 0:
			return "redirect for network"
		case 1:
			return "redirect for host"
		case 2:
			return "redirect for TOS and network"
		case 3:
			return "redirect for TOS and host"
		}
		return fmt.Sprintf("redirect (code %d)", code)
	}
	return fmt.Sprintf("ICMP type %d code %d", typ, code)
}

// isFragNeeded reports an ICMPv4 fragmentation-needed or ICMPv6 packet-too-big.
func isFragNeeded(q *layers.ICMPHeader) bool {
	if q.V6 {
		return q.Type == icmp6PacketTooBig
	}
	return q.Type == icmp4Unreachable && q.Code == icmp4CodeFragNeeds
}

func isUnreachable(q *layers.ICMPHeader) bool {
	if q.V6 {
		return q.Type == icmp6Unreachable
	}
	return q.Type == icmp4Unreachable && q.Code != icmp4CodeFragNeeds
}

func (d *Network) icmpPacket(p *packet) {
	q := &p.ICMP
	if isEcho(q) {
		d.echoPacket(p)
		return
	}
	if isFragNeeded(q) && q.Quoted.Valid && (q.Quoted.Proto == protoICMP || q.Quoted.Proto == protoICMPv6) {
		d.echoICMP(q)
	}
	known := false
	if isFragNeeded(q) && q.Quoted.Valid {
		known = d.pmtuICMP(p)
	}
	if q.Quoted.Valid && !known {
		known = d.flowKnown(quotedSrc(q), quotedDst(q), q.Quoted.Proto)
	}
	if q.Quoted.Valid && q.Quoted.Proto == protoUDP {
		d.udpICMP(q)
	}
	k := icmpKey{src: quotedSrc(q), dst: quotedDst(q), proto: q.Quoted.Proto, v6: q.V6, typ: q.Type, code: q.Code, from: p.src.Addr()}
	if isFragNeeded(q) {
		k.mtu = q.MTU
	}
	if !q.Quoted.Valid {
		k.src, k.dst, k.proto, k.quotedOnly = p.dst, p.src, 0, true
	}
	a := d.icmp[k]
	if a == nil {
		if len(d.icmp) >= d.cfg.MaxKeys {
			d.markCapped("icmp")
			return
		}
		a = &icmpAgg{first: p.Time}
		d.icmp[k] = a
	}
	a.count++
	a.flowKnown = a.flowKnown || known
	a.frames.add(p.Frame, d.cfg.MaxFrames)
}

// flowKnown reports whether the flow src→dst (either direction) was seen.
func (d *Network) flowKnown(src, dst netip.AddrPort, proto uint8) bool {
	switch proto {
	case protoTCP:
		return d.conns[connKey{client: src, server: dst}.id()] != nil // either direction
	case protoUDP:
		return d.udp[addrPair{src: src.Addr(), dst: dst.Addr()}] != nil
	}
	return false
}

func (d *Network) icmpFindings() []health.Event {
	keys := make([]icmpKey, 0, len(d.icmp))
	for k := range d.icmp {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return d.icmp[keys[i]].frames.first() < d.icmp[keys[j]].frames.first() })
	var unreach, frag, other []health.Event
	for _, k := range keys {
		a := d.icmp[k]
		obs := layers.ICMPHeader{V6: k.v6, Type: k.typ, Code: k.code}
		reason := ICMPReason(k.v6, k.typ, k.code)
		flow := netFlowString(k.src, k.dst, k.proto)
		ev := map[string]any{
			"type": int(k.typ), "code": int(k.code), "reason": reason,
			"from": k.from.String(), "count": a.count, "frames": a.frames.frames,
		}
		if !k.quotedOnly {
			ev["quoted_flow"] = flow
			ev["flow_seen"] = a.flowKnown
		} else {
			flow = ""
		}
		times := ""
		if a.count > 1 {
			times = fmt.Sprintf(" (%d times)", a.count)
		}
		e := health.Event{Time: a.first, Frame: a.frames.first(), Flow: flow, Evidence: ev}
		switch {
		case isFragNeeded(&obs):
			e.Kind, e.Severity = health.NetICMPFragNeeded, health.Notice
			ev["mtu"] = int(k.mtu)
			e.Message = fmt.Sprintf("%s: %s answered %s%s with next-hop MTU %d: packets larger than %d bytes do not fit the path",
				reason, k.from, flowOrAddr(k), times, k.mtu, k.mtu)
			frag = append(frag, e)
		case isUnreachable(&obs):
			e.Kind, e.Severity = health.NetICMPUnreachable, health.Warning
			e.Message = fmt.Sprintf("%s: %s answered %s%s", reason, k.from, flowOrAddr(k), times)
			unreach = append(unreach, e)
		default:
			e.Kind, e.Severity = health.NetICMPError, health.Notice
			e.Message = fmt.Sprintf("%s: %s answered %s%s", reason, k.from, flowOrAddr(k), times)
			other = append(other, e)
		}
	}
	max := d.cfg.MaxEventsPerKind
	out := netCapEvents(unreach, max)
	out = append(out, netCapEvents(frag, max)...)
	return append(out, netCapEvents(other, max)...)
}

func flowOrAddr(k icmpKey) string {
	if k.quotedOnly {
		return "a packet from " + k.src.Addr().String()
	}
	return netFlowString(k.src, k.dst, k.proto)
}
