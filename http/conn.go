package http

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// state is where a direction's parser is.
type state uint8

const (
	stStart      state = iota // expecting a start line
	stHeaders                 // reading header fields
	stBodyLength              // Content-Length body
	stChunkSize               // chunk-size line
	stChunkData               // chunk data
	stChunkCRLF               // CRLF after chunk data
	stTrailers                // trailer fields after the last chunk
	stBodyClose               // body delimited by the end of the connection
	stTunnel                  // CONNECT / 101, or closed: bytes are not HTTP
	stResync                  // hunting for a message start (resync.go)
	stIgnore                  // given up: bytes are counted, not decoded
	stHTTP2                   // HTTP/2 (h2c): bytes go to Conn.h2
)

// request is a request awaiting its response.
type request struct {
	method, uri, host string
	h2Settings        string            // HTTP2-Settings of an Upgrade: h2c request
	h2c               bool              // the request asked for an Upgrade to h2c
	at                tcpstate.Position // frame of the request line
	done              tcpstate.Position // frame that completed the request
}

// message is the message being parsed in one direction.
type message struct {
	req        RequestLine
	resp       StatusLine
	isResp     bool
	start      tcpstate.Position
	contentLen int64 // -1 when absent
	chunked    bool
	teOther    bool
	bodyAcc
	contentType string
	host        string
	upgrade     string // the Upgrade field's value
	expect      string // the Expect field's value
	h2Settings  string // the HTTP2-Settings field's value (RFC 7540, 3.2.1)
	headers     int
	headerSize  int
	remaining   int64
	reported    bool   // the incompleteness was reported already
	cut         string // why the body is incomplete: "capture", "connection" or "malformed"
	headCut     bool   // a gap cut the header block
	anchored    bool   // the start line came right where a message was due
	unsure      bool   // found after bytes lost where a message could start
	matched     request
	hasReq      bool
}

type half struct {
	st   state
	lb   lineBuf
	msg  message
	hash hash.Hash
	err  int // malformed events emitted
	hunt hunt
	// resyncs counts the hunts that skipped bytes (decode.resync).
	resyncs int
	// first is set until the direction's first message starts: its first
	// bytes may be a message start, or the middle of one when the capture
	// started mid-connection.
	first bool
	// proven is set while the direction is framed from a known boundary:
	// its last message started where one was due, was framed for sure and
	// came whole, and nothing was lost since. Only then are bytes that are
	// not HTTP provably the peer's (http.malformed at Warning).
	proven bool
	// toH2 is set when the connection switched to HTTP/2 while this
	// direction was inside a message: HTTP/2 follows its end.
	toH2 bool
}

// Conn decodes one HTTP/1.x connection. It implements
// tcpstate.StreamHandler and tcpstate.Finisher.
type Conn struct {
	ctx     *tcpstate.StreamContext
	lim     Limits
	half    [2]half
	pending []request
	want    bool
	onBody  func(ctx *tcpstate.StreamContext, b Body)
	// notHTTP is why a direction whose start the capture holds was given
	// up; the other direction's first bytes need no more evidence.
	notHTTP string
	// unpaired is set once either direction lost or skipped bytes:
	// responses may no longer pair with the right requests.
	unpaired bool
	// answered counts final responses.
	answered int
	// h2 decodes the connection once it switched to HTTP/2 (h2c, by an
	// Upgrade or with prior knowledge; http2_switch.go).
	h2  *H2Conn
	cfg Config
}

// NewConn returns a Conn reporting to ctx.Reporter.
func NewConn(ctx *tcpstate.StreamContext, cfg Config) *Conn {
	if ctx.Reporter == nil {
		ctx.Reporter = health.Discard
	}
	c := &Conn{ctx: ctx, lim: cfg.Limits.withDefaults(), want: ctx.Reporter.WantMessages(), onBody: cfg.Body, cfg: cfg}
	c.half[0].first, c.half[1].first = true, true
	return c
}

