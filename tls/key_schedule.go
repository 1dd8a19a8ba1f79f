package tls

import (
	"hash"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/hkdf"
)

// TLS 1.3 key schedule labels (RFC 8446, 7.1 and 7.3).
const (
	trafficKeyLabel    = "key"
	trafficIVLabel     = "iv"
	trafficUpdateLabel = "traffic upd"
	aeadNonceLength    = 12
)

// expandLabel is HKDF-Expand-Label (RFC 8446, 7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, length int) []byte {
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes([]byte("tls13 "))
		b.AddBytes([]byte(label))
	})
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(context) })
	info := b.BytesOrPanic()
	out := make([]byte, length)
	// length is ours (at most 64), never from the wire, so Read cannot fail.
	_, _ = hkdf.Expand(h, secret, info).Read(out)
	return out
}

// trafficKey derives the record key and IV from a traffic secret
// (RFC 8446, 7.3).
func trafficKey(h func() hash.Hash, secret []byte, keyLen int) (key, iv []byte) {
	return expandLabel(h, secret, trafficKeyLabel, nil, keyLen),
		expandLabel(h, secret, trafficIVLabel, nil, aeadNonceLength)
}

// nextTrafficSecret derives application_traffic_secret_N+1 after a
// KeyUpdate (RFC 8446, 7.2).
func nextTrafficSecret(h func() hash.Hash, secret []byte) []byte {
	return expandLabel(h, secret, trafficUpdateLabel, nil, len(secret))
}
