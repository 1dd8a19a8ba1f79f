package layers

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Limits of a filter expression: they bound the compiler's work and the
// recursion of the parser on hostile input.
const (
	maxFilterLen   = 64 << 10 // bytes of expression
	maxFilterDepth = 256      // nested parentheses and "not"s
)

// tokKind is the kind of a filter token.
type tokKind uint8

const (
	tokEOF tokKind = iota
	tokWord
	tokAnd
	tokOr
	tokNot
	tokLParen
	tokRParen
)

// token is one lexeme of a filter expression; pos is its 1-based byte
// position.
type token struct {
	kind tokKind
	text string
	pos  int
}

// filterLexer splits an expression into tokens. Words are runs of letters,
// digits and ". : / - _"; "and", "or" and "not" are operators, as are
// "&&", "||" and "!".
type filterLexer struct {
	src string
	off int
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == ':' || c == '/' || c == '-' || c == '_'
}

func (l *filterLexer) next() (token, *FilterError) {
	for l.off < len(l.src) && (l.src[l.off] == ' ' || l.src[l.off] == '\t' || l.src[l.off] == '\n' || l.src[l.off] == '\r') {
		l.off++
	}
	start := l.off
	pos := start + 1
	if l.off == len(l.src) {
		return token{kind: tokEOF, pos: pos}, nil
	}
	c := l.src[l.off]
	switch {
	case c == '(':
		l.off++
		return token{kind: tokLParen, text: "(", pos: pos}, nil
	case c == ')':
		l.off++
		return token{kind: tokRParen, text: ")", pos: pos}, nil
	case c == '!' && !strings.HasPrefix(l.src[l.off:], "!="):
		l.off++
		return token{kind: tokNot, text: "!", pos: pos}, nil
	case strings.HasPrefix(l.src[l.off:], "&&"):
		l.off += 2
		return token{kind: tokAnd, text: "&&", pos: pos}, nil
	case strings.HasPrefix(l.src[l.off:], "||"):
		l.off += 2
		return token{kind: tokOr, text: "||", pos: pos}, nil
	case isWordByte(c):
		for l.off < len(l.src) && isWordByte(l.src[l.off]) {
			l.off++
		}
		w := l.src[start:l.off]
		switch w {
		case "and":
			return token{kind: tokAnd, text: w, pos: pos}, nil
		case "or":
			return token{kind: tokOr, text: w, pos: pos}, nil
		case "not":
			return token{kind: tokNot, text: w, pos: pos}, nil
		}
		return token{kind: tokWord, text: w, pos: pos}, nil
	}
	switch c {
	case '[', ']', '=', '<', '>', '&', '|', '+', '*', '%', '^', '!':
		return token{}, &FilterError{Pos: pos, Msg: fmt.Sprintf("unexpected %q: byte-offset expressions and comparisons (tcp[13] & 2 != 0) are not supported", c)}
	}
	if c < ' ' || c >= 0x7f {
		return token{}, &FilterError{Pos: pos, Msg: fmt.Sprintf("unexpected byte 0x%02x", c)}
	}
	return token{}, &FilterError{Pos: pos, Msg: fmt.Sprintf("unexpected %q", c)}
}

// Qualifiers of a primitive (pcap-filter's proto, dir and type).
type (
	qProto uint8
	qDir   uint8
	qType  uint8
)

const (
	protoAny qProto = iota
	protoIP
	protoIP6
	protoARP
	protoTCP
	protoUDP
	protoICMP
	protoICMP6
)

var protoNames = [...]string{"", "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6"}

const (
	dirAny qDir = iota // src or dst
	dirSrc
	dirDst
	dirBoth // src and dst
)

var dirNames = [...]string{"", "src", "dst", "src and dst"}

const (
	typeNone qType = iota
	typeHost
	typeNet
	typePort
	typePortRange
)

var typeNames = [...]string{"", "host", "net", "port", "portrange"}

// primOp is what a primitive tests.
type primOp uint8

const (
	opProto     primOp = iota + 1 // the packet is of protocol prim.proto
	opIPProto                     // IP protocol number prim.num (over prim.proto: any, ip or ip6)
	opHost                        // an address equal to prim.net's address
	opNet                         // an address within prim.net
	opPortRange                   // a port within [lo, hi] (port N is [N, N])
	opVLAN                        // a VLAN tag (with ID prim.vlan when ≥ 0)
)

