package tls

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// HandshakeType is a handshake message type (RFC 8446, 4; RFC 5246, 7.4).
type HandshakeType uint8

// Handshake message types.
const (
	TypeHelloRequest        HandshakeType = 0
	TypeClientHello         HandshakeType = 1
	TypeServerHello         HandshakeType = 2
	TypeNewSessionTicket    HandshakeType = 4
	TypeEndOfEarlyData      HandshakeType = 5
	TypeEncryptedExtensions HandshakeType = 8
	TypeCertificate         HandshakeType = 11
	TypeServerKeyExchange   HandshakeType = 12
	TypeCertificateRequest  HandshakeType = 13
	TypeServerHelloDone     HandshakeType = 14
	TypeCertificateVerify   HandshakeType = 15
	TypeClientKeyExchange   HandshakeType = 16
	TypeFinished            HandshakeType = 20
	TypeCertificateStatus   HandshakeType = 22
	TypeKeyUpdate           HandshakeType = 24
	TypeMessageHash         HandshakeType = 254
)

var handshakeNames = map[HandshakeType]string{
	TypeHelloRequest: "hello_request", TypeClientHello: "client_hello", TypeServerHello: "server_hello",
	TypeNewSessionTicket: "new_session_ticket", TypeEndOfEarlyData: "end_of_early_data",
	TypeEncryptedExtensions: "encrypted_extensions", TypeCertificate: "certificate",
	TypeServerKeyExchange: "server_key_exchange", TypeCertificateRequest: "certificate_request",
	TypeServerHelloDone: "server_hello_done", TypeCertificateVerify: "certificate_verify",
	TypeClientKeyExchange: "client_key_exchange", TypeFinished: "finished",
	TypeCertificateStatus: "certificate_status", TypeKeyUpdate: "key_update", TypeMessageHash: "message_hash",
}

// String returns the message type's RFC name, or HandshakeType(N).
func (t HandshakeType) String() string {
	if n, ok := handshakeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("HandshakeType(%d)", uint8(t))
}

// Handshake is one handshake message: its type and body (RFC 8446, 4).
// Body aliases the input.
type Handshake struct {
	Type HandshakeType
	Body []byte
}

// handshakeHeaderLen is the size of msg_type + uint24 length.
const handshakeHeaderLen = 4

// ParseHandshake parses the handshake message at the front of b (which is
// the concatenation of handshake record fragments) and returns it with the
// bytes after it. A message whose declared length exceeds max is
// ErrMalformed; a message not yet complete is ErrTruncated. On error b is
// returned unchanged.
func ParseHandshake(b []byte, max int) (Handshake, []byte, error) {
	s := cryptobyte.String(b)
	var typ uint8
	var n uint32
	if !s.ReadUint8(&typ) || !s.ReadUint24(&n) {
		return Handshake{}, b, truncated("handshake header", handshakeHeaderLen)
	}
	if int(n) > max {
		return Handshake{}, b, malformed("handshake", fmt.Sprintf("%s length %d exceeds %d", HandshakeType(typ), n, max))
	}
	var h Handshake
	h.Type = HandshakeType(typ)
	if !s.ReadBytes(&h.Body, int(n)) {
		return Handshake{}, b, truncated("handshake", handshakeHeaderLen+int(n))
	}
	return h, []byte(s), nil
}

// ServerKeyExchange summarises a TLS 1.2 ServerKeyExchange (RFC 8422, 5.4;
// RFC 5246, 7.4.3). Only the ECDHE form is decoded into fields; other forms
// keep Raw (which aliases the input).
type ServerKeyExchange struct {
	CurveType uint8  // 3 = named_curve, 0 when not ECDHE
	Group     uint16 // named group of an ECDHE exchange
	Raw       []byte
}

// ParseServerKeyExchange parses a ServerKeyExchange body. A body that does
// not start with an ECDHE named-curve structure is returned with only Raw
// (DHE and PSK exchanges are not decoded further).
func ParseServerKeyExchange(body []byte) (ServerKeyExchange, error) {
	ske := ServerKeyExchange{Raw: body}
	s := cryptobyte.String(body)
	var ct uint8
	var grp uint16
	var pub cryptobyte.String
	if s.ReadUint8(&ct) && ct == 3 && s.ReadUint16(&grp) && s.ReadUint8LengthPrefixed(&pub) && len(pub) > 0 {
		ske.CurveType, ske.Group = ct, grp
	}
	return ske, nil
}

