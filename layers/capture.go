package layers

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	glayers "github.com/google/gopacket/layers"
	"github.com/klauspost/compress/gzip"

	"github.com/nettrace/nettrace/health"
)

// ErrNotCapture is wrapped by the error Open and NewCapture return when the
// input is not a pcap, pcapng or gzip-compressed capture file.
var ErrNotCapture = errors.New("not a capture file")

// Frame is one record of a capture file.
//
// Data is the reader's buffer: it is valid only until the next call to
// Capture.Next. Code that keeps a frame must copy Data.
type Frame struct {
	Number  int64     // 1-based, in file order, as tshark numbers frames
	Time    time.Time // capture timestamp (UTC); zero for pcapng Simple Packet Blocks
	Data    []byte    // the captured bytes (CapLen of them); reused buffer
	CapLen  int       // bytes captured
	WireLen int       // bytes on the wire (original length)
	// LinkType is the link type as gopacket names it. gopacket's LinkType
	// has 8 bits, so link types above 255 (LINKTYPE_LINUX_SLL2 = 276) do not
	// fit: Link holds the full value.
	LinkType glayers.LinkType
	// Link is the full LINKTYPE_ value of the frame. When it is 0 the
	// Decoder uses LinkType (so frames built by hand may set either).
	Link uint16
	// Interface is the pcapng interface index (0 for classic pcap).
	Interface int
}

// LinkTypeLinuxSLL2 is LINKTYPE_LINUX_SLL2, Linux cooked capture v2, which
// gopacket v1.1.19 does not know. Set Frame.Link to it.
const LinkTypeLinuxSLL2 = 276

// linkType returns the frame's full link type.
func (f *Frame) linkType() uint16 {
	if f.Link != 0 {
		return f.Link
	}
	return uint16(f.LinkType)
}

// CaptureError reports a damaged or truncated capture file. Every frame
// before Frame was returned intact; the caller reports the error and stops.
type CaptureError struct {
	File   string // the path given to Open, or "" for NewCapture
	Frame  int64  // the frame number the damaged record would have had
	Offset int64  // byte offset of the damaged record (in the decompressed stream for gzip)
	Err    error  // io.ErrUnexpectedEOF for a truncated file, or what is wrong
}

// Error implements error.
func (e *CaptureError) Error() string {
	name := e.File
	if name == "" {
		name = "capture"
	}
	return fmt.Sprintf("layers: %s: frame %d at offset %d: %v", name, e.Frame, e.Offset, e.Err)
}

// Unwrap returns e.Err.
func (e *CaptureError) Unwrap() error { return e.Err }

// Event returns the capture.truncated event that reports e; at is the time
// of the last good frame (Capture.LastTime).
func (e *CaptureError) Event(at time.Time) health.Event {
	return health.Event{
		Kind:     health.CaptureTruncated,
		Severity: health.DefaultSeverity(health.CaptureTruncated),
		Time:     at,
		Frame:    e.Frame,
		Message: fmt.Sprintf("the capture file is damaged or truncated at frame %d (byte offset %d): %v; the %d frames before it were analysed",
			e.Frame, e.Offset, e.Err, e.Frame-1),
		Evidence: map[string]any{"error": e.Err.Error(), "offset": e.Offset},
	}
}

type captureFormat uint8

const (
	formatPcap captureFormat = iota + 1
	formatPcapng
)

// File magics.
const (
	magicPcapMicro   = 0xa1b2c3d4 // pcap, microsecond timestamps
	magicPcapNano    = 0xa1b23c4d // pcap, nanosecond timestamps
	magicPcapngBlock = 0x0a0d0d0a // pcapng Section Header Block type
)

// Capture reads frames from a pcap or pcapng file, optionally gzip
// compressed. It is not safe for concurrent use.
//
// Classic pcap is read by our own small record reader rather than pcapgo:
// it must report the byte offset of a damaged record, cap record lengths
// before allocating, and reuse one buffer (no allocation per frame). pcapng
// needs its own block reader anyway for Decryption Secrets Blocks, which
// gopacket v1.1.19's NgReader skips.
type Capture struct {
	name   string
	closer io.Closer
	gz     *gzip.Reader
	r      source
	ra     *readAhead // r when reading ahead
	off    int64      // bytes consumed from r
	format captureFormat

	// classic pcap
	order binary.ByteOrder
	nano  bool
	link  uint16

	// pcapng
	ng ngState

	n     int64     // frames returned
	last  time.Time // time of the last frame returned
	frame Frame
	buf   []byte
	hdr   [32]byte
	err   error // sticky: returned by every later Next
}

