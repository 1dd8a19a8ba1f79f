package smb

import (
	"errors"
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// CompressionAlgorithm is an SMB 3.1.1 compression algorithm id
// ([MS-SMB2] 2.2.3.1.3).
type CompressionAlgorithm uint16

// SMB 3.1.1 compression algorithms ([MS-SMB2] 2.2.3.1.3).
const (
	CompressNone       CompressionAlgorithm = 0
	CompressLZNT1      CompressionAlgorithm = 1
	CompressLZ77       CompressionAlgorithm = 2
	CompressLZ77Huff   CompressionAlgorithm = 3
	CompressPatternV1  CompressionAlgorithm = 4
	CompressLZ4        CompressionAlgorithm = 5
	compressFlagChain                       = 0x0001 // SMB2_COMPRESSION_FLAG_CHAINED
	patternPayloadLen                       = 8      // SMB2_COMPRESSION_PATTERN_PAYLOAD_V1
	maxChainedPayloads                      = 64
)

// String returns "LZ77+Huffman" or "CompressionAlgorithm(0x0009)".
func (a CompressionAlgorithm) String() string {
	switch a {
	case CompressNone:
		return "NONE"
	case CompressLZNT1:
		return "LZNT1"
	case CompressLZ77:
		return "LZ77"
	case CompressLZ77Huff:
		return "LZ77+Huffman"
	case CompressPatternV1:
		return "Pattern_V1"
	case CompressLZ4:
		return "LZ4"
	}
	return fmt.Sprintf("CompressionAlgorithm(0x%04x)", uint16(a))
}

// hasOriginalSize reports whether a chained payload of this algorithm
// carries OriginalPayloadSize ([MS-SMB2] 2.2.42.2.1).
func (a CompressionAlgorithm) hasOriginalSize() bool {
	return a == CompressLZNT1 || a == CompressLZ77 || a == CompressLZ77Huff || a == CompressLZ4
}

// ErrDecompress is wrapped by the errors of Decompress that are about the
// compressed data (not about a limit).
var ErrDecompress = errors.New("smb2: decompression failed")

// ErrDecompressLimit is wrapped by Decompress's error when the message
// declares an original size beyond the caller's limit.
var ErrDecompressLimit = errors.New("smb2: decompressed size over the limit")

// DecompressError says why a compressed message did not decompress:
// which algorithm (of the payload that failed), what went wrong, and
// whether it is only that the input ended early.
type DecompressError struct {
	Algorithm CompressionAlgorithm
	Detail    string
	Truncated bool  // the input ended before the declared size was produced
	Err       error // ErrDecompress or ErrDecompressLimit
}

func (e *DecompressError) Error() string {
	return fmt.Sprintf("smb2: decompression (%s): %s", e.Algorithm, e.Detail)
}

func (e *DecompressError) Unwrap() error { return e.Err }

// Decompress decompresses the SMB 3.1.1 compressed message p (starting
// with its COMPRESSION_TRANSFORM_HEADER, [MS-SMB2] 2.2.42), chained or
// unchained, appending the original message to out, and returns the
// extended slice and the original message's declared size. It never
// appends more than max bytes: a message declaring more than max is
// refused with ErrDecompressLimit before anything is decompressed, unless
// head is set, in which case only its first max bytes are produced (the
// head of a large message, for decoding its headers). With head set, input
// that ends early (only the head of the PDU was kept) is not an error
// either. The appended bytes do not alias p.
func Decompress(out, p []byte, max int, head bool) ([]byte, int, error) {
	r := wire.Reader(p)
	var magic [4]byte
	var size uint32
	var alg, flags uint16
	var off uint32
	if !r.CopyBytes(magic[:]) || !r.ReadUint32(&size) || !r.ReadUint16(&alg) || !r.ReadUint16(&flags) || !r.ReadUint32(&off) {
		return out, 0, &DecompressError{Detail: "header shorter than 16 bytes", Truncated: true, Err: ErrDecompress}
	}
	if magic != magicCompress {
		return out, 0, &DecompressError{Detail: fmt.Sprintf("protocol id %x", magic), Err: ErrDecompress}
	}
	chained := flags&compressFlagChain != 0
	total := int64(size) // the original message: the segment, after the Offset bytes when unchained
	if !chained {
		total += int64(off)
	}
	if total > 1<<30 || total > int64(max) && !head {
		return out, int(min(total, 1<<30)), &DecompressError{Algorithm: CompressionAlgorithm(alg), Err: ErrDecompressLimit,
			Detail: fmt.Sprintf("declared original size %d exceeds the limit of %d bytes", total, max)}
	}
	want := min(int(total), max)
	d := decompressor{out: out, base: len(out), want: want, head: head}
	if chained {
		d.chained(p[8:])
	} else {
		d.unchained(CompressionAlgorithm(alg), int(off), p[16:])
	}
	if d.err != nil {
		return d.out, int(total), d.err
	}
	if got := len(d.out) - d.base; got != want && !(head && got < want) {
		return d.out, int(total), &DecompressError{Algorithm: d.alg, Err: ErrDecompress,
			Detail: fmt.Sprintf("produced %d bytes, declared %d", got, total)}
	}
	return d.out, int(total), nil
}

// decompressor appends the payloads of one message to out, at most want
// bytes in all, keeping the first error.
type decompressor struct {
	out        []byte
	base, want int
	head       bool
	alg        CompressionAlgorithm
	err        error
}

func (d *decompressor) room() int { return d.base + d.want - len(d.out) }

func (d *decompressor) fail(alg CompressionAlgorithm, truncated bool, format string, args ...any) {
	if d.head && truncated {
		return // only the head was kept: running out of input is expected
	}
	d.err = &DecompressError{Algorithm: alg, Truncated: truncated, Err: ErrDecompress, Detail: fmt.Sprintf(format, args...)}
}

// unchained handles SMB2_COMPRESSION_TRANSFORM_HEADER_UNCHAINED ([MS-SMB2]
// 2.2.42.1): Offset bytes sent as they are (the start of the message),
// then the segment compressed with alg, which decompresses to
// OriginalCompressedSegmentSize bytes.
func (d *decompressor) unchained(alg CompressionAlgorithm, off int, rest []byte) {
	d.alg = alg
	if alg == CompressNone || alg == CompressPatternV1 {
		d.fail(alg, false, "%s is not valid in an unchained message", alg)
		return
	}
	if off < 0 || off > len(rest) {
		if !d.head {
			d.fail(alg, true, "offset %d beyond the %d bytes after the header", off, len(rest))
			return
		}
		off = len(rest)
	}
	d.out = append(d.out, rest[:min(off, d.room())]...)
	d.payload(alg, rest[off:], d.room())
}

// chained handles SMB2_COMPRESSION_TRANSFORM_HEADER_CHAINED ([MS-SMB2]
// 2.2.42.2): a chain of payload headers (algorithm, flags, length, and the
// original size for the LZ algorithms), each followed by its payload.
func (d *decompressor) chained(b []byte) {
	r := wire.Reader(b)
	for i := 0; !r.Empty() && d.room() > 0; i++ {
		if i >= maxChainedPayloads {
			d.fail(d.alg, false, "more than %d chained payloads", maxChainedPayloads)
			return
		}
		var alg, flags uint16
		var n uint32
		if !r.ReadUint16(&alg) || !r.ReadUint16(&flags) || !r.ReadUint32(&n) {
			d.fail(d.alg, true, "chained payload header %d shorter than 8 bytes", i)
			return
		}
		a := CompressionAlgorithm(alg)
		d.alg = a
		var payload wire.Reader
		if !r.ReadReader(&payload, int(min(n, 1<<30))) {
			if !d.head {
				d.fail(a, true, "chained payload %d of %d bytes beyond the message", i, n)
				return
			}
			payload, r = r, nil
		}
		want := d.room()
		if a.hasOriginalSize() {
			var orig uint32
			if !payload.ReadUint32(&orig) {
				d.fail(a, true, "chained payload %d without its original size", i)
				return
			}
			if int64(orig) > int64(want) && !d.head {
				d.fail(a, false, "chained payload %d of %d bytes overruns the declared size", i, orig)
				return
			}
			want = min(int(orig), want)
		}
		before := len(d.out)
		d.payload(a, []byte(payload), want)
		if d.err != nil || !a.hasOriginalSize() || d.head {
			if d.err != nil {
				return
			}
			continue
		}
		if len(d.out)-before != want {
			d.fail(a, false, "chained payload %d produced %d bytes, declared %d", i, len(d.out)-before, want)
			return
		}
	}
	if !r.Empty() && !d.head {
		d.fail(d.alg, false, "%d bytes after the declared size", len(r))
	}
}

// payload decompresses one payload with alg, appending at most want bytes.
func (d *decompressor) payload(alg CompressionAlgorithm, in []byte, want int) {
	var err error
	switch alg {
	case CompressNone:
		if len(in) > want && !d.head {
			d.fail(alg, false, "uncompressed payload of %d bytes overruns the declared size", len(in))
			return
		}
		d.out = append(d.out, in[:min(len(in), want)]...)
		return
	case CompressPatternV1:
		// [MS-SMB2] 2.2.42.2.2: Pattern, Reserved1, Reserved2, Repetitions.
		r := wire.Reader(in)
		var pat uint8
		var reps uint32
		if !r.ReadUint8(&pat) || !r.Skip(3) || !r.ReadUint32(&reps) {
			d.fail(alg, true, "pattern payload shorter than %d bytes", patternPayloadLen)
			return
		}
		if int64(reps) > int64(want) && !d.head {
			d.fail(alg, false, "pattern of %d repetitions overruns the declared size", reps)
			return
		}
		for range min(int(reps), want) {
			d.out = append(d.out, pat)
		}
		return
	case CompressLZNT1:
		d.out, err = lznt1(d.out, in, want)
	case CompressLZ77:
		d.out, err = lz77Plain(d.out, in, want)
	case CompressLZ77Huff:
		d.out, err = lz77Huffman(d.out, in, want)
	case CompressLZ4:
		d.out, err = lz4Block(d.out, in, want)
	default:
		d.fail(alg, false, "unknown algorithm")
		return
	}
	if err != nil {
		d.fail(alg, errors.Is(err, errXCATruncated), "%v", err)
	}
}
