package tls

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"hash"

	"github.com/nettrace/nettrace/internal/ccm"
	"golang.org/x/crypto/chacha20poly1305"
)

// Reasons a record does not decrypt. They never carry key material.
var (
	errAuth       = errors.New("authentication tag or MAC does not verify")
	errShortCT    = errors.New("ciphertext shorter than its nonce, tag or block")
	errBadPadding = errors.New("bad CBC padding")
	errNoInner    = errors.New("TLS 1.3 inner plaintext has no content type")
)

// halfCipher decrypts the records of one direction with one key. It keeps
// a scratch buffer, so the plaintext returned by open is valid only until
// the next call.
type halfCipher struct {
	tls13   bool
	version Version
	kind    cipherKind
	aead    cipher.AEAD
	iv      []byte // TLS 1.3 / ChaCha: 12-byte IV; TLS 1.2 GCM: 4-byte salt
	block   cipher.Block
	cbcIV   []byte // TLS 1.0 chained IV
	mac     hash.Hash
	etm     bool
	seq     uint64
	label   string // key log label this key came from (for messages)
	secret  []byte // TLS 1.3 traffic secret, for KeyUpdate
	hash    hashKind
	keyLen  int
	scratch []byte
	nonce   [12]byte
	hdr     [13]byte
	macBuf  []byte
}