// Open opens the capture file at path. It detects pcap (either byte order,
// micro- or nanosecond timestamps), pcapng and gzip-compressed forms of
// either by their magic numbers. Errors name the file. Close the Capture
// when done.
func Open(path string) (*Capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("layers: %w", err)
	}
	c, err := newCapture(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	c.closer = f
	return c, nil
}

// NewCapture reads a capture from r, detected as Open does. The Capture
// does not close r.
func NewCapture(r io.Reader) (*Capture, error) {
	return newCapture(r, "")
}

// NewCaptureReadAhead is NewCapture with the input read — and inflated,
// when gzip-compressed — on a goroutine of its own, up to 1 MiB ahead of
// the frames returned, so that a caller decoding on other goroutines too
// does not wait for the reads. Frames are still returned without copying.
// Call Close when done to stop the goroutine; it then stops once a Read
// of r in progress returns.
func NewCaptureReadAhead(r io.Reader) (*Capture, error) {
	c, err := newCapture(r, "")
	if err != nil {
		return nil, err
	}
	c.ra = newReadAhead(c.r, readAheadBlock)
	c.r = c.ra
	return c, nil
}

// readBufSize sizes the read buffer: 256 KiB reads make a quarter of the
// read system calls of 64 KiB ones (about 15% less CPU spent reading a
// large file), but an input in memory that is smaller (a bytes.Reader,
// what tests and embedders analysing many small captures pass) needs no
// more than its length.
func readBufSize(r io.Reader) int {
	const size = 256 << 10
	if l, ok := r.(interface{ Len() int }); ok {
		return min(size, max(l.Len(), 4096))
	}
	return size
}

func newCapture(r io.Reader, name string) (*Capture, error) {
	c := &Capture{name: name}
	label := name
	if label == "" {
		label = "capture"
	}
	c.r = bufio.NewReaderSize(r, readBufSize(r))
	magic, err := c.r.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, gerr := gzip.NewReader(c.r)
		if gerr != nil {
			return nil, fmt.Errorf("layers: %s: gzip: %w", label, gerr)
		}
		c.gz = gz
		c.r = bufio.NewReaderSize(gz, 64<<10)
		magic, err = c.r.Peek(4)
	}
	if len(magic) < 4 {
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("layers: %s: %w", label, err)
		}
		return nil, fmt.Errorf("layers: %s: %w (%d bytes, too short)", label, ErrNotCapture, len(magic))
	}
	be := binary.BigEndian.Uint32(magic)
	le := binary.LittleEndian.Uint32(magic)
	switch {
	case be == magicPcapngBlock:
		c.format = formatPcapng
		return c, nil
	case be == magicPcapMicro || be == magicPcapNano:
		c.order = binary.BigEndian
		c.nano = be == magicPcapNano
	case le == magicPcapMicro || le == magicPcapNano:
		c.order = binary.LittleEndian
		c.nano = le == magicPcapNano
	default:
		return nil, fmt.Errorf("layers: %s: %w (magic 0x%08x)", label, ErrNotCapture, be)
	}
	c.format = formatPcap
	h := c.hdr[:24]
	if err := c.readFull(h); err != nil {
		return nil, fmt.Errorf("layers: %s: pcap file header: %w", label, noEOF(err))
	}
	// pcap file header: magic, version major/minor, thiszone, sigfigs,
	// snaplen, linktype (the upper 16 bits carry FCS information).
	c.link = uint16(c.order.Uint32(h[20:24]))
	return c, nil
}

// Close releases the file opened by Open and stops reading ahead.
func (c *Capture) Close() error {
	var err error
	if c.ra != nil {
		c.ra.close()
	}
	if c.gz != nil && c.ra == nil { // else the reading goroutine may still use it
		err = c.gz.Close()
	}
	if c.closer != nil {
		if cerr := c.closer.Close(); err == nil {
			err = cerr
		}
		c.closer = nil
	}
	return err
}

// Secrets returns the TLS key-log text (NSS key log format) collected from
// the pcapng Decryption Secrets Blocks read so far (they normally precede the
// packets), at most MaxSecretsLen bytes. It is nil for classic pcap. The
// slice must not be modified.
func (c *Capture) Secrets() []byte { return c.ng.secrets }

// SecretsSkipped says which Decryption Secrets Blocks read so far were not
// kept in Secrets: key logs beyond MaxSecretsLen, secrets of other types.
// Nothing is dropped in silence: callers report it.
func (c *Capture) SecretsSkipped() SecretsSkipped { return c.ng.skipped }

// LastTime returns the timestamp of the last frame returned (zero before
// the first): the time to pass to Decoder.Flush at the end of a capture.
func (c *Capture) LastTime() time.Time { return c.last }

