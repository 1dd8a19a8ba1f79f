// Package ccm implements the CCM mode of authenticated encryption (Counter
// with CBC-MAC: RFC 3610, NIST SP 800-38C) on a 128-bit block cipher, as a
// crypto/cipher.AEAD. Go's standard library has GCM but no CCM; SMB 3.x
// (AES-128-CCM, AES-256-CCM: [MS-SMB2] 3.1.4.3, RFC 4309) needs it.
//
// It is internal so that the packages that need CCM (smb, and tls for the
// TLS_AES_128_CCM suites) share one tested implementation. The AEAD is safe
// for concurrent use, as crypto/cipher's are.
package ccm

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"errors"
)

const blockSize = 16

// ErrOpen is returned by Open when the tag does not authenticate.
var ErrOpen = errors.New("ccm: message authentication failed")

type ccm struct {
	b         cipher.Block
	nonceSize int // 15 - L, 7..13
	tagSize   int // M, 4..16 and even
}

// New returns CCM on the 128-bit block cipher b with the given nonce size
// (7 to 13 bytes: the length field L is 15 - nonceSize bytes, RFC 3610, 2)
// and tag size (4, 6, 8, 10, 12, 14 or 16 bytes).
func New(b cipher.Block, nonceSize, tagSize int) (cipher.AEAD, error) {
	if b.BlockSize() != blockSize {
		return nil, errors.New("ccm: block size must be 16 bytes")
	}
	if nonceSize < 7 || nonceSize > 13 {
		return nil, errors.New("ccm: nonce size must be 7 to 13 bytes")
	}
	if tagSize < 4 || tagSize > 16 || tagSize%2 != 0 {
		return nil, errors.New("ccm: tag size must be an even number of bytes from 4 to 16")
	}
	return &ccm{b: b, nonceSize: nonceSize, tagSize: tagSize}, nil
}

func (c *ccm) NonceSize() int { return c.nonceSize }
func (c *ccm) Overhead() int  { return c.tagSize }

// maxLen is the largest message the length field L can describe.
func (c *ccm) maxLen() uint64 {
	l := 15 - c.nonceSize
	if l >= 8 {
		return 1<<63 - 1
	}
	return 1<<(8*l) - 1
}

// counter returns the counter block A_i (RFC 3610, 2.3): flags L-1, the
// nonce, and i in the L-byte length field.
func (c *ccm) counter(nonce []byte, i uint64) [blockSize]byte {
	var a [blockSize]byte
	l := 15 - c.nonceSize
	a[0] = byte(l - 1)
	copy(a[1:], nonce)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], i)
	copy(a[blockSize-l:], n[8-l:])
	return a
}

// CounterBlock returns the counter block A_i for nonce (RFC 3610, 2.3),
// which starts the key stream that encrypts the message (A_1) or the tag
// (A_0). It lets a caller decrypt the head of a message, unauthenticated,
// with crypto/cipher's CTR mode when the whole message is not at hand.
func CounterBlock(nonce []byte, i uint64) [blockSize]byte {
	c := ccm{nonceSize: len(nonce)}
	return c.counter(nonce, i)
}

// mac computes the CBC-MAC T over B_0, the encoded additional data and the
// plaintext (RFC 3610, 2.2), before it is encrypted with S_0.
func (c *ccm) mac(nonce, plaintext, adata []byte) [blockSize]byte {
	var x [blockSize]byte
	l := 15 - c.nonceSize
	// B_0: flags, nonce, l(m).
	x[0] = byte((c.tagSize-2)/2) << 3
	x[0] |= byte(l - 1)
	if len(adata) > 0 {
		x[0] |= 0x40
	}
	copy(x[1:], nonce)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(plaintext)))
	copy(x[blockSize-l:], n[8-l:])
	c.b.Encrypt(x[:], x[:])

	if len(adata) > 0 {
		// l(a) encoding (RFC 3610, 2.2), then a, padded with zeros to a
		// block boundary.
		var hdr []byte
		switch {
		case uint64(len(adata)) < 0xff00:
			hdr = binary.BigEndian.AppendUint16(nil, uint16(len(adata)))
		case uint64(len(adata)) <= 0xffffffff:
			hdr = append([]byte{0xff, 0xfe}, binary.BigEndian.AppendUint32(nil, uint32(len(adata)))...)
		default:
			hdr = append([]byte{0xff, 0xff}, binary.BigEndian.AppendUint64(nil, uint64(len(adata)))...)
		}
		c.cbcBlocks(&x, hdr, adata)
	}
	c.cbcBlocks(&x, nil, plaintext)
	return x
}