// Feed consumes bytes of one direction.
func (c *Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	h := &c.half[dir&1]
	for len(data) > 0 {
		switch h.st {
		case stTunnel:
			return
		case stHTTP2:
			c.h2.Feed(dir, data, at)
			return
		case stIgnore:
			h.hunt.skipped += int64(len(data))
			return
		case stStart:
			data = c.startBytes(dir, h, data, at)
		case stResync:
			data = c.huntBytes(dir, h, data, at)
		case stHeaders, stChunkSize, stTrailers, stChunkCRLF:
			data = c.lineBytes(dir, h, data, at)
		case stBodyLength, stChunkData:
			data = c.bodyBytes(dir, h, data, at)
		case stBodyClose:
			c.body(h, data, at)
			return
		}
	}
}

// nextLine returns the bytes of data up to its first LF (all of data when
// there is none) and the bytes after the LF (nil when there is none).
func nextLine(data []byte) (chunk, rest []byte) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return data, nil
	}
	return data[:i], data[i+1:]
}

// startBytes takes bytes where a start line is due (RFC 9112, 2.1): empty
// lines before it are skipped (RFC 9112, 2.2), bytes glued before it are
// skipped with decode.resync, and a line that holds no start line is
// judged by noStart. It returns the bytes after the line.
func (c *Conn) startBytes(dir tcpstate.Dir, h *half, data []byte, at tcpstate.Position) []byte {
	limit := c.lim.MaxLineBytes
	chunk, rest := nextLine(data)
	if h.lb.n+int64(len(chunk)) > int64(limit) {
		// No start line is this long: hunt in its tail. The hunt (or the
		// count of a given-up direction) takes the bytes from here. The
		// line's first bytes are judged the same whether they came in one
		// piece or several.
		head := h.lb.b
		if h.lb.n == int64(len(h.lb.b)) && len(h.lb.b) < limit {
			head = append(h.lb.b[:len(h.lb.b):len(h.lb.b)], chunk[:min(len(chunk), limit-len(h.lb.b))]...)
		}
		c.noStart(dir, h, head, h.lb.start(at), at, fmt.Errorf("http: no line end within %d bytes where a start line was due", limit), false)
		if h.st == stIgnore {
			h.hunt.skipped += int64(len(data))
			return nil
		}
		return data
	}
	if len(chunk) == len(data) { // no LF yet
		h.lb.add(chunk, at, limit)
		return nil
	}
	raw := h.lb.take(chunk, at, limit)
	line := bytes.TrimSuffix(raw, crlf[:1])
	if len(line) == 0 {
		h.lb.reset()
		return rest // keep-alive CRLF between messages (RFC 9112, 2.2)
	}
	if dir == tcpstate.ClientToServer && string(raw) == ClientPreface[:len("PRI * HTTP/2.0\r")] {
		if q, ok := c.askedH2c(); ok {
			// The server's 101 was not captured (a one-sided capture, a
			// gap): the client's preface shows the Upgrade was accepted.
			h.lb.reset()
			c.upgradeSeen(q, at)
			return rest
		}
		if h.first {
			h.lb.reset()
			c.priorKnowledge(at)
			return rest
		}
	}
	off, ok := findStart(dir, line, true)
	if !ok {
		from, n := h.lb.pos(0), h.lb.n+1
		h.lb.reset() // line stays valid: nothing is appended before noStart returns
		c.noStart(dir, h, line, from, at, c.startErr(dir, line), true)
		h.hunt.skipped, h.hunt.junk = h.hunt.skipped+n, true
		return rest
	}
	pos := h.lb.pos(off)
	if off > 0 {
		reason := "stray bytes between messages"
		switch {
		case h.first && c.ctx.RTT == 0:
			reason = "mid-stream"
		case h.first:
			reason = "stray bytes before the first message"
		}
		c.startHunt(dir, h, h.lb.pos(0), reason)
		h.hunt.skipped, h.hunt.junk = int64(off), true
		c.resynced(dir, h, pos)
	}
	c.begin(dir, h, line[off:], pos, off == 0)
	h.lb.reset()
	return rest
}

// startErr says why line is not a start line of dir.
func (c *Conn) startErr(dir tcpstate.Dir, line []byte) error {
	var err error
	if dir == tcpstate.ServerToClient {
		_, err = ParseStatusLine(line)
	} else {
		_, err = ParseRequestLine(line)
	}
	if err == nil {
		err = fmt.Errorf("http: %q is not a start line", clip(line))
	}
	return err
}

