package layers

import (
	"fmt"
	"net/netip"

	"golang.org/x/crypto/cryptobyte"
)

// DNS limits: a message with more records is parsed up to these counts.
const (
	maxDNSQuestions = 16
	maxDNSAnswers   = 64
	maxDNSName      = 255 // RFC 1035, 2.3.4
	maxDNSPointers  = 32  // compression pointers followed per name
)

// DNS record types decoded in answers (RFC 1035, 3.2.2; RFC 3596).
const (
	DNSTypeA     = 1
	DNSTypeNS    = 2
	DNSTypeCNAME = 5
	DNSTypePTR   = 12
	DNSTypeAAAA  = 28
)

// DNSMessage is a decoded DNS message header with its questions and
// answers (RFC 1035, 4.1). Nothing in it aliases the input.
type DNSMessage struct {
	ID       uint16
	Response bool  // QR
	Opcode   uint8 // 0 query
	RCode    uint8 // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, ...
	TC       bool  // truncated (answer did not fit)
	RD, RA   bool
	// Counts as the header declares them.
	QDCount, ANCount, NSCount, ARCount uint16
	// Questions and Answers hold at most 16 and 64 entries.
	Questions []DNSQuestion
	Answers   []DNSAnswer
}

// DNSQuestion is one question (RFC 1035, 4.1.2).
type DNSQuestion struct {
	Name  string // dotted, without the final dot; "." for the root
	Type  uint16
	Class uint16
}

// DNSAnswer is one answer record (RFC 1035, 4.1.3).
type DNSAnswer struct {
	Name  string
	Type  uint16
	Class uint16
	TTL   uint32
	Addr  netip.Addr // A, AAAA
	Host  string     // CNAME, NS, PTR target
}

// ParseDNS parses a DNS message (the payload of a UDP datagram, or of a TCP
// DNS message after its 2-byte length). Names are decompressed with at most
// 32 pointers each and 255 bytes. Records beyond the first 16 questions and
// 64 answers are not parsed; the authority and additional sections are not
// parsed. On error it returns what was parsed so far and a *ParseError
// wrapping ErrTruncated or ErrMalformed.
func ParseDNS(payload []byte) (DNSMessage, error) {
	var m DNSMessage
	s := cryptobyte.String(payload)
	var flags uint16
	if !s.ReadUint16(&m.ID) || !s.ReadUint16(&flags) || !s.ReadUint16(&m.QDCount) ||
		!s.ReadUint16(&m.ANCount) || !s.ReadUint16(&m.NSCount) || !s.ReadUint16(&m.ARCount) {
		return m, perr.Truncate("dns header", 12)
	}
	m.Response = flags&0x8000 != 0
	m.Opcode = uint8(flags>>11) & 0xf
	m.TC = flags&0x0200 != 0
	m.RD = flags&0x0100 != 0
	m.RA = flags&0x0080 != 0
	m.RCode = uint8(flags & 0xf)
	for i := 0; i < int(m.QDCount); i++ {
		var q DNSQuestion
		var err error
		if q.Name, err = readDNSName(payload, &s); err != nil {
			return m, err
		}
		if !s.ReadUint16(&q.Type) || !s.ReadUint16(&q.Class) {
			return m, perr.TruncateDetail("dns question", fmt.Sprintf("question %d", i+1))
		}
		if i < maxDNSQuestions {
			m.Questions = append(m.Questions, q)
		}
	}
	for i := 0; i < int(m.ANCount) && i < maxDNSAnswers; i++ {
		var a DNSAnswer
		var err error
		if a.Name, err = readDNSName(payload, &s); err != nil {
			return m, err
		}
		var rdata cryptobyte.String
		if !s.ReadUint16(&a.Type) || !s.ReadUint16(&a.Class) || !s.ReadUint32(&a.TTL) || !s.ReadUint16LengthPrefixed(&rdata) {
			return m, perr.TruncateDetail("dns answer", fmt.Sprintf("answer %d", i+1))
		}
		switch a.Type {
		case DNSTypeA:
			var ip [4]byte
			if len(rdata) != 4 || !rdata.CopyBytes(ip[:]) {
				return m, perr.Malform("dns answer", fmt.Sprintf("A record of %d bytes", len(rdata)))
			}
			a.Addr = netip.AddrFrom4(ip)
		case DNSTypeAAAA:
			var ip [16]byte
			if len(rdata) != 16 || !rdata.CopyBytes(ip[:]) {
				return m, perr.Malform("dns answer", fmt.Sprintf("AAAA record of %d bytes", len(rdata)))
			}
			a.Addr = netip.AddrFrom16(ip)
		case DNSTypeCNAME, DNSTypeNS, DNSTypePTR:
			if a.Host, err = readDNSName(payload, &rdata); err != nil {
				return m, err
			}
		}
		m.Answers = append(m.Answers, a)
	}
	return m, nil
}

// readDNSName reads a possibly compressed name (RFC 1035, 4.1.4) at s, whose
// pointers index msg, and advances s past it.
func readDNSName(msg []byte, s *cryptobyte.String) (string, error) {
	var name [maxDNSName + 1]byte
	n := 0
	cur := *s
	jumped := false
	for ptrs := 0; ; {
		var l uint8
		if !cur.ReadUint8(&l) {
			return "", perr.Truncate("dns name", 0)
		}
		switch {
		case l == 0:
			if !jumped {
				*s = cur
			}
			if n == 0 {
				return ".", nil
			}
			return string(name[:n]), nil
		case l&0xc0 == 0xc0:
			var lo uint8
			if !cur.ReadUint8(&lo) {
				return "", perr.TruncateDetail("dns name", "compression pointer")
			}
			if !jumped {
				*s = cur
				jumped = true
			}
			if ptrs++; ptrs > maxDNSPointers {
				return "", perr.Malform("dns name", fmt.Sprintf("more than %d compression pointers (loop)", maxDNSPointers))
			}
			off := int(l&0x3f)<<8 | int(lo)
			cur = cryptobyte.String(msg)
			if !cur.Skip(off) || cur.Empty() {
				return "", perr.Malform("dns name", fmt.Sprintf("pointer %d outside the %d-byte message", off, len(msg)))
			}
		case l&0xc0 != 0:
			return "", perr.Malform("dns name", fmt.Sprintf("label type 0x%02x", l&0xc0))
		default:
			var label []byte
			if !cur.ReadBytes(&label, int(l)) {
				return "", perr.TruncateDetail("dns name", fmt.Sprintf("label of %d bytes", l))
			}
			if n+len(label)+1 > maxDNSName {
				return "", perr.Malform("dns name", fmt.Sprintf("longer than %d bytes", maxDNSName))
			}
			if n > 0 {
				name[n] = '.'
				n++
			}
			n += copy(name[n:], label)
		}
	}
}
