//go:build ignore

// gen writes the encapsulation test captures of this folder: the first
// frames of ../tls12-gcm.pcap (IPv4/TCP, a real TLS handshake) and a
// synthesised IPv6/UDP DNS query, each wrapped in every encapsulation the
// layers package decodes, plus undecoded.pcap, frames it does not decode.
// Run from the repository root:
//
//	go run ./testdata/layers/encap/gen.go && sh testdata/layers/encap/gen.sh
//
// No tool writes these encapsulations on demand (they come from routers,
// switches and tunnel endpoints); the headers follow the RFCs cited below
// and tshark's decode of them is the reference (*.tsv).
package main

import (
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

const dir = "testdata/layers/encap"

var (
	macA = []byte{0x00, 0x16, 0x3e, 0x11, 0x22, 0x33}
	macB = []byte{0x00, 0x16, 0x3e, 0x44, 0x55, 0x66}
)

// inner is one packet to wrap: its IP bytes, and its EtherType.
type inner struct {
	ip    []byte
	etype uint16
}

func (in inner) eth() []byte { return append(ethHdr(in.etype), in.ip...) }

func ethHdr(etype uint16) []byte {
	h := append(append([]byte(nil), macB...), macA...)
	return binary.BigEndian.AppendUint16(h, etype)
}

func main() {
	inners := readInners()
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	eth := []func(inner) []byte{
		pppoe, qinq, vlan9100, mpls, mplsPW, greKeySeq, greChecksum, greTEB, greOverIPv6,
		vxlan, erspan1, erspan2, erspan3, ipip, pptp,
	}
	var frames [][]byte
	for _, wrap := range eth {
		for _, in := range inners {
			if b := wrap(in); b != nil {
				frames = append(frames, b)
			}
		}
	}
	write("encap-ethernet.pcap", 1, base, frames)
	write("encap-sll2.pcap", 276, base, wrapAll(inners, sll2))
	write("encap-null.pcap", 0, base, wrapAll(inners, null))
	write("encap-loop.pcap", 108, base, wrapAll(inners, loop))
	write("undecoded.pcap", 1, base, undecoded(inners[0]))
}

func wrapAll(inners []inner, wrap func(inner) []byte) [][]byte {
	var out [][]byte
	for _, in := range inners {
		out = append(out, wrap(in))
	}
	return out
}

// readInners returns the first 6 frames of tls12-gcm.pcap without their
// Ethernet header, and an IPv6/UDP DNS query.
func readInners() []inner {
	f, err := os.Open("testdata/layers/tls12-gcm.pcap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	var out []inner
	for len(out) < 6 {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, inner{ip: data[14:], etype: binary.BigEndian.Uint16(data[12:14])})
	}
	return append(out, inner{ip: dnsV6(), etype: 0x86dd})
}

// dnsV6 is a DNS query for example.com over IPv6/UDP.
func dnsV6() []byte {
	ip := &glayers.IPv6{Version: 6, HopLimit: 64, NextHeader: glayers.IPProtocolUDP,
		SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::53")}
	udp := &glayers.UDP{SrcPort: 40000, DstPort: 53}
	udp.SetNetworkLayerForChecksum(ip)
	dns := &glayers.DNS{ID: 0x1234, RD: true, QDCount: 1,
		Questions: []glayers.DNSQuestion{{Name: []byte("example.com"), Type: glayers.DNSTypeAAAA, Class: glayers.DNSClassIN}}}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ip, udp, dns); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

// write writes a classic pcap file (microsecond timestamps) by hand:
// gopacket's writer keeps link types in a byte, and SLL2 is 276.
func write(name string, lt uint32, base time.Time, frames [][]byte) {
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, lt)
	for i, f := range frames {
		ts := base.Add(time.Duration(i) * time.Millisecond)
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Nanosecond()/1000))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		log.Fatal(err)
	}
}

// ppp returns the PPP protocol number of an inner packet.
func pppProto(in inner) uint16 {
	if in.etype == 0x86dd {
		return 0x0057
	}
	return 0x0021
}

// pppoe: RFC 2516, 4 (session stage: ver/type 0x11, code 0, session id,
// length of the PPP frame) and the PPP protocol field.
func pppoe(in inner) []byte {
	b := ethHdr(0x8864)
	b = append(b, 0x11, 0x00, 0x12, 0x34)
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(in.ip)))
	b = binary.BigEndian.AppendUint16(b, pppProto(in))
	return append(b, in.ip...)
}

