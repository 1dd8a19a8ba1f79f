package layers

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
)

func TestCompileFilterCanonicalForm(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"tcp", "tcp"},
		{"host 10.1.1.1", "host 10.1.1.1"},
		{"src host 10.1.1.1", "src host 10.1.1.1"},
		{"src 10.1.1.1", "src host 10.1.1.1"},
		{"dst host 2001:db8::1", "dst host 2001:db8::1"},
		{"src or dst host 10.1.1.1", "host 10.1.1.1"},
		{"src and dst host 10.1.1.1", "src and dst host 10.1.1.1"},
		{"dst and src host 10.1.1.1", "src and dst host 10.1.1.1"},
		{"ip host 10.1.1.1", "ip host 10.1.1.1"},
		{"arp host 10.1.1.1", "arp host 10.1.1.1"},
		{"net 10.0.0.0/8", "net 10.0.0.0/8"},
		{"net 10", "net 10.0.0.0/8"},
		{"net 10.1", "net 10.1.0.0/16"},
		{"net 10.1.2", "net 10.1.2.0/24"},
		{"net 10.1.2.3", "net 10.1.2.3/32"},
		{"net 10.1/16", "net 10.1.0.0/16"},
		{"net 192.168.0.0 mask 255.255.0.0", "net 192.168.0.0/16"},
		{"ip6 src net 2001:db8::/32", "ip6 src net 2001:db8::/32"},
		{"port 80", "port 80"},
		{"port https", "port 443"},
		{"tcp dst port 80", "tcp dst port 80"},
		{"udp src or dst port 53", "udp port 53"},
		{"portrange 6000-6010", "portrange 6000-6010"},
		{"portrange 90-80", "portrange 80-90"},
		{"tcp portrange ssh-http", "tcp portrange 22-80"},
		{"ip proto 47", "ip proto 47"},
		{"proto 50", "proto 50"},
		{"vlan", "vlan"},
		{"vlan 100", "vlan 100"},
		{"icmp or icmp6", "icmp or icmp6"},
		// A bare identifier repeats the previous primitive's qualifiers.
		{"host 10.1.1.1 or 10.1.1.2", "host 10.1.1.1 or host 10.1.1.2"},
		{"tcp port 80 or 443", "tcp port 80 or tcp port 443"},
		{"not host 10.1.1.1 and 10.1.1.2", "not host 10.1.1.1 and host 10.1.1.2"},
		{"src net 10 or 172.16/12", "src net 10.0.0.0/8 or src net 172.16.0.0/12"},
		// Precedence: not binds tightest; and/or are equal, from the left.
		{"tcp or udp and port 53", "(tcp or udp) and port 53"},
		{"tcp and udp or port 53", "(tcp and udp) or port 53"},
		{"tcp or (udp and port 53)", "tcp or (udp and port 53)"},
		{"not tcp and udp", "not tcp and udp"},
		{"not (tcp and udp)", "not (tcp and udp)"},
		{"!tcp", "not tcp"},
		{"! ! tcp", "tcp"},
		{"not not not tcp", "not tcp"},
		{"tcp && port 80 || !udp", "(tcp and port 80) or not udp"},
		{"a1: ((tcp))"[4:], "tcp"},
		{"tcp and port 80 and host 10.0.0.1", "tcp and port 80 and host 10.0.0.1"},
		{"(tcp or udp) and (port 53 or port 80)", "(tcp or udp) and (port 53 or port 80)"},
		{"host 10.0.0.1 and (port 80 or 443)", "host 10.0.0.1 and (port 80 or port 443)"},
		{"\ttcp\n", "tcp"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := CompileFilter(tc.in)
			if err != nil {
				t.Fatalf("CompileFilter(%q) error: %v", tc.in, err)
			}
			if diff := cmp.Diff(tc.want, f.String()); diff != "" {
				t.Errorf("String() mismatch (-want +got):\n%s", diff)
			}
			// The canonical form compiles to itself.
			g, err := CompileFilter(f.String())
			if err != nil || g.String() != f.String() {
				t.Errorf("canonical %q recompiles to %v, %v", f.String(), g, err)
			}
		})
	}
}

