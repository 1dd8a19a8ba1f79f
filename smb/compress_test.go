package smb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// huffTable builds a 256-byte LZ77+Huffman code-length table from
// symbol/length pairs (the nibble layout of [MS-XCA] 2.1.4.1).
func huffTable(lengths map[int]byte) []byte {
	t := make([]byte, huffTableLen)
	for sym, l := range lengths {
		t[sym/2] |= l << (4 * (sym % 2))
	}
	return t
}

// xcaVectors are the worked examples of [MS-XCA] 3.1 (Plain LZ77) and 3.2
// (LZ77+Huffman), an LZNT1 example, and hand-built LZ4 blocks.
func xcaVectors(t *testing.T) []struct {
	name string
	alg  CompressionAlgorithm
	in   []byte
	want string
} {
	abc := strings.Repeat("abc", 100)
	alpha := "abcdefghijklmnopqrstuvwxyz"
	// [MS-XCA] 3.2 example 1: 26 letters and EOF, 5-bit codes mostly.
	ex1 := make([]byte, huffTableLen)
	copy(ex1[48:], mustHex(t, "5055555555555555555555454404"))
	ex1[128] = 0x04
	ex1 = append(ex1, mustHex(t, "d8523ed794115be9195ff9d67cdf8d0400000000")...)
	// [MS-XCA] 3.2 example 2: "abc", then a match of 297 at distance 3
	// (symbol 287, its length in the bytes after the bit stream), EOF.
	ex2 := huffTable(map[int]byte{'a': 3, 'b': 3, 'c': 2, 256: 2, 287: 2})
	ex2 = append(ex2, mustHex(t, "a8dc0000ff2601")...)
	return []struct {
		name string
		alg  CompressionAlgorithm
		in   []byte
		want string
	}{
		{"lz77 ms-xca 3.1 alphabet", CompressLZ77, append(mustHex(t, "3f000000"), alpha...), alpha},
		{"lz77 ms-xca 3.1 abc x100", CompressLZ77, mustHex(t, "ffffff1f61626317000fff2601"), abc},
		{"lz77 4096 zeros (16-bit length)", CompressLZ77, mustHex(t, "ffffff7f0007000ffffc0f"), strings.Repeat("\x00", 4096)},
		{"lz77 shared half-byte", CompressLZ77, mustHex(t, "ffffff5f78070044790700"), strings.Repeat("x", 15) + strings.Repeat("y", 15)},
		{"lz77+huffman ms-xca 3.2 example 1", CompressLZ77Huff, ex1, alpha},
		{"lz77+huffman ms-xca 3.2 example 2", CompressLZ77Huff, ex2, abc},
		{"lznt1 compressed chunk", CompressLZNT1, []byte("\x1a\xb0\x00compress\x00edtestda\x04ta\x07\x88alot"),
			"compressedtestdatacompressedalot"},
		{"lznt1 uncompressed chunk", CompressLZNT1, append([]byte{0x02, 0x30}, "xyz"...), "xyz"},
		{"lz4 literals and overlapping match", CompressLZ4, append(append([]byte{0x3b}, "abc"...), 3, 0), "abcabcabcabcabcabc"},
		{"lz4 long literal run", CompressLZ4, append([]byte{0xf0, 5}, strings.Repeat("q", 20)...), strings.Repeat("q", 20)},
	}
}

func decompressOne(alg CompressionAlgorithm, in []byte, want int) ([]byte, error) {
	switch alg {
	case CompressLZ77:
		return lz77Plain(nil, in, want)
	case CompressLZ77Huff:
		return lz77Huffman(nil, in, want)
	case CompressLZNT1:
		return lznt1(nil, in, want)
	case CompressLZ4:
		return lz4Block(nil, in, want)
	}
	return nil, errXCACorrupt
}

func TestDecompressAlgorithms(t *testing.T) {
	for _, tc := range xcaVectors(t) {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decompressOne(tc.alg, tc.in, len(tc.want))
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
			// A shorter want stops exactly there (the head of a message).
			if len(tc.want) > 5 {
				got, err = decompressOne(tc.alg, tc.in, 5)
				if err != nil || string(got) != tc.want[:5] {
					t.Errorf("want 5: got %q, %v", got, err)
				}
			}
			// Every strict prefix of the input either fails or yields a
			// prefix of the output; none panics.
			for n := range len(tc.in) {
				got, err := decompressOne(tc.alg, tc.in[:n], len(tc.want))
				if err == nil && string(got) != tc.want {
					t.Fatalf("prefix %d: got %q without error", n, got)
				}
				if !strings.HasPrefix(tc.want, string(got)) && err == nil {
					t.Fatalf("prefix %d: output %q is not a prefix", n, got)
				}
			}
		})
	}
}

// TestRejectMatchBeforeOutputStart: a back reference reaching before the
// first byte of the payload is corrupt, for each algorithm.
func TestRejectMatchBeforeOutputStart(t *testing.T) {
	bad := []struct {
		alg CompressionAlgorithm
		in  []byte
	}{
		{CompressLZ77, mustHex(t, "ffffffff0000")},
		{CompressLZNT1, []byte{0x01, 0xb0, 0x01, 0x00, 0x00}},
		{CompressLZ4, []byte{0x00, 0x05, 0x00}},
		{CompressLZ77Huff, append(huffTable(map[int]byte{256 + 0x10: 1, 'a': 1}), 0, 0x80, 0, 0)},
	}
	for _, tc := range bad {
		if _, err := decompressOne(tc.alg, tc.in, 10); !errors.Is(err, errXCACorrupt) {
			t.Errorf("%s: err = %v, want corrupt", tc.alg, err)
		}
	}
	// An over-subscribed Huffman code (three 1-bit codes) is corrupt.
	if _, err := lz77Huffman(nil, append(huffTable(map[int]byte{'a': 1, 'b': 1, 'c': 1}), 0, 0, 0, 0), 3); !errors.Is(err, errXCACorrupt) {
		t.Errorf("over-subscribed code: err = %v", err)
	}
}

