package http

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/net/http2/hpack"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// h2state is where a direction of an HTTP/2 connection is.
type h2state uint8

const (
	hsPreface h2state = iota // client: matching the connection preface (RFC 9113, 3.4)
	hsHeader                 // reading a frame header
	hsPayload                // buffering the payload of a frame other than DATA
	hsData                   // streaming a DATA frame's payload
	hsSkip                   // skipping a frame's payload
	hsLost                   // given up: bytes are counted, not decoded
)

// h2block is a header block in progress: a HEADERS or PUSH_PROMISE frame
// without END_HEADERS and the CONTINUATION frames that follow (RFC 9113,
// 4.3 and 6.10).
type h2block struct {
	active    bool
	typ       FrameType // FrameHeaders or FramePushPromise
	stream    uint32
	promised  uint32
	endStream bool
	start     tcpstate.Position // the frame of the HEADERS or PUSH_PROMISE
}

// hfield is one decoded header field.
type hfield struct {
	name, value string
	sensitive   bool // never indexed (RFC 7541, 6.2.3)
}

// h2half is one direction of an HTTP/2 connection.
type h2half struct {
	st    h2state
	pre   int // client: bytes of the preface matched
	hdr   [FrameHeaderLen]byte
	nh    int // bytes of hdr filled
	fh    FrameHeader
	start tcpstate.Position // the frame where the current frame began
	buf   []byte            // a buffered frame, header included
	left  uint32            // payload bytes still to come (hsPayload, hsData, hsSkip)
	// DATA padding (RFC 9113, 6.1): padKnown once the Pad Length byte came.
	padKnown bool
	pad      uint8

	// HPACK (RFC 7541): dec decodes the header blocks of this direction;
	// once the dynamic table's state is unknown (a block lost, a decoding
	// error) dec is nil and hpackLost says why.
	dec       *hpack.Decoder
	fields    []hfield
	listSize  int
	listOver  bool
	block     h2block
	hpackLost string
	hpackPos  tcpstate.Position
	undecoded int64 // header block bytes not decoded since

	// lost says why the direction was given up; ignored counts the bytes
	// not decoded since lostPos.
	lost    string
	lostPos tcpstate.Position
	ignored int64
	// proven is set while the direction is followed from its start with
	// nothing lost: only then are invalid bytes provably the peer's.
	proven bool
	// maxFrame is the largest SETTINGS_MAX_FRAME_SIZE the receiver of this
	// direction advertised (RFC 9113, 6.5.2).
	maxFrame uint32
	// tableMax is the largest SETTINGS_HEADER_TABLE_SIZE the receiver of
	// this direction advertised (RFC 9113, 6.5.2; 4096 until then).
	tableMax  uint32
	malformed int // http2.malformed events of this direction
}

// maxMalformed caps the http2.malformed events of one direction.
const maxMalformed = 8

// H2Conn decodes one HTTP/2 connection (RFC 9113): frames, header blocks
// decoded with HPACK (golang.org/x/net/http2/hpack), and streams as
// request/response exchanges with the bodies decoded as HTTP/1's are. It
// implements tcpstate.StreamHandler and tcpstate.Finisher. It reports
// "http2" messages (one per frame) and "http" messages (one per request,
// interim response and response, as HTTP/1 does, with version HTTP/2 and
// the stream). It is not safe for concurrent use.
type H2Conn struct {
	ctx      *tcpstate.StreamContext
	lim      Limits
	want     bool
	onBody   func(ctx *tcpstate.StreamContext, b Body)
	half     [2]h2half
	streams  map[uint32]*h2stream
	recent   [recentStreams]h2recent
	nrecent  int
	maxID    [2]uint32 // the highest stream opened by the client (0) and by the server (1)
	goaway   [2]bool   // a GOAWAY came from the client (0), the server (1)
	lastID   [2]uint32 // its last_stream_id
	buffered int       // compressed body bytes buffered across the streams
	answered int       // final responses
	limited  map[string]bool
}

