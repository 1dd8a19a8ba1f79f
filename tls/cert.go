package tls

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/nettrace/nettrace/internal/memo"
)

// CertInfo is what a support engineer needs from one certificate of a
// chain, decoded with crypto/x509. It holds no key material.
type CertInfo struct {
	Subject    string
	CommonName string
	Issuer     string
	DNSNames   []string
	IPs        []string
	NotBefore  time.Time
	NotAfter   time.Time
	KeyType    string // "RSA-2048", "ECDSA-P-256", "Ed25519"
	Err        string // x509 parse error, when the DER did not parse
}

// Certificate is a Certificate message (RFC 5246, 7.4.2; RFC 8446, 4.4.2):
// the DER certificates of the chain, leaf first. Raw aliases the input.
type Certificate struct {
	Raw [][]byte
}

// ParseCertificate parses a Certificate body of version v (TLS 1.3 adds a
// request context and per-entry extensions). At most maxCerts entries are
// kept; later ones are counted in the returned int.
func ParseCertificate(body []byte, v Version, maxCerts int) (Certificate, int, error) {
	var m Certificate
	s := cryptobyte.String(body)
	if v == VersionTLS13 {
		var ctx cryptobyte.String
		if !s.ReadUint8LengthPrefixed(&ctx) {
			return Certificate{}, 0, malformed("certificate", "short request context")
		}
	}
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return Certificate{}, 0, malformed("certificate", "list length does not match the body")
	}
	dropped := 0
	for !list.Empty() {
		var der cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) {
			return Certificate{}, 0, malformed("certificate", "truncated certificate entry")
		}
		if v == VersionTLS13 {
			var ext cryptobyte.String
			if !list.ReadUint16LengthPrefixed(&ext) {
				return Certificate{}, 0, malformed("certificate", "truncated entry extensions")
			}
		}
		if len(m.Raw) < maxCerts {
			m.Raw = append(m.Raw, der)
		} else {
			dropped++
		}
	}
	return m, dropped, nil
}

// DescribeCertificate decodes one DER certificate. A certificate x509
// cannot parse gives a CertInfo with Err set. The same certificate is
// decoded once however many connections present it (see certs): the
// slices of the CertInfo returned are shared and must not be modified.
func DescribeCertificate(der []byte) CertInfo {
	return describeCached(der)
}

func describeCertificate(der []byte) CertInfo {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return CertInfo{Err: err.Error()}
	}
	ci := CertInfo{
		Subject: c.Subject.String(), CommonName: c.Subject.CommonName, Issuer: c.Issuer.String(),
		DNSNames: c.DNSNames, NotBefore: c.NotBefore, NotAfter: c.NotAfter,
	}
	for _, ip := range c.IPAddresses {
		ci.IPs = append(ci.IPs, ip.String())
	}
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		ci.KeyType = fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		ci.KeyType = "ECDSA-" + k.Curve.Params().Name
	case ed25519.PublicKey:
		ci.KeyType = "Ed25519"
	default:
		ci.KeyType = c.PublicKeyAlgorithm.String()
	}
	return ci
}

// Names returns the names the certificate is valid for: its DNS SANs and
// IP SANs, or its subject CN when it has no SANs (the legacy rule).
func (c *CertInfo) Names() []string {
	var n []string
	n = append(n, c.DNSNames...)
	n = append(n, c.IPs...)
	if len(n) == 0 && c.CommonName != "" {
		n = append(n, c.CommonName)
	}
	return n
}

// Match kinds returned by MatchHost.
const (
	MatchNone     = ""         // no name covers the host
	MatchExact    = "exact"    // a DNS name equal to the host
	MatchWildcard = "wildcard" // a *.domain name covering one label
	MatchIP       = "ip"       // an IP SAN equal to the host address
)

// MatchHost reports how the certificate names host (RFC 6125, 6.4): an
// exact DNS name, a wildcard in the left-most label covering exactly one
// label, or an IP address SAN. It returns MatchNone and the name list when
// nothing matches.
func (c *CertInfo) MatchHost(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if a, err := netip.ParseAddr(host); err == nil {
		for _, ip := range c.IPs {
			if b, err := netip.ParseAddr(ip); err == nil && a.Unmap() == b.Unmap() {
				return MatchIP
			}
		}
		return MatchNone
	}
	names := c.DNSNames
	if len(names) == 0 && len(c.IPs) == 0 && c.CommonName != "" {
		names = []string{c.CommonName}
	}
	wild := false
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if n == host {
			return MatchExact
		}
		if strings.HasPrefix(n, "*.") {
			suffix := n[1:] // ".example.test"
			if strings.HasSuffix(host, suffix) {
				label := host[:len(host)-len(suffix)]
				if label != "" && !strings.Contains(label, ".") {
					wild = true
				}
			}
		}
	}
	if wild {
		return MatchWildcard
	}
	return MatchNone
}

// certs remembers the CertInfo of the certificates seen last, by the
// SHA-256 of their DER: a server presents the same chain on every
// connection, and parsing it with crypto/x509 each time was 8% of the
// analysis of a real traffic mix. At most 2×512 entries of about 1 KiB.
var certs = memo.New[[32]byte, CertInfo](512)

func describeCached(der []byte) CertInfo {
	key := sha256.Sum256(der)
	if ci, ok := certs.Get(key); ok {
		return ci
	}
	ci := describeCertificate(der)
	certs.Put(key, ci)
	return ci
}
