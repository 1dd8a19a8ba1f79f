package smb

import (
	"errors"

	"github.com/nettrace/nettrace/internal/wire"
)

// The decompressors of [MS-XCA] (Plain LZ77, LZ77+Huffman, LZNT1) and of
// LZ4's block format, as SMB 3.1.1 compression uses them ([MS-SMB2]
// 2.2.3.1.3). Each appends to out until it has appended want bytes and
// returns the extended slice. None allocates more than out needs to grow
// to want bytes, and none loops without consuming input or producing
// output, so their cost is bounded by want and len(in). Back references
// may reach only bytes this call produced (each SMB payload is compressed
// on its own).
//
// Errors: errXCATruncated when the input ends before want bytes were
// produced (expected when only the head of a PDU was kept), errXCACorrupt
// when it can never decode.
var (
	errXCATruncated = errors.New("compressed data ends early")
	errXCACorrupt   = errors.New("compressed data is invalid")
)

// copyMatch appends n bytes copied from dist bytes back (byte by byte:
// the ranges may overlap), stopping at want appended bytes since base.
// It reports false when dist reaches before base.
func copyMatch(out []byte, base, dist, n, want int) ([]byte, bool) {
	if dist <= 0 || dist > len(out)-base {
		return out, false
	}
	n = min(n, base+want-len(out))
	for range n {
		out = append(out, out[len(out)-dist])
	}
	return out, true
}

// lz77Plain decompresses Plain LZ77 ([MS-XCA] 2.4.4): 32-bit flag words
// read most significant bit first, 0 a literal byte, 1 a 16-bit match token
// (13 bits of offset - 1, 3 bits of length - 3) whose length 7 continues
// in a half-byte (two matches share one byte: the low nibble first), then a
// byte, then 16 or 32 bits.
func lz77Plain(out, in []byte, want int) ([]byte, error) {
	base := len(out)
	r := wire.Reader(in)
	var flags uint32
	nflags := 0
	var half uint8 // the high nibble of a shared length byte, once its low one is used
	haveHalf := false
	for len(out)-base < want {
		if nflags == 0 {
			if !r.ReadUint32(&flags) {
				return out, errXCATruncated
			}
			nflags = 32
		}
		nflags--
		if flags&(1<<nflags) == 0 {
			var b uint8
			if !r.ReadUint8(&b) {
				return out, errXCATruncated
			}
			out = append(out, b)
			continue
		}
		var tok uint16
		if !r.ReadUint16(&tok) {
			return out, errXCATruncated
		}
		length, dist := int(tok&7), int(tok>>3)+1
		if length == 7 {
			if haveHalf {
				length, haveHalf = int(half), false
			} else {
				var b uint8
				if !r.ReadUint8(&b) {
					return out, errXCATruncated
				}
				length, half, haveHalf = int(b&0x0f), b>>4, true
			}
			if length == 15 {
				var b uint8
				if !r.ReadUint8(&b) {
					return out, errXCATruncated
				}
				length = int(b)
				if length == 255 {
					var w16 uint16
					if !r.ReadUint16(&w16) {
						return out, errXCATruncated
					}
					length = int(w16)
					if length == 0 {
						var w32 uint32
						if !r.ReadUint32(&w32) {
							return out, errXCATruncated
						}
						length = int(min(w32, 1<<30))
					}
					if length < 15+7 {
						return out, errXCACorrupt
					}
					length -= 15 + 7
				}
				length += 15
			}
			length += 7
		}
		length += 3
		var ok bool
		if out, ok = copyMatch(out, base, dist, length, want); !ok {
			return out, errXCACorrupt
		}
	}
	return out, nil
}

// LZ77+Huffman constants ([MS-XCA] 2.1, 2.2).
const (
	huffSymbols   = 512
	huffTableLen  = 256 // bytes: 512 four-bit code lengths
	huffMaxBits   = 15
	huffBlockSize = 65536 // output bytes per block (and per table)
)

// huffDecoder is a canonical Huffman code over the 512 symbols of one
// LZ77+Huffman block: counts per length and the symbols sorted by (length,
// value), as the codes are assigned ([MS-XCA] 2.2.4).
type huffDecoder struct {
	count  [huffMaxBits + 1]uint16
	sorted [huffSymbols]uint16
}

