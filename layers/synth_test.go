package layers

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
)

var (
	macA = net.HardwareAddr{2, 0, 10, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 10, 0, 0, 2}
	t0   = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// serialize builds a frame from gopacket layers with lengths and checksums
// computed.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

// tcp4 builds an Ethernet/IPv4/TCP frame.
func tcp4(t testing.TB, src, dst string, ttl uint8, sport, dport uint16, seq, ack uint32, syn bool, payload []byte) []byte {
	t.Helper()
	ip := &glayers.IPv4{Version: 4, IHL: 5, TTL: ttl, Protocol: glayers.IPProtocolTCP, Flags: glayers.IPv4DontFragment,
		SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4(), Id: 7}
	tcp := &glayers.TCP{SrcPort: glayers.TCPPort(sport), DstPort: glayers.TCPPort(dport), Seq: seq, Ack: ack, SYN: syn, ACK: ack != 0, Window: 502}
	tcp.SetNetworkLayerForChecksum(ip)
	return serialize(t, &glayers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: glayers.EthernetTypeIPv4}, ip, tcp, gopacket.Payload(payload))
}

// udp6 builds an Ethernet/IPv6/UDP frame.
func udp6(t testing.TB, src, dst string, sport, dport uint16, payload []byte) []byte {
	t.Helper()
	ip := &glayers.IPv6{Version: 6, HopLimit: 64, NextHeader: glayers.IPProtocolUDP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	udp := &glayers.UDP{SrcPort: glayers.UDPPort(sport), DstPort: glayers.UDPPort(dport)}
	udp.SetNetworkLayerForChecksum(ip)
	return serialize(t, &glayers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: glayers.EthernetTypeIPv6}, ip, udp, gopacket.Payload(payload))
}

// eframe wraps bytes as an Ethernet Frame.
func eframe(n int64, data []byte) *Frame {
	return &Frame{Number: n, Time: t0.Add(time.Duration(n) * time.Millisecond), Data: data, CapLen: len(data), WireLen: len(data), LinkType: glayers.LinkTypeEthernet}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
