package layers

import (
	"net/netip"
	"strconv"
	"time"
)

// Transport says which transport header a Packet carries.
type Transport uint8

// Transports a Packet can carry.
const (
	TransportNone Transport = iota // no IP, or an IP protocol we do not decode
	TransportTCP
	TransportUDP
	TransportICMP // ICMPv4 or ICMPv6
	TransportARP  // an ARP frame (no IP at all)
)

// Checksum records what a checksum field held, without trusting it. A
// checksum that does not match is evidence about the capture before it is
// evidence about the network: the capturing host's NIC fills checksums in
// after the capture point (offload), and tools that rewrite addresses leave
// them stale. Only the Decoder's per-source verdict at Flush calls a wrong
// checksum corruption (casebook C11; see Decoder.ChecksumStats).
type Checksum uint8

// Checksum states. The values of the first three are unchanged since they
// were introduced; ChecksumNotComputed was split off ChecksumBad.
const (
	// ChecksumUnchecked: not verified (SkipChecksums, a frame cut by the
	// snapshot length, a fragment's transport, a UDP checksum of 0, which
	// RFC 768 defines as "no checksum", or a transport nettrace does not
	// verify).
	ChecksumUnchecked Checksum = iota
	// ChecksumGood: the field holds the right checksum (even when that
	// value is 0).
	ChecksumGood
	// ChecksumBad: the field holds a wrong, non-zero value.
	ChecksumBad
	// ChecksumNotComputed: a TCP (over IPv4 or IPv6) or IPv4 header
	// checksum field of 0 that does not verify: never computed, as on a
	// crafted packet, a capture taken before checksum offload, or one whose
	// checksums were cleared. It is never reported as an error.
	ChecksumNotComputed
)

var checksumNames = [...]string{"unchecked", "good", "bad", "not computed"}

// String returns "unchecked", "good", "bad", "not computed", or
// Checksum(n) for an unknown value.
func (c Checksum) String() string {
	if int(c) < len(checksumNames) {
		return checksumNames[c]
	}
	return "Checksum(" + strconv.Itoa(int(c)) + ")"
}

// Wrong reports whether the checksum was verified and does not match:
// ChecksumBad or ChecksumNotComputed. A wrong checksum alone proves
// nothing: see Checksum.
func (c Checksum) Wrong() bool { return c == ChecksumBad || c == ChecksumNotComputed }

// TCPFlags is the TCP flags field (RFC 9293, 3.1), NS in bit 8.
type TCPFlags uint16

// TCP flag bits.
const (
	FlagFIN TCPFlags = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
	FlagNS
)

// Has reports whether all bits of want are set.
func (f TCPFlags) Has(want TCPFlags) bool { return f&want == want }

// SACKBlock is one SACK block (RFC 2018): bytes [Left, Right) were received.
type SACKBlock struct{ Left, Right uint32 }

// TCPHeader is the decoded TCP header with its options. It is a value type
// reused across packets; nothing in it aliases the frame.
type TCPHeader struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            TCPFlags
	Window           uint16 // as on the wire, unscaled
	DataOffset       uint8  // header length in 32-bit words
	MSS              uint16 // 0 when absent
	WindowScale      int8   // -1 when absent
	SACKPermitted    bool
	HasTimestamps    bool
	TSval, TSecr     uint32
	NumSACK          uint8        // blocks used in SACK
	SACK             [4]SACKBlock // RFC 2018 allows at most 4 blocks
}

// SACKBlocks returns the SACK blocks present, aliasing h.
func (h *TCPHeader) SACKBlocks() []SACKBlock { return h.SACK[:h.NumSACK] }

// UDPHeader is the decoded UDP header.
type UDPHeader struct {
	SrcPort, DstPort uint16
	Length           uint16
}

