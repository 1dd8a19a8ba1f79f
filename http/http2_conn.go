package http

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
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

// h2msg is the request (client) or the response (server) of a stream.
type h2msg struct {
	bodyAcc
	hash        hash.Hash
	started     bool // its header block came (a final one, for a response)
	ended       bool // END_STREAM came
	reported    bool // its exchange record was emitted
	headersLost bool // its header block was not decoded
	method      string
	path        string
	authority   string
	scheme      string
	status      int
	contentType string
	contentLen  int64 // -1 when absent
	start       tcpstate.Position
	done        tcpstate.Position // the frame completing the header block
	cut         string            // why the body is incomplete ("capture", "connection", "reset")
}

// h2stream is one stream (RFC 9113, 5.1): msg[0] the client's request,
// msg[1] the server's response.
type h2stream struct {
	id      uint32
	msg     [2]h2msg
	refused bool // above the last_stream_id of the server's GOAWAY
}

// closed reports whether both sides ended the stream.
func (s *h2stream) closed() bool { return s.msg[0].ended && s.msg[1].ended }

// request returns "METHOD path" of the stream's request, or "".
func (s *h2stream) request() string {
	if s.msg[0].method == "" {
		return ""
	}
	return s.msg[0].method + " " + s.msg[0].path
}

// h2recent remembers a closed stream, to describe frames that come after
// it closed.
type h2recent struct {
	id       uint32
	request  string
	status   int
	ended    [2]bool
	complete bool // both sides ended it
}

// recentStreams is how many closed streams H2Conn remembers.
const recentStreams = 32

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

// settings applies a SETTINGS frame from dir (RFC 9113, 6.5): the header
// table size bounds the other direction's HPACK encoder, the maximum
// frame size the other direction's frames. Values are taken as the
// largest advertised, so that a frame sent before an update is not judged
// by it.
func (c *H2Conn) settings(dir tcpstate.Dir, h *h2half, f *Frame, at tcpstate.Position, fields map[string]any) {
	if fields != nil && len(f.Settings) > 0 {
		list := map[string]any{}
		for _, s := range f.Settings {
			list[s.ID.String()] = s.Value
		}
		fields["settings"] = list
	}
	if err := c.applySettings(dir, f.Settings); err != nil {
		c.malformed(dir, h, at, f.FrameHeader, err, true)
	}
}