// cbcBlocks runs the CBC-MAC over prefix||data, padded with zeros to a
// block boundary, continuing from x.
func (c *ccm) cbcBlocks(x *[blockSize]byte, prefix, data []byte) {
	var blk [blockSize]byte
	n := 0
	feed := func(b []byte) {
		for len(b) > 0 {
			k := copy(blk[n:], b)
			n += k
			b = b[k:]
			if n == blockSize {
				subtle.XORBytes(x[:], x[:], blk[:])
				c.b.Encrypt(x[:], x[:])
				n = 0
			}
		}
	}
	feed(prefix)
	feed(data)
	if n > 0 {
		clear(blk[n:])
		subtle.XORBytes(x[:], x[:], blk[:])
		c.b.Encrypt(x[:], x[:])
	}
}

// ctr XORs src with the key stream that starts at A_1 into dst.
func (c *ccm) ctr(nonce, dst, src []byte) {
	a := c.counter(nonce, 1)
	cipher.NewCTR(c.b, a[:]).XORKeyStream(dst, src)
}

// Seal encrypts and authenticates plaintext and appends the result to dst.
func (c *ccm) Seal(dst, nonce, plaintext, adata []byte) []byte {
	if len(nonce) != c.nonceSize {
		panic("ccm: incorrect nonce length")
	}
	if uint64(len(plaintext)) > c.maxLen() {
		panic("ccm: message too large for the nonce size")
	}
	tag := c.mac(nonce, plaintext, adata)
	ret, out := sliceForAppend(dst, len(plaintext)+c.tagSize)
	c.ctr(nonce, out, plaintext)
	a0 := c.counter(nonce, 0)
	var s0 [blockSize]byte
	c.b.Encrypt(s0[:], a0[:])
	subtle.XORBytes(out[len(plaintext):], tag[:c.tagSize], s0[:c.tagSize])
	return ret
}

// Open authenticates and decrypts ciphertext (with its tag at the end) and
// appends the plaintext to dst. On failure it returns ErrOpen and leaves no
// plaintext in dst's spare capacity.
func (c *ccm) Open(dst, nonce, ciphertext, adata []byte) ([]byte, error) {
	if len(nonce) != c.nonceSize {
		return nil, errors.New("ccm: incorrect nonce length")
	}
	if len(ciphertext) < c.tagSize || uint64(len(ciphertext)-c.tagSize) > c.maxLen() {
		return nil, ErrOpen
	}
	body, tag := ciphertext[:len(ciphertext)-c.tagSize], ciphertext[len(ciphertext)-c.tagSize:]
	ret, out := sliceForAppend(dst, len(body))
	c.ctr(nonce, out, body)
	want := c.mac(nonce, out, adata)
	a0 := c.counter(nonce, 0)
	var s0 [blockSize]byte
	c.b.Encrypt(s0[:], a0[:])
	subtle.XORBytes(want[:c.tagSize], want[:c.tagSize], s0[:c.tagSize])
	if subtle.ConstantTimeCompare(want[:c.tagSize], tag) != 1 {
		clear(out)
		return nil, ErrOpen
	}
	return ret, nil
}

// sliceForAppend extends in by n bytes and returns the whole slice and the
// new tail (as crypto/cipher does).
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
