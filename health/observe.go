package health

import (
	"net/netip"
	"time"
)

// Packet is what the network-level diagnoses (NetDiagnoser) need to know of
// one decoded frame. The root package fills it from each decoded packet;
// health does not import the decoder, so this small value type is the
// contract between them.
//
// The common TCP/UDP case needs no allocation: the rare parts (ICMP, ARP,
// DNS) are pointers that stay nil. Payload aliases the caller's buffer and
// is valid only during the Packet call; the diagnoser copies what it keeps.
type Packet struct {
	Frame int64     // 1-based, as tshark counts
	Time  time.Time // capture time

	// Src and Dst are the IP addresses with the TCP/UDP ports (port 0 for
	// other protocols). For ARP both hold the zero value; see ARP.
	Src, Dst netip.AddrPort
	Proto    uint8 // IP protocol: 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6; 0 for ARP

	IPLen      int  // IP total length as on the wire (IPv6: payload length + 40)
	PayloadLen int  // transport payload length the headers declare
	DF         bool // IPv4 don't-fragment bit

	// TCP fields (Proto 6).
	TCPFlags TCPFlags
	TCPSeq   uint32
	TCPAck   uint32
	MSS      uint16 // MSS option of a SYN; 0 when absent

	// Fragmentation. Fragment marks a fragment that did not (yet) complete
	// a datagram; Reassembled marks a datagram rebuilt from FragCount
	// fragments (then IPLen is the reassembled datagram's length).
	Fragment    bool
	Reassembled bool
	FragCount   int

	// Payload is the transport payload (or a prefix of it), aliasing the
	// caller's buffer. The diagnoser reads at most a few hundred bytes of it
	// (HTTP request lines, flood payload entropy). May be nil.
	Payload []byte

	ICMP *ICMPObs // non-nil for ICMP/ICMPv6 error messages
	ARP  *ARPObs  // non-nil for ARP frames
	DNS  *DNSObs  // non-nil for a decoded DNS message (UDP or TCP)
}

// PayloadUsed returns how many leading bytes of p.Payload NetDiagnoser.Packet
// may read: a caller that hands packets over to another goroutine copies
// only those (the parallel pipeline does). Bounded by the HTTP header scan.
func (p *Packet) PayloadUsed() int {
	n := len(p.Payload)
	switch {
	case p.Proto == protoUDP:
		return min(n, entropySample)
	case p.Proto == protoTCP && n >= 14:
		switch p.Payload[0] {
		case 'G', 'P', 'H', 'D', 'O', 'C', 'T': // httpRequestLine's first test
			return min(n, maxHeaderScan)
		}
	}
	return 0
}

// TCPFlags is the TCP flags field (RFC 9293, 3.1), with the same bit values
// as on the wire (NS in bit 8).
type TCPFlags uint16

// TCP flag bits.
const (
	TCPFlagFIN TCPFlags = 1 << iota
	TCPFlagSYN
	TCPFlagRST
	TCPFlagPSH
	TCPFlagACK
	TCPFlagURG
	TCPFlagECE
	TCPFlagCWR
	TCPFlagNS
)

// Has reports whether all bits of want are set.
func (f TCPFlags) Has(want TCPFlags) bool { return f&want == want }

// ICMPObs is an ICMP or ICMPv6 error message with what it quotes of the
// packet that caused it (RFC 792, RFC 4443, RFC 1191), or an echo request
// or reply (Echo set; ID and Seq identify it).
type ICMPObs struct {
	V6   bool
	Type uint8
	Code uint8
	// Echo marks an echo request or reply (ICMPv4 8/0, ICMPv6 128/129):
	// with DF set, pings of growing sizes measure the path MTU (C19).
	Echo    bool
	ID, Seq uint16
	// MTU is the next-hop MTU of an ICMPv4 "fragmentation needed" (type 3
	// code 4) or the MTU of an ICMPv6 "packet too big" (type 2).
	MTU uint16
	// Quoted* describe the offending packet the error quotes. QuotedValid
	// is false when the quote was missing or too short to name a flow.
	QuotedValid          bool
	QuotedSrc, QuotedDst netip.AddrPort
	QuotedProto          uint8
	QuotedSeq            uint32 // TCP sequence number of the quoted segment
	QuotedIPLen          int    // IP total length of the quoted packet
}

// ARPObs is an ARP packet for IPv4 over Ethernet (RFC 826).
type ARPObs struct {
	Op        uint16 // 1 request, 2 reply
	SenderMAC [6]byte
	SenderIP  netip.Addr
	TargetMAC [6]byte
	TargetIP  netip.Addr
}

// ARP operations (RFC 826).
const (
	ARPRequest = 1
	ARPReply   = 2
)

// DNSObs is a decoded DNS message (RFC 1035): its question and, for a
// response, the answer records that map names to addresses.
type DNSObs struct {
	ID       uint16
	Response bool
	RCode    uint8
	Question string // first question name, lower case, without the final dot
	QType    uint16
	Answers  []DNSAnswer
}

// DNSAnswer is one answer record: an address record (A/AAAA: Addr set) or
// a CNAME (Target set).
type DNSAnswer struct {
	Name   string
	Type   uint16 // 1 A, 5 CNAME, 28 AAAA
	Addr   netip.Addr
	Target string
	TTL    uint32
}

// DNS record types used in DNSAnswer.Type (RFC 1035, RFC 3596).
const (
	DNSTypeA     = 1
	DNSTypeCNAME = 5
	DNSTypeAAAA  = 28
)
