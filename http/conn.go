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
	stTunnel                  // CONNECT / 101: bytes are not HTTP
	stResync                  // after a gap or malformed input: look for a start line
)

// request is a request awaiting its response.
type request struct {
	method, uri, host string
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
	encoding   string
	coding     coding
	host       string
	upgrade    bool
	headers    int
	headerSize int
	bodyWire   int64
	remaining  int64
	firstBody  int64
	lastBody   int64
	comp       *[]byte // buffered compressed body (from compPool), nil when none
	compOver   bool
	gap        bool
	matched    request
	hasReq     bool
}

type half struct {
	st      state
	line    []byte
	lineBad bool
	msg     message
	hash    hash.Hash
	err     int // malformed events emitted
}

// Conn decodes one HTTP/1.x connection. It implements
// tcpstate.StreamHandler.
type Conn struct {
	ctx     *tcpstate.StreamContext
	lim     Limits
	half    [2]half
	pending []request
	want    bool
	onBody  func(ctx *tcpstate.StreamContext, b Body)
}

// NewConn returns a Conn reporting to ctx.Reporter.
func NewConn(ctx *tcpstate.StreamContext, cfg Config) *Conn {
	if ctx.Reporter == nil {
		ctx.Reporter = health.Discard
	}
	return &Conn{ctx: ctx, lim: cfg.Limits.withDefaults(), want: ctx.Reporter.WantMessages(), onBody: cfg.Body}
}