// prim is one primitive of a filter.
type prim struct {
	op     primOp
	proto  qProto
	dir    qDir
	net    netip.Prefix
	lo, hi uint16
	num    uint8
	vlan   int32 // -1: any tag
	single bool  // opPortRange written as "port N"
}

// String spells the primitive out with all its qualifiers.
func (p *prim) String() string {
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	switch p.op {
	case opProto:
		return protoNames[p.proto]
	case opVLAN:
		if p.vlan >= 0 {
			return "vlan " + strconv.Itoa(int(p.vlan))
		}
		return "vlan"
	case opIPProto:
		add(protoNames[p.proto])
		add("proto " + strconv.Itoa(int(p.num)))
	case opHost:
		add(protoNames[p.proto])
		add(dirNames[p.dir])
		add("host " + p.net.Addr().String())
	case opNet:
		add(protoNames[p.proto])
		add(dirNames[p.dir])
		add("net " + p.net.String())
	case opPortRange:
		add(protoNames[p.proto])
		add(dirNames[p.dir])
		if p.single {
			add("port " + strconv.Itoa(int(p.lo)))
		} else {
			add(fmt.Sprintf("portrange %d-%d", p.lo, p.hi))
		}
	}
	return strings.Join(parts, " ")
}

// nodeKind is the kind of a node of the parsed expression.
type nodeKind uint8

const (
	nodePrim nodeKind = iota
	nodeAnd
	nodeOr
	nodeNot
)

// fnode is a node of the parsed expression. And and Or nodes are n-ary:
// a chain of one operator is one node.
type fnode struct {
	kind nodeKind
	kids []*fnode
	prim prim
}

func (n *fnode) String() string {
	switch n.kind {
	case nodePrim:
		return n.prim.String()
	case nodeNot:
		return "not " + n.kids[0].operand()
	}
	sep := " and "
	if n.kind == nodeOr {
		sep = " or "
	}
	parts := make([]string, len(n.kids))
	for i, k := range n.kids {
		parts[i] = k.operand()
	}
	return strings.Join(parts, sep)
}

// operand returns n as an operand of another operator: groups in
// parentheses.
func (n *fnode) operand() string {
	if n.kind == nodeAnd || n.kind == nodeOr {
		return "(" + n.String() + ")"
	}
	return n.String()
}

// quals are the qualifiers a bare identifier inherits from the previous
// primitive ("host a or b" is "host a or host b").
type quals struct {
	set   bool
	proto qProto
	dir   qDir
	typ   qType
}

// filterParser is a recursive-descent parser of pcap-filter expressions:
//
//	expr    = unary { ("and" | "&&" | "or" | "||") unary }   (left to right, same precedence)
//	unary   = ("not" | "!") unary | "(" expr ")" | primitive
//	primitive = "vlan" [number]
//	          | [proto] "proto" number
//	          | proto                                       (when no qualifier or id follows)
//	          | [proto] [dir] [type] id ["mask" address]
//	          | id                                          (inherits the previous qualifiers)
type filterParser struct {
	lex   filterLexer
	tok   token
	peek  []token // tokens read ahead
	last  quals
	depth int
}

func (p *filterParser) advance() *FilterError {
	if len(p.peek) > 0 {
		p.tok = p.peek[0]
		p.peek = p.peek[1:]
		return nil
	}
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

// lookahead returns the token i places after the current one (i ≥ 1).
func (p *filterParser) lookahead(i int) (token, *FilterError) {
	for len(p.peek) < i {
		t, err := p.lex.next()
		if err != nil {
			return token{}, err
		}
		p.peek = append(p.peek, t)
	}
	return p.peek[i-1], nil
}

func (p *filterParser) errorf(t token, format string, args ...any) *FilterError {
	return &FilterError{Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

// parse parses the whole expression; an empty one gives a nil node.
func (p *filterParser) parse() (*fnode, *FilterError) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return nil, nil
	}
	n, err := p.expr()
	if err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tokEOF:
		return n, nil
	case tokRParen:
		return nil, p.errorf(p.tok, "unbalanced \")\"")
	}
	return nil, p.errorf(p.tok, "expected \"and\" or \"or\" before %q", p.tok.text)
}