// noStart handles a line (or a run of bytes too long for one) that holds
// no start line where one was due, starting at from:
//   - the direction's first bytes, when the capture holds the connection's
//     start (its handshake RTT is known) or the other direction was found
//     not to be HTTP: not HTTP/1.x, the direction is given up;
//   - the direction's first bytes otherwise: the capture may have started
//     inside a message, hunt;
//   - after a message: http.malformed (Warning when the direction is
//     proven and the bytes are invalid, not merely over a limit), hunt.
func (c *Conn) noStart(dir tcpstate.Dir, h *half, line []byte, from, at tcpstate.Position, err error, invalid bool) {
	switch {
	case h.first && bytes.HasPrefix(line, h2Preface):
		c.notHTTP = "not HTTP/1.x (HTTP/2 connection preface)"
		c.giveUp(h, from, c.notHTTP)
	case h.first && c.notHTTP != "":
		c.giveUp(h, from, c.notHTTP)
	case h.first && c.ctx.RTT > 0:
		c.notHTTP = "not HTTP/1.x"
		c.giveUp(h, from, c.notHTTP)
	case h.first:
		c.startHunt(dir, h, from, "mid-stream")
	default:
		c.malformed(dir, at, err, invalid)
		c.startHunt(dir, h, from, "after unparseable bytes")
	}
}

// begin starts a message at line, a start line of dir at pos. anchored is
// set when the line came right where a message was due.
func (c *Conn) begin(dir tcpstate.Dir, h *half, line []byte, pos tcpstate.Position, anchored bool) {
	h.msg.release()
	h.msg = message{start: pos, contentLen: -1, anchored: anchored && (h.proven || h.first)}
	h.first = false
	var err error
	if dir == tcpstate.ServerToClient {
		h.msg.isResp = true
		h.msg.resp, err = ParseStatusLine(line)
	} else {
		h.msg.req, err = ParseRequestLine(line)
	}
	if err != nil { // findStart accepted only lines that parse
		c.malformed(dir, pos, err, false)
		c.startHunt(dir, h, pos, "after unparseable bytes")
		return
	}
	h.st = stHeaders
}

// lineBytes takes bytes of a line-based part of a message (header and
// trailer fields, chunk-size line, CRLF after chunk data; RFC 9112, 5 and
// 7.1) and parses the line once its LF has come. It returns the bytes
// after the line. A line longer than MaxLineBytes is malformed (a limit,
// not proof) and the direction resynchronises.
func (c *Conn) lineBytes(dir tcpstate.Dir, h *half, data []byte, at tcpstate.Position) []byte {
	limit := c.lim.MaxLineBytes
	chunk, rest := nextLine(data)
	if h.lb.n+int64(len(chunk)) > int64(limit) {
		c.malformed(dir, at, fmt.Errorf("http: line longer than %d bytes", limit), false)
		c.abandon(dir, h, at)
		// The hunt goes on with the partial line, so that its tail window
		// does not depend on where the stream was split.
		c.startHunt(dir, h, h.lb.start(at), "after unparseable bytes")
		h.hunt.junk = true
		return data
	}
	if len(chunk) == len(data) { // no LF yet
		h.lb.add(chunk, at, limit)
		return nil
	}
	line := bytes.TrimSuffix(h.lb.take(chunk, at, limit), crlf[:1])
	from, n := h.lb.pos(0), h.lb.n+1
	ok := c.line(dir, h, line, at) // line may alias h.lb: reset after
	h.lb.reset()
	if !ok {
		c.startHunt(dir, h, from, "after unparseable bytes")
		h.hunt.skipped, h.hunt.junk = n, true
	}
	return rest
}

// bodyBytes takes bytes of a Content-Length body or of chunk data (RFC
// 9112, 6.2 and 7.1) up to the end of that part and returns the rest.
func (c *Conn) bodyBytes(dir tcpstate.Dir, h *half, data []byte, at tcpstate.Position) []byte {
	n := min(int64(len(data)), h.msg.remaining)
	c.body(h, data[:n], at)
	h.msg.remaining -= n
	c.partDone(dir, h, at)
	return data[n:]
}

// partDone moves on once a Content-Length body or a chunk's data has no
// bytes remaining: to the CRLF after the chunk, or to the end of the
// message.
func (c *Conn) partDone(dir tcpstate.Dir, h *half, at tcpstate.Position) {
	if h.msg.remaining != 0 {
		return
	}
	if h.st == stChunkData {
		h.st = stChunkCRLF
	} else {
		c.finish(dir, h, at)
	}
}

