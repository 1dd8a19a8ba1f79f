package smb

import (
	"bytes"
	"testing"
)

// FuzzXCA runs each decompressor on arbitrary input: no panic, never more
// than want bytes appended, the prefix of out untouched, and the output of
// a smaller want a prefix of a larger one's.
func FuzzXCA(f *testing.F) {
	for _, v := range xcaVectors(&testing.T{}) {
		f.Add(uint8(v.alg), v.in, uint16(len(v.want)))
	}
	f.Fuzz(func(t *testing.T, alg uint8, in []byte, want uint16) {
		a := CompressionAlgorithm(alg%5 + 1)
		if a == CompressPatternV1 {
			a = CompressLZ4
		}
		prefix := []byte("prefix")
		out, err := decompressOne2(a, bytes.Clone(prefix), in, int(want))
		if !bytes.HasPrefix(out, prefix) || len(out)-len(prefix) > int(want) {
			t.Fatalf("%s: %d bytes for want %d", a, len(out)-len(prefix), want)
		}
		if err == nil && len(out)-len(prefix) != int(want) {
			t.Fatalf("%s: success with %d of %d bytes", a, len(out)-len(prefix), want)
		}
		if want > 0 {
			short, _ := decompressOne2(a, nil, in, int(want)/2)
			if !bytes.HasPrefix(out[len(prefix):], short) {
				t.Fatalf("%s: want %d is not a prefix of want %d", a, want/2, want)
			}
		}
	})
}

func decompressOne2(alg CompressionAlgorithm, out, in []byte, want int) ([]byte, error) {
	switch alg {
	case CompressLZ77:
		return lz77Plain(out, in, want)
	case CompressLZ77Huff:
		return lz77Huffman(out, in, want)
	case CompressLZNT1:
		return lznt1(out, in, want)
	default:
		return lz4Block(out, in, want)
	}
}

// FuzzTransformPDU feeds arbitrary bytes after a TRANSFORM_HEADER of the
// published test vectors' sessions (whose keys the Conn has), whole and as
// the head of a large PDU: no panic, and whatever decrypts is decoded.
func FuzzTransformPDU(f *testing.F) {
	vs := blogVectors(&testing.T{})
	keys := NewKeys()
	for _, v := range vs {
		keys.Add(v.session, v.keys)
		for _, p := range v.pdus {
			f.Add(p.msg, p.dir == s2c)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte, fromServer bool) {
		dir := c2s
		if fromServer {
			dir = s2c
		}
		for _, maxBuf := range []int{0, 300} {
			cfg := DefaultConfig()
			cfg.Keys = keys
			cfg.Limits.MaxBuffered = maxBuf
			cfg.Limits.HeadBytes = 256
			c, _ := newTestConn(cfg)
			m := append([]byte{0xfd, 'S', 'M', 'B'}, msg[min(4, len(msg)):]...)
			feedPDUs(c, whole, pdu{dir, m})
		}
	})
}