// NewH2Conn returns an H2Conn for a connection that carries HTTP/2 from
// its first bytes (ALPN h2, RFC 9113, 3.2): the client's side starts with
// the connection preface. It reports to ctx.Reporter.
func NewH2Conn(ctx *tcpstate.StreamContext, cfg Config) *H2Conn {
	c := newH2Conn(ctx, cfg)
	c.half[1].proven = true
	return c
}

func newH2Conn(ctx *tcpstate.StreamContext, cfg Config) *H2Conn {
	if ctx.Reporter == nil {
		ctx.Reporter = health.Discard
	}
	c := &H2Conn{ctx: ctx, lim: cfg.Limits.withDefaults(), want: ctx.Reporter.WantMessages(), onBody: cfg.Body,
		streams: map[uint32]*h2stream{}}
	c.half[0].st, c.half[1].st = hsPreface, hsHeader
	for d := range c.half {
		h := &c.half[d]
		h.maxFrame, h.tableMax = defaultMaxFrameSize, 4096
		h.dec = hpack.NewDecoder(4096, h.emit(c))
		h.dec.SetMaxStringLength(c.lim.MaxHeaderBytes)
		h.dec.SetAllowedMaxDynamicTableSize(uint32(min(4096, c.lim.MaxHPACKTableBytes)))
	}
	return c
}

// upgraded sets up c after an HTTP/1.1 Upgrade to h2c (RFC 7540, 3.2):
// the request that asked for it is stream 1, half-closed by the client
// (start and done are where it began and ended); serverProven says
// whether the server's side was followed from its start.
func (c *H2Conn) upgraded(method, uri, host string, start, done tcpstate.Position, serverProven bool) {
	s := &h2stream{id: 1}
	s.msg[0] = h2msg{started: true, ended: true, reported: true, method: method, path: uri, authority: host,
		scheme: "http", contentLen: -1, start: start, done: done}
	s.msg[1].contentLen = -1
	c.streams[1] = s
	c.maxID[0] = 1
	c.half[1].proven = serverProven
}

// emit returns the HPACK decoder's callback for h: fields are kept up to
// MaxHeaders and a header list of MaxHeaderBytes.
func (h *h2half) emit(c *H2Conn) func(hpack.HeaderField) {
	return func(f hpack.HeaderField) {
		h.listSize += len(f.Name) + len(f.Value) + 32
		if h.listOver || len(h.fields) >= c.lim.MaxHeaders || h.listSize > c.lim.MaxHeaderBytes {
			h.listOver = true
			return
		}
		h.fields = append(h.fields, hfield{name: f.Name, value: f.Value, sensitive: f.Sensitive})
	}
}

// Feed consumes bytes of one direction.
func (c *H2Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	h := &c.half[dir&1]
	for len(data) > 0 {
		switch h.st {
		case hsLost:
			h.ignored += int64(len(data))
			return
		case hsPreface:
			data = c.prefaceBytes(dir, h, data, at)
		case hsHeader:
			data = c.headerBytes(dir, h, data, at)
		case hsPayload:
			n := min(uint32(len(data)), h.left)
			h.buf = append(h.buf, data[:n]...)
			h.left -= n
			data = data[n:]
			if h.left == 0 {
				c.payloadDone(dir, h, at)
			}
		case hsData:
			data = c.dataBytes(dir, h, data, at)
		case hsSkip:
			n := min(uint32(len(data)), h.left)
			h.left -= n
			data = data[n:]
			if h.left == 0 {
				h.st = hsHeader
			}
		}
	}
}

// prefaceBytes matches the client's connection preface (RFC 9113, 3.4).
func (c *H2Conn) prefaceBytes(dir tcpstate.Dir, h *h2half, data []byte, at tcpstate.Position) []byte {
	n := min(len(data), len(ClientPreface)-h.pre)
	if string(data[:n]) != ClientPreface[h.pre:h.pre+n] {
		c.lose(dir, h, at, "not HTTP/2: the client did not start with the connection preface")
		h.ignored += int64(h.pre)
		return data
	}
	h.pre += n
	if h.pre == len(ClientPreface) {
		h.st, h.proven = hsHeader, true
	}
	return data[n:]
}

