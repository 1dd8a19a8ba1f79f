package tls

import (
	"fmt"

	"github.com/nettrace/nettrace/tcpstate"

	"golang.org/x/crypto/cryptobyte"
)

// ContentType is a TLS record's content type (RFC 8446, 5.1; RFC 6520).
type ContentType uint8

// Record content types.
const (
	TypeChangeCipherSpec ContentType = 20 // RFC 5246, 7.1
	TypeAlert            ContentType = 21 // RFC 5246, 7.2
	TypeHandshake        ContentType = 22 // RFC 5246, 7.4
	TypeApplicationData  ContentType = 23 // RFC 5246, 10
	TypeHeartbeat        ContentType = 24 // RFC 6520, 3
)

// String returns the content type's name, or ContentType(N) when unknown.
func (t ContentType) String() string {
	switch t {
	case TypeChangeCipherSpec:
		return "change_cipher_spec"
	case TypeAlert:
		return "alert"
	case TypeHandshake:
		return "handshake"
	case TypeApplicationData:
		return "application_data"
	case TypeHeartbeat:
		return "heartbeat"
	}
	return fmt.Sprintf("ContentType(%d)", uint8(t))
}

func (t ContentType) known() bool { return t >= TypeChangeCipherSpec && t <= TypeHeartbeat }

// Version is a protocol version as it appears on the wire (0x0303 = TLS 1.2).
type Version uint16

// Protocol versions.
const (
	VersionSSL2  Version = 0x0002
	VersionSSL30 Version = 0x0300
	VersionTLS10 Version = 0x0301
	VersionTLS11 Version = 0x0302
	VersionTLS12 Version = 0x0303
	VersionTLS13 Version = 0x0304
)

// String returns "TLS 1.2", "SSL 3.0", … or Version(0xNNNN).
func (v Version) String() string {
	switch v {
	case VersionSSL2:
		return "SSL 2.0"
	case VersionSSL30:
		return "SSL 3.0"
	case VersionTLS10:
		return "TLS 1.0"
	case VersionTLS11:
		return "TLS 1.1"
	case VersionTLS12:
		return "TLS 1.2"
	case VersionTLS13:
		return "TLS 1.3"
	}
	if v&0x0f0f == 0x0a0a {
		return fmt.Sprintf("GREASE(0x%04x)", uint16(v))
	}
	return fmt.Sprintf("Version(0x%04x)", uint16(v))
}

// Record is one TLS record (RFC 8446, 5.1). Fragment aliases the input.
type Record struct {
	Type     ContentType
	Version  Version
	Fragment []byte
}

// maxRecordLen bounds TLSCiphertext.length (RFC 5246, 6.2.3: 2^14 + 2048).
const maxRecordLen = 1<<14 + 2048

// recordHeaderLen is the size of a TLS record header.
const recordHeaderLen = 5

// ParseRecord parses the record at the front of b and returns it with the
// bytes after it. On error it returns b unchanged and a *ParseError wrapping
// ErrTruncated (wait for more) or ErrMalformed (can never become valid): an
// unknown content type, a major version other than 3, or a length over
// 2^14+2048.
func ParseRecord(b []byte) (Record, []byte, error) {
	s := cryptobyte.String(b)
	var typ uint8
	var ver, n uint16
	if !s.ReadUint8(&typ) || !s.ReadUint16(&ver) || !s.ReadUint16(&n) {
		return Record{}, b, truncated("record header", recordHeaderLen)
	}
	r := Record{Type: ContentType(typ), Version: Version(ver)}
	if !r.Type.known() {
		return Record{}, b, malformed("record header", fmt.Sprintf("unknown content type %d", typ))
	}
	if ver>>8 != 3 {
		return Record{}, b, malformed("record header", fmt.Sprintf("version 0x%04x is not 3.x", ver))
	}
	if n > maxRecordLen {
		return Record{}, b, malformed("record", fmt.Sprintf("length %d exceeds %d", n, maxRecordLen))
	}
	if !s.ReadBytes(&r.Fragment, int(n)) {
		return Record{}, b, truncated("record", recordHeaderLen+int(n))
	}
	return r, []byte(s), nil
}

