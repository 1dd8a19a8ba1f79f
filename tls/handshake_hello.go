package tls

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// Extension numbers (IANA TLS ExtensionType registry).
const (
	extServerName             uint16 = 0  // RFC 6066, 3
	extStatusRequest          uint16 = 5  // RFC 6066, 8
	extSupportedGroups        uint16 = 10 // RFC 8422, 5.1.1
	extECPointFormats         uint16 = 11 // RFC 8422, 5.1.2
	extSignatureAlgorithms    uint16 = 13 // RFC 8446, 4.2.3
	extALPN                   uint16 = 16 // RFC 7301, 3.1
	extEncryptThenMAC         uint16 = 22 // RFC 7366, 2
	extExtendedMasterSecret   uint16 = 23 // RFC 7627, 5.1
	extSessionTicket          uint16 = 35 // RFC 5077, 3.2
	extPreSharedKey           uint16 = 41 // RFC 8446, 4.2.11
	extEarlyData              uint16 = 42 // RFC 8446, 4.2.10
	extSupportedVersions      uint16 = 43 // RFC 8446, 4.2.1
	extCertificateAuthorities uint16 = 47 // RFC 8446, 4.2.4
	extPSKModes               uint16 = 45 // RFC 8446, 4.2.9
	extKeyShare               uint16 = 51 // RFC 8446, 4.2.8
	extRenegotiationInfo      uint16 = 0xff01
)

// isGREASE reports whether v is a GREASE value (RFC 8701).
func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// ClientHello is a parsed ClientHello (RFC 8446, 4.1.2; RFC 5246, 7.4.1.2).
// Random and SessionID alias the input; the other slices are fresh.
type ClientHello struct {
	Version              Version // legacy_version
	Random               []byte  // 32 bytes
	SessionID            []byte
	CipherSuites         []uint16
	CompressionMethods   []uint8
	Extensions           []uint16 // extension types in wire order
	ServerName           string   // SNI host_name
	ALPN                 []string
	SupportedVersions    []Version
	SupportedGroups      []uint16
	ECPointFormats       []uint8
	KeyShareGroups       []uint16
	SignatureAlgorithms  []uint16
	ExtendedMasterSecret bool
	EncryptThenMAC       bool
	SessionTicket        bool // session_ticket extension present
	SessionTicketLen     int  // length of a ticket offered for resumption
	PSK                  bool // pre_shared_key extension present
	PSKIdentities        int
	EarlyData            bool
}

// ParseClientHello parses a ClientHello body (without the 4-byte handshake
// header). Duplicate extensions, bodies not consumed exactly and trailing
// bytes are ErrMalformed.
func ParseClientHello(body []byte) (ClientHello, error) {
	var m ClientHello
	s := cryptobyte.String(body)
	var ver uint16
	var sid, cs, comp cryptobyte.String
	if !s.ReadUint16(&ver) || !s.ReadBytes(&m.Random, 32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16LengthPrefixed(&cs) || !s.ReadUint8LengthPrefixed(&comp) {
		return ClientHello{}, malformed("client hello", "short fixed part")
	}
	m.Version = Version(ver)
	if len(sid) > 32 {
		return ClientHello{}, malformed("client hello", fmt.Sprintf("session id length %d exceeds 32", len(sid)))
	}
	m.SessionID = sid
	if len(cs)%2 != 0 {
		return ClientHello{}, malformed("client hello", fmt.Sprintf("odd cipher suites length %d", len(cs)))
	}
	m.CipherSuites = slices.Grow(m.CipherSuites, min(len(cs)/2, maxPresize))
	for !cs.Empty() {
		var c uint16
		cs.ReadUint16(&c)
		m.CipherSuites = append(m.CipherSuites, c)
	}
	m.CompressionMethods = append([]uint8(nil), comp...)
	if s.Empty() { // no extensions (RFC 5246, 7.4.1.2)
		return m, nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return ClientHello{}, malformed("client hello", "extensions length does not match the body")
	}
	seen := map[uint16]bool{}
	m.Extensions = slices.Grow(m.Extensions, min(len(exts)/4, maxPresize))
	for !exts.Empty() {
		typ, d, err := readExtension(&exts, seen, "client hello")
		if err != nil {
			return ClientHello{}, err
		}
		m.Extensions = append(m.Extensions, typ)
		if !m.parseExtension(typ, d) {
			return ClientHello{}, malformed("client hello", fmt.Sprintf("bad extension %d", typ))
		}
	}
	return m, nil
}

// readExtension reads the next Extension (RFC 8446, 4.2) of the message
// what from exts and returns its type and body. A short extension, or a
// type already in seen (RFC 8446, 4.2: at most one of each type), is
// ErrMalformed; otherwise the type is added to seen.
func readExtension(exts *cryptobyte.String, seen map[uint16]bool, what string) (uint16, cryptobyte.String, *ParseError) {
	var typ uint16
	var d cryptobyte.String
	if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&d) {
		return 0, nil, malformed(what, "truncated extension")
	}
	if seen[typ] {
		return 0, nil, malformed(what, fmt.Sprintf("duplicate extension %d", typ))
	}
	seen[typ] = true
	return typ, d, nil
}

