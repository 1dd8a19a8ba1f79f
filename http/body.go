package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/memo"
	"github.com/nettrace/nettrace/tcpstate"
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

// bodyAcc accumulates one message body as it arrives: its size on the
// wire, the bytes the capture lacked, and, for gzip/deflate, the
// compressed bytes buffered for decoding at the end. HTTP/1 messages and
// HTTP/2 streams share it.
type bodyAcc struct {
	encoding  string // Content-Encoding as sent
	coding    coding
	bodyWire  int64 // body bytes on the wire, missing ones included
	missing   int64 // body bytes the capture did not hold (Gap)
	firstBody int64
	lastBody  int64
	comp      *[]byte // buffered compressed body (from compPool), nil when none
	compOver  bool
	shed      bool // the buffered body was dropped for the memory budget
	gap       bool // the body is incomplete: bytes missing, or cut short
}

// setEncoding records a Content-Encoding field value.
func (b *bodyAcc) setEncoding(v string) {
	b.encoding = strings.TrimSpace(v)
	switch strings.ToLower(b.encoding) {
	case "", "identity":
		b.coding = codingIdentity
	case "gzip", "x-gzip":
		b.coding = codingGzip
	case "deflate":
		b.coding = codingDeflate
	default:
		b.coding = codingOther
	}
}

// decoded reports whether the body is decompressed at its end.
func (b *bodyAcc) decoded() bool { return b.coding == codingGzip || b.coding == codingDeflate }

// add counts p, body bytes from frame, and buffers them when the body is
// decompressed at its end, up to maxComp bytes in all (past that the
// buffer is released: the body is framed and counted, not decoded). It
// reports whether p is decoded as it comes (identity or an undecoded
// coding): then the caller hashes it and hands it to Config.Body.
func (b *bodyAcc) add(p []byte, frame int64, maxComp int) bool {
	if len(p) == 0 {
		return false
	}
	if b.firstBody == 0 {
		b.firstBody = frame
	}
	b.lastBody = frame
	b.bodyWire += int64(len(p))
	if !b.decoded() {
		return true
	}
	if b.comp == nil && !b.compOver {
		b.comp = getComp()
	}
	if b.compOver || len(*b.comp)+len(p) > maxComp {
		b.dropComp()
		return false
	}
	*b.comp = append(*b.comp, p...)
	return false
}

// shedComp drops the compressed body buffered so far for the memory
// budget and returns the bytes freed: the body is then framed and
// counted, not decoded.
func (b *bodyAcc) shedComp() int {
	if b.comp == nil {
		return 0
	}
	n := cap(*b.comp)
	b.shed = true
	b.dropComp()
	return n
}

// dropComp gives up buffering the compressed body (over a cap).
func (b *bodyAcc) dropComp() {
	b.compOver = true
	putComp(b.comp)
	b.comp = nil
}

// buffered is how many compressed bytes are held.
func (b *bodyAcc) buffered() int {
	if b.comp == nil {
		return 0
	}
	return len(*b.comp)
}

// miss counts n body bytes the capture does not hold.
func (b *bodyAcc) miss(n int64) {
	b.missing += n
	b.bodyWire += n
	b.gap = true
}

// release returns the compressed buffer to its pool.
func (b *bodyAcc) release() {
	putComp(b.comp)
	b.comp = nil
}

// seen is how many body bytes the capture holds.
func (b *bodyAcc) seen() int64 { return b.bodyWire - b.missing }

// result decodes the body at its end: a compressed one through the pooled
// decoders (sink, when set, receives the decoded pieces; noHash skips the
// SHA-256), an identity one by the hash h of its bytes (nil when they were
// not hashed). A compressed body over the buffer, or incomplete, is not
// decoded.
func (b *bodyAcc) result(lim Limits, noHash bool, sink func([]byte), h hash.Hash) bodyResult {
	var res bodyResult
	switch {
	case b.decoded() && b.compOver:
		res.notBuf = true
	case b.decoded() && b.gap:
	case b.decoded() && b.bodyWire > 0:
		var comp []byte
		if b.comp != nil {
			comp = *b.comp
		}
		res = decodeBody(b.coding, comp, lim, noHash, sink)
	default:
		res.decoded = b.bodyWire
		if b.bodyWire > 0 && h != nil && !b.gap {
			res.sha256 = hex.EncodeToString(h.Sum(nil))
		} else if b.bodyWire == 0 {
			res.sha256 = emptySHA256
		}
	}
	return res
}

// decodeBody decompresses comp through the pooled decoders. When nothing
// reads the decoded bytes (sink nil), the verdict on a body already seen
// is taken from verdicts instead.
func decodeBody(c coding, comp []byte, lim Limits, noHash bool, sink func([]byte)) bodyResult {
	var key verdictKey
	cached := sink == nil && len(comp) >= minVerdictBody
	if cached {
		key = verdictKey{sum: maphash.Bytes(verdictSeed, comp), n: len(comp), coding: c, noHash: noHash,
			maxBody: lim.MaxBodyBytes, maxRatio: lim.MaxRatio, minRatio: lim.MinRatioBytes}
		if res, ok := verdicts.Get(key); ok {
			return res
		}
	}
	d := getDecoders()
	d.noHash, d.sink = noHash, sink
	res := d.decode(c, comp, lim)
	putDecoders(d)
	if cached {
		verdicts.Put(key, res)
	}
	return res
}

