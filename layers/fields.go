package layers

import (
	"fmt"
	"net"
	"net/netip"
)

// tcpFlagLetters are the flag letters PacketFields uses, in output order:
// "S", "SA", "FA", "PA", "RA" ...
var tcpFlagLetters = [...]struct {
	f TCPFlags
	c byte
}{
	{FlagSYN, 'S'}, {FlagFIN, 'F'}, {FlagRST, 'R'}, {FlagPSH, 'P'}, {FlagACK, 'A'},
	{FlagURG, 'U'}, {FlagECE, 'E'}, {FlagCWR, 'C'}, {FlagNS, 'N'},
}

// FlagString returns the flags as letters: S SYN, F FIN, R RST, P PSH,
// A ACK, U URG, E ECE, C CWR, N NS, in that order ("SA" for a SYN-ACK).
func (f TCPFlags) FlagString() string {
	var b [9]byte
	n := 0
	for _, l := range tcpFlagLetters {
		if f&l.f != 0 {
			b[n] = l.c
			n++
		}
	}
	return string(b[:n])
}

// PacketFields returns the protocol name and the fields examples/dissect
// prints for p: proto is "tcp", "udp", "icmp", "icmpv6", "arp", or "ip" for
// an IP packet of another protocol. Field names follow tshark where
// sensible: src, dst, sport, dport, seq, ack (raw), flags ("SA"), win, len
// (payload bytes the headers declare), mss, wscale, sack_perm, sack
// (["left-right", ...]), tsval, tsecr, ttl, ip_len, ip_id, df, encap, tso,
// reassembled + frag_frames, truncated, checksum ("bad" values only:
// ip_checksum, l4_checksum); ICMP type, code, mtu, id, seq, gateway,
// quoted (flow of the quoted packet) and quoted_seq; ARP op, sender_mac,
// sender_ip, target_mac, target_ip. Build it only when a Reporter wants
// messages: it allocates.
func PacketFields(p *Packet) (proto string, fields map[string]any) {
	fields = make(map[string]any, 16)
	if p.Transport == TransportARP {
		arpFields(fields, &p.ARP)
		return "arp", fields
	}
	ipFields(fields, p)
	anomalyFields(fields, p)
	switch p.Transport {
	case TransportTCP:
		tcpFields(fields, &p.TCP, p.PayloadLen)
		return "tcp", fields
	case TransportUDP:
		udpFields(fields, &p.UDP, p.PayloadLen)
		return "udp", fields
	case TransportICMP:
		icmpFields(fields, &p.ICMP)
		if p.ICMP.V6 {
			return "icmpv6", fields
		}
		return "icmp", fields
	}
	fields["ip_proto"] = int(p.IPProto)
	return "ip", fields
}

// arpFields adds the ARP fields (RFC 826): op, sender_mac, target_mac and,
// for IPv4 ARP, sender_ip and target_ip.
func arpFields(fields map[string]any, a *ARPHeader) {
	fields["op"] = int(a.Op)
	fields["sender_mac"] = net.HardwareAddr(a.SenderMAC[:]).String()
	fields["target_mac"] = net.HardwareAddr(a.TargetMAC[:]).String()
	if a.SenderIP.IsValid() {
		fields["sender_ip"] = a.SenderIP.String()
		fields["target_ip"] = a.TargetIP.String()
	}
}

// ipFields adds the IP header fields: src, dst, ttl, ip_len and, for IPv4
// (RFC 791), ip_id and df. It adds nothing for a packet without IP.
func ipFields(fields map[string]any, p *Packet) {
	if p.Network == 0 {
		return
	}
	fields["src"] = p.Src.String()
	fields["dst"] = p.Dst.String()
	fields["ttl"] = int(p.TTL)
	fields["ip_len"] = p.IPLen
	if p.Network == 4 {
		fields["ip_id"] = int(p.IPID)
		fields["df"] = p.DF
	}
}

// anomalyFields adds the fields present only when set: encap (the
// encapsulations of the packet, "vlan+gre"), tso, reassembled with
// frag_frames, truncated, and ip_checksum / l4_checksum when they do not
// match ("bad", or "not computed" for a field of 0).
func anomalyFields(fields map[string]any, p *Packet) {
	if p.Encap != 0 {
		fields["encap"] = p.Encap.String()
	}
	if p.TSO {
		fields["tso"] = true
	}
	if p.Reassembled {
		fields["reassembled"] = true
		fields["frag_frames"] = append([]int64(nil), p.FragFrames...)
	}
	if p.Truncated {
		fields["truncated"] = true
	}
	if p.IPChecksum.Wrong() {
		fields["ip_checksum"] = p.IPChecksum.String()
	}
	if p.L4Checksum.Wrong() {
		fields["l4_checksum"] = p.L4Checksum.String()
	}
}