// applySettings applies the settings sent by dir and returns an error for
// the first value RFC 9113, 6.5.2 forbids.
func (c *H2Conn) applySettings(dir tcpstate.Dir, settings []Setting) error {
	other := &c.half[dir^1]
	var first error
	for _, s := range settings {
		var bad string
		switch s.ID {
		case SettingHeaderTableSize:
			other.tableMax = max(other.tableMax, s.Value)
			if other.dec != nil {
				other.dec.SetAllowedMaxDynamicTableSize(uint32(min(int64(other.tableMax), int64(c.lim.MaxHPACKTableBytes))))
			}
		case SettingEnablePush:
			if s.Value > 1 {
				bad = "ENABLE_PUSH other than 0 or 1"
			}
		case SettingInitialWindowSize:
			if s.Value > 1<<31-1 {
				bad = "INITIAL_WINDOW_SIZE over 2^31-1"
			}
		case SettingMaxFrameSize:
			if s.Value < defaultMaxFrameSize || s.Value > MaxFrameLen {
				bad = "MAX_FRAME_SIZE outside 16384..16777215"
			} else {
				other.maxFrame = max(other.maxFrame, s.Value)
			}
		}
		if bad != "" && first == nil { // RFC 9113, 6.5.2
			first = perr2.Malformf("SETTINGS frame", "%s: %d", bad, s.Value)
		}
	}
	return first
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

// openStream finds or opens the stream of a HEADERS or PUSH_PROMISE frame
// (RFC 9113, 5.1.1): a client opens odd streams, a server even ones with
// PUSH_PROMISE; an identifier must exceed every one its side opened.
func (c *H2Conn) openStream(dir tcpstate.Dir, h *h2half, f *Frame, at tcpstate.Position) {
	id, side := f.StreamID, tcpstate.ClientToServer
	if f.Type == FramePushPromise {
		if dir == tcpstate.ClientToServer {
			c.malformed(dir, h, at, f.FrameHeader, perr2.Malform("PUSH_PROMISE frame", "sent by the client (RFC 9113, 8.4)"), true)
			return
		}
		id, side = f.Promised, tcpstate.ServerToClient
	}
	if c.streams[id] != nil || id <= c.maxID[side] {
		return // an open stream (a response, trailers) or a closed one
	}
	if (id%2 == 1) != (side == tcpstate.ClientToServer) {
		c.malformed(dir, h, at, f.FrameHeader, perr2.Malformf(f.Type.String()+" frame", "opens stream %d, of the other side's parity (RFC 9113, 5.1.1)", id), true)
		return
	}
	if dir == tcpstate.ServerToClient && f.Type == FrameHeaders {
		return // a server cannot open a stream with HEADERS; the block still decodes
	}
	c.maxID[side] = id
	if len(c.streams) >= c.lim.MaxH2Streams {
		c.evict(at)
	}
	s := &h2stream{id: id}
	s.msg[0].contentLen, s.msg[1].contentLen = -1, -1
	if side == tcpstate.ClientToServer && c.goaway[1] && id > c.lastID[1] {
		s.refused = true
	}
	c.streams[id] = s
}

// evict drops the oldest stream to make room (http2.limit).
func (c *H2Conn) evict(at tcpstate.Position) {
	var oldest *h2stream
	for _, s := range c.streams {
		if oldest == nil || s.id < oldest.id {
			oldest = s
		}
	}
	c.limit("streams", oldest.id, at, fmt.Sprintf("over %d streams open: the state of the oldest (stream %d, %s) was dropped; its exchange is not reported",
		c.lim.MaxH2Streams, oldest.id, orNone(oldest.request())), map[string]any{"value": c.lim.MaxH2Streams, "dropped": oldest.id})
	c.forget(oldest)
}

func orNone(s string) string {
	if s == "" {
		return "request unknown"
	}
	return s
}

// forget removes s, remembering it among the recent streams.
func (c *H2Conn) forget(s *h2stream) {
	for d := range s.msg {
		m := &s.msg[d]
		c.buffered -= m.buffered()
		m.release()
	}
	c.recent[c.nrecent%recentStreams] = h2recent{id: s.id, request: s.request(), status: s.msg[1].status,
		ended: [2]bool{s.msg[0].ended, s.msg[1].ended}, complete: s.closed()}
	c.nrecent++
	delete(c.streams, s.id)
}

// recentStream returns what is remembered of the closed stream id.
func (c *H2Conn) recentStream(id uint32) (h2recent, bool) {
	for i := range min(c.nrecent, recentStreams) {
		if r := c.recent[i]; r.id == id {
			return r, true
		}
	}
	return h2recent{}, false
}

// blockDone applies a complete header block to its stream: a request's
// or a response's header section, an interim response, trailers, or a
// pushed request.
func (c *H2Conn) blockDone(dir tcpstate.Dir, h *h2half, b h2block, decoded bool, at tcpstate.Position) {
	id, side := b.stream, dir&1
	if b.typ == FramePushPromise {
		id, side = b.promised, tcpstate.ClientToServer
	}
	s := c.streams[id]
	if s == nil {
		return
	}
	m := &s.msg[side]
	if !decoded {
		if !m.started {
			m.headersLost, m.started, m.start, m.done = true, true, b.start, at
		}
	} else if !c.applyBlock(dir, h, b, s, m, at) {
		return // an interim response
	}
	switch {
	case b.typ == FramePushPromise: // a promised request has no content (RFC 9113, 8.4)
		c.endMessage(tcpstate.ClientToServer, s, at)
	case b.endStream:
		c.endMessage(dir, s, at)
	}
}

// applyBlock applies decoded header fields to m, the message of s they
// belong to, and reports false for an interim response.
func (c *H2Conn) applyBlock(dir tcpstate.Dir, h *h2half, b h2block, s *h2stream, m *h2msg, at tcpstate.Position) bool {
	side := tcpstate.Dir(0)
	if m == &s.msg[1] {
		side = tcpstate.ServerToClient
	}
	trailers := m.started
	if err := checkFields(h.fields, side, trailers); err != nil {
		c.malformed(dir, h, at, FrameHeader{Type: b.typ, StreamID: b.stream}, fmt.Errorf("http2: header block of stream %d: %w", b.stream, err), true)
	}
	if !trailers {
		var status int
		for _, hf := range h.fields {
			if hf.name == ":status" {
				status, _ = strconv.Atoi(hf.value)
			}
		}
		if side == tcpstate.ServerToClient && status >= 100 && status < 200 {
			c.interim(s, status, b.start, at)
			return false
		}
		m.started, m.start, m.done, m.status = true, b.start, at, status
		for _, hf := range h.fields {
			m.header(hf)
		}
		if side == tcpstate.ServerToClient && m.status >= 400 {
			c.errorStatus(s, at)
		}
	}
	return true
}

// header records a field of a message's first header section.
func (m *h2msg) header(hf hfield) {
	switch hf.name {
	case ":method":
		m.method = hf.value
	case ":path":
		m.path = hf.value
	case ":authority":
		m.authority = hf.value
	case ":scheme":
		m.scheme = hf.value
	case "host":
		if m.authority == "" {
			m.authority = hf.value
		}
	case "content-type":
		m.contentType = hf.value
	case "content-encoding":
		m.setEncoding(hf.value)
	case "content-length":
		if n, err := strconv.ParseInt(hf.value, 10, 64); err == nil && n >= 0 {
			m.contentLen = n
		}
	}
}

// checkFields checks a decoded header section against RFC 9113, 8.2 and
// 8.3: lower-case names, no connection-specific fields, pseudo-header
// fields first, known, in the right message and not in trailers, and the
// ones a request or a response needs.
func checkFields(fields []hfield, side tcpstate.Dir, trailers bool) error {
	regular := false
	seen := map[string]bool{}
	for _, hf := range fields {
		if strings.ToLower(hf.name) != hf.name {
			return fmt.Errorf("field name %q has upper-case letters (RFC 9113, 8.2.1)", clip([]byte(hf.name)))
		}
		if strings.HasPrefix(hf.name, ":") {
			ok := side == tcpstate.ServerToClient && hf.name == ":status" ||
				side == tcpstate.ClientToServer && slices.Contains([]string{":method", ":path", ":authority", ":scheme", ":protocol"}, hf.name)
			switch {
			case trailers:
				return fmt.Errorf("pseudo-header field %s in trailers (RFC 9113, 8.1)", hf.name)
			case regular:
				return fmt.Errorf("pseudo-header field %s after a regular field (RFC 9113, 8.3)", hf.name)
			case !ok:
				return fmt.Errorf("pseudo-header field %q not defined for a %s (RFC 9113, 8.3)", clip([]byte(hf.name)), map[bool]string{true: "response", false: "request"}[side == tcpstate.ServerToClient])
			case seen[hf.name]:
				return fmt.Errorf("pseudo-header field %s twice (RFC 9113, 8.3)", hf.name)
			}
			seen[hf.name] = true
			continue
		}
		regular = true
		switch hf.name {
		case "connection", "proxy-connection", "keep-alive", "transfer-encoding", "upgrade":
			return fmt.Errorf("connection-specific field %q (RFC 9113, 8.2.2)", hf.name)
		case "te":
			if hf.value != "trailers" {
				return fmt.Errorf("te: %q, where only \"trailers\" is allowed (RFC 9113, 8.2.2)", clip([]byte(hf.value)))
			}
		}
	}
	switch {
	case trailers:
	case side == tcpstate.ServerToClient && !seen[":status"]:
		return errors.New("response without :status (RFC 9113, 8.3.2)")
	case side == tcpstate.ClientToServer && !seen[":method"]:
		return errors.New("request without :method (RFC 9113, 8.3.1)")
	}
	return nil
}

// interim reports a 1xx response (RFC 9110, 15.2): the final one follows
// on the same stream.
func (c *H2Conn) interim(s *h2stream, status int, start, at tcpstate.Position) {
	if !c.want {
		return
	}
	f := map[string]any{"status": status, "interim": true, "version": "HTTP/2", "stream": s.id}
	c.requestFields(f, s, start)
	if at.Frame != start.Frame {
		f["first_frame"] = start.Frame
	}
	c.ctx.Reporter.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "http", Fields: f})
}