// verdicts remembers what decoding a compressed body gave, by a hash of
// its bytes: a server sends the same compressed page, script or style
// sheet to every client, and inflating it again for each was a fifth of
// the analysis of a real traffic mix. The key holds everything the result
// depends on. At most 2×1024 entries of about 200 bytes.
var verdicts = memo.New[verdictKey, bodyResult](1024)

// verdictSeed seeds the body hash: random per process, so that no capture
// can be made to collide with another body on purpose.
var verdictSeed = maphash.MakeSeed()

// minVerdictBody is the smallest compressed body whose verdict is
// remembered: a smaller one inflates faster than the lookup pays.
const minVerdictBody = 512

type verdictKey struct {
	sum               uint64
	n                 int
	coding            coding
	noHash            bool
	maxBody, maxRatio int64
	minRatio          int64
}

// failed reports whether res leaves the body not decoded completely.
func (b *bodyAcc) failed(res bodyResult) bool {
	return b.gap || res.err != nil || res.limit != "" || res.notBuf
}

// bodyEvents reports what decoding b found: a compressed body over the
// buffer (http.body_limit), one that does not decompress
// (http.body_decode_failed), one whose decoding a cap stopped
// (http.body_limit). what describes the message ("response 200 to GET
// /a"), reqLine is "METHOD URI" of its request or "", start where the
// message began.
func bodyEvents(ctx *tcpstate.StreamContext, b *bodyAcc, res bodyResult, what, reqLine string, start tcpstate.Position, lim Limits) {
	ev := func(k health.Kind, msg string, evidence map[string]any) {
		ctx.Event(health.Event{Kind: k, Severity: health.DefaultSeverity(k), Time: start.Time, Frame: start.Frame, Message: msg, Evidence: evidence})
	}
	if res.notBuf && b.shed {
		ev(health.HTTPBodyLimit, fmt.Sprintf("%s: %s body of %d bytes not decoded: its buffered bytes were dropped when the memory budget was reached",
			what, b.encoding, b.bodyWire),
			map[string]any{"limit": "memory_budget", "bytes": b.bodyWire, "request": reqLine})
	} else if res.notBuf {
		ev(health.HTTPBodyLimit, fmt.Sprintf("%s: %s body of %d bytes is over the %d-byte decode buffer; not decoded",
			what, b.encoding, b.bodyWire, lim.MaxCompressedBytes),
			map[string]any{"limit": "compressed_bytes", "bytes": b.bodyWire, "request": reqLine})
	}
	if res.err != nil {
		ev(health.HTTPBodyDecodeFailed, fmt.Sprintf("%s: the %s body (%d compressed bytes, frames %d-%d) does not decompress: %v at compressed byte %d; %d bytes decoded before the failure",
			what, b.encoding, b.bodyWire, b.firstBody, b.lastBody, res.err, res.offset, res.decoded),
			map[string]any{"encoding": b.encoding, "offset": res.offset, "request": reqLine,
				"frames": fmt.Sprintf("%d-%d", b.firstBody, b.lastBody), "compressed_bytes": b.bodyWire,
				"decoded_bytes": res.decoded, "error": res.err.Error()})
	}
	if res.limit != "" {
		bodyLimit(ev, b, res, what, reqLine, lim)
	}
}

// bodyLimit reports a compressed body whose decoding a cap stopped. The
// ratio is that of the bytes decoded to the compressed bytes read when
// decoding stopped — not to the whole body, most of which a bomb's
// decoding never reaches.
func bodyLimit(ev func(health.Kind, string, map[string]any), b *bodyAcc, res bodyResult, what, reqLine string, lim Limits) {
	ratio := float64(res.decoded) / float64(max(res.read, 1))
	msg := fmt.Sprintf("%s: decoding the %s body (%d compressed bytes) stopped after %d bytes decoded from its first %d compressed bytes (ratio %.0f:1)",
		what, b.encoding, b.bodyWire, res.decoded, res.read, ratio)
	if res.limit == "ratio" {
		msg += fmt.Sprintf(", over the %d:1 ratio cap: a possible decompression bomb", lim.MaxRatio)
	} else {
		msg += fmt.Sprintf(", at the %d-byte size cap", lim.MaxBodyBytes)
	}
	ev(health.HTTPBodyLimit, msg, map[string]any{"limit": res.limit, "ratio": ratio, "decoded_bytes": res.decoded,
		"compressed_read": res.read, "compressed_bytes": b.bodyWire, "request": reqLine})
}

// responseBody describes a response body: what b and res say of its
// size decoded and on the wire, its coding and hash, a decoding error,
// and, for a body the capture or the connection cut (cut is "capture",
// "connection" or "reset"; "" when whole), the bytes seen against those
// announced (declared, -1 when unknown). HTTP/1 and HTTP/2 responses
// share it, so their body fields are the same.
func responseBody(b *bodyAcc, res bodyResult, cut string, declared int64) *BodyInfo {
	info := &BodyInfo{WireBytes: b.bodyWire, DecodedBytes: res.decoded, Encoding: b.encoding, SHA256: res.sha256,
		Incomplete: cut, AnnouncedBytes: -1}
	if res.err != nil {
		info.DecodeError, info.DecodeOffset = res.err.Error(), res.offset
	}
	if cut != "" {
		info.SeenBytes, info.AnnouncedBytes = b.seen(), declared
	}
	return info
}