// compressedMsg builds an unchained COMPRESSION_TRANSFORM_HEADER message.
func compressedMsg(alg CompressionAlgorithm, segSize int, prefix, payload []byte) []byte {
	b := append([]byte{}, magicCompress[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(segSize))
	b = binary.LittleEndian.AppendUint16(b, uint16(alg))
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(prefix)))
	return append(append(b, prefix...), payload...)
}

// chainedPayload builds one SMB2_COMPRESSION_CHAINED_PAYLOAD_HEADER and
// its payload.
func chainedPayload(alg CompressionAlgorithm, first bool, orig int, payload []byte) []byte {
	var flags uint16
	if first {
		flags = compressFlagChain
	}
	b := binary.LittleEndian.AppendUint16(nil, uint16(alg))
	b = binary.LittleEndian.AppendUint16(b, flags)
	n := len(payload)
	if alg.hasOriginalSize() {
		n += 4
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(n))
	if alg.hasOriginalSize() {
		b = binary.LittleEndian.AppendUint32(b, uint32(orig))
	}
	return append(b, payload...)
}

func chainedMsg(total int, payloads ...[]byte) []byte {
	b := append([]byte{}, magicCompress[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(total))
	for _, p := range payloads {
		b = append(b, p...)
	}
	return b
}

func TestDecompressMessages(t *testing.T) {
	abc := strings.Repeat("abc", 100)
	lz := mustHex(t, "ffffff1f61626317000fff2601")
	pattern := []byte{'z', 0, 0, 0, 40, 0, 0, 0}
	tests := []struct {
		name    string
		msg     []byte
		max     int
		head    bool
		want    string
		wantErr error
	}{
		{"unchained lz77 with an uncompressed prefix", compressedMsg(CompressLZ77, 300, []byte("HDR:"), lz), 1 << 20, false, "HDR:" + abc, nil},
		{"chained none + lz77 + pattern", chainedMsg(4+300+40,
			chainedPayload(CompressNone, true, 0, []byte("HDR:")),
			chainedPayload(CompressLZ77, false, 300, lz),
			chainedPayload(CompressPatternV1, false, 0, pattern)), 1 << 20, false, "HDR:" + abc + strings.Repeat("z", 40), nil},
		{"head only of a large message", chainedMsg(4+300+40,
			chainedPayload(CompressNone, true, 0, []byte("HDR:")),
			chainedPayload(CompressLZ77, false, 300, lz),
			chainedPayload(CompressPatternV1, false, 0, pattern)), 10, true, "HDR:abcabc", nil},
		{"declared size over the limit", compressedMsg(CompressLZ77, 1<<29, nil, lz), 1 << 20, false, "", ErrDecompressLimit},
		{"pattern bomb over the declared size", chainedMsg(10, chainedPayload(CompressPatternV1, true, 0, []byte{'z', 0, 0, 0, 0xff, 0xff, 0xff, 0x7f})), 1 << 20, false, "", ErrDecompress},
		{"declared size larger than produced", compressedMsg(CompressLZ77, 301, nil, lz), 1 << 20, false, abc, ErrDecompress},
		{"unknown algorithm", compressedMsg(9, 3, nil, []byte("abc")), 1 << 20, false, "", ErrDecompress},
		{"truncated payload", compressedMsg(CompressLZ77, 300, nil, lz[:8]), 1 << 20, false, "abc", ErrDecompress},
		{"truncated payload, head", compressedMsg(CompressLZ77, 300, nil, lz[:8]), 100, true, "abc", nil},
		{"trailing chained payload", chainedMsg(3, chainedPayload(CompressNone, true, 0, []byte("abc")), chainedPayload(CompressNone, false, 0, []byte("d"))), 1 << 20, false, "abc", ErrDecompress},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := Decompress(nil, tc.msg, tc.max, tc.head)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDecompressBoundsOutput: whatever a message declares, Decompress
// appends at most max bytes, and refuses a declared size over max (unless
// head) without decompressing.
func TestDecompressBoundsOutput(t *testing.T) {
	bomb := chainedMsg(1<<30, chainedPayload(CompressPatternV1, true, 0, []byte{'z', 0, 0, 0, 0, 0, 0, 0x40}))
	got, size, err := Decompress(nil, bomb, 4096, false)
	if !errors.Is(err, ErrDecompressLimit) || len(got) != 0 || size != 1<<30 {
		t.Fatalf("bomb: %d bytes, size %d, err %v", len(got), size, err)
	}
	got, _, err = Decompress(nil, bomb, 4096, true)
	if err != nil || len(got) != 4096 || !bytes.Equal(got, bytes.Repeat([]byte{'z'}, 4096)) {
		t.Fatalf("bomb head: %d bytes, err %v", len(got), err)
	}
	var de *DecompressError
	if _, _, err := Decompress(nil, []byte{0xfc, 'S'}, 10, false); !errors.As(err, &de) || !de.Truncated {
		t.Errorf("short header: %v", err)
	}
}