// SSLv2ClientHello is the SSL 2.0-compatible ClientHello that old clients
// send to negotiate SSL 3.0/TLS (RFC 5246, Appendix E.2). Challenge aliases
// the input.
type SSLv2ClientHello struct {
	Version      Version  // highest version the client supports
	CipherSuites []uint32 // 3-byte SSLv2 cipher kinds; 0x00XXXX are TLS suites
	SessionIDLen int
	Challenge    []byte
}

// ParseSSLv2ClientHello parses an SSLv2-compatible ClientHello (2-byte
// header with the high bit set, msg_type 1) at the front of b. On error it
// returns b unchanged and a *ParseError.
func ParseSSLv2ClientHello(b []byte) (SSLv2ClientHello, []byte, error) {
	s := cryptobyte.String(b)
	var n uint16
	if !s.ReadUint16(&n) {
		return SSLv2ClientHello{}, b, truncated("sslv2 client hello", 2)
	}
	if n&0x8000 == 0 {
		return SSLv2ClientHello{}, b, malformed("sslv2 client hello", "header without the 2-byte-length bit")
	}
	n &= 0x7fff
	var body cryptobyte.String
	if !s.ReadBytes((*[]byte)(&body), int(n)) {
		return SSLv2ClientHello{}, b, truncated("sslv2 client hello", 2+int(n))
	}
	var typ uint8
	var ver, csLen, sidLen, chLen uint16
	if !body.ReadUint8(&typ) || !body.ReadUint16(&ver) || !body.ReadUint16(&csLen) ||
		!body.ReadUint16(&sidLen) || !body.ReadUint16(&chLen) {
		return SSLv2ClientHello{}, b, malformed("sslv2 client hello", "short body")
	}
	if typ != 1 {
		return SSLv2ClientHello{}, b, malformed("sslv2 client hello", fmt.Sprintf("message type %d is not client-hello", typ))
	}
	if csLen%3 != 0 || (chLen < 16 || chLen > 32) {
		return SSLv2ClientHello{}, b, malformed("sslv2 client hello",
			fmt.Sprintf("cipher specs length %d or challenge length %d invalid", csLen, chLen))
	}
	h := SSLv2ClientHello{Version: Version(ver), SessionIDLen: int(sidLen)}
	var cs cryptobyte.String
	if !body.ReadBytes((*[]byte)(&cs), int(csLen)) || !body.Skip(int(sidLen)) || !body.ReadBytes(&h.Challenge, int(chLen)) || !body.Empty() {
		return SSLv2ClientHello{}, b, malformed("sslv2 client hello", "lengths do not match the body")
	}
	for !cs.Empty() {
		var v uint32
		cs.ReadUint24(&v)
		h.CipherSuites = append(h.CipherSuites, v)
	}
	return h, []byte(s), nil
}

// Detect reports whether b, the first bytes of one direction of a stream
// (1 to 64 of them are enough), is confidently TLS: a handshake record
// header with a 3.x version and a plausible length whose first message is a
// ClientHello (from the client) or ServerHello (from the server), a fatal
// alert record from the server, or an SSLv2-compatible ClientHello.
// Fewer than 6 bytes are never confident.
func Detect(dir tcpstate.Dir, b []byte) bool {
	fromServer := dir == tcpstate.ServerToClient
	if len(b) < 6 {
		return false
	}
	if b[0]&0x80 != 0 && b[2] == 1 && (b[3] == 3 || (b[3] == 0 && b[4] == 2)) {
		n := int(b[0]&0x7f)<<8 | int(b[1])
		return !fromServer && n >= 9+16
	}
	typ, major, minor := b[0], b[1], b[2]
	n := int(b[3])<<8 | int(b[4])
	if major != 3 || minor > 4 || n == 0 || n > maxRecordLen {
		return false
	}
	switch ContentType(typ) {
	case TypeHandshake:
		if fromServer {
			return b[5] == 2 && n >= 38
		}
		return b[5] == 1 && n >= 38
	case TypeAlert:
		return fromServer && n == 2 && (b[5] == 1 || b[5] == 2)
	}
	return false
}
