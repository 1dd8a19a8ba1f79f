package ccm

import (
	"bytes"
	"crypto/aes"
	"errors"
	"testing"
)

// seq returns the bytes n, n+1, … (mod 256) of length l, as the test
// vectors' inputs are written.
func seq(n, l int) []byte {
	b := make([]byte, l)
	for i := range b {
		b[i] = byte(n + i)
	}
	return b
}

func pattern(l, mod int) []byte {
	b := make([]byte, l)
	for i := range b {
		b[i] = byte(i % mod)
	}
	return b
}

// ccmVectors: RFC 3610, 8 (packet vectors #1–#7, AES key C0…CF, the
// first 8 or 12 bytes of the packet authenticated only), NIST SP 800-38C
// appendix C (examples 1–3), and vectors in the TLS shape (12-byte nonce,
// 8- and 16-byte tags, AES-128 and AES-256, empty and 65280-byte
// additional data, whose length needs the 0xfffe encoding) computed with
// OpenSSL through Python's cryptography package, an independent
// implementation.
var ccmVectors = []struct {
	name              string
	key, nonce        string
	ad, pt            []byte
	tagLen            int
	want              string // ciphertext || tag
	wantPacketWithHdr bool   // want starts with ad (RFC 3610 prints whole packets)
}{
	{name: "rfc3610-1", key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", nonce: "00000003020100A0A1A2A3A4A5",
		ad: seq(0, 8), pt: seq(8, 23), tagLen: 8, wantPacketWithHdr: true,
		want: "0001020304050607588C979A61C663D2F066D0C2C0F989806D5F6B61DAC38417E8D12CFDF926E0"},
	{name: "rfc3610-2", key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", nonce: "00000004030201A0A1A2A3A4A5",
		ad: seq(0, 8), pt: seq(8, 24), tagLen: 8, wantPacketWithHdr: true,
		want: "000102030405060772C91A36E135F8CF291CA894085C87E3CC15C439C9E43A3BA091D56E10400916"},
	{name: "rfc3610-3", key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", nonce: "00000005040302A0A1A2A3A4A5",
		ad: seq(0, 8), pt: seq(8, 25), tagLen: 8, wantPacketWithHdr: true,
		want: "000102030405060751B1E5F44A197D1DA46B0F8E2D282AE871E838BB64DA8596574ADAA76FBD9FB0C5"},
	{name: "rfc3610-4", key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", nonce: "00000006050403A0A1A2A3A4A5",
		ad: seq(0, 12), pt: seq(12, 19), tagLen: 8, wantPacketWithHdr: true,
		want: "000102030405060708090A0BA28C6865939A9A79FAAA5C4C2A9D4A91CDAC8C96C861B9C9E61EF1"},
	{name: "rfc3610-5", key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", nonce: "00000007060504A0A1A2A3A4A5",
		ad: seq(0, 12), pt: seq(12, 20), tagLen: 8, wantPacketWithHdr: true,
		want: "000102030405060708090A0BDCF1FB7B5D9E23FB9D4E131253658AD86EBDCA3E51E83F077D9C2D93"},
	{name: "rfc3610-6", key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", nonce: "00000008070605A0A1A2A3A4A5",
		ad: seq(0, 12), pt: seq(12, 21), tagLen: 8, wantPacketWithHdr: true,
		want: "000102030405060708090A0B6FC1B011F006568B5171A42D953D469B2570A4BD87405A0443AC91CB94"},
	{name: "rfc3610-7", key: "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", nonce: "00000009080706A0A1A2A3A4A5",
		ad: seq(0, 8), pt: seq(8, 23), tagLen: 10, wantPacketWithHdr: true,
		want: "00010203040506070135D1B2C95F41D5D1D4FEC185D166B8094E999DFED96C048C56602C97ACBB7490"},
	{name: "sp800-38c-1", key: "404142434445464748494a4b4c4d4e4f", nonce: "10111213141516",
		ad: seq(0, 8), pt: seq(0x20, 4), tagLen: 4, want: "7162015b4dac255d"},
	{name: "sp800-38c-2", key: "404142434445464748494a4b4c4d4e4f", nonce: "1011121314151617",
		ad: seq(0, 16), pt: seq(0x20, 16), tagLen: 6, want: "d2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd"},
	{name: "sp800-38c-3", key: "404142434445464748494a4b4c4d4e4f", nonce: "101112131415161718191a1b",
		ad: seq(0, 20), pt: seq(0x20, 24), tagLen: 8, want: "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951"},
	{name: "tls-ccm8-long-ad", key: "000102030405060708090a0b0c0d0e0f", nonce: "101112131415161718191a1b",
		ad: pattern(0xff00, 251), pt: pattern(40, 7), tagLen: 8,
		want: "23b4bba346f12bb20bae7cc47162db8779b4d6b233470b29f5eca256d3246f875916aa6ae29e3cb73fade6a9ef5e5a66"},
	{name: "tls-ccm-long-ad", key: "000102030405060708090a0b0c0d0e0f", nonce: "101112131415161718191a1b",
		ad: pattern(0xff00, 251), pt: pattern(40, 7), tagLen: 16,
		want: "23b4bba346f12bb20bae7cc47162db8779b4d6b233470b29f5eca256d3246f875916aa6ae29e3cb79791f2160c6f4ba708b7e2e4cc73b449"},
	{name: "tls-ccm-aes256", key: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", nonce: "101112131415161718191a1b",
		ad: []byte{1, 2}, pt: pattern(40, 7), tagLen: 16,
		want: "71b1f300624e66606df19e6a3959b03034f7a328e304340b7a51337e20cb6d0fa11027ce9cbd05f6558de90155108ed8477488daf844aec1"},
	{name: "tls-ccm-empty", key: "000102030405060708090a0b0c0d0e0f", nonce: "101112131415161718191a1b",
		tagLen: 16, want: "cc9b10e8593f83fb891535f9706e8492"},
}

