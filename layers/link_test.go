package layers

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/health"
)

// relink rewrites an Ethernet frame for another link type.
func relink(eth []byte, link string) (out []byte, lt uint16) {
	etype := binary.BigEndian.Uint16(eth[12:14])
	ip := eth[14:]
	family := uint32(2) // AF_INET
	if etype == 0x86dd {
		family = 24 // AF_INET6 on NetBSD/OpenBSD; gopacket maps 24, 28, 30
	}
	switch link {
	case "sll": // LINKTYPE_LINUX_SLL: packet type, ARPHRD, addr len, addr[8], protocol
		h := []byte{0, 0, 0, 1, 0, 6, 2, 0, 0xa, 0xc8, 1, 0xa, 0, 0}
		h = binary.BigEndian.AppendUint16(h, etype)
		return append(h, ip...), linkSLL
	case "sll2": // LINKTYPE_LINUX_SLL2: protocol, reserved, ifindex, ARPHRD, packet type, addr len, addr[8]
		h := binary.BigEndian.AppendUint16(nil, etype)
		h = append(h, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0xa, 0xc8, 1, 0xa, 0, 0)
		return append(h, ip...), LinkTypeLinuxSLL2
	case "null-le":
		return append(binary.LittleEndian.AppendUint32(nil, family), ip...), linkNull
	case "null-be":
		return append(binary.BigEndian.AppendUint32(nil, family), ip...), linkNull
	case "loop":
		return append(binary.BigEndian.AppendUint32(nil, family), ip...), linkLoop
	case "raw":
		return append([]byte(nil), ip...), linkRaw
	case "ipv4/ipv6": // LINKTYPE_IPV4 or LINKTYPE_IPV6 by the EtherType
		if etype == 0x86dd {
			return append([]byte(nil), ip...), linkIPv6
		}
		return append([]byte(nil), ip...), linkIPv4
	case "dot1q":
		h := append([]byte(nil), eth[:12]...)
		h = append(h, 0x81, 0x00, 0x00, 0x64)
		return append(h, eth[12:]...), linkEthernet
	case "qinq":
		h := append([]byte(nil), eth[:12]...)
		h = append(h, 0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64)
		return append(h, eth[12:]...), linkEthernet
	}
	panic(link)
}

// TestLinkTypes decodes the frames of a real capture re-encapsulated in
// every supported link type: each must decode exactly as the Ethernet
// original (addresses, ports, seq/ack, flags, lengths, checksums).
func TestLinkTypes(t *testing.T) {
	for _, name := range []string{"tls12-gcm.pcap", "zeek-ipv6-fragmented-dns.pcap", "c06-frag.pcap"} {
		frames, err := readFrames(t, testdata(name))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]row, len(frames))
		d := NewDecoder(nil, DefaultLimits())
		for i := range frames {
			p, ok := d.Decode(&frames[i])
			want[i] = summarise(frames[i].Number, p, ok)
			want[i].capLen, want[i].wireLen = 0, 0
		}
		for _, link := range []string{"sll", "sll2", "null-le", "null-be", "loop", "raw", "ipv4/ipv6", "dot1q", "qinq"} {
			t.Run(name+"/"+link, func(t *testing.T) {
				col := &health.Collector{}
				d := NewDecoder(col, DefaultLimits())
				for i, f := range frames {
					data, lt := relink(f.Data, link)
					f.Data, f.CapLen, f.WireLen = data, len(data), len(data)
					f.LinkType, f.Link = glayers.LinkType(lt), lt
					p, ok := d.Decode(&f)
					got := summarise(f.Number, p, ok)
					got.capLen, got.wireLen = 0, 0
					if diff := cmp.Diff(want[i], got, cmp.AllowUnexported(row{})); diff != "" {
						t.Errorf("frame %d (-ethernet +%s):\n%s", f.Number, link, diff)
					}
				}
				for _, e := range col.Events {
					if e.Kind != health.NetFragmentIncomplete { // zeek's trace has a lone fragment
						t.Errorf("event %+v", e)
					}
				}
			})
		}
	}
}

// TestTunnelsDecodeInnerPacket: IP-in-IP (IPv4 in IPv4, IPv6 in IPv4) is
// analysed by its inner packet.
func TestTunnelsDecodeInnerPacket(t *testing.T) {
	inner := tcp4(t, "10.9.9.1", "10.9.9.2", 64, 5000, 80, 77, 0, true, nil)[14:]
	outer := []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 63, 4, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
	binary.BigEndian.PutUint16(outer[2:], uint16(20+len(inner)))
	eth := append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0}, outer...)
	eth = append(eth, inner...)
	p, ok := NewDecoder(nil, Limits{SkipChecksums: true}).Decode(eframe(1, eth))
	if !ok || p.Src != mustAddr("10.9.9.1") || p.Transport != TransportTCP || p.TCP.Seq != 77 {
		t.Fatalf("ok %v src %v transport %d", ok, p.Src, p.Transport)
	}
	v6 := udp6(t, "2001:db8::1", "2001:db8::2", 1, 53, []byte("x"))[14:]
	outer[9] = 41
	binary.BigEndian.PutUint16(outer[2:], uint16(20+len(v6)))
	eth = append(append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0}, outer...), v6...)
	p, ok = NewDecoder(nil, Limits{}).Decode(eframe(1, eth))
	if !ok || p.Src != mustAddr("2001:db8::1") || p.Transport != TransportUDP || p.UDP.DstPort != 53 || p.L4Checksum != ChecksumGood {
		t.Fatalf("6in4: ok %v src %v transport %d", ok, p.Src, p.Transport)
	}
}
