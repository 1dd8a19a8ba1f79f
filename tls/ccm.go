package tls

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

// This file implements CCM, Counter with CBC-MAC (RFC 3610; NIST SP
// 800-38C), as a cipher.AEAD over a 128-bit block cipher from crypto/aes.
// Go's standard library has no CCM; TLS uses it with a 12-byte nonce and
// a 16-byte (AES-CCM) or 8-byte (AES-CCM_8) tag (RFC 6655, 3; RFC 8446,
// B.4). Only the mode is written here: the block cipher is crypto/aes.

const ccmBlockSize = 16

// ccm is CCM with a fixed nonce and tag size. It holds no state between
// calls besides the block cipher, so it is safe for concurrent use when
// the block cipher is.
type ccm struct {
	b        cipher.Block
	nonceLen int // N, 7..13 (RFC 3610, 2: 15-L)
	tagLen   int // M, 4..16 and even (RFC 3610, 2)
}

var (
	errCCMOpen   = errors.New("ccm: message authentication failed")
	errCCMParams = errors.New("ccm: invalid nonce or tag size")
)

// newCCM returns CCM over b with nonceLen-byte nonces and tagLen-byte
// tags. b must have a 16-byte block; nonceLen is 7..13 and tagLen one of
// 4, 6, 8, 10, 12, 14, 16 (RFC 3610, 2).
func newCCM(b cipher.Block, nonceLen, tagLen int) (cipher.AEAD, error) {
	if b.BlockSize() != ccmBlockSize || nonceLen < 7 || nonceLen > 13 || tagLen < 4 || tagLen > 16 || tagLen%2 != 0 {
		return nil, errCCMParams
	}
	return &ccm{b: b, nonceLen: nonceLen, tagLen: tagLen}, nil
}

func (c *ccm) NonceSize() int { return c.nonceLen }
func (c *ccm) Overhead() int  { return c.tagLen }

// lenSize is L, the size of the length field (RFC 3610, 2: L = 15 - N).
func (c *ccm) lenSize() int { return 15 - c.nonceLen }

// maxLen reports whether a message of n bytes fits in the L-byte length
// field.
func (c *ccm) fits(n int) bool {
	l := c.lenSize()
	return l >= 8 || uint64(n) < uint64(1)<<(8*l)
}

// counterBlock fills a with A_i = flags(L-1) || nonce || i (RFC 3610, 2.3).
func (c *ccm) counterBlock(a *[ccmBlockSize]byte, nonce []byte, i uint64) {
	*a = [ccmBlockSize]byte{}
	a[0] = byte(c.lenSize() - 1)
	copy(a[1:], nonce)
	for j := ccmBlockSize - 1; j > c.nonceLen; j-- {
		a[j] = byte(i)
		i >>= 8
	}
}

// mac computes the CBC-MAC T of the message m and additional data ad
// (RFC 3610, 2.2): B_0 holds the flags, the nonce and l(m); the additional
// data follows with its encoded length, zero-padded to a block, then the
// message, zero-padded.
func (c *ccm) mac(tag *[ccmBlockSize]byte, nonce, m, ad []byte) {
	var x [ccmBlockSize]byte
	flags := byte(8 * ((c.tagLen - 2) / 2))
	flags |= byte(c.lenSize() - 1)
	if len(ad) > 0 {
		flags |= 0x40
	}
	x[0] = flags
	copy(x[1:], nonce)
	n := uint64(len(m))
	for j := ccmBlockSize - 1; j > c.nonceLen; j-- {
		x[j] = byte(n)
		n >>= 8
	}
	c.b.Encrypt(x[:], x[:])
	if len(ad) > 0 {
		// l(a) encoding (RFC 3610, 2.2): 2 bytes below 2^16-2^8, else
		// 0xfffe and 4 bytes, else 0xffff and 8 bytes.
		var hdr [10]byte
		var h []byte
		switch la := uint64(len(ad)); {
		case la < 1<<16-1<<8:
			binary.BigEndian.PutUint16(hdr[:], uint16(la))
			h = hdr[:2]
		case la <= 0xffffffff:
			hdr[0], hdr[1] = 0xff, 0xfe
			binary.BigEndian.PutUint32(hdr[2:], uint32(la))
			h = hdr[:6]
		default:
			hdr[0], hdr[1] = 0xff, 0xff
			binary.BigEndian.PutUint64(hdr[2:], la)
			h = hdr[:10]
		}
		c.cbcBlocks(&x, h, ad)
	}
	if len(m) > 0 {
		c.cbcBlocks(&x, m, nil)
	}
	*tag = x
}

// cbcBlocks absorbs a||b into the CBC-MAC state x, zero-padding the end
// to a whole block.
func (c *ccm) cbcBlocks(x *[ccmBlockSize]byte, a, b []byte) {
	i := 0
	for _, part := range [2][]byte{a, b} {
		for _, v := range part {
			x[i] ^= v
			i++
			if i == ccmBlockSize {
				c.b.Encrypt(x[:], x[:])
				i = 0
			}
		}
	}
	if i != 0 {
		c.b.Encrypt(x[:], x[:])
	}
}

// ctr XORs src into dst with the key stream of blocks A_1, A_2, … (RFC
// 3610, 2.3).
func (c *ccm) ctr(dst, src, nonce []byte) {
	var a [ccmBlockSize]byte
	c.counterBlock(&a, nonce, 1)
	cipher.NewCTR(c.b, a[:]).XORKeyStream(dst, src)
}

// Seal encrypts and authenticates plaintext (RFC 3610, 2.2–2.4) and
// appends the ciphertext and tag to dst.
func (c *ccm) Seal(dst, nonce, plaintext, ad []byte) []byte {
	if len(nonce) != c.nonceLen {
		panic("ccm: incorrect nonce length")
	}
	if !c.fits(len(plaintext)) {
		panic("ccm: message too long for the nonce size")
	}
	var tag, s0 [ccmBlockSize]byte
	c.mac(&tag, nonce, plaintext, ad)
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagLen)
	c.ctr(out[:len(plaintext)], plaintext, nonce)
	c.counterBlock(&s0, nonce, 0)
	c.b.Encrypt(s0[:], s0[:])
	subtle.XORBytes(out[len(plaintext):], tag[:c.tagLen], s0[:c.tagLen])
	return ret
}

// Open decrypts and verifies ciphertext (RFC 3610, 2.5) and appends the
// plaintext to dst. On failure it returns an error and no plaintext (the
// bytes written into dst's spare capacity are zeroed).
func (c *ccm) Open(dst, nonce, ciphertext, ad []byte) ([]byte, error) {
	if len(nonce) != c.nonceLen || len(ciphertext) < c.tagLen {
		return nil, errCCMOpen
	}
	n := len(ciphertext) - c.tagLen
	if !c.fits(n) {
		return nil, errCCMOpen
	}
	var want, s0, got [ccmBlockSize]byte
	c.counterBlock(&s0, nonce, 0)
	c.b.Encrypt(s0[:], s0[:])
	subtle.XORBytes(want[:c.tagLen], ciphertext[n:], s0[:c.tagLen])
	ret, out := sliceForAppend(dst, n)
	c.ctr(out, ciphertext[:n], nonce)
	c.mac(&got, nonce, out, ad)
	if subtle.ConstantTimeCompare(got[:c.tagLen], want[:c.tagLen]) != 1 {
		clear(out)
		return nil, errCCMOpen
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes and returns the whole slice and
// the n new bytes (the idiom of crypto/cipher).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return
}