// requestFields adds to a response's record the request it answers and
// the time from the request's header block to the response's.
func (c *H2Conn) requestFields(f map[string]any, s *h2stream, start tcpstate.Position) {
	q := &s.msg[0]
	if q.method == "" {
		return
	}
	f["method"], f["uri"] = q.method, q.path
	if !q.done.Time.IsZero() && !start.Time.IsZero() {
		f["response_ms"] = float64(start.Time.Sub(q.done.Time).Microseconds()) / 1000
	}
}

// errorStatus reports a 4xx/5xx response (http.error_status).
func (c *H2Conn) errorStatus(s *h2stream, at tcpstate.Position) {
	st := s.msg[1].status
	what := "the request on stream " + strconv.FormatUint(uint64(s.id), 10)
	if r := s.request(); r != "" {
		what = r + " (stream " + strconv.FormatUint(uint64(s.id), 10) + ")"
	}
	sev := health.Notice
	if st >= 500 {
		sev = health.Warning
	}
	c.event(health.HTTPErrorStatus, sev, s.msg[1].start, fmt.Sprintf("%s was answered %d", what, st),
		map[string]any{"status": st, "request": s.request(), "stream": s.id})
}

// dataStart checks a DATA frame's stream: a frame on a stream the sender
// had ended is provably invalid (STREAM_CLOSED, RFC 9113, 5.1); frames on
// a stream reset or dropped are expected and ignored.
func (c *H2Conn) dataStart(dir tcpstate.Dir, h *h2half, at tcpstate.Position) {
	id := h.fh.StreamID
	s := c.streams[id]
	if s == nil {
		if r, ok := c.recentStream(id); ok && r.ended[dir&1] {
			c.malformed(dir, h, at, h.fh, perr2.Malformf("DATA frame", "on stream %d, which the %s had ended (STREAM_CLOSED, RFC 9113, 5.1)", id, dir), true)
		}
		return
	}
	if m := &s.msg[dir&1]; m.ended {
		c.malformed(dir, h, at, h.fh, perr2.Malformf("DATA frame", "on stream %d after END_STREAM (STREAM_CLOSED, RFC 9113, 5.1)", id), true)
	}
}