// Gap marks n bytes of dir that the capture does not hold. Inside a
// Content-Length, chunk or close-delimited body that goes on after them the
// framing survives and the body is incomplete in the capture; otherwise the
// message in progress is incomplete and the direction hunts for the next
// message start.
func (c *Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	h := &c.half[dir&1]
	if n <= 0 {
		return
	}
	if h.st == stHTTP2 {
		c.h2.Gap(dir, n, at)
		return
	}
	m := &h.msg
	partial := int64(0) // the start of a line where a start line was due, cut by the gap
	if h.st == stStart {
		partial = h.lb.n
	}
	// chunked is set when the gap ends inside a chunked body: the rest of
	// the body comes first (see hunt.chunkTail).
	chunked := h.st == stChunkData && int64(n) > m.remaining || h.st == stChunkSize || h.st == stChunkCRLF
	switch h.st {
	case stTunnel, stIgnore:
		return
	case stResync:
		h.hunt.skipped += h.lb.n
		h.hunt.junk = h.hunt.junk || h.lb.n > 0
		h.hunt.lines, h.hunt.lostStart = 0, true
		h.lb.reset()
		return
	case stBodyLength, stChunkData:
		if int64(n) <= m.remaining {
			c.missed(h, int64(n))
			m.remaining -= int64(n)
			c.partDone(dir, h, at)
			return
		}
		c.missed(h, m.remaining)
		m.remaining = 0
		c.incomplete(dir, h, at, fmt.Sprintf("%d bytes were not captured", n))
	case stBodyClose:
		c.missed(h, int64(n))
		return
	case stChunkSize, stChunkCRLF, stTrailers:
		c.incomplete(dir, h, at, fmt.Sprintf("%d bytes were not captured", n))
	case stHeaders:
		if !m.isResp && !m.hasReq {
			// The request line is known: keep its place in the pipeline.
			c.addRequest(m, at)
		}
		if m.isResp {
			c.headersCut(dir, h, at, n)
		}
	}
	h.lb.reset()
	c.startHunt(dir, h, at, fmt.Sprintf("after a gap of %d bytes", n))
	h.hunt.skipped, h.hunt.junk = partial, partial > 0
	h.hunt.chunkTail, h.hunt.lostStart = chunked, true
}

// missed counts n body bytes of h's message that the capture does not
// hold.
func (c *Conn) missed(h *half, n int64) {
	h.msg.missing += n
	h.msg.bodyWire += n
	h.msg.gap = true
	h.proven = false
	c.unpaired = true
}

// Close ends the connection: a close-delimited body completes, a body cut
// short is incomplete (in the capture, or truncated by the connection's
// end), and a direction given up or still hunting is decode.gave_up.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	ended := reason == tcpstate.CloseFIN || reason == tcpstate.CloseRST
	for d := range c.half {
		h := &c.half[d]
		dir := tcpstate.Dir(d)
		switch h.st {
		case stHTTP2:
			continue
		case stBodyClose:
			if !ended {
				h.msg.gap = true
				c.incompleteEvent(dir, h, at, fmt.Sprintf("the capture stopped following the connection (%s) before it closed", reason))
			}
			c.finish(dir, h, at)
		case stBodyLength, stChunkData, stChunkSize, stChunkCRLF:
			if ended && !h.msg.gap {
				c.truncated(dir, h, at, fmt.Sprintf("the connection ended (%s) inside the body", reason))
			} else {
				c.incomplete(dir, h, at, fmt.Sprintf("the capture stopped following the connection (%s) inside the body", reason))
			}
		case stTrailers:
			c.finish(dir, h, at) // the body came whole; its trailer section did not
		case stHeaders:
			if ended {
				c.malformed(dir, at, fmt.Errorf("http: the connection ended (%s) inside a header block", reason), h.proven)
			} else {
				c.malformed(dir, at, fmt.Errorf("http: the capture stopped following the connection (%s) inside a header block", reason), false)
			}
		case stStart:
			if h.first && h.lb.n > 0 && !couldStart(dir, h.lb.b) {
				// The first bytes never made a line, nor a start of one.
				c.noStart(dir, h, h.lb.b, h.lb.start(at), at, errors.New("http: the connection ended inside the first line"), true)
				c.gaveUp(dir, h)
			}
		case stResync, stIgnore:
			c.gaveUp(dir, h)
		}
		h.st = stTunnel
	}
	if c.h2 != nil {
		c.h2.Close(reason, at)
	}
}