// headerBytes collects a frame header and chooses how its payload is
// taken: DATA streams, other frames are buffered up to MaxH2FrameBytes.
func (c *H2Conn) headerBytes(dir tcpstate.Dir, h *h2half, data []byte, at tcpstate.Position) []byte {
	if h.nh == 0 {
		h.start = at
	}
	n := copy(h.hdr[h.nh:], data)
	h.nh += n
	if h.nh < FrameHeaderLen {
		return nil
	}
	h.nh = 0
	h.fh, _, _ = ParseFrameHeader(h.hdr[:])
	c.frameStart(dir, h, at)
	return data[n:]
}

// frameStart handles a frame header: the length against the receiver's
// SETTINGS_MAX_FRAME_SIZE and our buffer, then the payload's path.
func (c *H2Conn) frameStart(dir tcpstate.Dir, h *h2half, at tcpstate.Position) {
	fh := h.fh
	h.left = fh.Length
	if fh.Length > h.maxFrame {
		// Provable only when both sides were followed from their start:
		// every SETTINGS frame of the receiver was seen. The frame is
		// decoded all the same.
		c.malformed(dir, h, at, fh, perr2.Malformf(fh.Type.String()+" frame", "length %d exceeds SETTINGS_MAX_FRAME_SIZE %d (FRAME_SIZE_ERROR, RFC 9113, 4.2)", fh.Length, h.maxFrame),
			c.half[dir^1].proven)
	}
	switch {
	case fh.Type == FrameData:
		if err := fh.CheckStream(); err != nil {
			c.malformed(dir, h, at, fh, err, true)
			h.st = hsSkip // no stream to give the data to
			break
		}
		h.st, h.padKnown, h.pad = hsData, !fh.Flags.Has(FlagPadded), 0
		c.dataStart(dir, h, at)
	case fh.Length > uint32(c.lim.MaxH2FrameBytes):
		c.limit("frame_bytes", fh.StreamID, at, fmt.Sprintf("a %s frame of %d bytes is over the %d-byte frame buffer; skipped", fh.Type, fh.Length, c.lim.MaxH2FrameBytes),
			map[string]any{"value": c.lim.MaxH2FrameBytes, "bytes": fh.Length, "frame_type": fh.Type.String()})
		c.skip(dir, h, at, "over the frame buffer")
		return
	default:
		h.buf = append(h.buf[:0], h.hdr[:]...)
		h.st = hsPayload
	}
	if h.left == 0 {
		switch h.st {
		case hsPayload:
			c.payloadDone(dir, h, at)
		case hsData:
			c.dataEnd(dir, h, at)
		default:
			h.st = hsHeader
		}
	}
}

// skip skips the rest of the payload of the current frame (not DATA),
// which is not decoded. A header block's loss leaves the HPACK state of
// the direction unknown; the frame header still opens or ends its
// stream.
func (c *H2Conn) skip(dir tcpstate.Dir, h *h2half, at tcpstate.Position, why string) {
	h.st = hsSkip
	if h.left == 0 {
		h.st = hsHeader
	}
	if isBlockFrame(h.fh.Type) {
		c.blockLost(dir, h, at, fmt.Sprintf("a %s frame %s", h.fh.Type, why))
		c.frame(dir, h, &Frame{FrameHeader: h.fh}, at)
	}
}

// isBlockFrame reports the frame types that carry a header block
// fragment.
func isBlockFrame(t FrameType) bool {
	return t == FrameHeaders || t == FramePushPromise || t == FrameContinuation
}