// streamData hands DATA bytes to their stream's body.
func (c *H2Conn) streamData(dir tcpstate.Dir, h *h2half, p []byte, at tcpstate.Position) {
	s := c.streams[h.fh.StreamID]
	if s == nil || len(p) == 0 {
		return
	}
	m := &s.msg[dir&1]
	if m.ended {
		return
	}
	before := m.buffered()
	ident := m.add(p, at.Frame, c.lim.MaxCompressedBytes)
	if d := m.buffered() - before; d > 0 {
		if c.buffered+d > c.lim.MaxH2BufferedBytes {
			c.buffered -= before
			m.dropComp()
		} else {
			c.buffered += d
		}
	} else if m.compOver {
		c.buffered -= before
	}
	if !ident {
		return
	}
	if c.onBody != nil && !m.decoded() {
		c.onBody(c.ctx, c.bodyPiece(s, dir, p, at.Frame))
	}
	if c.want && dir == tcpstate.ServerToClient {
		if m.hash == nil {
			m.hash = sha256.New()
		}
		m.hash.Write(p)
	}
}

// streamMiss counts n DATA bytes of the current frame's stream that the
// capture does not hold.
func (c *H2Conn) streamMiss(dir tcpstate.Dir, h *h2half, n int64) {
	if s := c.streams[h.fh.StreamID]; s != nil && n > 0 {
		s.msg[dir&1].miss(n)
	}
}

