package layers

import (
	"encoding/binary"
	"math/bits"
	"math/rand"
	"testing"
)

// onesSumRef is the RFC 1071 definition, one big-endian word at a time.
func onesSumRef(b []byte, acc uint64) uint64 {
	var a uint64
	for len(b) >= 2 {
		a += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		a += uint64(b[0]) << 8
	}
	s, c := bits.Add64(acc, a, 0)
	return s + c
}

func TestOnesSumMatchesWordByWord(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		n := r.Intn(1600)
		b := make([]byte, n)
		switch i % 4 {
		case 0:
			r.Read(b)
		case 1:
			for j := range b {
				b[j] = 0xff
			}
		case 2:
		case 3:
			r.Read(b)
			for j := range b {
				if r.Intn(3) > 0 {
					b[j] = 0xff
				}
			}
		}
		acc := uint64(r.Intn(3)) * uint64(r.Int63n(1<<20))
		if got, want := fold(onesSum(b, acc)), fold(onesSumRef(b, acc)); got != want {
			t.Fatalf("n=%d acc=%d got %x want %x", n, acc, got, want)
		}
	}
}

func BenchmarkOnesSum1460(b *testing.B) {
	buf := make([]byte, 1460)
	rand.New(rand.NewSource(2)).Read(buf)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	var acc uint64
	for b.Loop() {
		acc += onesSum(buf, 0)
	}
	_ = acc
}