// tcpFields adds the TCP header fields (RFC 9293, 3.1) and the options that
// are present: mss, wscale (RFC 7323, 2), sack_perm and sack (RFC 2018),
// tsval and tsecr (RFC 7323, 3). payloadLen is the declared payload length.
func tcpFields(fields map[string]any, h *TCPHeader, payloadLen int) {
	fields["sport"] = int(h.SrcPort)
	fields["dport"] = int(h.DstPort)
	fields["seq"] = h.Seq
	fields["ack"] = h.Ack
	fields["flags"] = h.Flags.FlagString()
	fields["win"] = int(h.Window)
	fields["len"] = payloadLen
	if h.MSS != 0 {
		fields["mss"] = int(h.MSS)
	}
	if h.WindowScale >= 0 {
		fields["wscale"] = int(h.WindowScale)
	}
	if h.SACKPermitted {
		fields["sack_perm"] = true
	}
	if h.NumSACK > 0 {
		fields["sack"] = sackStrings(h)
	}
	if h.HasTimestamps {
		fields["tsval"] = h.TSval
		fields["tsecr"] = h.TSecr
	}
}

// sackStrings returns the SACK blocks of h as "left-right" strings.
func sackStrings(h *TCPHeader) []string {
	blocks := make([]string, 0, h.NumSACK)
	for _, b := range h.SACKBlocks() {
		blocks = append(blocks, fmt.Sprintf("%d-%d", b.Left, b.Right))
	}
	return blocks
}

// udpFields adds the UDP fields (RFC 768): sport, dport and the declared
// payload length.
func udpFields(fields map[string]any, u *UDPHeader, payloadLen int) {
	fields["sport"] = int(u.SrcPort)
	fields["dport"] = int(u.DstPort)
	fields["len"] = payloadLen
}

// icmpFields adds the ICMP and ICMPv6 fields (RFC 792, RFC 4443): type,
// code, mtu, id and seq of an informational message, gateway of a redirect,
// and the quoted flow (with quoted_seq for TCP) of an error.
func icmpFields(fields map[string]any, h *ICMPHeader) {
	fields["type"] = int(h.Type)
	fields["code"] = int(h.Code)
	if h.MTU != 0 {
		fields["mtu"] = int(h.MTU)
	}
	if !h.IsError {
		fields["id"] = int(h.ID)
		fields["seq"] = int(h.Seq)
	}
	if h.Gateway.IsValid() {
		fields["gateway"] = h.Gateway.String()
	}
	if q := &h.Quoted; q.Valid {
		fields["quoted"] = QuotedFlow(q).String()
		if q.Proto == ProtoTCP {
			fields["quoted_seq"] = q.TCPSeq
		}
	}
}

// QuotedFlow returns the directed flow of the packet an ICMP error quotes
// (the flow that caused the error, as its sender saw it).
func QuotedFlow(q *Quoted) Flow {
	return Flow{Src: netip.AddrPortFrom(q.Src, q.SrcPort), Dst: netip.AddrPortFrom(q.Dst, q.DstPort), Proto: q.Proto}
}

// DNSFields returns the fields examples/dissect prints for a DNS message
// (proto "dns"; mDNS and LLMNR too), named after tshark's dns.* fields: id,
// response, opcode, rcode, qry_name, qry_type, count_queries,
// count_answers, count_auth_rr, count_add_rr, the answers by type: a,
// aaaa, cname (lists), ttl (of the first answer), and the authority and
// additional records, when present, as lists of "name type data"
// ("ns1.example.com A 192.0.2.53", "host._http._tcp.local SRV
// host.local:80").
func DNSFields(m DNSMessage) map[string]any {
	f := map[string]any{
		"id":            int(m.ID),
		"response":      m.Response,
		"opcode":        int(m.Opcode),
		"rcode":         int(m.RCode),
		"count_queries": int(m.QDCount),
		"count_answers": int(m.ANCount),
		"count_auth_rr": int(m.NSCount),
		"count_add_rr":  int(m.ARCount),
	}
	if m.TC {
		f["tc"] = true
	}
	if len(m.Questions) > 0 {
		f["qry_name"] = m.Questions[0].Name
		f["qry_type"] = int(m.Questions[0].Type)
	}
	var a, aaaa, cname []string
	for _, r := range m.Answers {
		switch r.Type {
		case DNSTypeA:
			a = append(a, r.Addr.String())
		case DNSTypeAAAA:
			aaaa = append(aaaa, r.Addr.String())
		case DNSTypeCNAME:
			cname = append(cname, r.Host)
		}
	}
	if a != nil {
		f["a"] = a
	}
	if aaaa != nil {
		f["aaaa"] = aaaa
	}
	if cname != nil {
		f["cname"] = cname
	}
	if len(m.Answers) > 0 {
		f["ttl"] = m.Answers[0].TTL
	}
	if len(m.Authority) > 0 {
		f["authority"] = dnsRecordStrings(m.Authority)
	}
	if len(m.Additional) > 0 {
		f["additional"] = dnsRecordStrings(m.Additional)
	}
	return f
}

// dnsTypeNames names the record types dnsRecordStrings prints.
var dnsTypeNames = map[uint16]string{1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
	28: "AAAA", 33: "SRV", 41: "OPT", 47: "NSEC", 65: "HTTPS"}

// dnsRecordStrings words records as "name type data".
func dnsRecordStrings(rs []DNSAnswer) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		typ, ok := dnsTypeNames[r.Type]
		if !ok {
			typ = fmt.Sprintf("TYPE%d", r.Type)
		}
		s := r.Name + " " + typ
		switch {
		case r.Addr.IsValid():
			s += " " + r.Addr.String()
		case r.Type == DNSTypeSRV:
			s += fmt.Sprintf(" %s:%d", r.Host, r.Port)
		case r.Host != "":
			s += " " + r.Host
		}
		out[i] = s
	}
	return out
}