// build reads the 256-byte table of code lengths (low nibble first). It
// rejects an empty or over-subscribed code.
func (d *huffDecoder) build(table []byte) bool {
	*d = huffDecoder{}
	for i := range huffSymbols {
		d.count[table[i/2]>>(4*(i%2))&15]++
	}
	d.count[0] = 0
	left := 1
	for l := 1; l <= huffMaxBits; l++ {
		left = left<<1 - int(d.count[l])
		if left < 0 {
			return false
		}
	}
	if left == 1<<huffMaxBits {
		return false // no symbol at all
	}
	var offs [huffMaxBits + 2]uint16
	for l := 1; l <= huffMaxBits; l++ {
		offs[l+1] = offs[l] + d.count[l]
	}
	for i := range huffSymbols {
		if l := table[i/2] >> (4 * (i % 2)) & 15; l != 0 {
			d.sorted[offs[l]] = uint16(i)
			offs[l]++
		}
	}
	return true
}

// decode returns the symbol whose code starts the 15 bits of peek (most
// significant first) and its length, or ok false for a code no symbol has.
func (d *huffDecoder) decode(peek uint32) (sym uint16, n int, ok bool) {
	code, first, index := 0, 0, 0
	for l := 1; l <= huffMaxBits; l++ {
		code |= int(peek>>(huffMaxBits-l)) & 1
		c := int(d.count[l])
		if code-first < c {
			return d.sorted[index+code-first], l, true
		}
		index += c
		first = (first + c) << 1
		code <<= 1
	}
	return 0, 0, false
}

// huffBits is the bit reader of LZ77+Huffman ([MS-XCA] 2.2.4): 16-bit
// little-endian words, most significant bit first, with at least 16 bits
// held after every step (extra counts those beyond 16); bytes of long match
// lengths are read from the input between the words. Past the end of the
// input the bits read as zeros, and eof records it, so that only consuming
// bits that never existed fails.
type huffBits struct {
	r     wire.Reader // the input after the words and bytes read so far
	bits  uint32      // next bits, most significant first
	extra int         // bits held beyond 16 (negative once the input ran out)
	eof   bool
}

func (b *huffBits) word() (uint32, bool) {
	var w uint16
	ok := b.r.ReadUint16(&w)
	return uint32(w), ok
}

// start loads the first 32 bits of a block.
func (b *huffBits) start() bool {
	w1, ok1 := b.word()
	w2, ok2 := b.word()
	b.bits, b.extra, b.eof = w1<<16|w2, 16, false
	return ok1 && ok2
}

// skip consumes n bits (n <= 15) and refills when fewer than 16 remain. It
// reports false when the bits consumed ran past the end of the input.
func (b *huffBits) skip(n int) bool {
	b.bits <<= n
	b.extra -= n
	if b.extra < 0 && !b.eof {
		if w, ok := b.word(); ok {
			b.bits |= w << -b.extra
			b.extra += 16
		} else {
			b.eof = true
		}
	}
	return b.extra >= -16
}

// lz77Huffman decompresses LZ77+Huffman ([MS-XCA] 2.2.4): blocks of 65536
// output bytes, each starting with a 256-byte table of code lengths for
// 512 symbols (256 literals, 256 matches: 4 bits of length - 3, 4 bits of
// the distance's bit count).
func lz77Huffman(out, in []byte, want int) ([]byte, error) {
	base := len(out)
	var d huffDecoder
	b := huffBits{r: wire.Reader(in)}
	for len(out)-base < want {
		var table []byte
		if !b.r.ReadBytes(&table, huffTableLen) {
			return out, errXCATruncated
		}
		if !d.build(table) {
			return out, errXCACorrupt
		}
		if !b.start() {
			return out, errXCATruncated
		}
		blockEnd := min(len(out)-base+huffBlockSize, want)
		for len(out)-base < blockEnd {
			sym, n, ok := d.decode(b.bits >> (32 - huffMaxBits))
			if !ok {
				return out, errXCACorrupt
			}
			if !b.skip(n) {
				return out, errXCATruncated
			}
			if sym < 256 {
				out = append(out, byte(sym))
				continue
			}
			sym -= 256
			length, distBits := int(sym&15), int(sym>>4)
			if length == 15 {
				var l8 uint8
				if !b.r.ReadUint8(&l8) {
					return out, errXCATruncated
				}
				length = int(l8) + 15
				if length == 255+15 {
					var l16 uint16
					if !b.r.ReadUint16(&l16) {
						return out, errXCATruncated
					}
					length = int(l16)
					if length == 0 {
						var l32 uint32
						if !b.r.ReadUint32(&l32) {
							return out, errXCATruncated
						}
						length = int(min(l32, 1<<30))
					}
					if length < 15 {
						return out, errXCACorrupt
					}
				}
			}
			length += 3
			dist := 1 << distBits
			if distBits > 0 {
				dist |= int(b.bits >> (32 - distBits))
				if !b.skip(distBits) {
					return out, errXCATruncated
				}
			}
			if out, ok = copyMatch(out, base, dist, length, want); !ok {
				return out, errXCACorrupt
			}
		}
	}
	return out, nil
}