// Finished reports, for tcpstate.Finisher, whether the HTTP exchange was
// complete: at least one response came, no request is waiting for its
// response and neither direction holds part of a message.
func (c *Conn) Finished() string {
	if c.h2 != nil {
		if c.half[0].st != stHTTP2 || c.half[1].st != stHTTP2 {
			return ""
		}
		return c.h2.Finished()
	}
	if c.answered == 0 || len(c.pending) > 0 {
		return ""
	}
	for d := range c.half {
		if h := &c.half[d]; h.st != stStart || h.lb.n > 0 {
			return ""
		}
	}
	return "the HTTP exchange was complete"
}

// truncated ends h's message, whose body the connection's end cut short
// with every byte of it captured: http.body_truncated, a Warning.
func (c *Conn) truncated(dir tcpstate.Dir, h *half, at tcpstate.Position, why string) {
	what := c.describe(h)
	ev := map[string]any{"message": what, "received": h.msg.bodyWire, "cause": "connection"}
	msg := fmt.Sprintf("%s: body has %d bytes", what, h.msg.bodyWire)
	if h.st == stBodyLength {
		ev["declared"] = h.msg.contentLen
		msg = fmt.Sprintf("%s: body has %d of the %d bytes its Content-Length declared", what, h.msg.bodyWire, h.msg.contentLen)
	} else {
		msg += " and its last chunk never came"
	}
	h.msg.gap, h.msg.reported, h.msg.cut = true, true, "connection"
	c.event(health.HTTPBodyTruncated, health.Warning, at, msg+"; "+why, ev)
	c.finish(dir, h, at)
}

// incomplete ends h's message, whose body the capture holds only part of
// (a gap, or the capture's end): a notice, not a claim about the sender.
func (c *Conn) incomplete(dir tcpstate.Dir, h *half, at tcpstate.Position, why string) {
	h.msg.gap = true
	c.incompleteEvent(dir, h, at, why)
	c.finish(dir, h, at)
}

// incompleteEvent reports, once per message, that the capture holds only
// part of h's body: http.body_truncated at Notice, with how many bytes of
// how many were captured.
func (c *Conn) incompleteEvent(dir tcpstate.Dir, h *half, at tcpstate.Position, why string) {
	m := &h.msg
	if m.reported {
		return
	}
	m.reported, m.cut = true, "capture"
	what := c.describe(h)
	got := m.bodyWire - m.missing
	ev := map[string]any{"message": what, "received": got, "cause": "capture"}
	var msg string
	switch {
	case m.contentLen >= 0 && !m.chunked:
		ev["declared"] = m.contentLen
		msg = fmt.Sprintf("%s: the capture holds %d of the %d body bytes its Content-Length declared", what, got, m.contentLen)
	case h.st == stBodyClose:
		msg = fmt.Sprintf("%s: the capture holds %d bytes of a body delimited by the connection's end", what, got)
	case h.st == stChunkData || h.st == stChunkSize || h.st == stChunkCRLF:
		msg = fmt.Sprintf("%s: the capture holds %d body bytes and not the last chunk", what, got)
	default:
		ev["declared"] = m.bodyWire
		msg = fmt.Sprintf("%s: the capture holds %d of the %d body bytes", what, got, m.bodyWire)
	}
	if m.coding == codingGzip || m.coding == codingDeflate {
		msg += "; the " + m.encoding + " body was not decoded"
	}
	c.event(health.HTTPBodyTruncated, health.Notice, at, msg+"; "+why+": incomplete in the capture, not shown to be cut by the sender", ev)
}

// abandon ends the message in progress of h when its framing breaks: a
// body in progress is incomplete (the malformed event says why).
func (c *Conn) abandon(dir tcpstate.Dir, h *half, at tcpstate.Position) {
	switch h.st {
	case stBodyLength, stChunkData, stChunkSize, stChunkCRLF, stTrailers:
		h.msg.gap, h.msg.reported = true, true
		if h.st != stTrailers {
			h.msg.cut = "malformed"
		}
		c.finish(dir, h, at)
	}
}