// Feed consumes bytes of one direction.
func (c *Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	h := &c.half[dir&1]
	for len(data) > 0 {
		switch h.st {
		case stTunnel:
			return
		case stResync:
			data = c.resyncLine(dir, h, data, at)
		case stStart, stHeaders, stChunkSize, stTrailers, stChunkCRLF:
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

// lineBytes takes bytes of a line-based part of a message (start line,
// header and trailer fields, chunk-size line, CRLF after chunk data; RFC
// 9112, 2.1 and 7.1) and parses the line once its LF has come. It returns
// the bytes after the line. A line longer than MaxLineBytes is malformed
// and the direction resynchronises.
func (c *Conn) lineBytes(dir tcpstate.Dir, h *half, data []byte, at tcpstate.Position) []byte {
	chunk, rest := nextLine(data)
	complete := len(chunk) < len(data)
	if len(h.line)+len(chunk) > c.lim.MaxLineBytes {
		c.malformed(dir, at, fmt.Errorf("http: line longer than %d bytes", c.lim.MaxLineBytes))
		h.st = stResync
		h.line = h.line[:0]
		return rest
	}
	if h.st == stStart && len(h.line) == 0 && len(chunk) > 0 {
		h.msg.start = at
	}
	if complete && len(h.line) == 0 {
		// The whole line is in data: parse it in place.
		c.line(dir, h, bytes.TrimSuffix(chunk, []byte("\r")), at)
		return rest
	}
	h.line = append(h.line, chunk...)
	if !complete {
		return nil
	}
	c.line(dir, h, bytes.TrimSuffix(h.line, []byte("\r")), at)
	h.line = h.line[:0]
	return rest
}

// resyncLine takes bytes of a direction looking for a start line after a
// gap or malformed input: lines are collected as usual, over-long ones
// (body bytes) are dropped silently, and the first line that is a valid
// start line of dir starts a message. It returns the bytes after the line.
func (c *Conn) resyncLine(dir tcpstate.Dir, h *half, data []byte, at tcpstate.Position) []byte {
	chunk, rest := nextLine(data)
	if len(h.line) == 0 && len(chunk) > 0 && !h.lineBad {
		h.msg.start = at
	}
	if h.lineBad || len(h.line)+len(chunk) > c.lim.MaxLineBytes {
		h.lineBad = true
		h.line = h.line[:0]
	} else {
		h.line = append(h.line, chunk...)
	}
	if len(chunk) == len(data) { // no LF yet
		return nil
	}
	line := bytes.TrimSuffix(h.line, []byte("\r"))
	if !h.lineBad && Detect(dir, line) && c.validStart(dir, line) {
		h.st = stStart
		c.line(dir, h, line, at)
	}
	h.lineBad = false
	h.line = h.line[:0]
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

// validStart reports whether line parses as a start line of dir.
func (c *Conn) validStart(dir tcpstate.Dir, line []byte) bool {
	if dir == tcpstate.ServerToClient {
		_, err := ParseStatusLine(line)
		return err == nil
	}
	_, err := ParseRequestLine(line)
	return err == nil
}

// Gap marks n lost bytes of dir. Inside a Content-Length or chunk body the
// framing survives (the body is marked incomplete); otherwise the
// direction resynchronises on the next start line.
func (c *Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	h := &c.half[dir&1]
	switch h.st {
	case stBodyLength, stChunkData:
		if int64(n) <= h.msg.remaining {
			h.msg.remaining -= int64(n)
			h.msg.bodyWire += int64(n)
			h.msg.gap = true
			c.partDone(dir, h, at)
			return
		}
	case stTunnel:
		return
	}
	if h.st != stStart || len(h.line) > 0 {
		h.msg.gap = true
		c.truncated(dir, h, at, fmt.Sprintf("%d bytes were not captured", n))
	}
	h.st = stResync
	h.line = h.line[:0]
}

// Close ends the connection: a close-delimited body completes, a body cut
// short is http.body_truncated.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	for d := range c.half {
		h := &c.half[d]
		switch h.st {
		case stBodyClose:
			c.finish(tcpstate.Dir(d), h, at)
		case stBodyLength, stChunkData, stChunkSize, stChunkCRLF:
			c.truncated(tcpstate.Dir(d), h, at, fmt.Sprintf("the connection ended (%s) inside the body", reason))
		case stHeaders:
			c.malformed(tcpstate.Dir(d), at, errors.New("http: the connection ended inside a header block"))
		}
		h.st = stTunnel
	}
}

func (c *Conn) truncated(dir tcpstate.Dir, h *half, at tcpstate.Position, why string) {
	if h.st != stBodyLength && h.st != stChunkData && h.st != stChunkSize && h.st != stChunkCRLF && h.st != stBodyClose {
		return
	}
	what := c.describe(h)
	ev := map[string]any{"message": what, "received": h.msg.bodyWire}
	msg := fmt.Sprintf("%s: body has %d bytes", what, h.msg.bodyWire)
	if h.st == stBodyLength {
		ev["declared"] = h.msg.contentLen
		msg = fmt.Sprintf("%s: body has %d of the %d bytes its Content-Length declared", what, h.msg.bodyWire, h.msg.contentLen)
	} else {
		msg += " and its last chunk never came"
	}
	c.event(health.HTTPBodyTruncated, health.Warning, at, msg+"; "+why, ev)
	c.finish(dir, h, at)
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

func (c *Conn) malformed(dir tcpstate.Dir, at tcpstate.Position, err error) {
	h := &c.half[dir&1]
	h.err++
	if h.err > 8 {
		return // one direction of garbage is reported a few times, not per line
	}
	c.event(health.HTTPMalformed, health.Warning, at, fmt.Sprintf("unparseable HTTP from the %s: %v", dir, err),
		map[string]any{"error": err.Error(), "from": dir.String()})
}

// line handles one start, header, chunk-size or trailer line.
func (c *Conn) line(dir tcpstate.Dir, h *half, line []byte, at tcpstate.Position) {
	switch h.st {
	case stStart:
		if len(line) == 0 {
			return // tolerated empty line between messages (RFC 9112, 2.2)
		}
		putComp(h.msg.comp)
		h.msg = message{start: h.msg.start, contentLen: -1, firstBody: 0}
		var err error
		if dir == tcpstate.ServerToClient {
			h.msg.isResp = true
			h.msg.resp, err = ParseStatusLine(line)
		} else {
			h.msg.req, err = ParseRequestLine(line)
		}
		if err != nil {
			c.malformed(dir, at, err)
			h.st = stResync
			return
		}
		h.st = stHeaders
	case stHeaders, stTrailers:
		if len(line) == 0 {
			if h.st == stTrailers {
				c.finish(dir, h, at)
			} else {
				c.headersDone(dir, h, at)
			}
			return
		}
		h.msg.headers++
		h.msg.headerSize += len(line) + 2
		if h.msg.headers > c.lim.MaxHeaders || h.msg.headerSize > c.lim.MaxHeaderBytes {
			c.malformed(dir, at, fmt.Errorf("http: header block over %d fields or %d bytes", c.lim.MaxHeaders, c.lim.MaxHeaderBytes))
			h.st = stResync
			return
		}
		if line[0] == ' ' || line[0] == '\t' {
			return // obs-fold continuation (RFC 9112, 5.2): ignored
		}
		name, value, err := ParseHeaderField(line)
		if err != nil {
			c.malformed(dir, at, err)
			return
		}
		if h.st == stHeaders {
			if err := c.header(&h.msg, name, value); err != nil {
				c.malformed(dir, at, err)
				h.st = stResync
			}
		}
	case stChunkSize:
		n, err := ParseChunkSize(line)
		if err != nil {
			c.malformed(dir, at, err)
			c.truncated(dir, h, at, "the chunked framing is broken")
			h.st = stResync
			return
		}
		if n == 0 {
			h.st = stTrailers
			return
		}
		h.msg.remaining = n
		h.st = stChunkData
	case stChunkCRLF:
		if len(line) != 0 {
			c.malformed(dir, at, fmt.Errorf("http: %d bytes after chunk data instead of CRLF", len(line)))
			c.truncated(dir, h, at, "the chunked framing is broken")
			h.st = stResync
			return
		}
		h.st = stChunkSize
	}
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
		m.encoding = strings.TrimSpace(string(value))
		switch strings.ToLower(m.encoding) {
		case "", "identity":
			m.coding = codingIdentity
		case "gzip", "x-gzip":
			m.coding = codingGzip
		case "deflate":
			m.coding = codingDeflate
		default:
			m.coding = codingOther
		}
	case eqFold(name, "host"):
		m.host = string(value)
	case eqFold(name, "upgrade"):
		m.upgrade = true
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
		if len(c.pending) > 0 && m.resp.Status >= 200 || len(c.pending) > 0 && m.resp.Status == 101 {
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
				c.tunnel()
				return
			}
			h.st = stStart // interim response: the final one follows
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
	c.pending = append(c.pending, request{method: m.req.Method, uri: m.req.URI, host: m.host, at: m.start, done: at})
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
	if m.firstBody == 0 {
		m.firstBody = at.Frame
	}
	m.lastBody = at.Frame
	m.bodyWire += int64(len(b))
	if m.coding == codingGzip || m.coding == codingDeflate {
		if m.comp == nil && !m.compOver {
			m.comp = getComp()
		}
		if m.compOver || len(*m.comp)+len(b) > c.lim.MaxCompressedBytes {
			m.compOver = true
			putComp(m.comp)
			m.comp = nil
			return
		}
		*m.comp = append(*m.comp, b...)
		return
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
	if !m.isResp && !m.hasReq {
		c.addRequest(m, at)
	}
	if !m.isResp && c.onBody != nil && m.bodyWire > 0 {
		c.finalPiece(m, at, m.gap)
	}
	if m.isResp {
		c.respond(h, at)
	} else if c.want {
		f := map[string]any{"method": m.req.Method, "uri": m.req.URI, "version": m.req.Proto}
		if m.host != "" {
			f["host"] = m.host
		}
		if m.bodyWire > 0 {
			f["body_bytes"] = m.bodyWire
		}
		if at.Frame != m.start.Frame {
			f["first_frame"] = m.start.Frame
		}
		c.ctx.Reporter.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "http", Fields: f})
	}
	if h.st != stTunnel {
		h.st = stStart
	}
	putComp(m.comp)
	m.comp = nil
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
	st := m.resp.Status
	var res bodyResult
	decoded := m.coding == codingGzip || m.coding == codingDeflate
	switch {
	case decoded && m.compOver:
		res.notBuf = true
		c.event(health.HTTPBodyLimit, health.Warning, m.start,
			fmt.Sprintf("response %d to %s: %s body of %d bytes is over the %d-byte decode buffer; not decoded",
				st, m.reqLine(), m.encoding, m.bodyWire, c.lim.MaxCompressedBytes),
			map[string]any{"limit": "compressed_bytes", "bytes": m.bodyWire, "request": m.reqLine()})
	case decoded && m.gap:
	case decoded && m.bodyWire > 0:
		d := getDecoders()
		d.noHash = !c.ctx.Reporter.WantMessages()
		if c.onBody != nil {
			d.sink = func(b []byte) { c.onBody(c.ctx, c.bodyPiece(m, b, at.Frame)) }
		}
		var comp []byte
		if m.comp != nil {
			comp = *m.comp
		}
		res = d.decode(m.coding, comp, c.lim)
		putDecoders(d)
		if res.err != nil {
			c.event(health.HTTPBodyDecodeFailed, health.Error, m.start,
				fmt.Sprintf("response %d to %s: the %s body (%d compressed bytes, frames %d-%d) does not decompress: %v at compressed byte %d; %d bytes decoded before the failure",
					st, m.reqLine(), m.encoding, m.bodyWire, m.firstBody, m.lastBody, res.err, res.offset, res.decoded),
				map[string]any{"encoding": m.encoding, "offset": res.offset, "request": m.reqLine(),
					"frames": fmt.Sprintf("%d-%d", m.firstBody, m.lastBody), "compressed_bytes": m.bodyWire,
					"decoded_bytes": res.decoded, "error": res.err.Error()})
		}
		if res.limit != "" {
			ratio := float64(res.decoded) / float64(max(m.bodyWire, 1))
			c.event(health.HTTPBodyLimit, health.Warning, m.start,
				fmt.Sprintf("response %d to %s: decoding the %s body stopped at %d bytes (%s cap; ratio %.0f:1): a possible decompression bomb",
					st, m.reqLine(), m.encoding, res.decoded, res.limit, ratio),
				map[string]any{"limit": res.limit, "ratio": ratio, "decoded_bytes": res.decoded, "request": m.reqLine()})
		}
	default:
		res.decoded = m.bodyWire
		if m.bodyWire > 0 && h.hash != nil && !m.gap {
			res.sha256 = fmt.Sprintf("%x", h.hash.Sum(nil))
		} else if m.bodyWire == 0 {
			res.sha256 = emptySHA256
		}
	}
	if c.onBody != nil && m.bodyWire > 0 {
		c.finalPiece(m, at, m.gap || res.err != nil || res.limit != "" || res.notBuf)
	}
	if c.want {
		f := map[string]any{"status": st, "reason": m.resp.Reason, "version": m.resp.Proto,
			"body_bytes": res.decoded}
		if m.hasReq {
			f["method"], f["uri"] = m.matched.method, m.matched.uri
			f["response_ms"] = float64(m.start.Time.Sub(m.matched.done.Time).Microseconds()) / 1000
		}
		if m.encoding != "" {
			f["content_encoding"] = m.encoding
			f["body_wire_bytes"] = m.bodyWire
		}
		if m.chunked {
			f["transfer_encoding"] = "chunked"
		}
		if res.sha256 != "" {
			f["body_sha256"] = res.sha256
		}
		if res.err != nil {
			f["decode_error"] = res.err.Error()
			f["decode_offset"] = res.offset
		}
		if at.Frame != m.start.Frame {
			f["first_frame"] = m.start.Frame
		}
		c.ctx.Reporter.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "http", Fields: f})
	}
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

var _ tcpstate.StreamHandler = (*Conn)(nil)
