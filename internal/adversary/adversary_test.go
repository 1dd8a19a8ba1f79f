package adversary

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/nettrace/nettrace/layers"
)

// Every case is deterministic (the same bytes on every run) and is a
// capture the reader reads, up to the damage the damaged ones carry.
func TestCasesAreDeterministicCaptures(t *testing.T) {
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			n := min(c.Default, 200)
			a, err := Bytes(c.Name, n)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Bytes(c.Name, n)
			if sha256.Sum256(a) != sha256.Sum256(b) {
				t.Fatal("two runs wrote different bytes")
			}
			capt, err := layers.NewCapture(bytes.NewReader(a))
			if err != nil {
				t.Fatal(err)
			}
			frames := 0
			for {
				if _, err = capt.Next(); err != nil {
					break
				}
				frames++
			}
			damaged := c.Name == "absurd-record-length" || c.Name == "cut-last-record"
			if damaged == errors.Is(err, io.EOF) || frames == 0 {
				t.Errorf("%d frames, then %v", frames, err)
			}
		})
	}
}

// ZeroBomb's body inflates to exactly the zeros it claims, with the right
// trailer (gzip CRC-32 and size, zlib Adler-32).
func TestZeroBombInflatesToItsZeros(t *testing.T) {
	for _, coding := range []string{"gzip", "deflate"} {
		body := ZeroBomb(coding, 6)
		n, err := inflate(coding, body)
		if err != nil || n != 6<<20 {
			t.Errorf("%s: %d bytes, %v; want %d and no error", coding, n, err, 6<<20)
		}
	}
}