// ICMPHeader is a decoded ICMPv4 or ICMPv6 message with, for error
// messages, the packet it quotes.
type ICMPHeader struct {
	V6      bool
	Type    uint8
	Code    uint8
	MTU     uint16 // next-hop MTU (v4 frag needed) or MTU (v6 packet too big; capped at 65535)
	IsError bool   // unreachable, packet too big, time exceeded, parameter problem, redirect
	Quoted  Quoted // the offending packet's headers, when IsError and present
	ID, Seq uint16 // echo request/reply
	Gateway netip.Addr
}

// Quoted holds what an ICMP error quotes of the packet that caused it.
type Quoted struct {
	Valid            bool
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
	TCPSeq           uint32 // first 8 bytes of the transport header: TCP seq
	IPLen            uint16
}

// ARPHeader is a decoded ARP packet (IPv4 over Ethernet).
type ARPHeader struct {
	Op        uint16 // 1 request, 2 reply
	SenderMAC [6]byte
	SenderIP  netip.Addr
	TargetMAC [6]byte
	TargetIP  netip.Addr
}

// Packet is one decoded frame. The Decoder reuses one Packet for every frame:
// Payload and Raw alias the frame buffer and are valid only until the next
// call. Code that keeps anything must copy it.
type Packet struct {
	Frame   int64     // 1-based, as tshark counts
	Time    time.Time // capture timestamp
	CapLen  int       // bytes captured
	WireLen int       // bytes on the wire
	Raw     []byte    // the frame as captured

	// IP layer (Network is 4 or 6; 0 when there is none).
	Network     uint8
	Src, Dst    netip.Addr
	IPProto     uint8
	TTL         uint8  // TTL or hop limit
	IPID        uint32 // IPv4 id, or IPv6 fragment id
	DF          bool
	IPLen       int      // IPv4 total length / IPv6 payload length + 40, as on the wire
	TSO         bool     // IPv4 total length 0: length taken from the capture (C10)
	Fragment    bool     // a fragment that did not (yet) complete a datagram
	Reassembled bool     // Payload is a datagram reassembled from fragments
	FragFrames  []int64  // frames of the fragments when Reassembled
	IPChecksum  Checksum // IPv4 header checksum (ChecksumUnchecked for IPv6)
	L4Checksum  Checksum // TCP, UDP, ICMPv4 or ICMPv6 checksum
	Truncated   bool     // frame cut short by the snapshot length
	// Encap is the set of encapsulations (VLAN, PPPoE, MPLS, GRE, VXLAN,
	// ERSPAN, IP-in-IP) the analysed packet was found in; the IP and
	// transport fields are the innermost packet's.
	Encap Encap

	Transport Transport
	TCP       TCPHeader  // valid when Transport == TransportTCP
	UDP       UDPHeader  // valid when Transport == TransportUDP
	ICMP      ICMPHeader // valid when Transport == TransportICMP
	ARP       ARPHeader  // valid when Transport == TransportARP

	// Payload is the transport payload (TCP/UDP data), aliasing the frame
	// or the reassembly buffer. For a TSO frame it is sized from the capture.
	Payload []byte
	// PayloadLen is the payload length the headers declare; it can exceed
	// len(Payload) when the frame was truncated by the snapshot length.
	PayloadLen int
}

// SrcAddrPort returns the source address and port (port 0 without TCP/UDP).
func (p *Packet) SrcAddrPort() netip.AddrPort {
	src, _ := p.ports()
	return netip.AddrPortFrom(p.Src, src)
}

// DstAddrPort returns the destination address and port.
func (p *Packet) DstAddrPort() netip.AddrPort {
	_, dst := p.ports()
	return netip.AddrPortFrom(p.Dst, dst)
}

// ports returns the TCP or UDP source and destination ports (0, 0 for other
// transports).
func (p *Packet) ports() (src, dst uint16) {
	switch p.Transport {
	case TransportTCP:
		return p.TCP.SrcPort, p.TCP.DstPort
	case TransportUDP:
		return p.UDP.SrcPort, p.UDP.DstPort
	}
	return 0, 0
}
