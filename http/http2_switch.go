package http

import (
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/nettrace/nettrace/tcpstate"
)

// A connection that starts as HTTP/1.x can become HTTP/2 in clear text
// (h2c) two ways, and Conn hands it to an H2Conn for the rest:
//   - prior knowledge (RFC 9113, 3.3): the client's first line is the
//     connection preface's "PRI * HTTP/2.0";
//   - an Upgrade (RFC 7540, 3.2, removed from RFC 9113 but still sent by
//     curl and served by Go's h2c): a request with "Upgrade: h2c" and
//     HTTP2-Settings answered "101 Switching Protocols" with "Upgrade:
//     h2c". The request becomes stream 1, whose response comes in HTTP/2;
//     the server's HTTP/2 starts right after the 101's header block, the
//     client's after the request's body.

// priorKnowledge switches the connection to HTTP/2 after the client's
// first line, "PRI * HTTP/2.0\r\n": the H2Conn matches the rest of the
// preface. The server's bytes that came before are handed over when they
// are all held, else its HTTP/2 is not decoded.
func (c *Conn) priorKnowledge(at tcpstate.Position) {
	c.h2 = newH2Conn(c.ctx, c.cfg)
	c.h2.half[0].pre = len("PRI * HTTP/2.0\r\n")
	cl := &c.half[0]
	cl.st, cl.first = stHTTP2, false
	c.handOver(tcpstate.ServerToClient, c.ctx.RTT > 0, at)
}

// upgradeH2 switches the connection to HTTP/2 when h's message, a 101
// response, accepts an Upgrade to h2c, and reports whether it did.
func (c *Conn) upgradeH2(h *half, at tcpstate.Position) bool {
	m := &h.msg
	if !hasToken(m.upgrade, "h2c") {
		return false
	}
	c.h2 = newH2Conn(c.ctx, c.cfg)
	q := m.matched
	if !m.hasReq {
		q = request{}
	}
	c.h2.upgraded(q.method, q.uri, q.host, q.at, q.done, m.anchored && !m.gap)
	if q.h2Settings != "" {
		c.h2Settings(q, at)
	}
	m.release()
	h.st = stHTTP2
	cl := &c.half[0]
	switch cl.st {
	case stHeaders, stBodyLength, stChunkSize, stChunkData, stChunkCRLF, stTrailers, stBodyClose:
		cl.toH2 = true // its HTTP/2 follows the request's body
	default:
		c.handOver(tcpstate.ClientToServer, cl.proven || cl.st == stStart, at)
		c.h2.half[0].proven = false // set again by a whole preface
	}
	return true
}

// askedH2c returns the request waiting for its response that asked for
// an Upgrade to h2c, if any: the last one, as the Upgrade's request is the
// last the client sends in HTTP/1.1.
func (c *Conn) askedH2c() (request, bool) {
	if n := len(c.pending); n > 0 && c.pending[n-1].h2c {
		return c.pending[n-1], true
	}
	return request{}, false
}

// upgradeSeen switches the connection to HTTP/2 when the client sends the
// preface after an Upgrade: h2c request whose 101 the capture lacks: the
// request is stream 1 and its response comes in HTTP/2. The client's
// preface line was consumed.
func (c *Conn) upgradeSeen(q request, at tcpstate.Position) {
	c.h2 = newH2Conn(c.ctx, c.cfg)
	c.h2.upgraded(q.method, q.uri, q.host, q.at, q.done, false)
	if q.h2Settings != "" {
		c.h2Settings(q, at)
	}
	c.pending = c.pending[:len(c.pending)-1]
	c.h2.half[0].pre = len("PRI * HTTP/2.0\r\n")
	cl := &c.half[0]
	cl.st, cl.first = stHTTP2, false
	sv := &c.half[1]
	switch sv.st {
	case stStart, stResync, stIgnore:
		c.handOver(tcpstate.ServerToClient, false, at)
	default:
		sv.toH2 = true // inside a message (an interim response): HTTP/2 follows it
	}
}

// hasToken reports whether the comma-separated list v holds token tok,
// case-insensitively (RFC 9110, 5.6.1).
func hasToken(v, tok string) bool {
	for _, p := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(p), tok) {
			return true
		}
	}
	return false
}

// h2Settings applies the client's HTTP2-Settings (RFC 7540, 3.2.1: the
// base64url payload of a SETTINGS frame).
func (c *Conn) h2Settings(q request, at tcpstate.Position) {
	v := strings.TrimRight(strings.TrimSpace(q.h2Settings), "=")
	b, err := base64.RawURLEncoding.DecodeString(v)
	var settings []Setting
	if err == nil {
		settings, err = ParseSettings(b)
	}
	if err == nil {
		err = c.h2.applySettings(tcpstate.ClientToServer, settings)
	}
	if err != nil {
		c.h2.malformed(tcpstate.ClientToServer, &c.h2.half[0], at, FrameHeader{Type: FrameSettings},
			fmt.Errorf("http2: HTTP2-Settings of the Upgrade request: %w", err), false)
	}
}

// handOver moves direction dir to the HTTP/2 decoder. Bytes it held
// without a line end (binary frames, for the server) are replayed, from
// the frames they came in; a direction that had already consumed bytes
// it could not frame leaves them lost. proven says whether the
// direction was followed from its start.
func (c *Conn) handOver(dir tcpstate.Dir, proven bool, at tcpstate.Position) {
	h := &c.half[dir&1]
	h2 := &c.h2.half[dir&1]
	h2.proven = proven && h.lb.n == int64(len(h.lb.b))
	switch {
	case h.st == stStart && h.lb.n == int64(len(h.lb.b)):
		b, marks := h.lb.b, h.lb.marks
		for i, mk := range marks {
			end := len(b)
			if i+1 < len(marks) {
				end = marks[i+1].off
			}
			c.h2.Feed(dir, b[mk.off:end], mk.at)
		}
	case h.st == stStart:
		c.h2.lose(dir, h2, h.lb.start(at), "bytes before the switch to HTTP/2 over the line buffer")
		h2.ignored = h.lb.n
	case h.st == stResync || h.st == stIgnore:
		c.h2.lose(dir, h2, h.hunt.from, "bytes before the switch to HTTP/2 were not kept")
		h2.ignored = h.hunt.skipped + h.lb.n
	}
	h.lb.reset()
	h.msg.release()
	h.msg = message{}
	h.st, h.first = stHTTP2, false
}

// interim reports a 1xx response other than 101 (RFC 9110, 15.2): the
// request it answers still waits for its final response.
func (c *Conn) interim(h *half, at tcpstate.Position) {
	if !c.want {
		return
	}
	c.interimMessage(&h.msg, at)
}

// headersCut reports a response whose status line came and whose header
// block a gap cut: it is the answer to the oldest request waiting (a
// final one) and is reported incomplete in the capture, so that the next
// response found pairs with the next request instead of this one's.
func (c *Conn) headersCut(dir tcpstate.Dir, h *half, at tcpstate.Position, n int) {
	m := &h.msg
	st := m.resp.Status
	if st >= 100 && st < 200 && st != 101 {
		return // interim: the request still waits
	}
	if len(c.pending) > 0 {
		m.matched, m.hasReq = c.pending[0], true
		c.popRequest()
	}
	if st >= 400 {
		c.errorStatus(m)
	}
	m.gap, m.reported, m.cut, m.headCut = true, true, "capture", true
	c.respond(h, at)
}