// payloadDone parses a buffered frame.
func (c *H2Conn) payloadDone(dir tcpstate.Dir, h *h2half, at tcpstate.Position) {
	h.st = hsHeader
	f, _, err := ParseFrame(h.buf, 0)
	if err != nil {
		c.malformed(dir, h, at, h.fh, err, true)
		if isBlockFrame(h.fh.Type) {
			c.blockLost(dir, h, at, fmt.Sprintf("a %s frame that does not parse", h.fh.Type))
			c.frame(dir, h, &Frame{FrameHeader: h.fh}, at)
		}
	} else {
		c.frame(dir, h, &f, at)
	}
	if cap(h.buf) > 64<<10 {
		h.buf = nil // a large frame is not kept buffered for the next
	}
}

// dataBytes takes bytes of a DATA frame's payload (RFC 9113, 6.1): the Pad
// Length byte, the data handed to the stream, the padding.
func (c *H2Conn) dataBytes(dir tcpstate.Dir, h *h2half, data []byte, at tcpstate.Position) []byte {
	if !h.padKnown {
		h.pad, h.padKnown = data[0], true
		h.left--
		data = data[1:]
		if uint32(h.pad) > h.left {
			c.malformed(dir, h, at, h.fh, perr2.Malformf("DATA frame", "padding %d exceeds the %d bytes after it", h.pad, h.left), true)
			if s := c.streams[h.fh.StreamID]; s != nil {
				s.msg[dir&1].gap = true
			}
			c.dataEnd(dir, h, at)
			h.st = hsSkip
			if h.left == 0 {
				h.st = hsHeader
			}
			return data
		}
	} else {
		n := min(uint32(len(data)), h.left)
		if d := int64(h.left) - int64(h.pad); d > 0 {
			c.streamData(dir, h, data[:min(int64(n), d)], at)
		}
		h.left -= n
		data = data[n:]
	}
	if h.left == 0 {
		c.dataEnd(dir, h, at)
	}
	return data
}

// Gap marks n bytes of dir that the capture does not hold. Inside a DATA
// payload the framing survives and the stream's body is incomplete in the
// capture; inside another frame's payload that frame is lost (a header
// block's loss leaves the HPACK state unknown); across a frame boundary
// the frames lost cannot be counted and the direction is given up.
func (c *H2Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	h := &c.half[dir&1]
	if n <= 0 {
		return
	}
	h.proven = false
	if h.st == hsLost {
		return
	}
	u := uint32(min(n, MaxFrameLen+1))
	if u <= h.left && h.nh == 0 {
		switch h.st {
		case hsData:
			if !h.padKnown { // the Pad Length byte is lost: count the rest as data
				h.padKnown = true
			}
			if d := int64(h.left) - int64(h.pad); d > 0 {
				c.streamMiss(dir, h, min(int64(u), d))
			}
			h.left -= u
			if h.left == 0 {
				c.dataEnd(dir, h, at)
			}
			return
		case hsPayload:
			h.left -= u
			c.skip(dir, h, at, fmt.Sprintf("with %d bytes not captured", n))
			return
		case hsSkip:
			h.left -= u
			if h.left == 0 {
				h.st = hsHeader
			}
			return
		}
	}
	c.lose(dir, h, at, fmt.Sprintf("a gap of %d bytes across frame boundaries", n))
}

// lose gives up dir: its bytes are counted, not decoded (decode.gave_up
// at Close); its bodies in progress are incomplete in the capture.
func (c *H2Conn) lose(dir tcpstate.Dir, h *h2half, at tcpstate.Position, why string) {
	if h.st == hsLost {
		return
	}
	h.st, h.lost, h.lostPos = hsLost, why, at
	h.proven = false
	h.block = h2block{}
	h.dec = nil
	for _, s := range c.streams {
		if m := &s.msg[dir&1]; m.started && !m.ended {
			m.gap = true
		}
	}
}

// blockLost records that a header block fragment of dir (the current
// frame's) was not decoded: the HPACK dynamic table is unknown from here
// on, and the header blocks after it are counted, not decoded.
func (c *H2Conn) blockLost(dir tcpstate.Dir, h *h2half, at tcpstate.Position, why string) {
	h.undecoded += int64(h.fh.Length)
	if h.dec != nil {
		h.dec, h.hpackLost, h.hpackPos = nil, why, at
	}
}

