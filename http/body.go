package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
)

// coding is a body's Content-Encoding as far as it is decoded.
type coding uint8

const (
	codingIdentity coding = iota
	codingGzip            // gzip, x-gzip (RFC 9110, 8.4.1.3)
	codingDeflate         // deflate: zlib (RFC 1950), or raw deflate as some servers send
	codingOther           // not decoded (br, compress, zstd, stacked codings)
)

// bodyResult is what decoding a body gave.
type bodyResult struct {
	decoded int64  // decoded bytes (identity: wire bytes)
	sha256  string // hex SHA-256 of the decoded bytes ("" when not decoded)
	err     error  // decompression failure
	offset  int64  // compressed byte offset where decoding failed
	limit   string // "size" or "ratio" when a cap stopped decoding
	read    int64  // with limit: compressed bytes read when the cap stopped decoding
	notBuf  bool   // compressed body over the buffer cap: not decoded
	rawDefl bool   // deflate without the zlib wrapper
}

// decoders holds the reusable decompressors and scratch of one Conn.
type decoders struct {
	gz   *gzip.Reader
	zl   io.ReadCloser
	fl   io.ReadCloser
	src  countingReader
	out  []byte
	hash hash.Hash
	// sink, when set, receives each decoded piece (Config.Body).
	sink func([]byte)
	// noHash skips hashing the decoded bytes: the SHA-256 only appears in
	// decoded messages, so it is computed only when they are wanted.
	noHash bool
}

// decoderPool shares decoders between Conns. A Conn needs its decompressors,
// output scratch and hash only during one respond call, so one set per
// goroutine that is decoding replaces one set (about 80 KiB) per connection.
var decoderPool = sync.Pool{New: func() any { return new(decoders) }}

// getDecoders returns a decoders from the pool; putDecoders gives it back
// without references to the body or the Conn.
func getDecoders() *decoders { return decoderPool.Get().(*decoders) }

func putDecoders(d *decoders) {
	d.sink = nil
	d.src.reset(nil)
	decoderPool.Put(d)
}

// maxPooledComp is the largest compressed-body buffer returned to compPool.
const maxPooledComp = 1 << 20

// compPool holds empty compressed-body buffers between messages, so that a
// connection does not grow a fresh buffer for each body it decodes.
var compPool = sync.Pool{New: func() any { return new([]byte) }}

// getComp returns an empty buffer from compPool.
func getComp() *[]byte {
	p := compPool.Get().(*[]byte)
	*p = (*p)[:0]
	return p
}

// putComp returns p to compPool unless it is nil or its buffer too large.
func putComp(p *[]byte) {
	if p == nil || cap(*p) > maxPooledComp {
		return
	}
	*p = (*p)[:0]
	compPool.Put(p)
}

// countingReader serves a buffered compressed body and counts the bytes the
// decompressor consumed. It embeds a *bytes.Reader-compatible value: flate
// and gzip read a *bytes.Reader directly (io.ByteReader, no bufio layer, so
// the count is exact) and klauspost/compress selects its specialised,
// non-interface Huffman loop for it.
type countingReader struct {
	r bytes.Reader
	n int64 // len of the body
}

// reset serves b from its start.
func (c *countingReader) reset(b []byte) {
	c.r.Reset(b)
	c.n = int64(len(b))
}

// consumed is how many bytes of the body the decompressor has read.
func (c *countingReader) consumed() int64 { return c.n - int64(c.r.Len()) }

var _ flate.Reader = (*bytes.Reader)(nil)

// isZlibHeader reports whether b starts with a valid zlib CMF/FLG pair
// (RFC 1950, 2.2) for deflate.
func isZlibHeader(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && b[0]>>4 <= 7 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// decode decompresses comp with the coding and hashes the output under the
// size and ratio caps.
func (d *decoders) decode(c coding, comp []byte, lim Limits) bodyResult {
	var res bodyResult
	d.src.reset(comp)
	r, err := d.reader(c, comp, &res)
	if err != nil {
		res.err = describeErr(c, err, len(comp), d.src.consumed())
		res.offset = d.src.consumed()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			res.offset = int64(len(comp))
		}
		return res
	}
	d.prepare()
	d.readAll(c, r, len(comp), &lim, &res)
	if res.err == nil && res.limit == "" && !d.noHash {
		res.sha256 = hex.EncodeToString(d.hash.Sum(nil))
	}
	return res
}

