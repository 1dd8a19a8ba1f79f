package health

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/ip4defrag"
	glayers "github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// netReadCapture decodes a classic pcap into health.Packets with gopacket,
// independently of the layers package, so the diagnoses can be tested on
// real traffic on their own. It reassembles IPv4 fragments with gopacket's
// ip4defrag, decodes ICMPv4 quotes, ARP and DNS.
func netReadCapture(t testing.TB, path string) []Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defrag := ip4defrag.NewIPv4Defragmenter()
	fragCount := map[uint16]int{}
	var out []Packet
	var frame int64
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		frame++
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		p := Packet{Frame: frame, Time: ci.Timestamp}
		if arp, ok := pkt.Layer(glayers.LayerTypeARP).(*glayers.ARP); ok {
			a := &ARPObs{Op: arp.Operation}
			copy(a.SenderMAC[:], arp.SourceHwAddress)
			copy(a.TargetMAC[:], arp.DstHwAddress)
			a.SenderIP, _ = netip.AddrFromSlice(arp.SourceProtAddress)
			a.TargetIP, _ = netip.AddrFromSlice(arp.DstProtAddress)
			p.ARP = a
			out = append(out, p)
			continue
		}
		ip4, ok := pkt.Layer(glayers.LayerTypeIPv4).(*glayers.IPv4)
		if !ok {
			continue
		}
		src, _ := netip.AddrFromSlice(ip4.SrcIP.To4())
		dst, _ := netip.AddrFromSlice(ip4.DstIP.To4())
		p.Proto = uint8(ip4.Protocol)
		p.IPLen = int(ip4.Length)
		p.DF = ip4.Flags&glayers.IPv4DontFragment != 0
		transport := ip4.Payload
		if ip4.Flags&glayers.IPv4MoreFragments != 0 || ip4.FragOffset != 0 {
			fragCount[ip4.Id]++
			whole, err := defrag.DefragIPv4WithTimestamp(ip4, ci.Timestamp)
			if err != nil {
				t.Fatalf("frame %d: defrag: %v", frame, err)
			}
			if whole == nil {
				p.Fragment = true
				p.Src, p.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
				out = append(out, p)
				continue
			}
			p.Reassembled, p.FragCount = true, fragCount[ip4.Id]
			delete(fragCount, ip4.Id)
			p.IPLen = int(ip4.IHL)*4 + len(whole.Payload) // as the layers decoder reports it
			transport = whole.Payload
		}
		switch ip4.Protocol {
		case glayers.IPProtocolTCP:
			var tcp glayers.TCP
			if tcp.DecodeFromBytes(transport, gopacket.NilDecodeFeedback) != nil {
				continue
			}
			p.Src, p.Dst = netip.AddrPortFrom(src, uint16(tcp.SrcPort)), netip.AddrPortFrom(dst, uint16(tcp.DstPort))
			p.TCPSeq, p.TCPAck = tcp.Seq, tcp.Ack
			p.TCPFlags = netTCPFlags(&tcp)
			for _, o := range tcp.Options {
				if o.OptionType == glayers.TCPOptionKindMSS && len(o.OptionData) == 2 {
					p.MSS = binary.BigEndian.Uint16(o.OptionData)
				}
			}
			p.Payload = tcp.Payload
			p.PayloadLen = p.IPLen - int(ip4.IHL)*4 - int(tcp.DataOffset)*4
		case glayers.IPProtocolUDP:
			var udp glayers.UDP
			if udp.DecodeFromBytes(transport, gopacket.NilDecodeFeedback) != nil {
				continue
			}
			p.Src, p.Dst = netip.AddrPortFrom(src, uint16(udp.SrcPort)), netip.AddrPortFrom(dst, uint16(udp.DstPort))
			p.Payload = udp.Payload
			p.PayloadLen = int(udp.Length) - 8
			if udp.SrcPort == 53 || udp.DstPort == 53 {
				p.DNS = netDNSObs(udp.Payload)
			}
		case glayers.IPProtocolICMPv4:
			p.Src, p.Dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
			var icmp glayers.ICMPv4
			if icmp.DecodeFromBytes(transport, gopacket.NilDecodeFeedback) != nil {
				continue
			}
			typ := icmp.TypeCode.Type()
			if typ == 3 || typ == 5 || typ == 11 || typ == 12 {
				q := &ICMPObs{Type: typ, Code: icmp.TypeCode.Code()}
				if typ == 3 && q.Code == 4 {
					q.MTU = icmp.Seq
				}
				netQuoteIPv4(icmp.Payload, q)
				p.ICMP = q
			}
		}
		out = append(out, p)
	}
}