// bodyPiece describes p, a piece of a stream's decoded body, for
// Config.Body.
func (c *H2Conn) bodyPiece(s *h2stream, dir tcpstate.Dir, p []byte, frame int64) Body {
	m := &s.msg[dir&1]
	return Body{Response: dir == tcpstate.ServerToClient, Request: s.request(), Status: m.status, Encoding: m.encoding, Frame: frame, Data: p}
}

// dataEnd finishes a DATA frame: its record, and the end of its stream's
// message when it carries END_STREAM.
func (c *H2Conn) dataEnd(dir tcpstate.Dir, h *h2half, at tcpstate.Position) {
	h.st = hsHeader
	fh := h.fh
	if c.want {
		f := c.frameFields(dir, h, fh)
		if fh.Flags.Has(FlagPadded) {
			f["padding"] = int(h.pad)
		}
		c.record(at, f)
	}
	if !fh.Flags.Has(FlagEndStream) {
		return
	}
	if s := c.streams[fh.StreamID]; s != nil && !s.msg[dir&1].ended {
		c.endMessage(dir, s, at)
	}
}

// endMessage ends the message of dir on s (END_STREAM): a request's
// record, or a response's with its body decoded; a stream both sides
// ended is closed.
func (c *H2Conn) endMessage(dir tcpstate.Dir, s *h2stream, at tcpstate.Position) {
	m := &s.msg[dir&1]
	m.ended = true
	if m.missing > 0 && m.cut == "" {
		m.cut = "capture"
		what := c.describe(s)
		if dir == tcpstate.ClientToServer {
			what = "request on " + what
		}
		msg := fmt.Sprintf("%s: the capture holds %d of the %d body bytes (%d were not captured)", what, m.seen(), m.bodyWire, m.missing)
		if m.decoded() {
			msg += "; the " + m.encoding + " body was not decoded"
		}
		ev := map[string]any{"message": what, "received": m.seen(), "declared": m.bodyWire, "cause": "capture", "stream": s.id}
		c.event(health.HTTPBodyTruncated, health.Notice, at, msg+": incomplete in the capture, not shown to be cut by the sender", ev)
	}
	if dir == tcpstate.ServerToClient && m.started && !m.headersLost {
		if m.contentLen >= 0 && !m.gap && m.bodyWire != m.contentLen && s.msg[0].method != "HEAD" && m.status != 304 && m.status != 204 {
			c.lengthMismatch(s, at)
		}
	}
	c.report(dir, s, at)
	if s.closed() {
		c.forget(s)
	}
}

// lengthMismatch reports a response whose DATA disagrees with its
// content-length (RFC 9113, 8.1.1: malformed): fewer bytes is a body cut
// short by the sender (http.body_truncated), more is malformed.
func (c *H2Conn) lengthMismatch(s *h2stream, at tcpstate.Position) {
	m := &s.msg[1]
	what := c.describe(s)
	if m.bodyWire < m.contentLen {
		m.gap, m.cut = true, "sender"
		sev := health.Notice
		if c.half[1].proven {
			sev = health.Warning
		}
		c.event(health.HTTPBodyTruncated, sev, at,
			fmt.Sprintf("%s: body has %d of the %d bytes its content-length declared, and the server ended the stream", what, m.bodyWire, m.contentLen),
			map[string]any{"message": what, "received": m.bodyWire, "declared": m.contentLen, "cause": "sender", "stream": s.id})
		return
	}
	c.malformed(tcpstate.ServerToClient, &c.half[1], at, FrameHeader{Type: FrameData, StreamID: s.id},
		fmt.Errorf("http2: %s: body of %d bytes exceeds its content-length %d (RFC 9113, 8.1.1)", what, m.bodyWire, m.contentLen), true)
}