func TestCompileFilterErrors(t *testing.T) {
	tests := []struct {
		in      string
		pos     int
		msgPart string
	}{
		{"hots 10.0.0.1", 1, `unknown keyword "hots"`},
		{"tcp and hots 10.0.0.1", 9, `unknown keyword "hots"`},
		{"10.0.0.1", 1, `needs a qualifier: "host 10.0.0.1"`},
		{"10.0.0.0/8", 1, `"net 10.0.0.0/8"`},
		{"80", 1, `"port 80"`},
		{"host", 5, "ends where an address was expected"},
		{"host and tcp", 6, `expected an address, not "and"`},
		{"port 65536", 6, "over 65535"},
		{"port foo", 6, `"foo" is not a port number`},
		{"portrange 10", 11, "want LOW-HIGH"},
		{"portrange 1-x", 11, "port range"},
		{"host 10.0.0.0/8", 6, "not a prefix"},
		{"host 10.0.0.256", 6, "not an IPv4 or IPv6 address"},
		{"host www.example.com", 6, "not resolved"},
		{"net 10.1.1.1/8", 5, "bits set beyond its /8 prefix (did you mean 10.0.0.0/8?)"},
		{"net 10.0.0.1 mask 255.0.0.0", 5, "bits set beyond mask"},
		{"net 10.0.0.0 mask 255.0.255.0", 19, "not contiguous"},
		{"net 10.0.0.0 mask", 18, "mask"},
		{"net 300", 5, "not a network"},
		{"tcp host 10.0.0.1", 10, `"tcp" cannot qualify host`},
		{"ip host ::1", 9, `"ip" host with an IPv6 address`},
		{"ip6 host 10.0.0.1", 10, `"ip6" host with an IPv4 address`},
		{"arp net 2001:db8::/32", 9, `"arp" net with an IPv6 address`},
		{"ip port 80", 9, `"ip" cannot qualify a port`},
		{"icmp proto 1", 6, `"proto" applies to ip or ip6`},
		{"proto tcp", 7, "IP protocol number"},
		{"proto 256", 7, "over 255"},
		{"vlan 4096", 6, "over 4095"},
		{"tcp tcp", 5, `expected "and" or "or" between "tcp" and "tcp"`},
		{"tcp udp", 5, "between"},
		{"tcp and", 8, `expected a primitive after "and"`},
		{"tcp or or udp", 8, `expected a primitive after "or"`},
		{"not", 4, `expected a primitive after "not"`},
		{"(tcp", 1, `unbalanced "("`},
		{"tcp)", 4, `unbalanced ")"`},
		{"()", 2, "empty parentheses"},
		{"(tcp udp)", 6, "between"},
		{"tcp[13] & 2 != 0", 4, "byte-offset expressions"},
		{"len > 100", 1, `"len" is not supported`},
		{"ether host 00:11:22:33:44:55", 1, `"ether" is not supported`},
		{"port 80 and tcp and 443", 21, `needs a qualifier: "port 443"`},
		{"src src host 1.1.1.1", 5, "expected an address"},
		{"src or src host 1.1.1.1", 8, `"src" twice`},
		{"host 10.0.0.1 10.0.0.2", 15, `expected "and" or "or" before "10.0.0.2"`},
		{"tcp é", 5, "unexpected byte 0xc3"},
		{"tcp ; udp", 5, `unexpected ';'`},
		{strings.Repeat("(", maxFilterDepth+1) + "tcp" + strings.Repeat(")", maxFilterDepth+1), maxFilterDepth + 1, "nested more than"},
		{strings.Repeat("not ", maxFilterDepth+1) + "tcp", 4*maxFilterDepth + 1, "nested more than"},
	}
	for _, tc := range tests {
		name := tc.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			f, err := CompileFilter(tc.in)
			var fe *FilterError
			if !errors.As(err, &fe) {
				t.Fatalf("CompileFilter(%q) = %v, %v; want a *FilterError", tc.in, f, err)
			}
			if fe.Pos != tc.pos || fe.Expr != tc.in {
				t.Errorf("error %q at position %d of %q, want position %d", fe.Msg, fe.Pos, fe.Expr, tc.pos)
			}
			if !strings.Contains(fe.Msg, tc.msgPart) {
				t.Errorf("error %q does not say %q", fe.Msg, tc.msgPart)
			}
			if !strings.HasPrefix(err.Error(), "layers: filter: position ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestCompileFilterRejectsOverlongExpression(t *testing.T) {
	expr := strings.Repeat("tcp or ", maxFilterLen/7+1) + "tcp"
	_, err := CompileFilter(expr)
	var fe *FilterError
	if !errors.As(err, &fe) || !strings.Contains(fe.Msg, "longer than") {
		t.Fatalf("error = %v", err)
	}
}

// A long chain of one operator is one group: no recursion per primitive
// when compiling or matching.
func TestCompileFilterLongChains(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString("port ")
		b.WriteString(itoa(i))
	}
	f, err := CompileFilter(b.String())
	if err != nil {
		t.Fatal(err)
	}
	pk := filterPackets(t)
	if !f.Match(pk["tcp4"].pkt) || !f.MatchFrame(pk["tcp4"].frame) { // port 80
		t.Error("port chain does not match port 80")
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [8]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}

// testPacket is a frame and the Packet the Decoder made of it.
type testPacket struct {
	frame *Frame
	pkt   *Packet
}

var (
	filterMACA = net.HardwareAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55}
	filterMACB = net.HardwareAddr{0, 0x66, 0x77, 0x88, 0x99, 0xaa}
)

// filterPackets builds one frame of each kind the filter tests use, and
// decodes each with its own Decoder.
func filterPackets(t testing.TB) map[string]testPacket {
	t.Helper()
	ser := func(ls ...gopacket.SerializableLayer) []byte {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	ip4 := func(src, dst string, proto glayers.IPProtocol) *glayers.IPv4 {
		return &glayers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	}
	ip6 := func(src, dst string, next glayers.IPProtocol) *glayers.IPv6 {
		return &glayers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	}
	eth := func(t glayers.EthernetType) *glayers.Ethernet {
		return &glayers.Ethernet{SrcMAC: filterMACA, DstMAC: filterMACB, EthernetType: t}
	}
	tcp := func(ip gopacket.NetworkLayer, sport, dport uint16) *glayers.TCP {
		l := &glayers.TCP{SrcPort: glayers.TCPPort(sport), DstPort: glayers.TCPPort(dport), Seq: 1, ACK: true, Ack: 1, Window: 1000, DataOffset: 5}
		l.SetNetworkLayerForChecksum(ip)
		return l
	}
	udp := func(ip gopacket.NetworkLayer, sport, dport uint16) *glayers.UDP {
		l := &glayers.UDP{SrcPort: glayers.UDPPort(sport), DstPort: glayers.UDPPort(dport)}
		l.SetNetworkLayerForChecksum(ip)
		return l
	}
	payload := gopacket.Payload("hello")
	frames := map[string][]byte{}

	i := ip4("10.0.0.1", "10.0.0.2", glayers.IPProtocolTCP)
	frames["tcp4"] = ser(eth(glayers.EthernetTypeIPv4), i, tcp(i, 1234, 80), payload)
	i = ip4("10.0.0.3", "8.8.8.8", glayers.IPProtocolUDP)
	frames["udp4"] = ser(eth(glayers.EthernetTypeIPv4), i, udp(i, 5353, 53), payload)
	i6 := ip6("2001:db8::1", "2001:db8::2", glayers.IPProtocolTCP)
	frames["tcp6"] = ser(eth(glayers.EthernetTypeIPv6), i6, tcp(i6, 4444, 443), payload)
	i6 = ip6("2001:db8::1", "2001:db8::2", glayers.IPProtocolIPv6HopByHop)
	hbh := &glayers.IPv6HopByHop{}
	hbh.NextHeader = glayers.IPProtocolUDP
	hbh.Options = []*glayers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
	frames["udp6hbh"] = ser(eth(glayers.EthernetTypeIPv6), i6, hbh, udp(i6, 546, 547), payload)
	i = ip4("10.0.0.1", "10.9.9.9", glayers.IPProtocolICMPv4)
	frames["icmp4"] = ser(eth(glayers.EthernetTypeIPv4), i, &glayers.ICMPv4{TypeCode: glayers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, payload)
	i6 = ip6("fe80::1", "fe80::2", glayers.IPProtocolICMPv6)
	icmp6 := &glayers.ICMPv6{TypeCode: glayers.CreateICMPv6TypeCode(128, 0)}
	icmp6.SetNetworkLayerForChecksum(i6)
	frames["icmp6"] = ser(eth(glayers.EthernetTypeIPv6), i6, icmp6, &glayers.ICMPv6Echo{Identifier: 1, SeqNumber: 1}, payload)
	frames["arp"] = ser(eth(glayers.EthernetTypeARP), &glayers.ARP{AddrType: glayers.LinkTypeEthernet, Protocol: glayers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: 1, SourceHwAddress: filterMACA, SourceProtAddress: net.IP{10, 0, 0, 1}.To4(),
		DstHwAddress: make(net.HardwareAddr, 6), DstProtAddress: net.IP{10, 0, 0, 9}.To4()})
	i = ip4("192.168.5.5", "10.0.0.2", glayers.IPProtocolTCP)
	frames["vlan100"] = ser(eth(glayers.EthernetTypeDot1Q), &glayers.Dot1Q{VLANIdentifier: 100, Type: glayers.EthernetTypeIPv4}, i, tcp(i, 40000, 445), payload)
	i = ip4("192.168.5.5", "10.0.0.2", glayers.IPProtocolUDP)
	frames["qinq"] = ser(eth(glayers.EthernetTypeQinQ), &glayers.Dot1Q{VLANIdentifier: 7, Type: glayers.EthernetTypeDot1Q},
		&glayers.Dot1Q{VLANIdentifier: 200, Type: glayers.EthernetTypeIPv4}, i, udp(i, 1434, 1434), payload)
	// A later fragment of a UDP datagram: no transport header, so no ports.
	i = ip4("10.0.0.3", "8.8.8.8", glayers.IPProtocolUDP)
	i.FragOffset = 185
	frames["frag4"] = ser(eth(glayers.EthernetTypeIPv4), i, gopacket.Payload(make([]byte, 24)))
	// IP protocol 47 (GRE) with no decoded transport.
	i = ip4("10.0.0.1", "10.0.0.2", glayers.IPProtocolGRE)
	frames["gre"] = ser(eth(glayers.EthernetTypeIPv4), i, gopacket.Payload(make([]byte, 8)))

	out := map[string]testPacket{}
	for name, data := range frames {
		f := &Frame{Number: 1, Time: time.Unix(1, 0), Data: data, CapLen: len(data), WireLen: len(data), LinkType: glayers.LinkTypeEthernet}
		p, ok := NewDecoder(nil, DefaultLimits()).Decode(f)
		tp := testPacket{frame: f}
		if ok {
			cp := *p
			tp.pkt = &cp
		} else if name != "frag4" {
			t.Fatalf("%s: frame does not decode", name)
		}
		out[name] = tp
	}
	return out
}

func TestFilterMatch(t *testing.T) {
	pk := filterPackets(t)
	all := []string{"tcp4", "udp4", "tcp6", "udp6hbh", "icmp4", "icmp6", "arp", "vlan100", "qinq", "frag4", "gre"}
	tests := []struct {
		expr string
		want []string // the packets that match, the others do not
	}{
		{"", all},
		{"tcp", []string{"tcp4", "tcp6", "vlan100"}},
		{"udp", []string{"udp4", "udp6hbh", "qinq", "frag4"}},
		{"icmp", []string{"icmp4"}},
		{"icmp6", []string{"icmp6"}},
		{"ip", []string{"tcp4", "udp4", "icmp4", "vlan100", "qinq", "frag4", "gre"}},
		{"ip6", []string{"tcp6", "udp6hbh", "icmp6"}},
		{"arp", []string{"arp"}},
		{"vlan", []string{"vlan100", "qinq"}},
		{"vlan 100", []string{"vlan100"}},
		{"vlan 7", []string{"qinq"}}, // the outermost tag
		{"vlan 200", nil},
		{"not vlan", []string{"tcp4", "udp4", "tcp6", "udp6hbh", "icmp4", "icmp6", "arp", "frag4", "gre"}},
		{"host 10.0.0.1", []string{"tcp4", "icmp4", "arp", "gre"}},
		{"ip host 10.0.0.1", []string{"tcp4", "icmp4", "gre"}},
		{"arp host 10.0.0.9", []string{"arp"}},
		{"src host 10.0.0.1", []string{"tcp4", "icmp4", "arp", "gre"}},
		{"dst host 10.0.0.1", nil},
		{"dst host 10.0.0.2", []string{"tcp4", "vlan100", "qinq", "gre"}},
		{"src and dst net 10.0.0.0/8", []string{"tcp4", "icmp4", "arp", "gre"}},
		{"net 192.168.0.0 mask 255.255.0.0", []string{"vlan100", "qinq"}},
		{"net 10", []string{"tcp4", "udp4", "icmp4", "arp", "vlan100", "qinq", "frag4", "gre"}},
		{"host 2001:db8::2", []string{"tcp6", "udp6hbh"}},
		{"net 2001:db8::/32", []string{"tcp6", "udp6hbh"}},
		{"ip6 net fe80::/10", []string{"icmp6"}},
		{"port 80", []string{"tcp4"}},
		{"port 53", []string{"udp4"}}, // not the later fragment
		{"udp port 53", []string{"udp4"}},
		{"tcp port 53", nil},
		{"src port 80", nil},
		{"dst port 80", []string{"tcp4"}},
		{"port 547", []string{"udp6hbh"}}, // through the hop-by-hop header
		{"portrange 400-500", []string{"tcp6", "vlan100"}},
		{"tcp portrange 1-1024", []string{"tcp4", "tcp6", "vlan100"}},
		{"src and dst port 1434", []string{"qinq"}},
		{"ip proto 47", []string{"gre"}},
		{"proto 17", []string{"udp4", "udp6hbh", "qinq", "frag4"}},
		{"ip6 proto 6", []string{"tcp6"}},
		// Precedence: (tcp or udp) and port 53.
		{"tcp or udp and port 53", []string{"udp4"}},
		{"tcp or (udp and port 53)", []string{"tcp4", "tcp6", "vlan100", "udp4"}},
		{"not tcp and not udp", []string{"icmp4", "icmp6", "arp", "gre"}},
		{"not (tcp or udp)", []string{"icmp4", "icmp6", "arp", "gre"}},
		{"!tcp && !udp", []string{"icmp4", "icmp6", "arp", "gre"}},
		{"host 10.0.0.1 or 8.8.8.8", []string{"tcp4", "udp4", "icmp4", "arp", "frag4", "gre"}},
		{"host 10.0.0.2 and not port 80", []string{"vlan100", "qinq", "gre"}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			f := MustCompileFilter(tc.expr)
			want := map[string]bool{}
			for _, n := range tc.want {
				want[n] = true
			}
			for _, name := range all {
				tp := pk[name]
				if got := f.MatchFrame(tp.frame); got != want[name] {
					t.Errorf("MatchFrame(%s) = %v, want %v", name, got, want[name])
				}
				if tp.pkt == nil {
					continue // a fragment waiting for the rest of its datagram
				}
				if got := f.Match(tp.pkt); got != want[name] {
					t.Errorf("Match(%s) = %v, want %v", name, got, want[name])
				}
			}
		})
	}
}

// Match sees the tag through the packet's raw bytes only when they hold
// the packet the Decoder found: a raw-IP frame from 129.0.x.x (bytes 12-13
// of its header are 0x8100) is not a tagged frame.
func TestFilterVLANNotFooledByRawIP(t *testing.T) {
	raw := []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 0x81, 0x00, 0, 5, 0x08, 0x00, 0x45, 0, 0, 0, 0, 0}
	// Source 10.0.0.1, destination 129.0.0.5: bytes 16-17 are 0x8100.
	p := &Packet{Network: 4, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("129.0.0.5"), IPProto: 17, Raw: raw}
	if MustCompileFilter("vlan").Match(p) {
		t.Error("raw IPv4 packet matched vlan")
	}
}

func TestFilterMatchDoesNotAllocate(t *testing.T) {
	pk := filterPackets(t)
	f := MustCompileFilter("(tcp or udp) and (host 10.0.0.2 or net 2001:db8::/32) and not port 22 or vlan 100")
	for _, name := range []string{"tcp4", "tcp6", "vlan100", "arp"} {
		tp := pk[name]
		if n := testing.AllocsPerRun(100, func() { f.Match(tp.pkt) }); n != 0 {
			t.Errorf("Match(%s): %v allocations per run", name, n)
		}
		if n := testing.AllocsPerRun(100, func() { f.MatchFrame(tp.frame) }); n != 0 {
			t.Errorf("MatchFrame(%s): %v allocations per run", name, n)
		}
	}
}

func BenchmarkFilterMatch(b *testing.B) {
	pk := filterPackets(b)
	f := MustCompileFilter("(tcp or udp) and (host 10.0.0.2 or net 2001:db8::/32) and not port 22")
	for _, name := range []string{"tcp4", "tcp6", "vlan100"} {
		tp := pk[name]
		b.Run("Match/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				f.Match(tp.pkt)
			}
		})
		b.Run("MatchFrame/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				f.MatchFrame(tp.frame)
			}
		})
	}
}

func BenchmarkCompileFilter(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := CompileFilter("tcp and (host 10.0.0.1 or net 192.168.0.0/16) and not port 22"); err != nil {
			b.Fatal(err)
		}
	}
}