// netQuoteIPv4 fills q from the IPv4 header and first 8 transport bytes an
// ICMP error quotes.
func netQuoteIPv4(b []byte, q *ICMPObs) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl+8 {
		return
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	q.QuotedProto = b[9]
	q.QuotedIPLen = int(binary.BigEndian.Uint16(b[2:4]))
	t := b[ihl:]
	var sp, dp uint16
	if q.QuotedProto == 6 || q.QuotedProto == 17 {
		sp, dp = binary.BigEndian.Uint16(t[0:2]), binary.BigEndian.Uint16(t[2:4])
	}
	if q.QuotedProto == 6 {
		q.QuotedSeq = binary.BigEndian.Uint32(t[4:8])
	}
	q.QuotedSrc, q.QuotedDst = netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	q.QuotedValid = true
}

func netTCPFlags(t *glayers.TCP) TCPFlags {
	var f TCPFlags
	for _, b := range []struct {
		set bool
		f   TCPFlags
	}{{t.FIN, TCPFlagFIN}, {t.SYN, TCPFlagSYN}, {t.RST, TCPFlagRST}, {t.PSH, TCPFlagPSH}, {t.ACK, TCPFlagACK}, {t.URG, TCPFlagURG}} {
		if b.set {
			f |= b.f
		}
	}
	return f
}

// netDNSObs decodes a DNS message with gopacket (test only).
func netDNSObs(b []byte) *DNSObs {
	var m glayers.DNS
	if m.DecodeFromBytes(b, gopacket.NilDecodeFeedback) != nil {
		return nil
	}
	o := &DNSObs{ID: m.ID, Response: m.QR, RCode: uint8(m.ResponseCode)}
	if len(m.Questions) > 0 {
		o.Question = strings.ToLower(string(m.Questions[0].Name))
		o.QType = uint16(m.Questions[0].Type)
	}
	for _, a := range m.Answers {
		ans := DNSAnswer{Name: string(a.Name), Type: uint16(a.Type), TTL: a.TTL}
		switch a.Type {
		case glayers.DNSTypeA, glayers.DNSTypeAAAA:
			ans.Addr, _ = netip.AddrFromSlice(a.IP)
			ans.Addr = ans.Addr.Unmap()
		case glayers.DNSTypeCNAME:
			ans.Target = string(a.CNAME)
		default:
			continue
		}
		o.Answers = append(o.Answers, ans)
	}
	return o
}

// netTestdata returns the path of a capture in testdata/health.
func netTestdata(name string) string { return filepath.Join("..", "testdata", "health", name) }

// netSharedCapture returns the path of a capture under ../shared/captures, or
// skips the test when the shared folder is absent.
func netSharedCapture(t testing.TB, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "shared", "captures", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared capture not available: %v", err)
	}
	return p
}

// netRun feeds pkts into a new diagnoser and returns it with the findings.
func netRun(t testing.TB, cfg NetConfig, pkts []Packet) (*NetDiagnoser, *Collector) {
	t.Helper()
	d := NewNetDiagnoser(cfg)
	for i := range pkts {
		d.Packet(&pkts[i])
	}
	var col Collector
	d.Finish(&col)
	return d, &col
}