// maxPresize caps the capacity reserved for a list from its wire length
// (the bytes are present, but a list longer than this grows as it parses).
const maxPresize = 64

// readU16List reads a uint16-prefixed list of uint16 values from d and
// appends them to out; an odd list length is malformed.
func readU16List(d *cryptobyte.String, out *[]uint16) bool {
	var l cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&l) || len(l)%2 != 0 {
		return false
	}
	*out = slices.Grow(*out, min(len(l)/2, maxPresize))
	for !l.Empty() {
		var v uint16
		l.ReadUint16(&v)
		*out = append(*out, v)
	}
	return true
}

// parseExtension parses the body d of one ClientHello extension of type
// typ (RFC 8446, 4.2) into m and reports whether it was well formed and
// consumed exactly. Unknown extensions are skipped by their length.
func (m *ClientHello) parseExtension(typ uint16, d cryptobyte.String) bool {
	ok := true
	switch typ {
	case extServerName:
		ok = m.parseServerName(&d)
	case extALPN:
		ok = m.parseALPN(&d)
	case extSupportedVersions:
		ok = m.parseSupportedVersions(&d)
	case extSupportedGroups: // RFC 8422, 5.1.1
		ok = readU16List(&d, &m.SupportedGroups)
	case extECPointFormats:
		ok = m.parseECPointFormats(&d)
	case extSignatureAlgorithms: // RFC 8446, 4.2.3
		ok = readU16List(&d, &m.SignatureAlgorithms)
	case extKeyShare:
		ok = m.parseKeyShare(&d)
	case extExtendedMasterSecret: // RFC 7627, 5.1: empty
		m.ExtendedMasterSecret = true
	case extEncryptThenMAC: // RFC 7366, 2: empty
		m.EncryptThenMAC = true
	case extSessionTicket: // RFC 5077, 3.2: the opaque ticket, possibly empty
		m.SessionTicket = true
		m.SessionTicketLen = len(d)
		d = nil
	case extPreSharedKey:
		ok = m.parsePreSharedKey(&d)
	case extEarlyData: // RFC 8446, 4.2.10: empty in a ClientHello
		m.EarlyData = true
	default: // unknown or not decoded: skipped by its length
		d = nil
	}
	return ok && d.Empty()
}

// parseServerName reads the server_name extension (RFC 6066, 3): a
// non-empty ServerNameList whose first host_name (type 0) becomes
// ServerName, without a trailing dot.
func (m *ClientHello) parseServerName(d *cryptobyte.String) bool {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) || list.Empty() {
		return false
	}
	for !list.Empty() {
		var nt uint8
		var name cryptobyte.String
		if !list.ReadUint8(&nt) || !list.ReadUint16LengthPrefixed(&name) {
			return false
		}
		if nt == 0 && m.ServerName == "" {
			m.ServerName = strings.TrimSuffix(string(name), ".")
		}
	}
	return true
}

// parseALPN reads the application_layer_protocol_negotiation extension
// (RFC 7301, 3.1): a ProtocolNameList of non-empty names.
func (m *ClientHello) parseALPN(d *cryptobyte.String) bool {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) {
		return false
	}
	for !list.Empty() {
		var p cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&p) || p.Empty() {
			return false
		}
		m.ALPN = append(m.ALPN, string(p))
	}
	return true
}

// parseSupportedVersions reads the supported_versions extension of a
// ClientHello (RFC 8446, 4.2.1): a uint8-prefixed list of versions.
func (m *ClientHello) parseSupportedVersions(d *cryptobyte.String) bool {
	var list cryptobyte.String
	if !d.ReadUint8LengthPrefixed(&list) || len(list)%2 != 0 {
		return false
	}
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		m.SupportedVersions = append(m.SupportedVersions, Version(v))
	}
	return true
}

// parseECPointFormats reads the ec_point_formats extension (RFC 8422,
// 5.1.2): a uint8-prefixed list of formats.
func (m *ClientHello) parseECPointFormats(d *cryptobyte.String) bool {
	var list cryptobyte.String
	if !d.ReadUint8LengthPrefixed(&list) {
		return false
	}
	m.ECPointFormats = append([]uint8(nil), list...)
	return true
}

// parseKeyShare reads the key_share extension of a ClientHello (RFC 8446,
// 4.2.8): KeyShareEntry values, of which only the groups are kept.
func (m *ClientHello) parseKeyShare(d *cryptobyte.String) bool {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) {
		return false
	}
	for !list.Empty() {
		var g uint16
		var ke cryptobyte.String
		if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&ke) {
			return false
		}
		m.KeyShareGroups = append(m.KeyShareGroups, g)
	}
	return true
}

// parsePreSharedKey reads the pre_shared_key extension of a ClientHello
// (RFC 8446, 4.2.11): OfferedPsks, whose identities are counted; the
// binders are skipped.
func (m *ClientHello) parsePreSharedKey(d *cryptobyte.String) bool {
	var ids, binders cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&ids) || !d.ReadUint16LengthPrefixed(&binders) {
		return false
	}
	for !ids.Empty() {
		var id cryptobyte.String
		var age uint32
		if !ids.ReadUint16LengthPrefixed(&id) || !ids.ReadUint32(&age) {
			return false
		}
		m.PSKIdentities++
	}
	m.PSK = true
	return true
}

