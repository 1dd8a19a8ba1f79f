package tls

//go:generate go run gen_suites.go

import (
	"fmt"
	"strings"
)

// cipherKind says how a suite protects records.
type cipherKind uint8

const (
	cipherNone   cipherKind = iota // not decryptable here
	cipherAESGCM                   // RFC 5288 / RFC 8446
	cipherChaCha                   // RFC 7905 / RFC 8446
	cipherAESCBC                   // RFC 5246, 6.2.3.2
	cipherAESCCM                   // RFC 6655, RFC 7251 / RFC 8446 (tag 16 or 8 bytes)
)

// hashKind names the hash of a PRF, HKDF or record MAC.
type hashKind uint8

const (
	hashNone hashKind = iota
	hashSHA1
	hashSHA256
	hashSHA384
)

// ianaSuite is one row of the IANA TLS Cipher Suites registry
// (suites_iana.go, generated from iana_cipher_suites.csv).
type ianaSuite struct {
	id          uint16
	name        string
	recommended bool
	ref         string
}

// suite describes a cipher suite: its IANA name and, derived from the
// name, how its records are protected.
type suite struct {
	id     uint16
	name   string
	tls13  bool
	cipher cipherKind
	keyLen int
	tagLen int      // AEAD tag: 16, or 8 for AES-CCM_8
	mac    hashKind // CBC record MAC
	prf    hashKind // TLS 1.2 PRF hash or TLS 1.3 HKDF hash
	weak   string   // non-empty: why the suite is weak
}

// suites holds every suite of the IANA registry.
var suites = map[uint16]*suite{}

func init() {
	for _, r := range ianaSuites {
		s := deriveSuite(r.id, r.name)
		suites[r.id] = &s
	}
}

// Why suites are weak (tls.weak_cipher evidence).
const (
	weakAnon   = "anonymous key exchange: no server authentication"
	weakNull   = "no encryption"
	weakRC4    = "RC4 (RFC 7465)"
	weakDES    = "single DES"
	weak3DES   = "3DES (64-bit block, Sweet32)"
	weakExport = "export-grade "
)

// deriveSuite reads a suite's protection from its IANA name:
// TLS_<key exchange>_WITH_<cipher>_<MAC or PRF hash> for TLS 1.0–1.2
// (RFC 5246, A.5), TLS_<AEAD>_<HKDF hash> for TLS 1.3 (RFC 8446, B.4).
// Suites whose cipher is not AES-GCM, AES-CCM, ChaCha20-Poly1305 or
// AES-CBC keep cipherNone and are named, not decrypted.
func deriveSuite(id uint16, name string) suite {
	s := suite{id: id, name: name, weak: weakness(name)}
	if id>>8 == 0x13 { // TLS 1.3 (RFC 8446, B.4)
		s.tls13 = true
		switch name {
		case "TLS_AES_128_GCM_SHA256":
			s.cipher, s.keyLen, s.prf = cipherAESGCM, 16, hashSHA256
		case "TLS_AES_256_GCM_SHA384":
			s.cipher, s.keyLen, s.prf = cipherAESGCM, 32, hashSHA384
		case "TLS_CHACHA20_POLY1305_SHA256":
			s.cipher, s.keyLen, s.prf = cipherChaCha, 32, hashSHA256
		case "TLS_AES_128_CCM_SHA256":
			s.cipher, s.keyLen, s.prf = cipherAESCCM, 16, hashSHA256
		case "TLS_AES_128_CCM_8_SHA256":
			s.cipher, s.keyLen, s.tagLen, s.prf = cipherAESCCM, 16, 8, hashSHA256
		}
		if s.cipher != cipherNone && s.tagLen == 0 {
			s.tagLen = 16
		}
		return s
	}
	_, enc, ok := strings.Cut(name, "_WITH_")
	if !ok || strings.Contains(name, "EXPORT") {
		return s
	}
	// The PRF of TLS 1.2 is SHA-256 unless the suite names SHA-384 (RFC
	// 5246, 5; RFC 5289, 3.2; RFC 6655, 6).
	s.prf = hashSHA256
	if strings.HasSuffix(enc, "SHA384") {
		s.prf = hashSHA384
	}
	switch {
	case strings.HasPrefix(enc, "AES_128_GCM_"), strings.HasPrefix(enc, "AES_256_GCM_"):
		s.cipher, s.tagLen = cipherAESGCM, 16
	case strings.HasPrefix(enc, "AES_128_CCM"), strings.HasPrefix(enc, "AES_256_CCM"):
		// AES_128_CCM, AES_128_CCM_8 (RFC 6655, RFC 7251) and the
		// _SHA256 forms of RFC 8442 and RFC 8492.
		s.cipher, s.tagLen = cipherAESCCM, 16
		if strings.HasPrefix(enc[len("AES_128_CCM"):]+"_", "_8_") {
			s.tagLen = 8
		}
	case enc == "CHACHA20_POLY1305_SHA256":
		s.cipher, s.keyLen, s.tagLen = cipherChaCha, 32, 16
		return s
	case strings.HasPrefix(enc, "AES_128_CBC_"), strings.HasPrefix(enc, "AES_256_CBC_"):
		s.cipher = cipherAESCBC
		switch enc[len("AES_128_CBC_"):] {
		case "SHA":
			s.mac = hashSHA1
		case "SHA256":
			s.mac = hashSHA256
		case "SHA384":
			s.mac = hashSHA384
		default:
			s.cipher = cipherNone
		}
	default:
		s.prf = hashNone
		return s
	}
	s.keyLen = 16
	if strings.HasPrefix(enc, "AES_256_") {
		s.keyLen = 32
	}
	return s
}

// weakness says why a suite is weak, from its name, or "".
func weakness(name string) string {
	_, enc, _ := strings.Cut(name, "_WITH_")
	switch {
	case strings.Contains(name, "_anon_"):
		// RFC 5246, A.5; RFC 8422, 2.5: the server is not authenticated,
		// so anyone in the path can be it, whatever the cipher.
		return weakAnon
	case strings.HasPrefix(enc, "NULL"):
		return weakNull
	case strings.Contains(name, "_EXPORT"):
		c, _, _ := strings.Cut(enc, "_")
		if c == "DES40" {
			c = "DES"
		}
		return weakExport + c
	case strings.HasPrefix(enc, "RC4_"):
		return weakRC4
	case strings.HasPrefix(enc, "DES_"):
		return weakDES
	case strings.HasPrefix(enc, "3DES_"):
		return weak3DES
	}
	return ""
}

// CipherSuiteName returns the IANA name of a cipher suite, "GREASE" for
// the values of RFC 8701, or "0xNNNN" for values the registry does not
// assign.
func CipherSuiteName(id uint16) string {
	if s := suites[id]; s != nil {
		return s.name
	}
	if isGREASE(id) {
		return "GREASE"
	}
	return fmt.Sprintf("0x%04x", id)
}
