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
	maxDNSRecords   = 64  // authority and additional records kept, each
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
	// Questions and Answers hold at most 16 and 64 entries; Authority and
	// Additional at most 64 each.
	Questions  []DNSQuestion
	Answers    []DNSAnswer
	Authority  []DNSAnswer
	Additional []DNSAnswer
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
	Host  string     // CNAME, NS, PTR, SRV target
	Port  uint16     // SRV (RFC 2782)
}

// DNSTypeSRV is the SRV record type (RFC 2782), which DNS-SD (mDNS)
// answers carry in their additional section.
const DNSTypeSRV = 33

// ParseDNS parses a DNS message (the payload of a UDP datagram, or of a TCP
// DNS message after its 2-byte length); mDNS (RFC 6762) and LLMNR (RFC
// 4795) messages have the same format. Names are decompressed with at
// most 32 pointers each and 255 bytes. Questions beyond the first 16,
// answers beyond the first 64 and authority and additional records beyond
// the first 64 of each section are not parsed. On error it returns what
// was parsed so far and a *ParseError wrapping ErrTruncated or
// ErrMalformed.
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
	var err error
	if m.Answers, err = readDNSRecords(payload, &s, "answer", int(m.ANCount), maxDNSAnswers); err != nil || len(m.Answers) < int(m.ANCount) {
		return m, err
	}
	if m.Authority, err = readDNSRecords(payload, &s, "authority record", int(m.NSCount), maxDNSRecords); err != nil || len(m.Authority) < int(m.NSCount) {
		return m, err
	}
	m.Additional, err = readDNSRecords(payload, &s, "additional record", int(m.ARCount), maxDNSRecords)
	return m, err
}

// readDNSRecords reads up to max of the n resource records (RFC 1035,
// 4.1.3) at s, whose names point into msg.
func readDNSRecords(msg []byte, s *cryptobyte.String, what string, n, max int) ([]DNSAnswer, error) {
	var out []DNSAnswer
	for i := 0; i < n && i < max; i++ {
		a, err := readDNSRecord(msg, s)
		if err != nil {
			if pe, ok := err.(*ParseError); ok && pe.Detail == "" {
				pe.Detail = fmt.Sprintf("%s %d", what, i+1)
			}
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

// readDNSRecord reads one resource record and decodes the data of A,
// AAAA, CNAME, NS, PTR and SRV records.
func readDNSRecord(msg []byte, s *cryptobyte.String) (DNSAnswer, error) {
	var a DNSAnswer
	var err error
	if a.Name, err = readDNSName(msg, s); err != nil {
		return a, err
	}
	var rdata cryptobyte.String
	if !s.ReadUint16(&a.Type) || !s.ReadUint16(&a.Class) || !s.ReadUint32(&a.TTL) || !s.ReadUint16LengthPrefixed(&rdata) {
		return a, perr.Truncate("dns record", 0)
	}
	switch a.Type {
	case DNSTypeA:
		var ip [4]byte
		if len(rdata) != 4 || !rdata.CopyBytes(ip[:]) {
			return a, perr.Malform("dns record", fmt.Sprintf("A record of %d bytes", len(rdata)))
		}
		a.Addr = netip.AddrFrom4(ip)
	case DNSTypeAAAA:
		var ip [16]byte
		if len(rdata) != 16 || !rdata.CopyBytes(ip[:]) {
			return a, perr.Malform("dns record", fmt.Sprintf("AAAA record of %d bytes", len(rdata)))
		}
		a.Addr = netip.AddrFrom16(ip)
	case DNSTypeCNAME, DNSTypeNS, DNSTypePTR:
		if a.Host, err = readDNSName(msg, &rdata); err != nil {
			return a, err
		}
	case DNSTypeSRV: // RFC 2782: priority, weight, port, target
		var prio, weight uint16
		if !rdata.ReadUint16(&prio) || !rdata.ReadUint16(&weight) || !rdata.ReadUint16(&a.Port) {
			return a, perr.Malform("dns record", fmt.Sprintf("SRV record of %d bytes", len(rdata)))
		}
		if a.Host, err = readDNSName(msg, &rdata); err != nil {
			return a, err
		}
	}
	return a, nil
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
