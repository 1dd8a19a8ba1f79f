package starttls

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// LDAP protocol operations and the StartTLS OID (RFC 4511, 4.2, 4.12,
// 4.14.1).
const (
	ldapExtendedRequest  = asn1.Tag(0x77) // [APPLICATION 23] constructed
	ldapExtendedResponse = asn1.Tag(0x78) // [APPLICATION 24] constructed
	ldapRequestName      = asn1.Tag(0x80) // [0] primitive
	startTLSOID          = "1.3.6.1.4.1.1466.20037"
)

// ldapFrame returns the length of the BER element (an LDAPMessage, RFC
// 4511, 4.1.1: a SEQUENCE) at the front of b, or need > 0 when more bytes
// are needed to know it, or an error when b cannot start one.
func ldapFrame(b []byte, max int) (n, need int, err error) {
	if len(b) < 2 {
		return 0, 2, nil
	}
	if b[0] != 0x30 {
		return 0, 0, fmt.Errorf("starttls: ldap: message starts with tag 0x%02x, not a SEQUENCE", b[0])
	}
	hdr, l := 2, int(b[1])
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 4 {
			return 0, 0, fmt.Errorf("starttls: ldap: length of %d bytes", k)
		}
		if len(b) < 2+k {
			return 0, 2 + k, nil
		}
		l = 0
		for _, c := range b[2 : 2+k] {
			l = l<<8 | int(c)
		}
		hdr += k
	}
	if l > max-hdr || l < 0 {
		return 0, 0, fmt.Errorf("starttls: ldap: message of %d bytes exceeds %d", l, max)
	}
	return hdr + l, 0, nil
}

// ldapMessage reads the message ID and the protocol operation of one
// LDAPMessage (RFC 4511, 4.1.1). op aliases msg.
func ldapMessage(msg []byte) (id int64, tag asn1.Tag, op cryptobyte.String, ok bool) {
	s := cryptobyte.String(msg)
	var body cryptobyte.String
	if !s.ReadASN1(&body, asn1.SEQUENCE) || !body.ReadASN1Integer(&id) || !body.ReadAnyASN1(&op, &tag) {
		return 0, 0, nil, false
	}
	return id, tag, op, true
}

// isStartTLSRequest reports whether op, an ExtendedRequest, names the
// StartTLS operation (RFC 4511, 4.14.1).
func isStartTLSRequest(tag asn1.Tag, op cryptobyte.String) bool {
	var name cryptobyte.String
	return tag == ldapExtendedRequest && op.ReadASN1(&name, ldapRequestName) && string(name) == startTLSOID
}

// extendedResult returns the resultCode of an ExtendedResponse (RFC 4511,
// 4.1.9: success is 0).
func extendedResult(tag asn1.Tag, op cryptobyte.String) (code int64, ok bool) {
	if tag != ldapExtendedResponse {
		return 0, false
	}
	var enum cryptobyte.String
	if !op.ReadASN1(&enum, asn1.ENUM) {
		return 0, false
	}
	s := cryptobyte.String(append([]byte{0x02, byte(len(enum))}, enum...))
	if len(enum) == 0 || len(enum) > 8 || !s.ReadASN1Integer(&code) {
		return 0, false
	}
	return code, true
}
