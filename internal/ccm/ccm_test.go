package ccm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"errors"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func newAES(t *testing.T, key []byte, nonceSize, tagSize int) cipher.AEAD {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(b, nonceSize, tagSize)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRFC3610Vectors checks packet vectors #1-#3 of RFC 3610, section 8
// (AES-128, 13-byte nonce, 8 header bytes authenticated, 8-byte tag), and
// the SMB 3.0 AES-128-CCM vector of Microsoft's "Encryption in SMB 3.0: a
// protocol perspective" (11-byte nonce, 32 bytes of additional data: the
// transform header after its signature, 16-byte tag).
func TestRFC3610Vectors(t *testing.T) {
	tests := []struct {
		name, key, nonce, adata, plain, sealed string
		tag                                    int
	}{
		{"rfc3610 #1", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000003020100a0a1a2a3a4a5", "0001020304050607",
			"08090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
			"588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0", 8},
		{"rfc3610 #2", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000004030201a0a1a2a3a4a5", "0001020304050607",
			"08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"72c91a36e135f8cf291ca894085c87e3cc15c439c9e43a3ba091d56e10400916", 8},
		{"rfc3610 #3", "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf", "00000005040302a0a1a2a3a4a5", "0001020304050607",
			"08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
			"51b1e5f44a197d1da46b0f8e2d282ae871e838bb64da8596574adaa76fbd9fb0c5", 8},
		{"smb 3.0 read response", "8fe2b57ec34d2db5b1a9727f526bbdb5", "8700000000000000110000",
			"87000000000000001100001400e4080067000000000001001100001400e40800",
			"fe534d4240000100000000000800210009000000000000000500000000000000" +
				"fffe0000010000001100001400e4080000000000000000000000000000000000" +
				"11005000170000000000000000000000536d623320656e6372797074696f6e20" +
				"74657374696e67",
			"493d6fe2bdbeb435cf5f546970c7bb57bf20e713c75a3d045507e0d68e5c0346659d6ffb8ac1504a786ca2bb" +
				"89c9e7fe4f313e910a04180d2d0ea7df636329e5a3285984500ef86fe9d55da4" +
				"fab9531cfdd4c551d47f3c73124bb4590a45052b694048b991ccf5" + "abd518b68c2f04d7879f482b689eb83f", 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nonce := mustHex(t, tc.nonce)
			a := newAES(t, mustHex(t, tc.key), len(nonce), tc.tag)
			adata, plain, sealed := mustHex(t, tc.adata), mustHex(t, tc.plain), mustHex(t, tc.sealed)
			if got := a.Seal(nil, nonce, plain, adata); !bytes.Equal(got, sealed) {
				t.Errorf("Seal = %x, want %x", got, sealed)
			}
			got, err := a.Open(nil, nonce, sealed, adata)
			if err != nil || !bytes.Equal(got, plain) {
				t.Errorf("Open = %x, %v, want %x", got, err, plain)
			}
		})
	}
}

// TestOpenRejectsTampering: a flipped bit anywhere (ciphertext, tag,
// additional data) or a short input fails with ErrOpen.
func TestOpenRejectsTampering(t *testing.T) {
	a := newAES(t, mustHex(t, "c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"), 11, 16)
	nonce := make([]byte, 11)
	ad := []byte("header")
	sealed := a.Seal(nil, nonce, []byte("some plaintext that spans blocks"), ad)
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x80
		if _, err := a.Open(nil, nonce, bad, ad); !errors.Is(err, ErrOpen) {
			t.Fatalf("byte %d flipped: err = %v, want ErrOpen", i, err)
		}
	}
	if _, err := a.Open(nil, nonce, sealed, []byte("Header")); !errors.Is(err, ErrOpen) {
		t.Errorf("other additional data: err = %v, want ErrOpen", err)
	}
	if _, err := a.Open(nil, nonce, sealed[:15], ad); !errors.Is(err, ErrOpen) {
		t.Errorf("shorter than the tag: err = %v, want ErrOpen", err)
	}
}

// TestRoundTripSizes seals and opens messages of every size around block
// boundaries, with and without additional data, including the long form of
// the additional-data length (>= 0xff00 bytes).
func TestRoundTripSizes(t *testing.T) {
	a := newAES(t, make([]byte, 32), 12, 16) // AES-256
	nonce := bytes.Repeat([]byte{7}, 12)
	for _, adLen := range []int{0, 1, 14, 16, 0xff00} {
		ad := bytes.Repeat([]byte{1}, adLen)
		for n := 0; n < 70; n++ {
			p := bytes.Repeat([]byte{byte(n)}, n)
			s := a.Seal(nil, nonce, p, ad)
			got, err := a.Open(nil, nonce, s, ad)
			if err != nil || !bytes.Equal(got, p) {
				t.Fatalf("ad %d, n %d: Open = %x, %v", adLen, n, got, err)
			}
		}
	}
}

// TestCounterBlockStartsTheKeyStream: CTR from CounterBlock(nonce, 1)
// decrypts a sealed message's head without its tag.
func TestCounterBlockStartsTheKeyStream(t *testing.T) {
	key := mustHex(t, "8fe2b57ec34d2db5b1a9727f526bbdb5")
	a := newAES(t, key, 11, 16)
	nonce := mustHex(t, "8700000000000000110000")
	plain := bytes.Repeat([]byte("0123456789"), 10)
	s := a.Seal(nil, nonce, plain, nil)
	b, _ := aes.NewCipher(key)
	iv := CounterBlock(nonce, 1)
	head := make([]byte, 40)
	cipher.NewCTR(b, iv[:]).XORKeyStream(head, s[:40])
	if !bytes.Equal(head, plain[:40]) {
		t.Errorf("head = %q, want %q", head, plain[:40])
	}
}

func TestNewRejectsBadParameters(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, p := range [][2]int{{6, 16}, {14, 16}, {12, 3}, {12, 18}, {12, 5}} {
		if _, err := New(b, p[0], p[1]); err == nil {
			t.Errorf("New(nonce %d, tag %d) accepted", p[0], p[1])
		}
	}
}