// malformed reports a frame or header block nettrace could not decode. It
// is a Warning only when invalid (it breaks RFC 9113 rather than a limit)
// and the direction is proven (see h2half.proven).
func (c *H2Conn) malformed(dir tcpstate.Dir, h *h2half, at tcpstate.Position, fh FrameHeader, err error, invalid bool) {
	h.malformed++
	if h.malformed > maxMalformed {
		return
	}
	sev := health.DefaultSeverity(health.HTTP2Malformed)
	if invalid && h.proven {
		sev = health.Warning
	}
	more := ""
	if h.malformed == maxMalformed {
		more = "; further malformed frames of this direction are not reported"
	}
	c.event(health.HTTP2Malformed, sev, at, fmt.Sprintf("HTTP/2 from the %s: %v%s", dir, err, more),
		map[string]any{"error": err.Error(), "from": dir.String(), "frame_type": fh.Type.String(), "stream": fh.StreamID})
}

// limit reports a cap reached (http2.limit), once per connection and
// limit, except streams dropped: each is reported (repeated events are
// folded by the Analyzer).
func (c *H2Conn) limit(name string, stream uint32, at tcpstate.Position, msg string, ev map[string]any) {
	if c.limited[name] && name != "streams" {
		return
	}
	if c.limited == nil {
		c.limited = map[string]bool{}
	}
	c.limited[name] = true
	ev["limit"], ev["stream"] = name, stream
	c.event(health.HTTP2Limit, health.DefaultSeverity(health.HTTP2Limit), at, "http2: "+msg, ev)
}

func (c *H2Conn) event(k health.Kind, sev health.Severity, at tcpstate.Position, msg string, ev map[string]any) {
	c.ctx.Event(health.Event{Kind: k, Severity: sev, Time: at.Time, Frame: at.Frame, Message: msg, Evidence: ev})
}

// frame handles a whole frame other than DATA.
func (c *H2Conn) frame(dir tcpstate.Dir, h *h2half, f *Frame, at tcpstate.Position) {
	if h.block.active && (f.Type != FrameContinuation || f.StreamID != h.block.stream) {
		c.malformed(dir, h, at, f.FrameHeader, fmt.Errorf("http2: a %s frame on stream %d inside the header block of stream %d, where only CONTINUATION may come (RFC 9113, 6.10)",
			f.Type, f.StreamID, h.block.stream), true)
		if h.dec != nil {
			h.dec, h.hpackLost, h.hpackPos = nil, "a header block interrupted", at
		}
		if s := c.streams[h.block.stream]; s != nil && !s.msg[dir&1].started {
			s.msg[dir&1].headersLost, s.msg[dir&1].started = true, true
		}
		h.block = h2block{}
	}
	var fields map[string]any
	if c.want {
		fields = c.frameFields(dir, h, f.FrameHeader)
	}
	switch f.Type {
	case FrameHeaders, FramePushPromise, FrameContinuation:
		c.headerFrame(dir, h, f, at, fields)
		return // it emits its record itself, before the exchange's
	case FrameRSTStream:
		if fields != nil {
			fields["error_code"], fields["error"] = uint32(f.ErrCode), f.ErrCode.String()
		}
		c.record(at, fields)
		c.rstStream(dir, f, at)
		return
	case FrameSettings:
		c.settings(dir, h, f, at, fields)
	case FrameGoAway:
		if fields != nil {
			fields["error_code"], fields["error"], fields["last_stream"] = uint32(f.ErrCode), f.ErrCode.String(), f.LastStreamID
			if len(f.Debug) > 0 {
				fields["debug"] = printable(f.Debug)
			}
		}
		c.record(at, fields)
		c.goAway(dir, f, at)
		return
	case FrameWindowUpdate:
		if fields != nil {
			fields["increment"] = f.Increment
		}
		if f.Increment == 0 { // RFC 9113, 6.9
			c.malformed(dir, h, at, f.FrameHeader, perr2.Malform("WINDOW_UPDATE frame", "increment of 0"), true)
		}
	case FramePriority:
		if fields != nil {
			fields["depends_on"], fields["weight"] = f.Priority.StreamDep, int(f.Priority.Weight)+1
			if f.Priority.Exclusive {
				fields["exclusive"] = true
			}
		}
	case FramePing:
		if fields != nil {
			fields["opaque"] = fmt.Sprintf("%016x", f.Opaque)
		}
	}
	c.record(at, fields)
}