// LZNT1 chunk header fields ([MS-XCA] 2.5.1.1): 12 bits of chunk data size
// - 1, a 3-bit signature (3), and the compressed flag.
const (
	lznt1ChunkOut   = 4096
	lznt1SizeMask   = 0x0fff
	lznt1Compressed = 0x8000
)

// lznt1 decompresses LZNT1 ([MS-XCA] 2.5): chunks of at most 4096 output
// bytes, each a 2-byte header then either raw bytes or groups of a flag
// byte (least significant bit first) and 8 items, a literal byte or a
// 16-bit copy token whose split between offset and length depends on the
// position in the chunk. A header of zero ends the data.
func lznt1(out, in []byte, want int) ([]byte, error) {
	base := len(out)
	r := wire.Reader(in)
	for len(out)-base < want {
		var hdr uint16
		if !r.ReadUint16(&hdr) {
			return out, errXCATruncated
		}
		if hdr == 0 {
			return out, errXCATruncated // end of data before want bytes
		}
		size := int(hdr&lznt1SizeMask) + 1
		var chunk wire.Reader
		short := !r.ReadReader(&chunk, size)
		if short {
			chunk, r = r, nil // only the head of the data is here
		}
		chunkWant := min(lznt1ChunkOut, base+want-len(out))
		if hdr&lznt1Compressed == 0 {
			n := min(len(chunk), chunkWant)
			out = append(out, chunk[:n]...)
			if short && n < chunkWant {
				return out, errXCATruncated
			}
			continue
		}
		var err error
		if out, err = lznt1Chunk(out, chunk, chunkWant); err != nil {
			if errors.Is(err, errXCATruncated) && !short {
				// A compressed chunk may legitimately produce less than
				// 4096 bytes only when it is the last one.
				continue
			}
			return out, err
		}
	}
	return out, nil
}

// lznt1Chunk decodes one compressed chunk, appending at most want bytes.
// It returns errXCATruncated when the chunk's data ends first.
func lznt1Chunk(out []byte, r wire.Reader, want int) ([]byte, error) {
	start := len(out)
	for len(out)-start < want {
		var flags uint8
		if !r.ReadUint8(&flags) {
			return out, errXCATruncated
		}
		for bit := 0; bit < 8 && len(out)-start < want; bit++ {
			if r.Empty() {
				return out, errXCATruncated
			}
			if flags&(1<<bit) == 0 {
				var b uint8
				r.ReadUint8(&b)
				out = append(out, b)
				continue
			}
			var tok uint16
			if !r.ReadUint16(&tok) {
				return out, errXCACorrupt
			}
			// Offset bits: enough for the position in the chunk, at least 4.
			lenMask, shift := 0x0fff, 12
			for p := len(out) - start - 1; p >= 0x10; p >>= 1 {
				lenMask >>= 1
				shift--
			}
			length, dist := int(tok)&lenMask+3, int(tok)>>shift+1
			var ok bool
			if out, ok = copyMatch(out, start, dist, length, want); !ok {
				return out, errXCACorrupt
			}
		}
	}
	return out, nil
}

// lz4Block decompresses one LZ4 block (the LZ4 block format: sequences of
// a token, literals and a match with a 16-bit offset; 255-continued
// lengths; a minimum match of 4).
func lz4Block(out, in []byte, want int) ([]byte, error) {
	base := len(out)
	r := wire.Reader(in)
	readLen := func(n int) (int, bool) {
		if n != 15 {
			return n, true
		}
		for {
			var b uint8
			if !r.ReadUint8(&b) {
				return 0, false
			}
			n += int(b)
			if n > 1<<30 {
				return 0, false
			}
			if b != 255 {
				return n, true
			}
		}
	}
	for len(out)-base < want {
		var tok uint8
		if !r.ReadUint8(&tok) {
			return out, errXCATruncated
		}
		lit, ok := readLen(int(tok >> 4))
		if !ok {
			return out, errXCATruncated
		}
		var lits []byte
		n := min(lit, r.Len(), base+want-len(out))
		r.ReadBytes(&lits, n)
		out = append(out, lits...)
		if len(out)-base >= want {
			break
		}
		var dist uint16
		if n < lit || !r.ReadUint16(&dist) {
			return out, errXCATruncated
		}
		ml, ok := readLen(int(tok & 15))
		if !ok {
			return out, errXCATruncated
		}
		if out, ok = copyMatch(out, base, int(dist), ml+4, want); !ok {
			return out, errXCACorrupt
		}
	}
	return out, nil
}