// CertificateRequest is a CertificateRequest message (RFC 5246, 7.4.4; RFC
// 8446, 4.3.2), reduced to what a support engineer asks about.
type CertificateRequest struct {
	CertificateTypes []uint8  // TLS 1.2 only
	SignatureSchemes []uint16 // signature_algorithms
	CANames          int      // number of certificate_authorities entries
}

// ParseCertificateRequest parses a CertificateRequest body for version v.
func ParseCertificateRequest(body []byte, v Version) (CertificateRequest, error) {
	if v == VersionTLS13 {
		return parseCertificateRequest13(body)
	}
	var m CertificateRequest
	s := cryptobyte.String(body)
	bad := malformed("certificate request", "bad structure")
	var types cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&types) {
		return CertificateRequest{}, bad
	}
	m.CertificateTypes = append([]uint8(nil), types...)
	if v >= VersionTLS12 && !readU16List(&s, &m.SignatureSchemes) {
		return CertificateRequest{}, bad
	}
	if !countDistinguishedNames(&s, &m.CANames) || !s.Empty() {
		return CertificateRequest{}, bad
	}
	return m, nil
}

// parseCertificateRequest13 parses a TLS 1.3 CertificateRequest body (RFC
// 8446, 4.3.2): the request context and the extensions, of which
// signature_algorithms (4.2.3) and certificate_authorities (4.2.4) are read.
func parseCertificateRequest13(body []byte) (CertificateRequest, error) {
	var m CertificateRequest
	s := cryptobyte.String(body)
	bad := malformed("certificate request", "bad structure")
	var ctx, exts cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&ctx) || !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return CertificateRequest{}, bad
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return CertificateRequest{}, bad
		}
		ok := true
		switch typ {
		case extSignatureAlgorithms:
			ok = readU16List(&data, &m.SignatureSchemes)
		case extCertificateAuthorities:
			ok = countDistinguishedNames(&data, &m.CANames)
		}
		if !ok {
			return CertificateRequest{}, bad
		}
	}
	return m, nil
}

// countDistinguishedNames reads a uint16-prefixed list of uint16-prefixed
// DistinguishedName values (RFC 5246, 7.4.4; RFC 8446, 4.2.4) from d and
// adds their number to n.
func countDistinguishedNames(d *cryptobyte.String, n *int) bool {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) {
		return false
	}
	for !list.Empty() {
		var dn cryptobyte.String
		if !list.ReadUint16LengthPrefixed(&dn) {
			return false
		}
		*n++
	}
	return true
}

// Alert is an alert record's body (RFC 8446, 6).
type Alert struct {
	Level       uint8 // 1 warning, 2 fatal
	Description uint8
}

// ParseAlert parses a two-byte alert.
func ParseAlert(b []byte) (Alert, []byte, error) {
	s := cryptobyte.String(b)
	var a Alert
	if !s.ReadUint8(&a.Level) || !s.ReadUint8(&a.Description) {
		return Alert{}, b, truncated("alert", 2)
	}
	return a, []byte(s), nil
}

var alertNames = map[uint8]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
	22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
	42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
	45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
	70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
	109: "missing_extension", 110: "unsupported_extension", 111: "certificate_unobtainable",
	112: "unrecognized_name", 113: "bad_certificate_status_response", 114: "bad_certificate_hash_value",
	115: "unknown_psk_identity", 116: "certificate_required", 120: "no_application_protocol",
}

// AlertDescription returns the RFC name of an alert description
// (RFC 8446, 6; RFC 5246, 7.2), or "alert(N)".
func AlertDescription(d uint8) string {
	if n, ok := alertNames[d]; ok {
		return n
	}
	return fmt.Sprintf("alert(%d)", d)
}

// String returns "fatal handshake_failure" or "warning close_notify".
func (a Alert) String() string {
	lvl := fmt.Sprintf("level(%d)", a.Level)
	switch a.Level {
	case 1:
		lvl = "warning"
	case 2:
		lvl = "fatal"
	}
	return lvl + " " + AlertDescription(a.Description)
}