func (p *filterParser) expr() (*fnode, *FilterError) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tokAnd || p.tok.kind == tokOr {
		kind := nodeAnd
		if p.tok.kind == tokOr {
			kind = nodeOr
		}
		op := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokEOF || p.tok.kind == tokRParen || p.tok.kind == tokAnd || p.tok.kind == tokOr {
			return nil, p.errorf(p.tok, "expected a primitive after %q", op.text)
		}
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		if left.kind == kind {
			left.kids = append(left.kids, right)
		} else {
			left = &fnode{kind: kind, kids: []*fnode{left, right}}
		}
	}
	return left, nil
}

func (p *filterParser) unary() (*fnode, *FilterError) {
	switch p.tok.kind {
	case tokNot, tokLParen:
		if p.depth++; p.depth > maxFilterDepth {
			return nil, p.errorf(p.tok, "expression nested more than %d levels deep", maxFilterDepth)
		}
		defer func() { p.depth-- }()
	}
	switch p.tok.kind {
	case tokNot:
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokEOF || p.tok.kind == tokRParen || p.tok.kind == tokAnd || p.tok.kind == tokOr {
			return nil, p.errorf(p.tok, "expected a primitive after \"not\"")
		}
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		if k.kind == nodeNot { // not not x = x
			return k.kids[0], nil
		}
		return &fnode{kind: nodeNot, kids: []*fnode{k}}, nil
	case tokLParen:
		open := p.tok
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind == tokRParen {
			return nil, p.errorf(p.tok, "empty parentheses")
		}
		n, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			if p.tok.kind == tokEOF {
				return nil, p.errorf(open, "unbalanced \"(\": no \")\" closes it")
			}
			return nil, p.errorf(p.tok, "expected \")\" or \"and\"/\"or\" before %q", p.tok.text)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		return n, nil
	case tokWord:
		return p.primitive()
	case tokEOF:
		return nil, p.errorf(p.tok, "expression ends too early")
	}
	return nil, p.errorf(p.tok, "expected a primitive, not %q", p.tok.text)
}

// unsupported names pcap-filter keywords this subset does not implement.
var unsupported = map[string]bool{
	"ether": true, "fddi": true, "tr": true, "wlan": true, "link": true, "ppp": true, "slip": true,
	"rarp": true, "sctp": true, "igmp": true, "igrp": true, "pim": true, "vrrp": true, "carp": true,
	"ah": true, "esp": true, "decnet": true, "iso": true, "isis": true, "clnp": true, "atalk": true, "aarp": true,
	"ipx": true, "netbeui": true, "stp": true, "lat": true, "mopdl": true, "moprc": true, "sca": true,
	"gateway": true, "broadcast": true, "multicast": true, "less": true, "greater": true, "len": true,
	"inbound": true, "outbound": true, "ifname": true, "on": true, "rnr": true, "rulenum": true, "reason": true,
	"rset": true, "ruleset": true, "srnr": true, "subrulenum": true, "action": true, "mpls": true,
	"pppoed": true, "pppoes": true, "geneve": true, "vxlan": true, "llc": true, "type": true, "subtype": true,
	"dir": true, "ra": true, "ta": true, "addr1": true, "addr2": true, "addr3": true, "addr4": true,
	"protochain": true, "icmptype": true, "icmpcode": true, "tcpflags": true, "ip6protochain": true,
}

func isProtoWord(w string) (qProto, bool) {
	for i, n := range protoNames {
		if i > 0 && n == w {
			return qProto(i), true
		}
	}
	return protoAny, false
}

func isKeyword(w string) bool {
	if _, ok := isProtoWord(w); ok {
		return true
	}
	switch w {
	case "host", "net", "port", "portrange", "src", "dst", "vlan", "proto", "mask":
		return true
	}
	return unsupported[w]
}