// qinq: IEEE 802.1ad service tag (VLAN 10) over an 802.1Q tag (VLAN 100).
func qinq(in inner) []byte {
	b := ethHdr(0x88a8)
	b = append(b, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64)
	b = binary.BigEndian.AppendUint16(b, in.etype)
	return append(b, in.ip...)
}

// vlan9100: a pre-standard stacked tag (EtherType 0x9100) over 802.1Q.
func vlan9100(in inner) []byte {
	b := ethHdr(0x9100)
	b = append(b, 0x00, 0x14, 0x81, 0x00, 0x00, 0xc8)
	b = binary.BigEndian.AppendUint16(b, in.etype)
	return append(b, in.ip...)
}

// mplsEntry is one label stack entry (RFC 3032, 2.1).
func mplsEntry(label uint32, bottom bool) []byte {
	v := label<<12 | 64 // TTL 64
	if bottom {
		v |= 1 << 8
	}
	return binary.BigEndian.AppendUint32(nil, v)
}

// mpls: two labels over the IP packet.
func mpls(in inner) []byte {
	b := append(ethHdr(0x8847), mplsEntry(1000, false)...)
	b = append(b, mplsEntry(2000, true)...)
	return append(b, in.ip...)
}

// mplsPW: an Ethernet pseudowire (RFC 4448) with its control word (RFC
// 4385), one label.
func mplsPW(in inner) []byte {
	b := append(ethHdr(0x8847), mplsEntry(3000, true)...)
	b = append(b, 0, 0, 0, 0)
	return append(b, in.eth()...)
}

// ipv4 returns an IPv4 header (no options, checksum computed) for a
// payload of n bytes of protocol proto.
func ipv4(proto uint8, n int, id uint16) []byte {
	h := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0, 198, 51, 100, 1, 198, 51, 100, 2}
	binary.BigEndian.PutUint16(h[2:], uint16(20+n))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[10:], checksum(h))
	return h
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

var ipID uint16 = 100

// overIPv4 wraps payload in an IPv4 packet of protocol proto inside an
// Ethernet frame.
func overIPv4(proto uint8, payload []byte) []byte {
	ipID++
	b := append(ethHdr(0x0800), ipv4(proto, len(payload), ipID)...)
	return append(b, payload...)
}

// greHdr returns a GRE header (RFC 2784, RFC 2890) with the given flags
// (0x8000 checksum, 0x2000 key, 0x1000 sequence) and protocol type.
func greHdr(flags, proto uint16, payload []byte) []byte {
	h := binary.BigEndian.AppendUint16(nil, flags)
	h = binary.BigEndian.AppendUint16(h, proto)
	if flags&0x8000 != 0 {
		h = append(h, 0, 0, 0, 0)
	}
	if flags&0x2000 != 0 {
		h = binary.BigEndian.AppendUint32(h, 0xcafe)
	}
	if flags&0x1000 != 0 {
		ipID++
		h = binary.BigEndian.AppendUint32(h, uint32(ipID))
	}
	b := append(h, payload...)
	if flags&0x8000 != 0 {
		binary.BigEndian.PutUint16(b[4:], checksum(b))
	}
	return b
}

func greKeySeq(in inner) []byte {
	return overIPv4(47, greHdr(0x3000, in.etype, in.ip))
}

func greChecksum(in inner) []byte {
	return overIPv4(47, greHdr(0x8000, in.etype, in.ip))
}

// greTEB: transparent Ethernet bridging (0x6558) carries a whole frame.
func greTEB(in inner) []byte {
	return overIPv4(47, greHdr(0x2000, 0x6558, in.eth()))
}

// greOverIPv6: GRE (no options) in IPv6.
func greOverIPv6(in inner) []byte {
	g := greHdr(0, in.etype, in.ip)
	h := []byte{0x60, 0, 0, 0, 0, 0, 47, 64}
	binary.BigEndian.PutUint16(h[4:], uint16(len(g)))
	h = append(h, net.ParseIP("2001:db8:ff::1")...)
	h = append(h, net.ParseIP("2001:db8:ff::2")...)
	return append(append(ethHdr(0x86dd), h...), g...)
}

// vxlan: RFC 7348, 5: UDP to 4789 (checksum 0), flags with I set, VNI 5001.
func vxlan(in inner) []byte {
	v := []byte{0x08, 0, 0, 0, 0x00, 0x13, 0x89, 0}
	payload := append(v, in.eth()...)
	u := []byte{0xd4, 0x31, 0x12, 0xb5, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(payload)))
	return overIPv4(17, append(u, payload...))
}