// newAEAD returns the AEAD for a suite's key: AES-GCM, ChaCha20-Poly1305,
// or AES-CCM with the suite's tag length and the 12-byte nonce of TLS
// (RFC 6655, 3; RFC 8446, 5.3).
func newAEAD(s *suite, key []byte) (cipher.AEAD, error) {
	if s.cipher == cipherChaCha {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if s.cipher == cipherAESCCM {
		return ccm.New(b, 12, s.tagLen)
	}
	return cipher.NewGCM(b)
}

// newHalf13 builds a TLS 1.3 decrypter from a traffic secret.
func newHalf13(s *suite, secret []byte, label string) (*halfCipher, error) {
	key, iv := trafficKey(s.prf.new(), secret, s.keyLen)
	a, err := newAEAD(s, key)
	if err != nil {
		return nil, err
	}
	return &halfCipher{tls13: true, version: VersionTLS13, kind: s.cipher, aead: a, iv: iv,
		label: label, secret: secret, hash: s.prf, keyLen: s.keyLen}, nil
}

// newHalf12 builds a TLS 1.0–1.2 decrypter from its key-block parts.
func newHalf12(v Version, s *suite, macKey, key, iv []byte, etm bool) (*halfCipher, error) {
	h := &halfCipher{version: v, kind: s.cipher, iv: iv, etm: etm, label: labelClientRandom}
	var err error
	switch s.cipher {
	case cipherAESGCM, cipherChaCha, cipherAESCCM:
		h.aead, err = newAEAD(s, key)
	case cipherAESCBC:
		h.block, err = aes.NewCipher(key)
		h.mac = hmac.New(s.mac.new(), macKey)
		if v < VersionTLS11 {
			h.cbcIV = append([]byte(nil), iv...)
		}
	default:
		err = errors.New("cipher suite not supported for decryption")
	}
	if err != nil {
		return nil, err
	}
	return h, nil
}

// open decrypts one record fragment. It returns the plaintext (valid until
// the next call) and its content type (the inner type for TLS 1.3). The
// sequence number advances only on success.
func (h *halfCipher) open(typ ContentType, ver Version, frag []byte) ([]byte, ContentType, error) {
	p, t, err := h.openSeq(h.seq, typ, ver, frag)
	if err == nil {
		h.seq++
	}
	return p, t, err
}

func (h *halfCipher) openSeq(seq uint64, typ ContentType, ver Version, frag []byte) ([]byte, ContentType, error) {
	switch {
	case h.tls13:
		return h.open13(seq, typ, ver, frag)
	case h.aead != nil:
		return h.openAEAD12(seq, typ, ver, frag)
	default:
		return h.openCBC(seq, typ, ver, frag)
	}
}

// open13 decrypts a TLSCiphertext (RFC 8446, 5.2): nonce = iv XOR seq,
// additional data = the record header, then strips the padding and the
// inner content type.
func (h *halfCipher) open13(seq uint64, typ ContentType, ver Version, frag []byte) ([]byte, ContentType, error) {
	if len(frag) < h.aead.Overhead()+1 {
		return nil, 0, errShortCT
	}
	copy(h.nonce[:], h.iv)
	for i := 0; i < 8; i++ {
		h.nonce[4+i] ^= byte(seq >> (56 - 8*i))
	}
	ad := h.hdr[:5]
	ad[0] = byte(typ)
	binary.BigEndian.PutUint16(ad[1:], uint16(ver))
	binary.BigEndian.PutUint16(ad[3:], uint16(len(frag)))
	out, err := h.aead.Open(h.scratch[:0], h.nonce[:], frag, ad)
	if err != nil {
		return nil, 0, errAuth
	}
	h.scratch = out[:0]
	i := len(out) - 1
	for i >= 0 && out[i] == 0 {
		i--
	}
	if i < 0 {
		return nil, 0, errNoInner
	}
	return out[:i], ContentType(out[i]), nil
}

// openAEAD12 decrypts a TLS 1.2 AEAD record: AES-GCM or AES-CCM with an
// 8-byte explicit nonce after a 4-byte salt (RFC 5288, 3; RFC 6655, 3),
// or ChaCha20-Poly1305
// with nonce = iv XOR seq (RFC 7905, 2). The additional data is
// seq_num + type + version + plaintext length (RFC 5246, 6.2.3.3).
func (h *halfCipher) openAEAD12(seq uint64, typ ContentType, ver Version, frag []byte) ([]byte, ContentType, error) {
	var nonce []byte
	if h.kind == cipherAESGCM || h.kind == cipherAESCCM {
		if len(frag) < 8+h.aead.Overhead() {
			return nil, 0, errShortCT
		}
		copy(h.nonce[:4], h.iv)
		copy(h.nonce[4:], frag[:8])
		nonce = h.nonce[:12]
		frag = frag[8:]
	} else {
		if len(frag) < h.aead.Overhead() {
			return nil, 0, errShortCT
		}
		copy(h.nonce[:], h.iv)
		for i := 0; i < 8; i++ {
			h.nonce[4+i] ^= byte(seq >> (56 - 8*i))
		}
		nonce = h.nonce[:]
	}
	ad := h.hdr[:13]
	binary.BigEndian.PutUint64(ad, seq)
	ad[8] = byte(typ)
	binary.BigEndian.PutUint16(ad[9:], uint16(ver))
	binary.BigEndian.PutUint16(ad[11:], uint16(len(frag)-h.aead.Overhead()))
	out, err := h.aead.Open(h.scratch[:0], nonce, frag, ad)
	if err != nil {
		return nil, 0, errAuth
	}
	h.scratch = out[:0]
	return out, typ, nil
}

// openCBC decrypts a block-cipher record (RFC 5246, 6.2.3.2): with an
// explicit IV from TLS 1.1 on, MAC-then-encrypt by default or
// encrypt-then-MAC when negotiated (RFC 7366, 3).
func (h *halfCipher) openCBC(seq uint64, typ ContentType, ver Version, frag []byte) ([]byte, ContentType, error) {
	bs := h.block.BlockSize()
	macLen := h.mac.Size()
	if h.etm {
		if len(frag) < macLen {
			return nil, 0, errShortCT
		}
		body, tag := frag[:len(frag)-macLen], frag[len(frag)-macLen:]
		if !hmac.Equal(h.macOf(seq, typ, ver, body), tag) {
			return nil, 0, errAuth
		}
		frag = body
	}
	iv := h.cbcIV
	if h.version >= VersionTLS11 {
		if len(frag) < bs {
			return nil, 0, errShortCT
		}
		iv, frag = frag[:bs], frag[bs:]
	}
	if len(frag) == 0 || len(frag)%bs != 0 {
		return nil, 0, errShortCT
	}
	if cap(h.scratch) < len(frag) {
		h.scratch = make([]byte, len(frag)) // at most one record
	}
	out := h.scratch[:len(frag)]
	cipher.NewCBCDecrypter(h.block, iv).CryptBlocks(out, frag)
	if h.version < VersionTLS11 {
		h.cbcIV = append(h.cbcIV[:0], frag[len(frag)-bs:]...)
	}
	pad := int(out[len(out)-1])
	if pad+1 > len(out) {
		return nil, 0, errBadPadding
	}
	for _, b := range out[len(out)-1-pad:] {
		if int(b) != pad {
			return nil, 0, errBadPadding
		}
	}
	out = out[:len(out)-1-pad]
	if !h.etm {
		if len(out) < macLen {
			return nil, 0, errBadPadding
		}
		content, tag := out[:len(out)-macLen], out[len(out)-macLen:]
		if !hmac.Equal(h.macOf(seq, typ, ver, content), tag) {
			return nil, 0, errAuth
		}
		out = content
	}
	return out, typ, nil
}

// macOf computes HMAC(seq_num + type + version + length + data)
// (RFC 5246, 6.2.3.1).
func (h *halfCipher) macOf(seq uint64, typ ContentType, ver Version, data []byte) []byte {
	ad := h.hdr[:13]
	binary.BigEndian.PutUint64(ad, seq)
	ad[8] = byte(typ)
	binary.BigEndian.PutUint16(ad[9:], uint16(ver))
	binary.BigEndian.PutUint16(ad[11:], uint16(len(data)))
	h.mac.Reset()
	h.mac.Write(ad)
	h.mac.Write(data)
	h.macBuf = h.mac.Sum(h.macBuf[:0])
	return h.macBuf
}

// update replaces a TLS 1.3 key with the next generation (KeyUpdate,
// RFC 8446, 4.6.3).
func (h *halfCipher) update(s *suite) (*halfCipher, error) {
	next := nextTrafficSecret(h.hash.new(), h.secret)
	n, err := newHalf13(s, next, h.label)
	if err != nil {
		return nil, err
	}
	n.label = trafficLabelGen(h.label)
	return n, nil
}

// trafficLabelGen turns "SERVER_TRAFFIC_SECRET_0" into "…_1" and so on;
// it names the key generation in events.
func trafficLabelGen(l string) string {
	i := len(l)
	for i > 0 && l[i-1] >= '0' && l[i-1] <= '9' {
		i--
	}
	if i == len(l) || i == 0 {
		return l
	}
	n := 0
	for _, c := range l[i:] {
		n = n*10 + int(c-'0')
		if n > 1<<20 {
			return l
		}
	}
	return l[:i] + itoa(n+1)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