func TestCCMVectors(t *testing.T) {
	for _, tc := range ccmVectors {
		t.Run(tc.name, func(t *testing.T) {
			b, err := aes.NewCipher(mustHex(t, tc.key))
			if err != nil {
				t.Fatal(err)
			}
			nonce := mustHex(t, tc.nonce)
			a, err := New(b, len(nonce), tc.tagLen)
			if err != nil {
				t.Fatal(err)
			}
			want := mustHex(t, tc.want)
			if tc.wantPacketWithHdr {
				if !bytes.Equal(want[:len(tc.ad)], tc.ad) {
					t.Fatal("vector header differs from ad")
				}
				want = want[len(tc.ad):]
			}
			got := a.Seal(nil, nonce, tc.pt, tc.ad)
			if !bytes.Equal(got, want) {
				t.Fatalf("Seal = %x, want %x", got, want)
			}
			pt, err := a.Open(nil, nonce, want, tc.ad)
			if err != nil || !bytes.Equal(pt, tc.pt) {
				t.Fatalf("Open = %x, %v; want %x", pt, err, tc.pt)
			}
			// In place, as the record layer decrypts.
			buf := append([]byte(nil), want...)
			pt, err = a.Open(buf[:0], nonce, buf, tc.ad)
			if err != nil || !bytes.Equal(pt, tc.pt) {
				t.Fatalf("in-place Open = %x, %v", pt, err)
			}
			// Any flipped bit in the ciphertext, tag, nonce or additional
			// data fails authentication and returns no plaintext.
			for i := range want {
				bad := append([]byte(nil), want...)
				bad[i] ^= 0x80
				if p, err := a.Open(nil, nonce, bad, tc.ad); !errors.Is(err, ErrOpen) || p != nil {
					t.Fatalf("byte %d flipped: Open = %x, %v", i, p, err)
				}
			}
			badNonce := append([]byte(nil), nonce...)
			badNonce[0] ^= 1
			if _, err := a.Open(nil, badNonce, want, tc.ad); err == nil {
				t.Fatal("wrong nonce authenticated")
			}
			if _, err := a.Open(nil, nonce, want, append([]byte{0}, tc.ad...)); err == nil {
				t.Fatal("wrong additional data authenticated")
			}
			if _, err := a.Open(nil, nonce, want[:tc.tagLen-1], tc.ad); err == nil {
				t.Fatal("short ciphertext accepted")
			}
		})
	}
}

// TestCCMOpenZeroesOnFailure: a forged record leaves no plaintext in the
// caller's buffer.
func TestCCMOpenZeroesOnFailure(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	a, _ := New(b, 12, 16)
	nonce := make([]byte, 12)
	ct := a.Seal(nil, nonce, []byte("attack at dawn!!"), nil)
	ct[len(ct)-1] ^= 1
	buf := make([]byte, 0, 64)
	if _, err := a.Open(buf, nonce, ct, nil); err == nil {
		t.Fatal("forgery accepted")
	}
	if !bytes.Equal(buf[:16], make([]byte, 16)) {
		t.Errorf("plaintext left in buffer: %q", buf[:16])
	}
}

func TestCCMRejectsBadParameters(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, p := range [][2]int{{6, 16}, {14, 16}, {12, 3}, {12, 5}, {12, 18}} {
		if _, err := New(b, p[0], p[1]); err == nil {
			t.Errorf("New(nonce %d, tag %d) accepted", p[0], p[1])
		}
	}
	// A 13-byte nonce leaves a 2-byte length field: 65536 bytes do not fit.
	a, _ := New(b, 13, 8)
	if _, err := a.Open(nil, make([]byte, 13), make([]byte, 1<<16+8), nil); err == nil {
		t.Error("message longer than the length field accepted")
	}
}

func BenchmarkCCMOpen(b *testing.B) {
	blk, _ := aes.NewCipher(make([]byte, 16))
	a, _ := New(blk, 12, 16)
	nonce := make([]byte, 12)
	ad := make([]byte, 13)
	ct := a.Seal(nil, nonce, make([]byte, 16384), ad)
	buf := make([]byte, 0, len(ct))
	b.SetBytes(16384)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Open(buf, nonce, ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}
