package tls

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// This file computes the fingerprints of the hello messages as Zeek,
// Suricata and Wireshark 4.2+ print them: JA3 and JA3S (Salesforce; MD5 of
// decimal lists, GREASE values removed) and JA4 and JA4S (FoxIO,
// technical_details/JA4.md and JA4S.md), always for TLS over TCP ("t").

// JA3 returns the JA3 fingerprint string of the ClientHello
// (legacy_version,ciphers,extensions,groups,point formats: decimal values
// joined with "-", GREASE values removed) and its MD5 hash in hex.
func (m *ClientHello) JA3() (string, string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(m.Version)))
	b.WriteByte(',')
	writeList16(&b, m.CipherSuites)
	b.WriteByte(',')
	writeList16(&b, m.Extensions)
	b.WriteByte(',')
	writeList16(&b, m.SupportedGroups)
	b.WriteByte(',')
	for i, f := range m.ECPointFormats {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.Itoa(int(f)))
	}
	return md5Hex(b.String())
}

// JA3S returns the JA3S fingerprint string of a ServerHello or
// HelloRetryRequest (legacy_version,cipher,extensions in wire order) and
// its MD5 hash in hex.
func (m *ServerHello) JA3S() (string, string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(m.Version)))
	b.WriteByte(',')
	b.WriteString(strconv.Itoa(int(m.CipherSuite)))
	b.WriteByte(',')
	writeList16(&b, m.Extensions)
	return md5Hex(b.String())
}

func md5Hex(s string) (string, string) {
	sum := md5.Sum([]byte(s))
	return s, hex.EncodeToString(sum[:])
}

// writeList16 writes the non-GREASE values of l in decimal, joined by "-".
func writeList16(b *strings.Builder, l []uint16) {
	first := true
	for _, v := range l {
		if isGREASE(v) {
			continue
		}
		if !first {
			b.WriteByte('-')
		}
		first = false
		b.WriteString(strconv.Itoa(int(v)))
	}
}

// JA4 returns the JA4 fingerprint of the ClientHello (JA4.md): "t", the
// version (the highest of supported_versions, else legacy_version), "d"
// with an SNI extension or "i" without, the numbers of cipher suites and
// extensions (two digits, at most 99), the first and last characters of
// the first ALPN value ("00" without); then the first 12 hex digits of
// the SHA-256 of the sorted cipher suites, and of the sorted extensions
// without SNI and ALPN followed by "_" and the signature algorithms in
// wire order. Values are 4-digit lower-case hex joined by ","; GREASE
// values are ignored everywhere; an empty list hashes to "000000000000".
func (m *ClientHello) JA4() string {
	ciphers := nonGREASE(m.CipherSuites)
	exts := nonGREASE(m.Extensions)
	v := Version(0)
	for _, sv := range m.SupportedVersions {
		if !isGREASE(uint16(sv)) && sv > v {
			v = sv
		}
	}
	if v == 0 {
		v = m.Version
	}
	var b strings.Builder
	b.WriteString("t")
	b.WriteString(ja4Version(v))
	if slices.Contains(exts, extServerName) {
		b.WriteByte('d')
	} else {
		b.WriteByte('i')
	}
	b.WriteString(twoDigits(len(ciphers)))
	b.WriteString(twoDigits(len(exts)))
	alpn := ""
	if len(m.ALPN) > 0 {
		alpn = m.ALPN[0]
	}
	b.WriteString(ja4ALPN(alpn))
	b.WriteByte('_')
	slices.Sort(ciphers)
	b.WriteString(ja4Hash(hexList(ciphers)))
	b.WriteByte('_')
	rest := slices.DeleteFunc(exts, func(e uint16) bool { return e == extServerName || e == extALPN })
	slices.Sort(rest)
	c := hexList(rest)
	if sigs := nonGREASE(m.SignatureAlgorithms); len(sigs) > 0 && c != "" {
		c += "_" + hexList(sigs)
	}
	b.WriteString(ja4Hash(c))
	return b.String()
}

// JA4S returns the JA4S fingerprint of a ServerHello or HelloRetryRequest
// (JA4S.md): "t", the chosen version, the number of extensions, the first
// and last characters of the chosen ALPN ("00" without), "_", the chosen
// cipher suite in hex, "_" and the first 12 hex digits of the SHA-256 of
// the extensions in wire order.
func (m *ServerHello) JA4S() string {
	exts := nonGREASE(m.Extensions)
	var b strings.Builder
	b.WriteString("t")
	b.WriteString(ja4Version(m.ChosenVersion()))
	b.WriteString(twoDigits(len(exts)))
	b.WriteString(ja4ALPN(m.ALPN))
	b.WriteByte('_')
	b.WriteString(hex4(m.CipherSuite))
	b.WriteByte('_')
	b.WriteString(ja4Hash(hexList(exts)))
	return b.String()
}

// ja4Version is the two characters JA4 gives a version.
func ja4Version(v Version) string {
	switch v {
	case VersionTLS13:
		return "13"
	case VersionTLS12:
		return "12"
	case VersionTLS11:
		return "11"
	case VersionTLS10:
		return "10"
	case VersionSSL30:
		return "s3"
	case VersionSSL2:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// ja4ALPN is the first and last characters of an ALPN value, "00" when it
// is empty, or the first and last hex digits of the value when either end
// is not an ASCII letter or digit.
func ja4ALPN(a string) string {
	if a == "" {
		return "00"
	}
	first, last := a[0], a[len(a)-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	h := hex.EncodeToString([]byte(a))
	return string([]byte{h[0], h[len(h)-1]})
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func twoDigits(n int) string {
	n = min(n, 99)
	return string([]byte{byte('0' + n/10), byte('0' + n%10)})
}

// ja4Hash is the first 12 hex digits of the SHA-256 of s, or
// "000000000000" when s is empty.
func ja4Hash(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

func nonGREASE(l []uint16) []uint16 {
	out := make([]uint16, 0, len(l))
	for _, v := range l {
		if !isGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

func hexList(l []uint16) string {
	var b strings.Builder
	for i, v := range l {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(hex4(v))
	}
	return b.String()
}

func hex4(v uint16) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}
