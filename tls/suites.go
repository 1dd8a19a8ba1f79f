package tls

import "fmt"

// cipherKind says how a suite protects records.
type cipherKind uint8

const (
	cipherNone   cipherKind = iota // not decryptable here
	cipherAESGCM                   // RFC 5288 / RFC 8446
	cipherChaCha                   // RFC 7905 / RFC 8446
	cipherAESCBC                   // RFC 5246, 6.2.3.2
)

// hashKind names the hash of a PRF, HKDF or record MAC.
type hashKind uint8

const (
	hashNone hashKind = iota
	hashSHA1
	hashSHA256
	hashSHA384
)

// suite describes a cipher suite (IANA TLS Cipher Suites registry).
type suite struct {
	id     uint16
	name   string
	tls13  bool
	cipher cipherKind
	keyLen int
	mac    hashKind // CBC record MAC
	prf    hashKind // TLS 1.2 PRF hash or TLS 1.3 HKDF hash
	weak   string   // non-empty: why the suite is weak
}

var suites = map[uint16]*suite{}

func init() {
	for i := range suiteList {
		suites[suiteList[i].id] = &suiteList[i]
	}
}

var suiteList = []suite{
	// TLS 1.3, RFC 8446, B.4.
	{id: 0x1301, name: "TLS_AES_128_GCM_SHA256", tls13: true, cipher: cipherAESGCM, keyLen: 16, prf: hashSHA256},
	{id: 0x1302, name: "TLS_AES_256_GCM_SHA384", tls13: true, cipher: cipherAESGCM, keyLen: 32, prf: hashSHA384},
	{id: 0x1303, name: "TLS_CHACHA20_POLY1305_SHA256", tls13: true, cipher: cipherChaCha, keyLen: 32, prf: hashSHA256},
	// AES-GCM, RFC 5288 and RFC 5289.
	{id: 0x009c, name: "TLS_RSA_WITH_AES_128_GCM_SHA256", cipher: cipherAESGCM, keyLen: 16, prf: hashSHA256},
	{id: 0x009d, name: "TLS_RSA_WITH_AES_256_GCM_SHA384", cipher: cipherAESGCM, keyLen: 32, prf: hashSHA384},
	{id: 0x009e, name: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", cipher: cipherAESGCM, keyLen: 16, prf: hashSHA256},
	{id: 0x009f, name: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", cipher: cipherAESGCM, keyLen: 32, prf: hashSHA384},
	{id: 0xc02b, name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", cipher: cipherAESGCM, keyLen: 16, prf: hashSHA256},
	{id: 0xc02c, name: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", cipher: cipherAESGCM, keyLen: 32, prf: hashSHA384},
	{id: 0xc02f, name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", cipher: cipherAESGCM, keyLen: 16, prf: hashSHA256},
	{id: 0xc030, name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", cipher: cipherAESGCM, keyLen: 32, prf: hashSHA384},
	// ChaCha20-Poly1305, RFC 7905.
	{id: 0xcca8, name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", cipher: cipherChaCha, keyLen: 32, prf: hashSHA256},
	{id: 0xcca9, name: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", cipher: cipherChaCha, keyLen: 32, prf: hashSHA256},
	{id: 0xccaa, name: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", cipher: cipherChaCha, keyLen: 32, prf: hashSHA256},
	// AES-CBC, RFC 5246, RFC 5289, RFC 4492.
	{id: 0x002f, name: "TLS_RSA_WITH_AES_128_CBC_SHA", cipher: cipherAESCBC, keyLen: 16, mac: hashSHA1, prf: hashSHA256},
	{id: 0x0035, name: "TLS_RSA_WITH_AES_256_CBC_SHA", cipher: cipherAESCBC, keyLen: 32, mac: hashSHA1, prf: hashSHA256},
	{id: 0x0033, name: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", cipher: cipherAESCBC, keyLen: 16, mac: hashSHA1, prf: hashSHA256},
	{id: 0x0039, name: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", cipher: cipherAESCBC, keyLen: 32, mac: hashSHA1, prf: hashSHA256},
	{id: 0x003c, name: "TLS_RSA_WITH_AES_128_CBC_SHA256", cipher: cipherAESCBC, keyLen: 16, mac: hashSHA256, prf: hashSHA256},
	{id: 0x003d, name: "TLS_RSA_WITH_AES_256_CBC_SHA256", cipher: cipherAESCBC, keyLen: 32, mac: hashSHA256, prf: hashSHA256},
	{id: 0x0067, name: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", cipher: cipherAESCBC, keyLen: 16, mac: hashSHA256, prf: hashSHA256},
	{id: 0x006b, name: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", cipher: cipherAESCBC, keyLen: 32, mac: hashSHA256, prf: hashSHA256},
	{id: 0xc009, name: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", cipher: cipherAESCBC, keyLen: 16, mac: hashSHA1, prf: hashSHA256},
	{id: 0xc00a, name: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", cipher: cipherAESCBC, keyLen: 32, mac: hashSHA1, prf: hashSHA256},
	{id: 0xc013, name: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", cipher: cipherAESCBC, keyLen: 16, mac: hashSHA1, prf: hashSHA256},
	{id: 0xc014, name: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", cipher: cipherAESCBC, keyLen: 32, mac: hashSHA1, prf: hashSHA256},
	{id: 0xc023, name: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", cipher: cipherAESCBC, keyLen: 16, mac: hashSHA256, prf: hashSHA256},
	{id: 0xc024, name: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", cipher: cipherAESCBC, keyLen: 32, mac: hashSHA384, prf: hashSHA384},
	{id: 0xc027, name: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", cipher: cipherAESCBC, keyLen: 16, mac: hashSHA256, prf: hashSHA256},
	{id: 0xc028, name: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", cipher: cipherAESCBC, keyLen: 32, mac: hashSHA384, prf: hashSHA384},
	// Weak suites: recognised and reported, never decrypted here.
	{id: 0x0000, name: "TLS_NULL_WITH_NULL_NULL", weak: "no encryption"},
	{id: 0x0001, name: "TLS_RSA_WITH_NULL_MD5", weak: "no encryption"},
	{id: 0x0002, name: "TLS_RSA_WITH_NULL_SHA", weak: "no encryption"},
	{id: 0x003b, name: "TLS_RSA_WITH_NULL_SHA256", weak: "no encryption"},
	{id: 0x0003, name: "TLS_RSA_EXPORT_WITH_RC4_40_MD5", weak: "export-grade RC4"},
	{id: 0x0004, name: "TLS_RSA_WITH_RC4_128_MD5", weak: "RC4 (RFC 7465)"},
	{id: 0x0005, name: "TLS_RSA_WITH_RC4_128_SHA", weak: "RC4 (RFC 7465)"},
	{id: 0xc007, name: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", weak: "RC4 (RFC 7465)"},
	{id: 0xc011, name: "TLS_ECDHE_RSA_WITH_RC4_128_SHA", weak: "RC4 (RFC 7465)"},
	{id: 0x0008, name: "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", weak: "export-grade DES"},
	{id: 0x0009, name: "TLS_RSA_WITH_DES_CBC_SHA", weak: "single DES"},
	{id: 0x000a, name: "TLS_RSA_WITH_3DES_EDE_CBC_SHA", weak: "3DES (64-bit block, Sweet32)"},
	{id: 0x0016, name: "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", weak: "3DES (64-bit block, Sweet32)"},
	{id: 0xc012, name: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", weak: "3DES (64-bit block, Sweet32)"},
	// Anonymous Diffie-Hellman (RFC 5246, A.5; RFC 4492, 2.5 and later
	// registrations): the server is not authenticated, so anyone in the
	// path can be it, whatever the cipher.
	{id: 0x0017, name: "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5", weak: weakAnon},
	{id: 0x0018, name: "TLS_DH_anon_WITH_RC4_128_MD5", weak: weakAnon},
	{id: 0x0019, name: "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA", weak: weakAnon},
	{id: 0x001a, name: "TLS_DH_anon_WITH_DES_CBC_SHA", weak: weakAnon},
	{id: 0x001b, name: "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA", weak: weakAnon},
	{id: 0x0034, name: "TLS_DH_anon_WITH_AES_128_CBC_SHA", weak: weakAnon},
	{id: 0x003a, name: "TLS_DH_anon_WITH_AES_256_CBC_SHA", weak: weakAnon},
	{id: 0x0046, name: "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA", weak: weakAnon},
	{id: 0x006c, name: "TLS_DH_anon_WITH_AES_128_CBC_SHA256", weak: weakAnon},
	{id: 0x006d, name: "TLS_DH_anon_WITH_AES_256_CBC_SHA256", weak: weakAnon},
	{id: 0x0089, name: "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA", weak: weakAnon},
	{id: 0x009b, name: "TLS_DH_anon_WITH_SEED_CBC_SHA", weak: weakAnon},
	{id: 0x00a6, name: "TLS_DH_anon_WITH_AES_128_GCM_SHA256", weak: weakAnon},
	{id: 0x00a7, name: "TLS_DH_anon_WITH_AES_256_GCM_SHA384", weak: weakAnon},
	{id: 0x00bf, name: "TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256", weak: weakAnon},
	{id: 0x00c5, name: "TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256", weak: weakAnon},
	{id: 0xc015, name: "TLS_ECDH_anon_WITH_NULL_SHA", weak: weakAnon},
	{id: 0xc016, name: "TLS_ECDH_anon_WITH_RC4_128_SHA", weak: weakAnon},
	{id: 0xc017, name: "TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA", weak: weakAnon},
	{id: 0xc018, name: "TLS_ECDH_anon_WITH_AES_128_CBC_SHA", weak: weakAnon},
	{id: 0xc019, name: "TLS_ECDH_anon_WITH_AES_256_CBC_SHA", weak: weakAnon},
	{id: 0xc046, name: "TLS_DH_anon_WITH_ARIA_128_CBC_SHA256", weak: weakAnon},
	{id: 0xc047, name: "TLS_DH_anon_WITH_ARIA_256_CBC_SHA384", weak: weakAnon},
	{id: 0xc05a, name: "TLS_DH_anon_WITH_ARIA_128_GCM_SHA256", weak: weakAnon},
	{id: 0xc05b, name: "TLS_DH_anon_WITH_ARIA_256_GCM_SHA384", weak: weakAnon},
	{id: 0xc084, name: "TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256", weak: weakAnon},
	{id: 0xc085, name: "TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384", weak: weakAnon},
}

// weakAnon is why anonymous key exchange is weak.
const weakAnon = "anonymous key exchange: no server authentication"

// CipherSuiteName returns the IANA name of a cipher suite, or
// "0xNNNN" for suites this package does not know.
func CipherSuiteName(id uint16) string {
	if s := suites[id]; s != nil {
		return s.name
	}
	return fmt.Sprintf("0x%04x", id)
}