// frameFields starts the "http2" record of a frame.
func (c *H2Conn) frameFields(dir tcpstate.Dir, h *h2half, fh FrameHeader) map[string]any {
	f := map[string]any{"type": fh.Type.String(), "stream": fh.StreamID, "length": fh.Length, "from": dir.String()}
	if s := FlagString(fh.Type, fh.Flags); s != "" {
		f["flags"] = s
	}
	if h.start.Frame != 0 {
		f["first_frame"] = h.start.Frame // removed by record when the frame ends there
	}
	return f
}

// record emits a frame's "http2" record (nil: messages not wanted).
func (c *H2Conn) record(at tcpstate.Position, fields map[string]any) {
	if fields == nil {
		return
	}
	if ff, ok := fields["first_frame"].(int64); ok && ff == at.Frame {
		delete(fields, "first_frame")
	}
	c.ctx.Reporter.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "http2", Fields: fields})
}

// headerFrame handles HEADERS, PUSH_PROMISE and CONTINUATION: the block
// fragment goes to the HPACK decoder; at END_HEADERS the fields go to the
// frame's record and to the stream.
func (c *H2Conn) headerFrame(dir tcpstate.Dir, h *h2half, f *Frame, at tcpstate.Position, fields map[string]any) {
	switch f.Type {
	case FrameContinuation:
		if !h.block.active || f.StreamID != h.block.stream {
			c.malformed(dir, h, at, f.FrameHeader, perr2.Malformf("CONTINUATION frame", "on stream %d without a header block in progress (RFC 9113, 6.10)", f.StreamID), h.dec != nil)
			c.record(at, fields)
			return
		}
	case FramePushPromise:
		if fields != nil {
			fields["promised_stream"] = f.Promised
		}
		fallthrough
	default:
		h.block = h2block{active: true, typ: f.Type, stream: f.StreamID, promised: f.Promised,
			endStream: f.Type == FrameHeaders && f.Flags.Has(FlagEndStream), start: h.start}
		h.fields, h.listSize, h.listOver = h.fields[:0], 0, false
		c.openStream(dir, h, f, at)
	}
	if h.dec == nil {
		h.undecoded += int64(len(f.Block))
	} else if _, err := h.dec.Write(f.Block); err != nil {
		c.hpackError(dir, h, f.FrameHeader, at, err)
	}
	if !f.Flags.Has(FlagEndHeaders) {
		c.record(at, fields)
		return
	}
	b := h.block
	h.block = h2block{}
	decoded := h.dec != nil
	if decoded {
		if err := h.dec.Close(); err != nil {
			c.hpackError(dir, h, f.FrameHeader, at, err)
			decoded = false
		}
	}
	if fields != nil {
		if b.start.Frame != at.Frame {
			fields["first_frame"] = b.start.Frame
		}
		if decoded {
			addHeaderFields(fields, h.fields)
		} else {
			fields["headers_not_decoded"] = true
		}
	}
	c.record(at, fields)
	if decoded && h.listOver {
		c.limit("header_list", b.stream, at, fmt.Sprintf("a header block on stream %d is over %d fields or a %d-byte header list; the fields past it were decoded but not kept", b.stream, c.lim.MaxHeaders, c.lim.MaxHeaderBytes),
			map[string]any{"value": c.lim.MaxHeaderBytes, "bytes": h.listSize})
	}
	c.blockDone(dir, h, b, decoded, at)
}