func (c *Conn) describe(h *half) string {
	if h.msg.isResp {
		if h.msg.hasReq {
			return fmt.Sprintf("response %d to %s %s", h.msg.resp.Status, h.msg.matched.method, h.msg.matched.uri)
		}
		return fmt.Sprintf("response %d", h.msg.resp.Status)
	}
	return fmt.Sprintf("request %s %s", h.msg.req.Method, h.msg.req.URI)
}

func (c *Conn) event(k health.Kind, sev health.Severity, at tcpstate.Position, msg string, ev map[string]any) {
	c.ctx.Event(health.Event{Kind: k, Severity: sev, Time: at.Time, Frame: at.Frame, Message: msg, Evidence: ev})
}

// malformed reports HTTP the decoder could not parse. It is a Warning only
// when invalid (the bytes break RFC 9112, as opposed to exceeding a limit)
// and the direction is proven (see half.proven): otherwise it says more
// about the capture or nettrace than about the peer (Notice).
func (c *Conn) malformed(dir tcpstate.Dir, at tcpstate.Position, err error, invalid bool) {
	h := &c.half[dir&1]
	h.err++
	if h.err > 8 {
		return // one direction of garbage is reported a few times, not per line
	}
	sev := health.DefaultSeverity(health.HTTPMalformed)
	if invalid && h.proven {
		sev = health.Warning
	}
	c.event(health.HTTPMalformed, sev, at, fmt.Sprintf("unparseable HTTP from the %s: %v", dir, err),
		map[string]any{"error": err.Error(), "from": dir.String()})
}

// line handles one header, chunk-size or trailer line. It reports false
// when the framing broke and the direction must resynchronise.
func (c *Conn) line(dir tcpstate.Dir, h *half, line []byte, at tcpstate.Position) bool {
	switch h.st {
	case stHeaders, stTrailers:
		if len(line) == 0 {
			if h.st == stTrailers {
				c.finish(dir, h, at)
			} else {
				c.headersDone(dir, h, at)
			}
			return true
		}
		h.msg.headers++
		h.msg.headerSize += len(line) + 2
		if h.msg.headers > c.lim.MaxHeaders || h.msg.headerSize > c.lim.MaxHeaderBytes {
			c.malformed(dir, at, fmt.Errorf("http: header block over %d fields or %d bytes", c.lim.MaxHeaders, c.lim.MaxHeaderBytes), false)
			c.abandon(dir, h, at)
			return false
		}
		if line[0] == ' ' || line[0] == '\t' {
			return true // obs-fold continuation (RFC 9112, 5.2): ignored
		}
		name, value, err := ParseHeaderField(line)
		if err != nil {
			c.malformed(dir, at, err, true)
			return true
		}
		if h.st == stHeaders {
			if err := c.header(&h.msg, name, value); err != nil {
				c.malformed(dir, at, err, true)
				return false
			}
		}
	case stChunkSize:
		n, err := ParseChunkSize(line)
		if err != nil {
			c.malformed(dir, at, err, true)
			c.abandon(dir, h, at)
			return false
		}
		if n == 0 {
			h.st = stTrailers
			return true
		}
		h.msg.remaining = n
		h.st = stChunkData
	case stChunkCRLF:
		if len(line) != 0 {
			c.malformed(dir, at, fmt.Errorf("http: %d bytes after chunk data instead of CRLF", len(line)), true)
			c.abandon(dir, h, at)
			return false
		}
		h.st = stChunkSize
	}
	return true
}

// header records the header fields that frame or describe the body.
func (c *Conn) header(m *message, name, value []byte) error {
	switch {
	case eqFold(name, "content-length"):
		n, ok := smallDecimal(value)
		var err error
		if !ok {
			n, err = strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
		}
		if err != nil || n < 0 {
			return fmt.Errorf("http: Content-Length %q is not a number", clip(value))
		}
		if m.contentLen >= 0 && m.contentLen != n {
			return fmt.Errorf("http: conflicting Content-Length %d and %d", m.contentLen, n)
		}
		m.contentLen = n
	case eqFold(name, "transfer-encoding"):
		if eqFold(value, "chunked") { // the common case, without splitting
			m.chunked, m.teOther = true, false
			break
		}
		codings := strings.Split(strings.ToLower(string(value)), ",")
		last := strings.TrimSpace(codings[len(codings)-1])
		m.chunked = last == "chunked"
		m.teOther = !m.chunked || len(codings) > 1
	case eqFold(name, "content-encoding"):
		m.setEncoding(string(value))
	case eqFold(name, "content-type"):
		m.contentType = string(value)
	case eqFold(name, "host"):
		m.host = string(value)
	case eqFold(name, "upgrade"):
		m.upgrade = string(value)
	case eqFold(name, "expect"):
		m.expect = string(value)
	case eqFold(name, "http2-settings"):
		m.h2Settings = string(value)
	}
	return nil
}

