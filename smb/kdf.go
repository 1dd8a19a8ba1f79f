package smb

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"

	"github.com/nettrace/nettrace/internal/ccm"
)

// Cipher is an SMB 3.x encryption algorithm, by its SMB2_ENCRYPTION_CAPABILITIES
// cipher id ([MS-SMB2] 2.2.3.1.2). SMB 3.0 and 3.0.2 always use AES-128-CCM.
type Cipher uint16

// SMB 3.x ciphers ([MS-SMB2] 2.2.3.1.2).
const (
	CipherUnknown   Cipher = 0
	CipherAES128CCM Cipher = 1
	CipherAES128GCM Cipher = 2
	CipherAES256CCM Cipher = 3
	CipherAES256GCM Cipher = 4
)

// String returns "AES-128-GCM" or "Cipher(0x0009)".
func (c Cipher) String() string {
	switch c {
	case CipherAES128CCM:
		return "AES-128-CCM"
	case CipherAES128GCM:
		return "AES-128-GCM"
	case CipherAES256CCM:
		return "AES-256-CCM"
	case CipherAES256GCM:
		return "AES-256-GCM"
	case CipherUnknown:
		return "unknown"
	}
	return fmt.Sprintf("Cipher(0x%04x)", uint16(c))
}

// known reports whether c is one of the four ciphers.
func (c Cipher) known() bool { return c >= CipherAES128CCM && c <= CipherAES256GCM }

// keyLen is the key size in bytes: 16 for AES-128, 32 for AES-256.
func (c Cipher) keyLen() int {
	if c == CipherAES256CCM || c == CipherAES256GCM {
		return 32
	}
	return 16
}

// gcm reports whether c is a GCM cipher.
func (c Cipher) gcm() bool { return c == CipherAES128GCM || c == CipherAES256GCM }

// nonceLen is how many bytes of the 16-byte transform-header Nonce field the
// cipher uses: AES_CCM_Nonce is 11 bytes, AES_GCM_Nonce 12 ([MS-SMB2] 2.2.41).
func (c Cipher) nonceLen() int {
	if c.gcm() {
		return 12
	}
	return 11
}

// aead returns the cipher's AEAD for key (whose length must be keyLen);
// the tag (the transform header's Signature) is 16 bytes.
func (c Cipher) aead(key []byte) (cipher.AEAD, error) {
	if !c.known() || len(key) != c.keyLen() {
		return nil, fmt.Errorf("smb: %s needs a %d-byte key", c, c.keyLen())
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if c.gcm() {
		return cipher.NewGCM(b)
	}
	return ccm.New(b, 11, 16)
}

// ctrIV returns the counter block that starts the key stream encrypting
// the message (not the tag) under nonce: for GCM J0 incremented once
// (nonce || 0x00000002, NIST SP 800-38D 7.1), for CCM A_1 (RFC 3610, 2.3).
// crypto/cipher's CTR increments all 128 bits, GCM only the last 32; they
// agree for messages shorter than 2^32 blocks.
func (c Cipher) ctrIV(nonce []byte) [16]byte {
	if c.gcm() {
		var iv [16]byte
		copy(iv[:], nonce[:12])
		iv[15] = 2
		return iv
	}
	return ccm.CounterBlock(nonce[:11], 1)
}

// Labels and contexts of the SMB 3.x key derivations ([MS-SMB2] 3.2.5.3.1,
// 3.3.5.5.3). Each label and SMB 3.0 context includes its terminating NUL.
const (
	label30Encryption   = "SMB2AESCCM\x00"
	context30ClientToSv = "ServerIn \x00" // the client encrypts, the server decrypts
	context30ServerToCl = "ServerOut\x00"
	label311ClientToSv  = "SMBC2SCipherKey\x00"
	label311ServerToCl  = "SMBS2CCipherKey\x00"
	preauthHashLen      = sha512.Size
)

// kdf is the SP800-108 key derivation in counter mode with HMAC-SHA256 as
// SMB 3.x uses it ([MS-SMB2] 3.1.4.2): one iteration (L <= 256 bits) of
// PRF(Ki, [1]_32 || Label || 0x00 || Context || [L]_32). The labels (and
// SMB 3.0 contexts) carry their own terminating NUL, which the
// specification counts in their sizes, so a NUL separator follows it. It
// returns L/8 bytes.
func kdf(ki []byte, label, context string, bits int) []byte {
	m := hmac.New(sha256.New, ki)
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], 1)
	m.Write(n[:])
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(context))
	binary.BigEndian.PutUint32(n[:], uint32(bits))
	m.Write(n[:])
	return m.Sum(nil)[:bits/8]
}

// deriveCipherKeys derives the client-to-server and server-to-client
// encryption keys of a session from its session key ([MS-SMB2] 3.3.5.5.3,
// 3.2.5.3.1): with the SMB 3.0 labels for 3.0 and 3.0.2, with the 3.1.1
// labels and the session's preauthentication integrity hash otherwise.
// For AES-256 the whole session key (Session.FullSessionKey) is the input
// and 32 bytes are derived; for AES-128 the input is its first 16 bytes,
// zero-padded when shorter.
func deriveCipherKeys(sessionKey []byte, dialect Dialect, preauth []byte, c Cipher) (c2s, s2c []byte) {
	bits := 8 * c.keyLen()
	ki := sessionKey
	if c.keyLen() == 16 {
		ki = make([]byte, 16)
		copy(ki, sessionKey)
	}
	if dialect == Dialect311 {
		return kdf(ki, label311ClientToSv, string(preauth), bits), kdf(ki, label311ServerToCl, string(preauth), bits)
	}
	return kdf(ki, label30Encryption, context30ClientToSv, bits), kdf(ki, label30Encryption, context30ServerToCl, bits)
}

// preauthUpdate returns SHA-512(h || msg), the next preauthentication
// integrity hash value ([MS-SMB2] 3.2.5.2, 3.3.5.4).
func preauthUpdate(h [preauthHashLen]byte, msg []byte) [preauthHashLen]byte {
	s := sha512.New()
	s.Write(h[:])
	s.Write(msg)
	var out [preauthHashLen]byte
	s.Sum(out[:0])
	return out
}