// MaxVersion returns the highest non-GREASE version the client offers:
// from supported_versions when present, else legacy_version.
func (m *ClientHello) MaxVersion() Version {
	max := Version(0)
	for _, v := range m.SupportedVersions {
		if !isGREASE(uint16(v)) && v > max {
			max = v
		}
	}
	if max == 0 {
		max = m.Version
	}
	return max
}

// helloRetryRequestRandom is the ServerHello.random of a HelloRetryRequest
// (RFC 8446, 4.1.3).
var helloRetryRequestRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// ServerHello is a parsed ServerHello or HelloRetryRequest (RFC 8446,
// 4.1.3; RFC 5246, 7.4.1.3). Random and SessionID alias the input.
type ServerHello struct {
	Version              Version // legacy_version
	Random               []byte
	SessionID            []byte
	CipherSuite          uint16
	CompressionMethod    uint8
	Extensions           []uint16
	SupportedVersion     Version // from supported_versions, 0 when absent
	KeyShareGroup        uint16
	ALPN                 string
	ExtendedMasterSecret bool
	EncryptThenMAC       bool
	SessionTicket        bool
	PSK                  bool
	HelloRetryRequest    bool
}

// ChosenVersion returns the negotiated version: supported_versions when
// present (TLS 1.3), else legacy_version.
func (m *ServerHello) ChosenVersion() Version {
	if m.SupportedVersion != 0 {
		return m.SupportedVersion
	}
	return m.Version
}

// ParseServerHello parses a ServerHello body. It recognises a
// HelloRetryRequest by its special random.
func ParseServerHello(body []byte) (ServerHello, error) {
	var m ServerHello
	s := cryptobyte.String(body)
	var ver uint16
	var sid cryptobyte.String
	if !s.ReadUint16(&ver) || !s.ReadBytes(&m.Random, 32) || !s.ReadUint8LengthPrefixed(&sid) ||
		!s.ReadUint16(&m.CipherSuite) || !s.ReadUint8(&m.CompressionMethod) {
		return ServerHello{}, malformed("server hello", "short fixed part")
	}
	m.Version = Version(ver)
	m.SessionID = sid
	m.HelloRetryRequest = bytes.Equal(m.Random, helloRetryRequestRandom)
	if s.Empty() {
		return m, nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return ServerHello{}, malformed("server hello", "extensions length does not match the body")
	}
	seen := map[uint16]bool{}
	for !exts.Empty() {
		typ, d, err := readExtension(&exts, seen, "server hello")
		if err != nil {
			return ServerHello{}, err
		}
		m.Extensions = append(m.Extensions, typ)
		ok := true
		switch typ {
		case extSupportedVersions:
			var v uint16
			ok = d.ReadUint16(&v)
			m.SupportedVersion = Version(v)
		case extKeyShare: // a group (HRR) or a KeyShareEntry
			ok = d.ReadUint16(&m.KeyShareGroup)
			if ok && !m.HelloRetryRequest {
				var ke cryptobyte.String
				ok = d.ReadUint16LengthPrefixed(&ke)
			}
		case extALPN:
			var list, p cryptobyte.String
			ok = d.ReadUint16LengthPrefixed(&list) && list.ReadUint8LengthPrefixed(&p) && list.Empty()
			m.ALPN = string(p)
		case extExtendedMasterSecret:
			m.ExtendedMasterSecret = true
		case extEncryptThenMAC:
			m.EncryptThenMAC = true
		case extSessionTicket:
			m.SessionTicket = true
		case extPreSharedKey:
			var id uint16
			ok = d.ReadUint16(&id)
			m.PSK = true
		default:
			d = nil
		}
		if !ok || !d.Empty() {
			return ServerHello{}, malformed("server hello", fmt.Sprintf("bad extension %d", typ))
		}
	}
	return m, nil
}

// EncryptedExtensions holds what the TLS 1.3 EncryptedExtensions message
// (RFC 8446, 4.3.1) says that matters for analysis.
type EncryptedExtensions struct {
	Extensions []uint16
	ALPN       string
}

// ParseEncryptedExtensions parses an EncryptedExtensions body.
func ParseEncryptedExtensions(body []byte) (EncryptedExtensions, error) {
	var m EncryptedExtensions
	s := cryptobyte.String(body)
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return EncryptedExtensions{}, malformed("encrypted extensions", "length does not match the body")
	}
	for !exts.Empty() {
		var typ uint16
		var d cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&d) {
			return EncryptedExtensions{}, malformed("encrypted extensions", "truncated extension")
		}
		m.Extensions = append(m.Extensions, typ)
		if typ == extALPN {
			var list, p cryptobyte.String
			if !d.ReadUint16LengthPrefixed(&list) || !list.ReadUint8LengthPrefixed(&p) {
				return EncryptedExtensions{}, malformed("encrypted extensions", "bad alpn")
			}
			m.ALPN = string(p)
		}
	}
	return m, nil
}