// hpackError reports a header block HPACK cannot decode: the dynamic
// table's state is unknown from here on (RFC 9113, 4.3: a
// COMPRESSION_ERROR). A string over MaxHeaderBytes or a table over
// MaxHPACKTableBytes is a limit of ours, not the peer's fault.
func (c *H2Conn) hpackError(dir tcpstate.Dir, h *h2half, fh FrameHeader, at tcpstate.Position, err error) {
	st := h.block.stream
	var de hpack.DecodingError
	switch {
	case errors.Is(err, hpack.ErrStringLength):
		c.limit("header_list", st, at, fmt.Sprintf("a header field on stream %d is over %d bytes: the header blocks of the %s are not decoded from here on", st, c.lim.MaxHeaderBytes, dir),
			map[string]any{"value": c.lim.MaxHeaderBytes})
	case errors.As(err, &de) && strings.Contains(de.Err.Error(), "size update") && int64(h.tableMax) > int64(c.lim.MaxHPACKTableBytes):
		c.limit("hpack_table", st, at, fmt.Sprintf("the %s's HPACK encoder uses a table over the %d bytes kept (%v): its header blocks are not decoded from here on", dir, c.lim.MaxHPACKTableBytes, err),
			map[string]any{"value": c.lim.MaxHPACKTableBytes})
	default:
		c.malformed(dir, h, at, fh, fmt.Errorf("http2: header block of stream %d: %w (COMPRESSION_ERROR)", st, err), true)
	}
	h.dec, h.hpackLost, h.hpackPos = nil, "HPACK: "+err.Error(), at
	if s := c.streams[st]; s != nil && !s.msg[dir&1].started {
		s.msg[dir&1].headersLost = true
	}
}

// addHeaderFields puts the decoded fields into a frame's record: the list
// ("name: value", secrets redacted) and the fields people read.
func addHeaderFields(f map[string]any, fields []hfield) {
	list := make([]string, 0, len(fields))
	for _, hf := range fields {
		v := hf.value
		if hf.sensitive || isSecretField(hf.name) {
			v = fmt.Sprintf("<redacted, %d bytes>", len(hf.value))
		} else {
			switch hf.name {
			case ":method", ":path", ":authority", ":scheme", ":protocol":
				f[hf.name[1:]] = hf.value
			case ":status":
				if n, err := strconv.Atoi(hf.value); err == nil {
					f["status"] = n
				}
			case "content-type", "content-encoding":
				f[strings.ReplaceAll(hf.name, "-", "_")] = hf.value
			case "content-length":
				if n, err := strconv.ParseInt(hf.value, 10, 64); err == nil {
					f["content_length"] = n
				}
			}
		}
		list = append(list, hf.name+": "+v)
	}
	f["headers"] = list
}

// isSecretField reports the fields whose values carry credentials
// (RFC 9110, 11.6.2 and 11.7.2; RFC 6265, 4), never shown.
func isSecretField(name string) bool {
	switch name {
	case "authorization", "proxy-authorization", "cookie", "set-cookie":
		return true
	}
	return false
}

// Close ends the connection: messages in progress are incomplete (in the
// capture, or cut by the connection's end), a frame in progress is
// reported, and directions given up or whose header blocks were not
// decoded are decode.gave_up.
func (c *H2Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	ended := reason == tcpstate.CloseFIN || reason == tcpstate.CloseRST
	for d := range c.half {
		h, dir := &c.half[d], tcpstate.Dir(d)
		switch {
		case h.st == hsHeader && h.nh > 0, h.st == hsPayload:
			err := perr2.TruncateDetail(h.fh.Type.String()+" frame", fmt.Sprintf("the connection ended (%s) inside it", reason))
			if h.st == hsHeader {
				err = perr2.TruncateDetail("frame header", fmt.Sprintf("the connection ended (%s) after %d of its 9 bytes", reason, h.nh))
			}
			c.malformed(dir, h, at, h.fh, err, ended)
		case h.st == hsPreface && h.pre > 0:
			c.lose(dir, h, at, "the connection ended inside the connection preface")
			h.ignored += int64(h.pre)
		}
	}
	ids := make([]uint32, 0, len(c.streams))
	for id := range c.streams {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := c.streams[id]
		for d := range s.msg {
			m, dir := &s.msg[d], tcpstate.Dir(d)
			if !m.started || m.ended || m.reported {
				continue
			}
			c.cutBody(dir, s, m, ended, reason, at)
			c.report(dir, s, at)
		}
	}
	for d := range c.half {
		c.gaveUp(tcpstate.Dir(d), &c.half[d])
	}
}

