package ccm

import (
	"bytes"
	"crypto/aes"
	"testing"
)

// FuzzCCM: Open never panics on arbitrary records, never authenticates a
// record that is not a Seal output under the key, and Seal then Open gives
// back the plaintext, for both TLS tag sizes.
func FuzzCCM(f *testing.F) {
	f.Add(make([]byte, 16), make([]byte, 12), []byte("plaintext"), []byte("ad"), false)
	f.Add(make([]byte, 32), make([]byte, 12), []byte{}, []byte{}, true)
	f.Fuzz(func(t *testing.T, key, nonce, data, ad []byte, short bool) {
		if len(key) != 16 && len(key) != 32 || len(nonce) != 12 || len(data) > 1<<16 {
			return
		}
		tag := 16
		if short {
			tag = 8
		}
		b, _ := aes.NewCipher(key)
		a, err := New(b, 12, tag)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := a.Open(nil, nonce, data, ad); err == nil {
			// A forgery would need the tag: only a Seal output opens.
			if !bytes.Equal(a.Seal(nil, nonce, p, ad), data) {
				t.Fatal("Open accepted bytes Seal does not make")
			}
		}
		ct := a.Seal(nil, nonce, data, ad)
		p, err := a.Open(nil, nonce, ct, ad)
		if err != nil || !bytes.Equal(p, data) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
