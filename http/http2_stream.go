package http

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// This file holds the streams of an HTTP/2 connection (RFC 9113, 5.1 and
// 8): how header blocks open them and become requests and responses, how
// DATA becomes their bodies, and the "http" records of their exchanges.

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
		responseBody(&m.bodyAcc, res, m.cut, m.contentLen).fields(f, true)
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