// cutBody reports a message the connection's end left without END_STREAM:
// cut by the connection when every byte of its direction was captured, a
// Warning; else incomplete in the capture, a Notice.
func (c *H2Conn) cutBody(dir tcpstate.Dir, s *h2stream, m *h2msg, ended bool, reason tcpstate.CloseReason, at tcpstate.Position) {
	what := c.describe(s)
	if dir == tcpstate.ClientToServer {
		what = "request on stream " + strconv.FormatUint(uint64(s.id), 10) + " (" + orNone(s.request()) + ")"
	}
	ev := map[string]any{"message": what, "received": m.seen(), "stream": s.id}
	if m.contentLen >= 0 {
		ev["declared"] = m.contentLen
	}
	if ended && !m.gap && c.half[dir&1].proven {
		m.gap, m.cut = true, "connection"
		ev["cause"] = "connection"
		c.event(health.HTTPBodyTruncated, health.Warning, at,
			fmt.Sprintf("%s: the connection ended (%s) after %d body bytes and before the stream ended", what, reason, m.bodyWire), ev)
		return
	}
	m.gap, m.cut = true, "capture"
	ev["cause"] = "capture"
	msg := fmt.Sprintf("%s: the capture holds %d body bytes and not the end of the stream", what, m.seen())
	if m.decoded() {
		msg += "; the " + m.encoding + " body was not decoded"
	}
	c.event(health.HTTPBodyTruncated, health.Notice, at, msg+": incomplete in the capture, not shown to be cut by the sender", ev)
}

// gaveUp reports at Close a direction given up, and header blocks not
// decoded once the HPACK state was lost.
func (c *H2Conn) gaveUp(dir tcpstate.Dir, h *h2half) {
	if h.lost != "" && h.ignored > 0 {
		c.event(health.DecodeGaveUp, health.DefaultSeverity(health.DecodeGaveUp), h.lostPos,
			fmt.Sprintf("http2: did not decode the last %d bytes of the %s's stream, from frame %d: %s", h.ignored, dir, h.lostPos.Frame, h.lost),
			map[string]any{"decoder": "http2", "reason": h.lost, "dir": dir.String(), "bytes": h.ignored})
	}
	if h.hpackLost != "" && h.undecoded > 0 {
		why := "the HPACK state is unknown after " + h.hpackLost
		c.event(health.DecodeGaveUp, health.DefaultSeverity(health.DecodeGaveUp), h.hpackPos,
			fmt.Sprintf("http2: did not decode %d bytes of header blocks from the %s, from frame %d: %s", h.undecoded, dir, h.hpackPos.Frame, why),
			map[string]any{"decoder": "http2", "reason": why, "dir": dir.String(), "bytes": h.undecoded})
	}
}

// Finished reports, for tcpstate.Finisher, whether the HTTP/2 exchanges
// were complete: a response came, no stream is open and neither
// direction holds part of a frame.
func (c *H2Conn) Finished() string {
	if c.answered == 0 || len(c.streams) > 0 {
		return ""
	}
	for d := range c.half {
		h := &c.half[d]
		if h.st != hsHeader || h.nh > 0 || h.block.active {
			return ""
		}
	}
	if c.goaway[0] || c.goaway[1] {
		return "the HTTP/2 exchanges were complete and GOAWAY was sent"
	}
	return "the HTTP/2 exchanges were complete"
}

var (
	_ tcpstate.StreamHandler = (*H2Conn)(nil)
	_ tcpstate.Finisher      = (*H2Conn)(nil)
)