// smallDecimal parses b when it is 1 to 18 ASCII digits (so it cannot
// overflow); ok is false for anything else, which strconv then judges.
func smallDecimal(b []byte) (n int64, ok bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func eqFold(b []byte, s string) bool { return len(b) == len(s) && strings.EqualFold(string(b), s) }

// headersDone picks the body framing (RFC 9112, 6.3).
func (c *Conn) headersDone(dir tcpstate.Dir, h *half, at tcpstate.Position) {
	m := &h.msg
	if m.isResp {
		final := m.resp.Status >= 200 || m.resp.Status == 101
		if final && m.unsure && len(c.pending) > 1 {
			// Responses may have been lost with the bytes before this one:
			// which request it answers is unknown, and so is whether the
			// others waiting were answered.
			c.pending = c.pending[:0]
		}
		if final && len(c.pending) > 0 {
			m.matched, m.hasReq = c.pending[0], true
		}
		st := m.resp.Status
		if st >= 400 {
			c.errorStatus(m)
		}
		if st >= 100 && st < 200 {
			if st == 101 {
				c.popRequest()
				c.respond(h, at)
				if !c.upgradeH2(h, at) {
					c.tunnel()
				}
				return
			}
			c.interim(h, at)
			h.st = stStart // interim response: the final one follows
			h.proven = m.anchored && !m.gap
			m.anchored = false
			return
		}
		c.popRequest()
		switch {
		case m.matched.method == "HEAD" || st == 204 || st == 304:
			c.finish(dir, h, at)
			return
		case m.matched.method == "CONNECT" && st < 300:
			c.finish(dir, h, at)
			c.tunnel()
			return
		}
	}
	switch {
	case m.chunked:
		h.st = stChunkSize
	case m.teOther && m.isResp:
		h.st = stBodyClose
	case m.contentLen > 0:
		m.remaining = m.contentLen
		h.st = stBodyLength
	case m.contentLen == 0 || !m.isResp:
		c.finish(dir, h, at)
	default:
		h.st = stBodyClose
	}
	if !m.isResp && h.st != stStart {
		// The request is pending as soon as its headers are complete.
		c.addRequest(m, at)
	}
}

func (c *Conn) addRequest(m *message, at tcpstate.Position) {
	if len(c.pending) >= c.lim.MaxPending {
		c.pending = c.pending[1:]
	}
	c.pending = append(c.pending, request{method: m.req.Method, uri: m.req.URI, host: m.host, h2Settings: m.h2Settings,
		h2c: hasToken(m.upgrade, "h2c"), at: m.start, done: at})
	m.hasReq = true
}

func (c *Conn) popRequest() {
	if len(c.pending) > 0 {
		c.pending = c.pending[1:]
	}
}

func (c *Conn) tunnel() {
	c.half[0].st = stTunnel
	c.half[1].st = stTunnel
}

// body consumes de-chunked body bytes.
func (c *Conn) body(h *half, b []byte, at tcpstate.Position) {
	if len(b) == 0 {
		return
	}
	m := &h.msg
	if !m.add(b, at.Frame, c.lim.MaxCompressedBytes) {
		return // buffered for decoding at the end
	}
	if c.onBody != nil {
		c.onBody(c.ctx, c.bodyPiece(m, b, at.Frame))
	}
	if !c.ctx.Reporter.WantMessages() {
		return // the hash is only shown in decoded messages
	}
	if h.hash == nil {
		h.hash = sha256.New()
	}
	if m.bodyWire == int64(len(b)) {
		h.hash.Reset()
	}
	h.hash.Write(b)
}

// bodyPiece describes b, a piece of m's decoded body, for Config.Body.
func (c *Conn) bodyPiece(m *message, b []byte, frame int64) Body {
	bp := Body{Response: m.isResp, Encoding: m.encoding, Frame: frame, Data: b}
	switch {
	case m.isResp:
		bp.Status = m.resp.Status
		if m.hasReq {
			bp.Request = m.matched.method + " " + m.matched.uri
		}
	default:
		bp.Request = m.req.Method + " " + m.req.URI
	}
	return bp
}

// finalPiece tells Config.Body that m's body ended.
func (c *Conn) finalPiece(m *message, at tcpstate.Position, failed bool) {
	bp := c.bodyPiece(m, nil, at.Frame)
	bp.Final, bp.Failed = true, failed
	c.onBody(c.ctx, bp)
}

// finish ends the current message of h: decodes its body, reports and
// emits its message, and waits for the next start line.
func (c *Conn) finish(dir tcpstate.Dir, h *half, at tcpstate.Position) {
	m := &h.msg
	if m.missing > 0 && !m.reported {
		c.incompleteEvent(dir, h, at, fmt.Sprintf("%d bytes were not captured", m.missing))
	}
	h.proven = m.anchored && !m.gap && c.certain(m)
	if !m.isResp && !m.hasReq {
		c.addRequest(m, at)
	}
	if !m.isResp && c.onBody != nil && m.bodyWire > 0 {
		c.finalPiece(m, at, m.gap)
	}
	if m.isResp {
		c.respond(h, at)
	} else if c.want {
		c.requestMessage(m, at)
	}
	switch {
	case h.toH2:
		h.st, h.toH2 = stHTTP2, false
	case h.st != stTunnel && h.st != stHTTP2:
		h.st = stStart
	}
	m.release()
}

// certain reports whether m's framing is known for sure: a request's
// always is; a response's needs its request when it announces a body (a
// response to HEAD announces one it does not carry; RFC 9110, 9.3.2).
func (c *Conn) certain(m *message) bool {
	if !m.isResp || (m.hasReq && !c.unpaired) {
		return true
	}
	return !m.chunked && !m.teOther && m.contentLen <= 0
}

// errorStatus reports a 4xx/5xx response with its request line.
func (c *Conn) errorStatus(m *message) {
	st := m.resp.Status
	reqLine := ""
	if m.hasReq {
		reqLine = m.matched.method + " " + m.matched.uri
	}
	sev := health.Notice
	if st >= 500 {
		sev = health.Warning
	}
	what := "the request"
	if reqLine != "" {
		what = reqLine
	}
	c.event(health.HTTPErrorStatus, sev, m.start,
		fmt.Sprintf("%s was answered %d %s", what, st, m.resp.Reason),
		map[string]any{"status": st, "request": reqLine, "reason": m.resp.Reason})
}

// respond reports a final response.
func (c *Conn) respond(h *half, at tcpstate.Position) {
	m := &h.msg
	c.answered++
	var sink func([]byte)
	if c.onBody != nil {
		sink = func(b []byte) { c.onBody(c.ctx, c.bodyPiece(m, b, at.Frame)) }
	}
	var hh hash.Hash
	if m.bodyWire > 0 && h.hash != nil {
		hh = h.hash
	}
	res := m.result(c.lim, !c.ctx.Reporter.WantMessages(), sink, hh)
	bodyEvents(c.ctx, &m.bodyAcc, res, c.describe(h), m.reqLine(), m.start, c.lim)
	if c.onBody != nil && m.bodyWire > 0 {
		c.finalPiece(m, at, m.failed(res))
	}
	if c.want {
		c.responseMessage(m, res, at)
	}
}

// declared is the body size m's framing announced, -1 when unknown
// (chunked, close-delimited).
func (m *message) declared() int64 {
	if m.chunked || m.teOther {
		return -1
	}
	return m.contentLen
}

// reqLine is "METHOD URI" of the request m answers, or "".
func (m *message) reqLine() string {
	if !m.hasReq {
		return ""
	}
	return m.matched.method + " " + m.matched.uri
}

// emptySHA256 is the hex SHA-256 of an empty body.
var emptySHA256 = func() string {
	s := sha256.Sum256(nil)
	return hex.EncodeToString(s[:])
}()

var (
	_ tcpstate.StreamHandler = (*Conn)(nil)
	_ tcpstate.Finisher      = (*Conn)(nil)
)
