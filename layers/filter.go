package layers

import (
	"fmt"
	"net/netip"
)

// Filter is a compiled capture filter in the tcpdump syntax (pcap-filter(7)),
// the subset that selects by address, port and protocol:
//
//	host 10.1.1.1                 IPv4/IPv6 source or destination, or ARP sender or target
//	src host 10.1.1.1             src, dst, "src or dst" (the default), "src and dst"
//	net 10.1.0.0/16               also "net 10.1" (16 bits), "net 10.1.0.0 mask 255.255.0.0", "net 2001:db8::/32"
//	port 445                      TCP or UDP, either port; also "tcp dst port 80", "port https"
//	portrange 6000-6010           ports in an inclusive range
//	tcp, udp, icmp, icmp6         the transport protocol (icmp is ICMPv4, icmp6 ICMPv6)
//	ip, ip6, arp                  the network protocol
//	ip proto 47, proto 50         the IP protocol number (ip, ip6 or either)
//	vlan, vlan 100                an 802.1Q/802.1ad tag, with the outermost tag's ID
//	ip host …, ip6 net …, arp host …, udp src port …   protocol qualifiers
//
// Primitives combine with "and" (&&), "or" (||), "not" (!) and parentheses.
// As in pcap-filter, "not" binds tightest and "and" and "or" have the SAME
// precedence, grouping from the left: "tcp or udp and port 53" is
// "(tcp or udp) and port 53". Use parentheses when mixing them. A bare
// address or number repeats the qualifiers of the previous primitive:
// "host 10.1.1.1 or 10.1.1.2" is "host 10.1.1.1 or host 10.1.1.2", and
// "tcp port 80 or 443" is "tcp port 80 or tcp port 443".
//
// Differences from tcpdump: host names are not resolved (give addresses);
// port names are limited to a built-in table (ftp-data, ftp, ssh, telnet,
// smtp, domain, http, kerberos, epmap, netbios-ns, netbios-dgm, netbios-ssn,
// imap, ldap, https, microsoft-ds, ms-sql-s, ms-sql-m, ms-wbt-server);
// IPv6 extension headers are followed to the transport header; primitives
// see through VLAN tags ("host 10.1.1.1" also matches tagged frames, where
// tcpdump needs "vlan and host 10.1.1.1"); byte-offset expressions
// (tcp[13] & 2 != 0), ether, len, less, greater and the other pcap-filter
// primitives are not supported and are reported as errors.
//
// A Filter is immutable and safe for concurrent use. Match and MatchFrame do
// not allocate. A nil *Filter matches every packet.
type Filter struct {
	expr string
	text string // canonical form (String)
	prog []insn // tests in execution order; jumps go forward only
}

// FilterError is the error CompileFilter returns for an expression it
// cannot compile. Pos is the 1-based byte position in Expr of the token at
// fault (len(Expr)+1 when the expression ended too early).
type FilterError struct {
	Expr string
	Pos  int
	Msg  string
}

// Error implements error.
func (e *FilterError) Error() string {
	return fmt.Sprintf("layers: filter: position %d: %s", e.Pos, e.Msg)
}

// CompileFilter compiles a filter expression (see Filter for the syntax).
// The empty expression (or one of only spaces) compiles to a filter that
// matches every packet. A bad expression returns a *FilterError giving the
// position of the fault.
func CompileFilter(expr string) (*Filter, error) {
	if len(expr) > maxFilterLen {
		return nil, &FilterError{Expr: expr, Pos: maxFilterLen + 1, Msg: fmt.Sprintf("expression longer than %d bytes", maxFilterLen)}
	}
	p := &filterParser{lex: filterLexer{src: expr}}
	root, err := p.parse()
	if err != nil {
		err.Expr = expr
		return nil, err
	}
	f := &Filter{expr: expr}
	if root != nil {
		f.text = root.String()
		f.prog = compileProgram(root)
	}
	return f, nil
}

// MustCompileFilter is CompileFilter for expressions known to be valid; it
// panics on an error.
func MustCompileFilter(expr string) *Filter {
	f, err := CompileFilter(expr)
	if err != nil {
		panic(err)
	}
	return f
}

// Expr returns the expression the filter was compiled from.
func (f *Filter) Expr() string { return f.expr }

// String returns the filter in a canonical form, fully parenthesised: every
// "and"/"or" group that is an operand of another is in parentheses, and
// every primitive is spelled out with its qualifiers ("tcp port 80 or 443"
// gives "tcp port 80 or tcp port 443"). The empty filter gives "".
func (f *Filter) String() string { return f.text }

// MatchesAll reports whether f is the empty filter, which matches every
// packet.
func (f *Filter) MatchesAll() bool { return f == nil || len(f.prog) == 0 }

// Match reports whether the decoded packet p passes the filter. It sees p as
// the Decoder made it: the inner packet of an IP-in-IP tunnel, and a
// datagram reassembled from fragments with its transport header. VLAN tags
// are looked for in p.Raw (Ethernet and Linux cooked captures).
func (f *Filter) Match(p *Packet) bool {
	if f == nil || len(f.prog) == 0 {
		return true
	}
	var v filterView
	v.fromPacket(p)
	return f.eval(&v)
}

// MatchFrame reports whether the captured frame fr passes the filter,
// judging it by its own bytes as tcpdump does: the outer IP header, and
// ports only in a first (or only) fragment. Analyzers use it to leave
// frames out before decoding them, so that nothing of a frame that does not
// match (fragments held for reassembly, events) reaches the analysis.
func (f *Filter) MatchFrame(fr *Frame) bool {
	if f == nil || len(f.prog) == 0 {
		return true
	}
	var v filterView
	v.fromFrame(fr.Data, fr.linkType())
	return f.eval(&v)
}

// eval runs the program over v. Every jump goes forward, so it ends within
// len(f.prog) steps.
func (f *Filter) eval(v *filterView) bool {
	pc := int32(0)
	for {
		in := &f.prog[pc]
		next := in.jf
		if in.test(v) {
			next = in.jt
		}
		switch next {
		case jumpAccept:
			return true
		case jumpReject:
			return false
		}
		pc = next
	}
}

// filterView is what the tests of a filter look at: the fields of one
// packet, taken from a decoded Packet or read from a frame's bytes.
type filterView struct {
	vlan    bool   // an 802.1Q/802.1ad tag was seen
	vlanID  uint16 // the outermost tag's VLAN ID
	network uint8  // 4 or 6 for IP, 0 otherwise
	arp     bool   // an ARP packet (IPv4 over Ethernet-like hardware)
	src     netip.Addr
	dst     netip.Addr
	proto   uint8 // IP protocol of the transport, when network != 0
	ports   bool  // sport and dport are valid (TCP or UDP, not a later fragment)
	sport   uint16
	dport   uint16
}

// fromPacket fills v from a decoded packet.
func (v *filterView) fromPacket(p *Packet) {
	switch {
	case p.Transport == TransportARP:
		v.arp = true
		v.src, v.dst = p.ARP.SenderIP, p.ARP.TargetIP
	case p.Network == 4 || p.Network == 6:
		v.network = p.Network
		v.src, v.dst = p.Src, p.Dst
		v.proto = p.IPProto
		switch p.Transport {
		case TransportTCP:
			v.ports, v.sport, v.dport = true, p.TCP.SrcPort, p.TCP.DstPort
		case TransportUDP:
			v.ports, v.sport, v.dport = true, p.UDP.SrcPort, p.UDP.DstPort
		}
	}
	v.vlan, v.vlanID = rawVLAN(p)
}