// reader resets the decompressor of coding c to read d.src (which serves
// comp) and returns it. Deflate is zlib-wrapped (RFC 9110, 8.4.1.2; RFC
// 1950) unless comp does not start with a zlib header: then it is read as
// raw deflate (RFC 1951), as some servers send it, and res.rawDefl is set.
func (d *decoders) reader(c coding, comp []byte, res *bodyResult) (io.Reader, error) {
	switch c {
	case codingGzip:
		return d.gzipReader()
	case codingDeflate:
		if isZlibHeader(comp) {
			return d.zlibReader()
		}
		res.rawDefl = true
		return d.flateReader()
	}
	return nil, nil
}

// gzipReader resets (or makes) the gzip reader (RFC 1952), reading
// concatenated members as one stream.
func (d *decoders) gzipReader() (io.Reader, error) {
	var err error
	if d.gz == nil {
		d.gz, err = gzip.NewReader(&d.src.r)
	} else {
		err = d.gz.Reset(&d.src.r)
	}
	if d.gz != nil {
		d.gz.Multistream(true)
	}
	return d.gz, err
}

// zlibReader resets (or makes) the zlib reader (RFC 1950).
func (d *decoders) zlibReader() (io.Reader, error) {
	var err error
	if d.zl == nil {
		d.zl, err = zlib.NewReader(&d.src.r)
	} else {
		err = d.zl.(zlib.Resetter).Reset(&d.src.r, nil)
	}
	return d.zl, err
}

// flateReader resets (or makes) the raw deflate reader (RFC 1951).
func (d *decoders) flateReader() (io.Reader, error) {
	var err error
	if d.fl == nil {
		d.fl = flate.NewReader(&d.src.r)
	} else {
		err = d.fl.(flate.Resetter).Reset(&d.src.r, nil)
	}
	return d.fl, err
}

// prepare readies the hash and the output scratch for a body.
func (d *decoders) prepare() {
	if d.hash == nil {
		d.hash = sha256.New()
	}
	d.hash.Reset()
	if d.out == nil {
		d.out = make([]byte, 32<<10)
	}
}

// readAll reads r to its end through d.out, until a cap, an error or a
// read without progress stops it; total is the compressed length.
func (d *decoders) readAll(c coding, r io.Reader, total int, lim *Limits, res *bodyResult) {
	for {
		n, err := r.Read(d.out)
		if n > 0 && d.output(n, lim, res) {
			return
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			res.offset = d.src.consumed()
			res.err = describeErr(c, err, total, d.src.consumed())
			return
		}
		if n == 0 {
			// A reader that makes no progress: count it as truncated.
			res.err = fmt.Errorf("decompressor made no progress at offset %d", d.src.consumed())
			res.offset = d.src.consumed()
			return
		}
	}
}

// output takes the n decoded bytes at the front of d.out: cut at
// MaxBodyBytes, hashed, handed to the sink and counted. It reports whether
// a cap stops decoding: the size, or the ratio of decoded to compressed
// bytes past MinRatioBytes (a decompression bomb).
func (d *decoders) output(n int, lim *Limits, res *bodyResult) bool {
	if res.decoded+int64(n) > lim.MaxBodyBytes {
		n = int(lim.MaxBodyBytes - res.decoded)
		res.limit = "size"
	}
	if !d.noHash {
		d.hash.Write(d.out[:n])
	}
	if d.sink != nil {
		d.sink(d.out[:n])
	}
	res.decoded += int64(n)
	if res.limit == "" && res.decoded > lim.MinRatioBytes && res.decoded > lim.MaxRatio*max(d.src.consumed(), 1) {
		res.limit = "ratio"
	}
	if res.limit != "" {
		res.read = max(d.src.consumed(), 1)
		return true
	}
	return false
}

// describeErr turns a decompressor error into words a support engineer
// reads at once.
func describeErr(c coding, err error, total int, off int64) error {
	var ce flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("the compressed stream ends after %d bytes before its final block and trailer (truncated)", total)
	case errors.Is(err, gzip.ErrChecksum) || errors.Is(err, zlib.ErrChecksum):
		return fmt.Errorf("the decompressed data does not match the stream's checksum (corrupted)")
	case errors.Is(err, gzip.ErrHeader) || errors.Is(err, zlib.ErrHeader):
		return fmt.Errorf("invalid %s header", c)
	case errors.As(err, &ce):
		return fmt.Errorf("corrupt deflate data (%v)", err)
	}
	return err
}

// String names the coding as Content-Encoding does.
func (c coding) String() string {
	switch c {
	case codingGzip:
		return "gzip"
	case codingDeflate:
		return "deflate"
	case codingOther:
		return "other"
	}
	return "identity"
}
