package tls

import (
	"encoding/csv"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCipherSuiteNames spot-checks the generated IANA table.
func TestCipherSuiteNames(t *testing.T) {
	for id, want := range map[uint16]string{
		0x0000: "TLS_NULL_WITH_NULL_NULL",
		0x002f: "TLS_RSA_WITH_AES_128_CBC_SHA",
		0x006c: "TLS_DH_anon_WITH_AES_128_CBC_SHA256",
		0x00a6: "TLS_DH_anon_WITH_AES_128_GCM_SHA256",
		0x00c7: "TLS_SM4_CCM_SM3",
		0x00ff: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
		0x1301: "TLS_AES_128_GCM_SHA256",
		0x1304: "TLS_AES_128_CCM_SHA256",
		0x1305: "TLS_AES_128_CCM_8_SHA256",
		0x5600: "TLS_FALLBACK_SCSV",
		0xc018: "TLS_ECDH_anon_WITH_AES_128_CBC_SHA",
		0xc076: "TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256",
		0xc09c: "TLS_RSA_WITH_AES_128_CCM",
		0xc0a0: "TLS_RSA_WITH_AES_128_CCM_8",
		0xc0aa: "TLS_PSK_DHE_WITH_AES_128_CCM_8",
		0xc0ac: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM",
		0xc0ae: "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
		0xc0b5: "TLS_SHA384_SHA384",
		0xc106: "TLS_GOSTR341112_256_WITH_MAGMA_MGM_S",
		0xcca8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
		0xd005: "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256",
		0x0a0a: "GREASE",
		0xfafa: "GREASE",
		0x0060: "0x0060", // reserved, never assigned
		0xd004: "0xd004",
		0xff00: "0xff00", // private use
	} {
		if got := CipherSuiteName(id); got != want {
			t.Errorf("CipherSuiteName(0x%04x) = %s, want %s", id, got, want)
		}
	}
	if len(suites) != 352 {
		t.Errorf("%d suites, want the registry's 352 assigned values", len(suites))
	}
}

// TestIANATableMatchesCSV: suites_iana.go is what gen_suites.go makes of
// iana_cipher_suites.csv (run go generate after editing the CSV).
func TestIANATableMatchesCSV(t *testing.T) {
	f, err := os.Open("iana_cipher_suites.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var want []ianaSuite
	for _, r := range rows[1:] {
		hi, lo, _ := strings.Cut(r[0], ",")
		h, _ := strconv.ParseUint(strings.TrimPrefix(hi, "0x"), 16, 8)
		l, _ := strconv.ParseUint(strings.TrimPrefix(lo, "0x"), 16, 8)
		want = append(want, ianaSuite{id: uint16(h)<<8 | uint16(l), name: r[1], recommended: r[3] == "Y", ref: r[4]})
	}
	if diff := cmp.Diff(want, ianaSuites[:], cmp.AllowUnexported(ianaSuite{})); diff != "" {
		t.Errorf("suites_iana.go is stale (-csv +generated):\n%s", diff)
	}
}

// TestDerivedSuiteParameters: what deriveSuite reads from the names, for
// the suites the package decrypted from a hand-written table before, the
// CCM and anonymous suites, and suites it must not decrypt.
func TestDerivedSuiteParameters(t *testing.T) {
	type p struct {
		TLS13    bool
		Cipher   cipherKind
		Key, Tag int
		MAC, PRF hashKind
		Weak     string
	}
	gcm := func(key int, prf hashKind) p { return p{Cipher: cipherAESGCM, Key: key, Tag: 16, PRF: prf} }
	cbc := func(key int, mac, prf hashKind) p { return p{Cipher: cipherAESCBC, Key: key, MAC: mac, PRF: prf} }
	ccm := func(key, tag int, prf hashKind) p { return p{Cipher: cipherAESCCM, Key: key, Tag: tag, PRF: prf} }
	anon := func(x p) p { x.Weak = weakAnon; return x }
	for id, want := range map[uint16]p{
		// TLS 1.3, RFC 8446, B.4.
		0x1301: {TLS13: true, Cipher: cipherAESGCM, Key: 16, Tag: 16, PRF: hashSHA256},
		0x1302: {TLS13: true, Cipher: cipherAESGCM, Key: 32, Tag: 16, PRF: hashSHA384},
		0x1303: {TLS13: true, Cipher: cipherChaCha, Key: 32, Tag: 16, PRF: hashSHA256},
		0x1304: {TLS13: true, Cipher: cipherAESCCM, Key: 16, Tag: 16, PRF: hashSHA256},
		0x1305: {TLS13: true, Cipher: cipherAESCCM, Key: 16, Tag: 8, PRF: hashSHA256},
		0x1306: {TLS13: true}, // AEGIS: named only
		// The hand-written table this replaces.
		0x009c: gcm(16, hashSHA256), 0x009d: gcm(32, hashSHA384), 0x009e: gcm(16, hashSHA256),
		0x009f: gcm(32, hashSHA384), 0xc02b: gcm(16, hashSHA256), 0xc02c: gcm(32, hashSHA384),
		0xc02f: gcm(16, hashSHA256), 0xc030: gcm(32, hashSHA384),
		0xcca8: {Cipher: cipherChaCha, Key: 32, Tag: 16, PRF: hashSHA256},
		0xcca9: {Cipher: cipherChaCha, Key: 32, Tag: 16, PRF: hashSHA256},
		0xccaa: {Cipher: cipherChaCha, Key: 32, Tag: 16, PRF: hashSHA256},
		0x002f: cbc(16, hashSHA1, hashSHA256), 0x0035: cbc(32, hashSHA1, hashSHA256),
		0x0033: cbc(16, hashSHA1, hashSHA256), 0x0039: cbc(32, hashSHA1, hashSHA256),
		0x003c: cbc(16, hashSHA256, hashSHA256), 0x003d: cbc(32, hashSHA256, hashSHA256),
		0x0067: cbc(16, hashSHA256, hashSHA256), 0x006b: cbc(32, hashSHA256, hashSHA256),
		0xc009: cbc(16, hashSHA1, hashSHA256), 0xc00a: cbc(32, hashSHA1, hashSHA256),
		0xc013: cbc(16, hashSHA1, hashSHA256), 0xc014: cbc(32, hashSHA1, hashSHA256),
		0xc023: cbc(16, hashSHA256, hashSHA256), 0xc024: cbc(32, hashSHA384, hashSHA384),
		0xc027: cbc(16, hashSHA256, hashSHA256), 0xc028: cbc(32, hashSHA384, hashSHA384),
		// AES-CCM, RFC 6655, RFC 7251, RFC 8442 (PRF SHA-256).
		0xc09c: ccm(16, 16, hashSHA256), 0xc09d: ccm(32, 16, hashSHA256),
		0xc0a0: ccm(16, 8, hashSHA256), 0xc0a1: ccm(32, 8, hashSHA256),
		0xc0ac: ccm(16, 16, hashSHA256), 0xc0ad: ccm(32, 16, hashSHA256),
		0xc0ae: ccm(16, 8, hashSHA256), 0xc0af: ccm(32, 8, hashSHA256),
		0xc0aa: ccm(16, 8, hashSHA256), 0xd003: ccm(16, 8, hashSHA256), 0xd005: ccm(16, 16, hashSHA256),
		0xc0b3: ccm(32, 16, hashSHA384),
		// Anonymous DH and ECDH: decrypted, and weak.
		0x0034: anon(cbc(16, hashSHA1, hashSHA256)), 0x006c: anon(cbc(16, hashSHA256, hashSHA256)),
		0x006d: anon(cbc(32, hashSHA256, hashSHA256)), 0x00a6: anon(gcm(16, hashSHA256)),
		0x00a7: anon(gcm(32, hashSHA384)), 0xc018: anon(cbc(16, hashSHA1, hashSHA256)),
		0xc019: anon(cbc(32, hashSHA1, hashSHA256)),
		0x0046: {Weak: weakAnon}, 0x001b: {Weak: weakAnon}, 0xc015: {Weak: weakAnon},
		// Named, not decrypted; weak where the old table said so.
		0xc076: {}, 0xc060: {}, 0x00c6: {}, 0xc100: {}, 0xc0b4: {}, 0x00ff: {}, 0x5600: {},
		0x0000: {Weak: weakNull}, 0x0002: {Weak: weakNull}, 0x003b: {Weak: weakNull},
		0x0003: {Weak: "export-grade RC4"}, 0x0008: {Weak: "export-grade DES"},
		0x0004: {Weak: weakRC4}, 0xc011: {Weak: weakRC4}, 0x0009: {Weak: weakDES},
		0x000a: {Weak: weak3DES}, 0xc012: {Weak: weak3DES},
	} {
		s := suites[id]
		if s == nil {
			t.Errorf("0x%04x: not in the table", id)
			continue
		}
		got := p{TLS13: s.tls13, Cipher: s.cipher, Key: s.keyLen, Tag: s.tagLen, MAC: s.mac, Weak: s.weak}
		if s.cipher != cipherNone {
			got.PRF = s.prf
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("0x%04x %s (-want +got):\n%s", id, s.name, diff)
		}
	}
	n := 0
	for _, s := range suites {
		if s.cipher != cipherNone {
			n++
		}
	}
	t.Logf("%d of %d IANA suites decryptable", n, len(suites))
}