// Next returns the next frame, in file order. It returns io.EOF at the end
// of the file and a *CaptureError when the file is damaged or truncated (every
// frame before it was returned). The Frame and its Data are reused by the
// next call.
func (c *Capture) Next() (*Frame, error) {
	if c.err != nil {
		return nil, c.err
	}
	var err error
	if c.format == formatPcapng {
		err = c.nextPcapng()
	} else {
		err = c.nextPcap()
	}
	if err != nil {
		c.err = err
		return nil, err
	}
	return &c.frame, nil
}

// nextPcap reads one classic pcap record.
func (c *Capture) nextPcap() error {
	start := c.off
	h := c.hdr[:16]
	if err := c.readFull(h); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return c.fail(start, err)
	}
	sec := c.order.Uint32(h[0:4])
	frac := c.order.Uint32(h[4:8])
	incl := c.order.Uint32(h[8:12])
	orig := c.order.Uint32(h[12:16])
	if incl > MaxFrameLen {
		return c.fail(start, fmt.Errorf("record length %d exceeds %d: damaged file", incl, MaxFrameLen))
	}
	data, err := c.readRecord(int(incl))
	if err != nil {
		return c.fail(start, err)
	}
	ns := int64(frac)
	if !c.nano {
		ns *= 1000
	}
	c.emit(time.Unix(int64(sec), ns).UTC(), data, int(orig), c.link, 0)
	return nil
}

// emit fills c.frame with the next frame.
func (c *Capture) emit(t time.Time, data []byte, wire int, link uint16, iface int) {
	c.n++
	c.last = t
	// Every field is set in place (a composite literal would be built on
	// the stack and copied).
	f := &c.frame
	f.Number = c.n
	f.Time = t
	f.Data = data
	f.CapLen = len(data)
	f.WireLen = wire
	f.LinkType = glayers.LinkType(link)
	f.Link = link
	f.Interface = iface
}

// readRecord reads n bytes (already capped by the caller) into c.buf and
// returns them. The buffer grows at most by doubling per read, so a bogus
// length in a short file never makes it allocate more than twice the bytes
// that exist.
func (c *Capture) readRecord(n int) ([]byte, error) {
	// Zero-copy when the record fits the read buffer: the frame aliases
	// it, which the Frame contract allows (valid until the next call).
	if n <= c.r.Size() {
		if b, err := c.r.Peek(n); err == nil {
			c.r.Discard(n) // cannot fail after a successful Peek
			c.off += int64(n)
			return b, nil
		}
		// Fewer bytes than the record: the copying path below reads what
		// there is and reports the damage.
	}
	b, err := c.readAppend(c.buf[:0], n)
	c.buf = b[:0]
	return b, err
}

// readAppend appends n bytes read from the input to b, growing b as the
// bytes arrive.
func (c *Capture) readAppend(b []byte, n int) ([]byte, error) {
	want := len(b) + n
	for len(b) < want {
		chunk := want - len(b)
		if cap(b) < want {
			chunk = min(chunk, max(len(b), 64<<10))
		}
		b = slices.Grow(b, chunk)
		k := len(b)
		b = b[:k+chunk]
		if err := c.readFull(b[k:]); err != nil {
			return b[:k], err
		}
	}
	return b, nil
}

// readFull reads len(b) bytes, counting them in c.off. It returns io.EOF only
// when nothing at all was read.
func (c *Capture) readFull(b []byte) error {
	n, err := io.ReadFull(c.r, b)
	c.off += int64(n)
	return err
}

// discard skips n bytes.
func (c *Capture) discard(n int) error {
	m, err := c.r.Discard(n)
	c.off += int64(m)
	if err == io.EOF && m < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// fail builds the CaptureError for a record starting at offset start.
func (c *Capture) fail(start int64, err error) error {
	return &CaptureError{File: c.name, Frame: c.n + 1, Offset: start, Err: noEOF(err)}
}

// noEOF turns a mid-record io.EOF into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// ReadSecrets reads a whole capture from r and returns the TLS key-log text
// of its pcapng Decryption Secrets Blocks (nil for classic pcap), as
// Secrets would at the end: a capture given as a key log (editcap
// --inject-secrets) is read this way. A capture damaged part-way returns
// the secrets before the damage with the error.
func ReadSecrets(r io.Reader) ([]byte, error) {
	c, err := NewCapture(r)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	for {
		if _, err := c.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return c.Secrets(), err
		}
	}
}

// IsCapture reports whether head, the first bytes of a file, start a pcap
// or pcapng capture (gzip-compressed ones are not recognised by it).
func IsCapture(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	switch binary.LittleEndian.Uint32(head) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a:
		return true
	}
	return false
}