// describe names a stream's exchange for events.
func (c *H2Conn) describe(s *h2stream) string {
	what := "stream " + strconv.FormatUint(uint64(s.id), 10)
	if r := s.request(); r != "" {
		what += " (" + r + ")"
	}
	if st := s.msg[1].status; st != 0 {
		what = fmt.Sprintf("response %d on %s", st, what)
	}
	return what
}

// report emits the "http" record of the message of dir on s, once: a
// request, or a final response with its body decoded (events for a body
// that does not decode or is over a cap). Messages whose header block was
// not decoded give no record.
func (c *H2Conn) report(dir tcpstate.Dir, s *h2stream, at tcpstate.Position) {
	m := &s.msg[dir&1]
	if m.reported || !m.started || m.headersLost {
		c.buffered -= m.buffered()
		m.release()
		m.reported = true
		return
	}
	m.reported = true
	if dir == tcpstate.ClientToServer {
		if c.onBody != nil && m.bodyWire > 0 {
			c.finalPiece(s, dir, at, m.gap)
		}
		if c.want {
			f := map[string]any{"method": m.method, "uri": m.path, "version": "HTTP/2", "stream": s.id}
			if m.authority != "" {
				f["host"] = m.authority
			}
			c.msgFields(f, m)
			if m.bodyWire > 0 {
				f["body_bytes"] = m.bodyWire
			}
			if m.cut != "" {
				f["incomplete"], f["body_seen_bytes"] = m.cut, m.seen()
				if m.contentLen >= 0 {
					f["body_announced_bytes"] = m.contentLen
				}
			}
			c.message(at, m.start, f)
		}
		c.buffered -= m.buffered()
		m.release()
		return
	}
	c.answered++
	var sink func([]byte)
	if c.onBody != nil {
		sink = func(b []byte) { c.onBody(c.ctx, c.bodyPiece(s, dir, b, at.Frame)) }
	}
	res := m.result(c.lim, !c.want, sink, m.hash)
	c.buffered -= m.buffered()
	m.release()
	bodyEvents(c.ctx, &m.bodyAcc, res, c.describe(s), s.request(), m.start, c.lim)
	if c.onBody != nil && m.bodyWire > 0 {
		c.finalPiece(s, dir, at, m.failed(res))
	}
	if c.want {
		f := map[string]any{"status": m.status, "version": "HTTP/2", "stream": s.id}
		c.requestFields(f, s, m.start)
		c.msgFields(f, m)
		bodyFields(f, &m.bodyAcc, res, m.cut, m.contentLen)
		c.message(at, m.start, f)
	}
}

// msgFields adds content_type and content_length.
func (c *H2Conn) msgFields(f map[string]any, m *h2msg) {
	if m.contentType != "" {
		f["content_type"] = m.contentType
	}
	if m.contentLen >= 0 {
		f["content_length"] = m.contentLen
	}
}

// message emits an "http" record at the frame completing the message.
func (c *H2Conn) message(at, start tcpstate.Position, f map[string]any) {
	if at.Frame != start.Frame && start.Frame != 0 {
		f["first_frame"] = start.Frame
	}
	c.ctx.Reporter.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "http", Fields: f})
}

// finalPiece tells Config.Body that a body ended.
func (c *H2Conn) finalPiece(s *h2stream, dir tcpstate.Dir, at tcpstate.Position, failed bool) {
	b := c.bodyPiece(s, dir, nil, at.Frame)
	b.Final, b.Failed = true, failed
	c.onBody(c.ctx, b)
}