// primitive parses one primitive; the current token is a word.
func (p *filterParser) primitive() (*fnode, *FilterError) {
	start := p.tok
	w := start.text
	if unsupported[w] {
		return nil, p.errorf(start, "%q is not supported (use host, net, port, portrange, src, dst, ip, ip6, arp, tcp, udp, icmp, icmp6, vlan, proto)", w)
	}
	if w == "vlan" {
		return p.vlan()
	}
	if !isKeyword(w) {
		return p.bareID()
	}
	var q quals
	q.set = true
	if proto, ok := isProtoWord(w); ok {
		q.proto = proto
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokWord || p.tok.text == "vlan" || unsupported[p.tok.text] {
			p.last = quals{} // a protocol alone: bare identifiers after it have nothing to inherit
			return &fnode{prim: prim{op: opProto, proto: proto}}, nil
		}
		if _, ok := isProtoWord(p.tok.text); ok {
			return nil, p.errorf(p.tok, "expected \"and\" or \"or\" between %q and %q", w, p.tok.text)
		}
	}
	if p.tok.text == "proto" {
		return p.ipProto(q.proto)
	}
	if err := p.dir(&q); err != nil {
		return nil, err
	}
	switch p.tok.text {
	case "host":
		q.typ = typeHost
	case "net":
		q.typ = typeNet
	case "port":
		q.typ = typePort
	case "portrange":
		q.typ = typePortRange
	}
	if q.typ != typeNone {
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.tok.kind != tokWord || isKeyword(p.tok.text) {
		what := "an address"
		switch q.typ {
		case typeNet:
			what = "a network"
		case typePort:
			what = "a port"
		case typePortRange:
			what = "a port range"
		}
		if p.tok.kind == tokEOF {
			return nil, p.errorf(p.tok, "expression ends where %s was expected", what)
		}
		return nil, p.errorf(p.tok, "expected %s, not %q", what, p.tok.text)
	}
	if q.typ == typeNone {
		q.typ = typeHost
	}
	return p.id(q)
}

// dir parses an optional direction qualifier: src, dst, "src or dst",
// "src and dst" (or "dst or src", "dst and src").
func (p *filterParser) dir(q *quals) *FilterError {
	if p.tok.kind != tokWord || (p.tok.text != "src" && p.tok.text != "dst") {
		return nil
	}
	first := p.tok.text
	q.dir = dirSrc
	if first == "dst" {
		q.dir = dirDst
	}
	op, err := p.lookahead(1)
	if err != nil {
		return err
	}
	if op.kind == tokAnd || op.kind == tokOr {
		other, err := p.lookahead(2)
		if err != nil {
			return err
		}
		if other.kind == tokWord && (other.text == "src" || other.text == "dst") {
			if other.text == first {
				return p.errorf(other, "%q twice in a direction", first)
			}
			q.dir = dirAny
			if op.kind == tokAnd {
				q.dir = dirBoth
			}
			if err := p.advance(); err != nil {
				return err
			}
			if err := p.advance(); err != nil {
				return err
			}
		}
	}
	return p.advance()
}

// bareID parses an identifier without qualifiers: it repeats the previous
// primitive's.
func (p *filterParser) bareID() (*fnode, *FilterError) {
	if !p.last.set {
		if _, err := netip.ParseAddr(p.tok.text); err == nil {
			return nil, p.errorf(p.tok, "%q needs a qualifier: \"host %s\"", p.tok.text, p.tok.text)
		}
		if _, err := netip.ParsePrefix(p.tok.text); err == nil {
			return nil, p.errorf(p.tok, "%q needs a qualifier: \"net %s\"", p.tok.text, p.tok.text)
		}
		if isNumber(p.tok.text) {
			return nil, p.errorf(p.tok, "%q needs a qualifier: \"port %s\"", p.tok.text, p.tok.text)
		}
		return nil, p.errorf(p.tok, "unknown keyword %q (host names are not resolved: give an address)", p.tok.text)
	}
	return p.id(p.last)
}

// id parses the identifier of a host, net, port or portrange primitive
// with the qualifiers q; the current token is the identifier.
func (p *filterParser) id(q quals) (*fnode, *FilterError) {
	t := p.tok
	if err := p.advance(); err != nil {
		return nil, err
	}
	pr := prim{proto: q.proto, dir: q.dir}
	var err *FilterError
	switch q.typ {
	case typeHost:
		err = p.host(t, &pr)
	case typeNet:
		err = p.network(t, &pr)
	case typePort, typePortRange:
		err = p.ports(t, q.typ, &pr)
	}
	if err != nil {
		return nil, err
	}
	p.last = q
	return &fnode{prim: pr}, nil
}

// checkAddrProto rejects a protocol qualifier that cannot apply to a
// host or net of a: tcp host, ip6 host 10.1.1.1, arp net ::/0.
func checkAddrProto(t token, proto qProto, a netip.Addr, kind string) *FilterError {
	switch proto {
	case protoAny:
	case protoIP, protoARP:
		if !a.Is4() {
			return &FilterError{Pos: t.pos, Msg: fmt.Sprintf("%q %s with an IPv6 address", protoNames[proto], kind)}
		}
	case protoIP6:
		if !a.Is6() {
			return &FilterError{Pos: t.pos, Msg: fmt.Sprintf("%q %s with an IPv4 address", protoNames[proto], kind)}
		}
	default:
		return &FilterError{Pos: t.pos, Msg: fmt.Sprintf("%q cannot qualify %s (use ip, ip6 or arp, or \"%s and %s …\")", protoNames[proto], kind, protoNames[proto], kind)}
	}
	return nil
}

func (p *filterParser) host(t token, pr *prim) *FilterError {
	if strings.Contains(t.text, "/") {
		return p.errorf(t, "host takes an address, not a prefix: use \"net %s\"", t.text)
	}
	a, err := netip.ParseAddr(t.text)
	if err != nil || a.Zone() != "" {
		return p.errorf(t, "%q is not an IPv4 or IPv6 address (host names are not resolved)", t.text)
	}
	if err := checkAddrProto(t, pr.proto, a, "host"); err != nil {
		return err
	}
	pr.op = opHost
	pr.net = netip.PrefixFrom(a, a.BitLen())
	return nil
}

// network parses a net id: a CIDR prefix, an address (a full-length
// prefix), 1 to 3 dotted IPv4 octets ("10.1" is 10.1.0.0/16), or an IPv4
// address followed by "mask" and a dotted mask.
func (p *filterParser) network(t token, pr *prim) *FilterError {
	var pfx netip.Prefix
	switch {
	case strings.Contains(t.text, "/"):
		pf, err := netip.ParsePrefix(t.text)
		if err != nil {
			addr, bits, _ := strings.Cut(t.text, "/")
			n, nerr := strconv.Atoi(bits)
			if a, aerr := partialIPv4(addr); aerr == nil && nerr == nil && n >= 0 && n <= 32 {
				pf = netip.PrefixFrom(a, n) // "10.1/16", as libpcap accepts
			} else {
				return p.errorf(t, "%q is not a network (want e.g. 10.1.0.0/16 or 2001:db8::/32)", t.text)
			}
		}
		pfx = pf
	default:
		if a, err := netip.ParseAddr(t.text); err == nil && a.Zone() == "" {
			pfx = netip.PrefixFrom(a, a.BitLen())
			if a.Is4() && p.tok.kind == tokWord && p.tok.text == "mask" {
				return p.mask(t, a, pr)
			}
		} else if a, err := partialIPv4(t.text); err == nil {
			pfx = netip.PrefixFrom(a, 8*(strings.Count(t.text, ".")+1))
		} else {
			return p.errorf(t, "%q is not a network (want e.g. 10.1.0.0/16, 10.1 or 2001:db8::/32)", t.text)
		}
	}
	if pfx.Masked() != pfx {
		return p.errorf(t, "%q has bits set beyond its /%d prefix (did you mean %s?)", t.text, pfx.Bits(), pfx.Masked())
	}
	if err := checkAddrProto(t, pr.proto, pfx.Addr(), "net"); err != nil {
		return err
	}
	pr.op = opNet
	pr.net = pfx
	return nil
}

// mask parses "mask M" after the IPv4 network a (token t).
func (p *filterParser) mask(t token, a netip.Addr, pr *prim) *FilterError {
	if err := p.advance(); err != nil { // "mask"
		return err
	}
	mt := p.tok
	m, err := netip.ParseAddr(mt.text)
	if mt.kind != tokWord || err != nil || !m.Is4() {
		return p.errorf(mt, "expected a dotted IPv4 mask after \"mask\" (e.g. 255.255.0.0)")
	}
	mb := m.As4()
	v := uint32(mb[0])<<24 | uint32(mb[1])<<16 | uint32(mb[2])<<8 | uint32(mb[3])
	bits := 0
	for bits < 32 && v&(1<<(31-bits)) != 0 {
		bits++
	}
	if bits < 32 && v<<bits != 0 {
		return p.errorf(mt, "mask %s is not contiguous", mt.text)
	}
	if err := p.advance(); err != nil {
		return err
	}
	pfx := netip.PrefixFrom(a, bits)
	if pfx.Masked() != pfx {
		return p.errorf(t, "%q has bits set beyond mask %s (did you mean %s?)", t.text, mt.text, pfx.Masked().Addr())
	}
	if err := checkAddrProto(t, pr.proto, a, "net"); err != nil {
		return err
	}
	pr.op = opNet
	pr.net = pfx
	return nil
}

// partialIPv4 parses 1 to 4 dotted decimal octets, the missing ones zero.
func partialIPv4(s string) (netip.Addr, error) {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, fmt.Errorf("too many octets")
	}
	var b [4]byte
	for i, part := range parts {
		if part == "" || len(part) > 3 || !isNumber(part) {
			return netip.Addr{}, fmt.Errorf("bad octet")
		}
		n, _ := strconv.Atoi(part)
		if n > 255 {
			return netip.Addr{}, fmt.Errorf("octet over 255")
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), nil
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// portNames are the service names a port may be given by (IANA).
var portNames = map[string]uint16{
	"ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53,
	"http": 80, "kerberos": 88, "epmap": 135, "netbios-ns": 137, "netbios-dgm": 138,
	"netbios-ssn": 139, "imap": 143, "ldap": 389, "https": 443, "microsoft-ds": 445,
	"ms-sql-s": 1433, "ms-sql-m": 1434, "ms-wbt-server": 3389,
}

// parsePort parses a port number or name.
func parsePort(s string) (uint16, string) {
	if isNumber(s) {
		if len(s) > 5 {
			return 0, "port number " + s + " over 65535"
		}
		n, _ := strconv.Atoi(s)
		if n > 65535 {
			return 0, "port number " + s + " over 65535"
		}
		return uint16(n), ""
	}
	if n, ok := portNames[s]; ok {
		return n, ""
	}
	return 0, fmt.Sprintf("%q is not a port number or a known service name", s)
}

func (p *filterParser) ports(t token, typ qType, pr *prim) *FilterError {
	switch pr.proto {
	case protoAny, protoTCP, protoUDP:
	default:
		return p.errorf(t, "%q cannot qualify a port (use tcp or udp)", protoNames[pr.proto])
	}
	pr.op = opPortRange
	if typ == typePort {
		n, msg := parsePort(t.text)
		if msg != "" {
			return p.errorf(t, "%s", msg)
		}
		pr.lo, pr.hi, pr.single = n, n, true
		return nil
	}
	los, his, ok := strings.Cut(t.text, "-")
	if !ok {
		return p.errorf(t, "port range %q: want LOW-HIGH (e.g. 6000-6010)", t.text)
	}
	lo, msg := parsePort(los)
	if msg == "" {
		var hi uint16
		hi, msg = parsePort(his)
		if msg == "" {
			pr.lo, pr.hi = min(lo, hi), max(lo, hi)
			return nil
		}
	}
	return p.errorf(t, "port range %q: %s", t.text, msg)
}

// ipProto parses "[ip|ip6] proto N"; the current token is "proto".
func (p *filterParser) ipProto(proto qProto) (*fnode, *FilterError) {
	switch proto {
	case protoAny, protoIP, protoIP6:
	default:
		return nil, p.errorf(p.tok, "\"proto\" applies to ip or ip6, not %q", protoNames[proto])
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	t := p.tok
	if t.kind != tokWord || !isNumber(t.text) || len(t.text) > 3 {
		return nil, p.errorf(t, "expected an IP protocol number 0-255 after \"proto\" (tcp is 6, udp 17, icmp 1, icmp6 58)")
	}
	n, _ := strconv.Atoi(t.text)
	if n > 255 {
		return nil, p.errorf(t, "IP protocol number %d over 255", n)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	p.last = quals{}
	return &fnode{prim: prim{op: opIPProto, proto: proto, num: uint8(n)}}, nil
}

// vlan parses "vlan [id]"; the current token is "vlan".
func (p *filterParser) vlan() (*fnode, *FilterError) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	pr := prim{op: opVLAN, vlan: -1}
	if p.tok.kind == tokWord && isNumber(p.tok.text) {
		if len(p.tok.text) > 4 {
			return nil, p.errorf(p.tok, "VLAN ID %s over 4095", p.tok.text)
		}
		n, _ := strconv.Atoi(p.tok.text)
		if n > 4095 {
			return nil, p.errorf(p.tok, "VLAN ID %d over 4095", n)
		}
		pr.vlan = int32(n)
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	p.last = quals{}
	return &fnode{prim: pr}, nil
}