// erspan1: ERSPAN type I, GRE protocol 0x88be without a sequence number
// and without an ERSPAN header.
func erspan1(in inner) []byte {
	return overIPv4(47, greHdr(0, 0x88be, in.eth()))
}

// erspan2: ERSPAN type II (draft-foschiano-erspan, 4.1): GRE with a
// sequence number, then version 1, VLAN 0, session 7, index 0.
func erspan2(in inner) []byte {
	h := []byte{0x10, 0x00, 0x00, 0x07, 0, 0, 0, 0}
	return overIPv4(47, greHdr(0x1000, 0x88be, append(h, in.eth()...)))
}

// erspan3: ERSPAN type III (draft-foschiano-erspan, 4.2): version 2,
// session 9, a timestamp, frame type 0 (Ethernet), and on IPv6 inner
// packets the O bit with an 8-byte platform-specific subheader.
func erspan3(in inner) []byte {
	h := []byte{0x20, 0x00, 0x00, 0x09, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0}
	if in.etype == 0x86dd {
		h[11] = 0x01
		h = append(h, 0x0c, 0, 0, 0, 0, 0, 0, 0) // platform ID 3 subheader
	}
	return overIPv4(47, greHdr(0x1000, 0x22eb, append(h, in.eth()...)))
}

// ipip: IPv4 in IPv4 (RFC 2003) or IPv6 in IPv4 (6in4, RFC 4213).
func ipip(in inner) []byte {
	if in.etype == 0x86dd {
		return overIPv4(41, in.ip)
	}
	return overIPv4(4, in.ip)
}

// pptp: PPTP's enhanced GRE (RFC 2637, 4.1): version 1, key present
// (payload length, call id), sequence number, PPP with address and
// control, IPv4 only.
func pptp(in inner) []byte {
	if in.etype != 0x0800 {
		return nil
	}
	ppp := append([]byte{0xff, 0x03, 0x00, 0x21}, in.ip...)
	h := []byte{0x30, 0x01, 0x88, 0x0b}
	h = binary.BigEndian.AppendUint16(h, uint16(len(ppp)))
	h = append(h, 0x00, 0x2a)
	ipID++
	h = binary.BigEndian.AppendUint32(h, uint32(ipID))
	return overIPv4(47, append(h, ppp...))
}

// sll2: LINKTYPE_LINUX_SLL2 (protocol, reserved, ifindex, ARPHRD 1,
// packet type 0, address length 6, address).
func sll2(in inner) []byte {
	h := binary.BigEndian.AppendUint16(nil, in.etype)
	h = append(h, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6)
	h = append(h, macA...)
	h = append(h, 0, 0)
	return append(h, in.ip...)
}

// family is the BSD address family (AF_INET 2; AF_INET6 24, as NetBSD and
// OpenBSD number it).
func family(in inner) uint32 {
	if in.etype == 0x86dd {
		return 24
	}
	return 2
}

// null: LINKTYPE_NULL, the family in the capturing host's byte order
// (little-endian here).
func null(in inner) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, family(in)), in.ip...)
}

// loop: LINKTYPE_LOOP (OpenBSD), the family in network byte order.
func loop(in inner) []byte {
	return append(binary.BigEndian.AppendUint32(nil, family(in)), in.ip...)
}

// undecoded returns frames whose encapsulation carries nothing nettrace
// decodes: LLDP, PPPoE discovery (PADI), PPP LCP in a PPPoE session, GRE
// carrying an unknown protocol type, and one IPv4/TCP frame that is
// decoded.
func undecoded(in inner) [][]byte {
	lldp := append(ethHdr(0x88cc), 0x02, 0x07, 0x04, 0x02, 0, 0, 0, 0, 0x0a, 0x04, 0x03, 0x05, 0x65, 0x74, 0x30, 0x06, 0x02, 0x00, 0x78, 0, 0)
	padi := append(ethHdr(0x8863), 0x11, 0x09, 0x00, 0x00, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00)
	lcp := append(ethHdr(0x8864), 0x11, 0x00, 0x12, 0x34, 0x00, 0x0c, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x08, 0x01, 0x04, 0x05, 0xd4)
	greUnknown := overIPv4(47, greHdr(0, 0x88b5, []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	return [][]byte{lldp, padi, lcp, lldp, greUnknown, in.eth(), lldp}
}