// rstStream handles RST_STREAM (RFC 9113, 6.4): http2.stream_reset, and a
// message in progress on the stream is incomplete ("reset").
func (c *H2Conn) rstStream(dir tcpstate.Dir, f *Frame, at tcpstate.Position) {
	id := f.StreamID
	ev := map[string]any{"stream": id, "error_code": uint32(f.ErrCode), "error": f.ErrCode.String(), "from": dir.String()}
	sev := health.Warning
	switch f.ErrCode {
	case ErrCodeNo:
		sev = health.Info
	case ErrCodeCancel, ErrCodeRefusedStream:
		sev = health.Notice
	}
	var state string
	s := c.streams[id]
	switch {
	case s == nil:
		r, ok := c.recentStream(id)
		if !ok {
			state = "on a stream nettrace does not track"
			break
		}
		ev["request"] = r.request
		if r.status != 0 {
			ev["status"] = r.status
		}
		if r.complete {
			state, sev = "after the exchange was complete", health.Info
		} else {
			state = "on a stream already reset"
		}
	case s.refused:
		ev["request"] = s.request()
		state, sev = "on a stream the server's GOAWAY had left unprocessed", health.Info
	default:
		ev["request"] = s.request()
		resp := &s.msg[1]
		switch {
		case resp.ended:
			state = "after the response"
			if s.msg[0].ended {
				sev = health.Info
			}
		case resp.started:
			state = fmt.Sprintf("inside the response body (%d bytes received)", resp.bodyWire)
			ev["status"] = resp.status
		case s.msg[0].ended:
			state = "before the response"
		default:
			state = "while the request was being sent"
		}
	}
	ev["state"] = state
	req := ""
	if r, _ := ev["request"].(string); r != "" {
		req = " (" + r + ")"
	}
	c.event(health.HTTP2StreamReset, sev, at, fmt.Sprintf("the %s reset stream %d%s with %s, %s", dir, id, req, f.ErrCode, state), ev)
	if s == nil {
		return
	}
	for d := range s.msg {
		if m := &s.msg[d]; m.started && !m.ended {
			m.gap, m.cut = true, "reset"
			c.report(tcpstate.Dir(d), s, at)
		}
	}
	c.forget(s) // remembers which sides had ended it: frames in flight from the other are expected
}

// goAway handles GOAWAY (RFC 9113, 6.8): http2.goaway, naming the streams
// the receiver opened above last_stream_id (not processed; safe to retry).
func (c *H2Conn) goAway(dir tcpstate.Dir, f *Frame, at tcpstate.Position) {
	c.goaway[dir&1], c.lastID[dir&1] = true, f.LastStreamID
	var unprocessed []uint32
	for id, s := range c.streams {
		if (id%2 == 1) == (dir == tcpstate.ServerToClient) && id > f.LastStreamID {
			unprocessed = append(unprocessed, id)
			s.refused = true
		}
	}
	slices.Sort(unprocessed)
	sev := health.Warning
	if f.ErrCode == ErrCodeNo {
		sev = health.Info
	}
	ev := map[string]any{"error_code": uint32(f.ErrCode), "error": f.ErrCode.String(), "last_stream_id": f.LastStreamID, "from": dir.String()}
	msg := fmt.Sprintf("the %s sent GOAWAY with %s, last stream %d", dir, f.ErrCode, f.LastStreamID)
	if len(f.Debug) > 0 {
		ev["debug"] = printable(f.Debug)
		msg += fmt.Sprintf(" (%q)", ev["debug"])
	}
	if len(unprocessed) > 0 {
		ev["unprocessed"] = unprocessed
		msg += fmt.Sprintf("; streams %v were not processed (safe to retry)", unprocessed)
	}
	c.event(health.HTTP2GoAway, sev, at, msg, ev)
}

// printable returns b as text for an event, at most 64 bytes, with bytes
// outside printable ASCII as '.'.
func printable(b []byte) string {
	b = b[:min(len(b), 64)]
	out := make([]byte, len(b))
	for i, x := range b {
		if x < 0x20 || x > 0x7e {
			x = '.'
		}
		out[i] = x
	}
	return string(out)
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
