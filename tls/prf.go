package tls

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

// Labels and lengths of the TLS 1.0–1.2 key derivation (RFC 5246, 6.3 and 8.1).
const (
	masterSecretLength = 48
	keyExpansionLabel  = "key expansion"
)

func (h hashKind) new() func() hash.Hash {
	switch h {
	case hashSHA1:
		return sha1.New
	case hashSHA384:
		return sha512.New384
	default:
		return sha256.New
	}
}

func (h hashKind) size() int {
	switch h {
	case hashSHA1:
		return sha1.Size
	case hashSHA384:
		return sha512.Size384
	case hashSHA256:
		return sha256.Size
	}
	return 0
}

// pHash fills result with P_hash(secret, seed) (RFC 5246, 5).
func pHash(result, secret, seed []byte, h func() hash.Hash) {
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil) // A(1)
	for j := 0; j < len(result); {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		b := mac.Sum(nil)
		j += copy(result[j:], b)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
}

// prf12 is the TLS 1.2 PRF with the suite's hash (RFC 5246, 5).
func prf12(h func() hash.Hash) func(result, secret []byte, label string, seed []byte) {
	return func(result, secret []byte, label string, seed []byte) {
		ls := make([]byte, 0, len(label)+len(seed))
		ls = append(ls, label...)
		ls = append(ls, seed...)
		pHash(result, secret, ls, h)
	}
}

// prf10 is the TLS 1.0/1.1 PRF: P_MD5 XOR P_SHA-1 over the two halves of
// the secret (RFC 2246, 5).
func prf10(result, secret []byte, label string, seed []byte) {
	ls := make([]byte, 0, len(label)+len(seed))
	ls = append(ls, label...)
	ls = append(ls, seed...)
	s1 := secret[:(len(secret)+1)/2]
	s2 := secret[len(secret)/2:]
	pHash(result, s1, ls, md5.New)
	r2 := make([]byte, len(result))
	pHash(r2, s2, ls, sha1.New)
	for i, b := range r2 {
		result[i] ^= b
	}
}

// keyBlock holds one connection's TLS 1.0–1.2 record keys.
type keyBlock struct {
	clientMAC, serverMAC, clientKey, serverKey, clientIV, serverIV []byte
}

// keysFromMasterSecret expands the master secret into the key block (RFC
// 5246, 6.3): key_block = PRF(master, "key expansion", server_random +
// client_random), cut into MAC keys, cipher keys and IVs.
func keysFromMasterSecret(v Version, s *suite, master, clientRandom, serverRandom []byte, macLen, keyLen, ivLen int) keyBlock {
	seed := make([]byte, 0, 64)
	seed = append(seed, serverRandom...)
	seed = append(seed, clientRandom...)
	n := 2*macLen + 2*keyLen + 2*ivLen
	kb := make([]byte, n)
	if v >= VersionTLS12 {
		prf12(s.prf.new())(kb, master, keyExpansionLabel, seed)
	} else {
		prf10(kb, master, keyExpansionLabel, seed)
	}
	var k keyBlock
	k.clientMAC, kb = kb[:macLen], kb[macLen:]
	k.serverMAC, kb = kb[:macLen], kb[macLen:]
	k.clientKey, kb = kb[:keyLen], kb[keyLen:]
	k.serverKey, kb = kb[:keyLen], kb[keyLen:]
	k.clientIV, kb = kb[:ivLen], kb[ivLen:]
	k.serverIV = kb[:ivLen]
	return k
}
