package layers

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand"
	"net/netip"
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

// TestOnesSumAnyAlignment checks onesSum against the word-by-word
// definition on every start offset within a word and lengths around each
// unrolled step (4, 16, 64 bytes), odd and even, up to a jumbo frame.
func TestOnesSumAnyAlignment(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	buf := make([]byte, 9100)
	r.Read(buf)
	lengths := []int{0, 1, 2, 3, 4, 5, 15, 16, 17, 63, 64, 65, 79, 80, 127, 128, 129, 1499, 1500, 8999, 9000}
	for i := 0; i < 200; i++ {
		lengths = append(lengths, r.Intn(9000))
	}
	for _, n := range lengths {
		for off := 0; off < 8; off++ {
			b := buf[off : off+n]
			for _, acc := range []uint64{0, 1, 0xffff, uint64(r.Int63n(1 << 40))} {
				if got, want := fold(onesSum(b, acc)), fold(onesSumRef(b, acc)); got != want {
					t.Fatalf("len %d offset %d acc %d: got %#04x, want %#04x", n, off, acc, got, want)
				}
			}
		}
	}
	// All-ones data: every accumulator lane carries on every word.
	for j := range buf {
		buf[j] = 0xff
	}
	for _, n := range []int{0, 1, 2, 63, 64, 65, 1500, 9000, 9099} {
		if got, want := fold(onesSum(buf[:n], 0)), fold(onesSumRef(buf[:n], 0)); got != want {
			t.Fatalf("all ones, len %d: got %#04x, want %#04x", n, got, want)
		}
	}
}

func BenchmarkOnesSum(b *testing.B) {
	for _, n := range []int{20, 64, 1500, 9000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			buf := make([]byte, n)
			rand.New(rand.NewSource(2)).Read(buf)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			var acc uint64
			for b.Loop() {
				acc += onesSum(buf, 0)
			}
			_ = acc
		})
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

// TestPseudoSumMatchesWordByWord checks the pseudo-header sum against the
// RFC 1071 definition over the same bytes.
func TestPseudoSumMatchesWordByWord(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for i := 0; i < 5000; i++ {
		var a, b [16]byte
		if i%5 != 0 {
			r.Read(a[:])
			r.Read(b[:])
		}
		proto, length := uint8(r.Intn(256)), r.Intn(1<<17)
		src, dst := netip.AddrFrom16(a), netip.AddrFrom16(b)
		var words []byte
		if i%2 == 0 {
			src, dst = netip.AddrFrom4([4]byte(a[:4])), netip.AddrFrom4([4]byte(b[:4]))
			words = append(append(words, a[:4]...), b[:4]...)
		} else {
			words = append(append(words, a[:]...), b[:]...)
		}
		want := onesSumRef(words, uint64(proto)+uint64(length>>16)+uint64(length&0xffff))
		for _, data := range [][]byte{nil, {0, 0}, {0xff, 0xff}, a[:7]} {
			if got, want := fold(onesSum(data, pseudoSum(src, dst, proto, length))), fold(onesSumRef(data, want)); got != want {
				t.Fatalf("%v > %v proto %d len %d data %x: got %#04x, want %#04x", src, dst, proto, length, data, got, want)
			}
		}
	}
}
