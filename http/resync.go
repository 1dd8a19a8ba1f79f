package http

import (
	"bytes"
	"fmt"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// A capture does not always hold a direction from a message boundary: it
// starts mid-connection, filters segments out, or loses some (tcpstate
// reports them with Gap). Bytes the decoder cannot place are a notice about
// the capture and nettrace's coverage, never a claim about the peer: the
// direction hunts for the next plausible message start (a request line
// "METHOD SP target SP HTTP/1.x" or a status line "HTTP/1.x NNN"), skips
// what comes before it and reports decode.resync once it has one. A
// direction whose first bytes are not HTTP/1.x, or that finds no message
// start within Limits.MaxBodyBytes, is given up: its bytes are counted, not
// parsed, and decode.gave_up reports them at Close.

// lineBuf collects one line across Feeds with the frame each byte came
// from. It keeps at most the limit given to add: the line's tail, where
// a start line glued to a longer run of bytes is.
type lineBuf struct {
	b     []byte
	marks []lineMark // b[m.off:] up to the next mark came from m.at
	n     int64      // bytes of the line so far, including those dropped from the front
}

// lineMark says where the bytes of a lineBuf from off on came from.
type lineMark struct {
	off int
	at  tcpstate.Position
}

func (l *lineBuf) reset() {
	l.b, l.marks, l.n = l.b[:0], l.marks[:0], 0
}

// add appends chunk, which came from at, keeping the last limit bytes.
func (l *lineBuf) add(chunk []byte, at tcpstate.Position, limit int) {
	if len(chunk) == 0 {
		return
	}
	l.n += int64(len(chunk))
	if len(chunk) >= limit {
		l.b = append(l.b[:0], chunk[len(chunk)-limit:]...)
		l.marks = append(l.marks[:0], lineMark{at: at})
		return
	}
	if k := len(l.marks); k == 0 || l.marks[k-1].at.Frame != at.Frame {
		l.marks = append(l.marks, lineMark{off: len(l.b), at: at})
	}
	l.b = append(l.b, chunk...)
	d := len(l.b) - limit
	if d <= 0 {
		return
	}
	l.b = l.b[:copy(l.b, l.b[d:])]
	first := 0 // the last mark at or before the new front
	for i := range l.marks {
		if l.marks[i].off-d <= 0 {
			first = i
		}
		l.marks[i].off -= d
	}
	l.marks = l.marks[:copy(l.marks, l.marks[first:])]
	l.marks[0].off = 0
}

// take returns the line that chunk ends, as add would keep it: the tail
// of chunk itself, without a copy, when nothing is buffered, else the
// buffered tail with chunk appended.
func (l *lineBuf) take(chunk []byte, at tcpstate.Position, limit int) []byte {
	if l.n == 0 {
		l.n = int64(len(chunk))
		l.marks = append(l.marks[:0], lineMark{at: at})
		return chunk[max(0, len(chunk)-limit):]
	}
	l.add(chunk, at, limit)
	return l.b
}

// start returns the position of the line's first byte, or at when the
// line is empty.
func (l *lineBuf) start(at tcpstate.Position) tcpstate.Position {
	if len(l.marks) == 0 {
		return at
	}
	return l.marks[0].at
}

// pos returns the position of byte i of the line take returned.
func (l *lineBuf) pos(i int) tcpstate.Position {
	for k := len(l.marks) - 1; k >= 0; k-- {
		if l.marks[k].off <= i {
			return l.marks[k].at
		}
	}
	return tcpstate.Position{}
}

// hunt is a direction's search for a message start, or, once given up,
// the count of the bytes it did not decode.
type hunt struct {
	reason  string            // why the direction left the framing ("mid-stream", "after a gap of 12 bytes")
	from    tcpstate.Position // the first byte skipped
	skipped int64             // bytes skipped (or, given up, not decoded)
	junk    bool              // some skipped byte was more than the CRLF allowed between messages
	// chunkTail is set after a gap inside a chunked body: the bytes that
	// follow are the rest of that body, where a status line is only text
	// (a page about HTTP). Until its last chunk (RFC 9112, 7.1) a message
	// start is taken only on the first line after the gap or after an
	// empty line, so that no second, partial message is made of the body.
	chunkTail bool
	lines     int  // lines looked at since the gap
	prevEmpty bool // the last line looked at was empty
	// lostStart is set when the bytes lost may have held message starts:
	// the message found is then unsure (see Conn.headersDone).
	lostStart bool
}

// maxResyncEvents caps the decode.resync events of one direction, as
// http.malformed is capped: a stream that keeps losing the framing is
// reported a few times, not per message.
const maxResyncEvents = 8

// h2Preface starts the client's side of an HTTP/2 connection with prior
// knowledge (RFC 9113, 3.4).
var h2Preface = []byte("PRI * HTTP/2.0")

// startHunt makes h look for the next message start, from the byte at
// from, because of reason.
func (c *Conn) startHunt(dir tcpstate.Dir, h *half, from tcpstate.Position, reason string) {
	putComp(h.msg.comp)
	h.msg = message{}
	h.st = stResync
	h.hunt = hunt{reason: reason, from: from}
	h.proven, h.first = false, false
	c.unpaired = true
}

// giveUp stops decoding h: the rest of its bytes are counted (decode.gave_up
// at Close). The partial line buffered, if any, counts as not decoded.
func (c *Conn) giveUp(h *half, from tcpstate.Position, reason string) {
	if h.st != stResync {
		h.hunt = hunt{from: from}
	}
	putComp(h.msg.comp)
	h.msg = message{}
	h.hunt.reason, h.hunt.junk = reason, true
	h.hunt.skipped += h.lb.n
	h.lb.reset()
	h.st = stIgnore
	h.proven, h.first = false, false
	c.unpaired = true
}

// huntBytes takes bytes of a direction looking for a message start, line
// by line; the start may follow other bytes on its line (a body without a
// final CRLF, a stray byte). It returns the bytes after the line looked at.
func (c *Conn) huntBytes(dir tcpstate.Dir, h *half, data []byte, at tcpstate.Position) []byte {
	limit := c.lim.MaxLineBytes
	chunk, rest := nextLine(data)
	if len(chunk) == len(data) { // no LF yet
		h.lb.add(chunk, at, limit)
		c.huntBudget(h)
		return nil
	}
	raw := h.lb.take(chunk, at, limit)
	dropped := h.lb.n - int64(len(raw))
	line := bytes.TrimSuffix(raw, crlf[:1])
	tail := h.hunt.chunkTail
	if off, ok := findStart(dir, line, false); ok && (!tail || off == 0 && dropped == 0 && (h.hunt.lines == 0 || h.hunt.prevEmpty)) {
		h.hunt.skipped += dropped + int64(off)
		if dropped > 0 || off > 0 {
			h.hunt.junk = true
		}
		pos := h.lb.pos(off)
		lost := h.hunt.lostStart
		c.resynced(dir, h, pos)
		c.begin(dir, h, line[off:], pos, false)
		h.msg.unsure = lost
		h.lb.reset()
		return rest
	}
	if tail {
		if n, err := ParseChunkSize(line); err == nil && n == 0 && dropped == 0 {
			// The chunked body's last chunk: what follows is the next message.
			h.hunt.chunkTail, h.hunt.lostStart = false, false
		}
	}
	h.hunt.lines++
	h.hunt.prevEmpty = len(line) == 0 && dropped == 0
	if len(line) > 0 || dropped > 0 {
		h.hunt.junk = true
	}
	h.hunt.skipped += h.lb.n + 1
	h.lb.reset()
	c.huntBudget(h)
	return rest
}

var crlf = []byte("\r\n")

// huntBudget gives h up once it has looked through MaxBodyBytes (the
// largest body decoded) without finding a message start.
func (c *Conn) huntBudget(h *half) {
	if h.hunt.skipped+h.lb.n > c.lim.MaxBodyBytes {
		c.giveUp(h, h.hunt.from, fmt.Sprintf("no message start found within %d bytes (%s)", c.lim.MaxBodyBytes, h.hunt.reason))
	}
}

// resynced reports the end of a hunt that skipped bytes: decode.resync,
// once per hunt, naming the frame of the message start found.
func (c *Conn) resynced(dir tcpstate.Dir, h *half, at tcpstate.Position) {
	if h.hunt.skipped == 0 || !h.hunt.junk {
		return // nothing, or only the CRLF allowed between messages (RFC 9112, 2.2)
	}
	h.resyncs++
	if h.resyncs > maxResyncEvents {
		return
	}
	more := ""
	if h.resyncs == maxResyncEvents {
		more = "; further resynchronisations of this direction are not reported"
	}
	what := "request line"
	if dir == tcpstate.ServerToClient {
		what = "status line"
	}
	c.event(health.DecodeResync, health.DefaultSeverity(health.DecodeResync), at,
		fmt.Sprintf("http: skipped %d bytes of the %s's stream (%s) to the first %s it could frame, from frame %d%s",
			h.hunt.skipped, dir, h.hunt.reason, what, h.hunt.from.Frame, more),
		map[string]any{"decoder": "http", "skipped": h.hunt.skipped, "dir": dir.String(), "reason": h.hunt.reason,
			"from_frame": h.hunt.from.Frame})
}

// gaveUp reports, at Close, a direction that was given up or was still
// hunting: decode.gave_up with the bytes not decoded.
func (c *Conn) gaveUp(dir tcpstate.Dir, h *half) {
	if h.lb.n > 0 {
		h.hunt.skipped += h.lb.n
		h.hunt.junk = h.hunt.junk || h.lb.n > 1 || h.lb.b[0] != '\r'
		h.lb.reset()
	}
	if h.hunt.skipped == 0 || !h.hunt.junk {
		return
	}
	reason := h.hunt.reason
	if h.st == stResync {
		reason = "no message start found (" + reason + ")"
	}
	c.event(health.DecodeGaveUp, health.DefaultSeverity(health.DecodeGaveUp), h.hunt.from,
		fmt.Sprintf("http: did not decode the last %d bytes of the %s's stream, from frame %d: %s",
			h.hunt.skipped, dir, h.hunt.from.Frame, reason),
		map[string]any{"decoder": "http", "reason": reason, "dir": dir.String(), "bytes": h.hunt.skipped})
}

// couldStart reports whether b, the first bytes of a line without its end,
// can still become a start line of dir.
func couldStart(dir tcpstate.Dir, b []byte) bool {
	if dir == tcpstate.ServerToClient {
		n := min(len(b), len("HTTP/1."))
		return string(b[:n]) == "HTTP/1."[:n]
	}
	for i, c := range b {
		if c == ' ' {
			return i > 0
		}
		if !tokenChars[c] {
			return false
		}
	}
	return true
}

// findStart returns the offset in line (without its CRLF) of the first
// message start of dir that it holds, if any. inSync is set when a start
// line is expected right here, after a complete message: the line is then
// taken whole as long as it parses, with an unknown method (RFC 9110,
// 9.1), unless a known method closes a token that does not look like one
// (a stray byte glued to the request, "xGET"). A hunt (inSync false)
// wants a known method or a status line with a plausible reason phrase.
func findStart(dir tcpstate.Dir, line []byte, inSync bool) (int, bool) {
	if dir == tcpstate.ServerToClient {
		for i := 0; i+len("HTTP/1.") <= len(line); {
			j := bytes.Index(line[i:], []byte("HTTP/1."))
			if j < 0 {
				return 0, false
			}
			if isStatusLine(line[i+j:], !inSync) {
				return i + j, true
			}
			i += j + 1
		}
		return 0, false
	}
	// A request line ends with " HTTP/1.x"; the target is the run of bytes
	// before that space, the method the token before the target.
	n := len(line)
	if n < len("A / HTTP/1.1") || !isHTTPVersion(line[n-8:]) || line[n-9] != ' ' {
		return 0, false
	}
	head := line[:n-9]
	sp := bytes.LastIndexByte(head, ' ')
	if sp <= 0 || sp == len(head)-1 || !plausibleTarget(head[sp+1:], inSync) {
		return 0, false
	}
	m := sp
	for m > 0 && tokenChars[head[m-1]] {
		m--
	}
	method := head[m:sp]
	if len(method) == 0 {
		return 0, false
	}
	if m == 0 && inSync && bytes.IndexByte(head[:sp], ' ') < 0 {
		if isKnownMethod(method) || looksLikeMethod(method) {
			return 0, true
		}
	}
	if k := knownMethodSuffix(method); k > 0 {
		return sp - k, true
	}
	if m == 0 && inSync && bytes.IndexByte(head[:sp], ' ') < 0 {
		return 0, true // an extension method (RFC 9110, 9.1)
	}
	return 0, false
}

// isStatusLine reports whether b is "HTTP/1.x SP 3DIGIT [SP reason]" (RFC
// 9112, 4); strict also rejects control bytes in the reason phrase, which
// RFC 9112 does not allow and a binary body is full of.
func isStatusLine(b []byte, strict bool) bool {
	if len(b) < 12 || !isHTTPVersion(b[:8]) || b[8] != ' ' {
		return false
	}
	for _, d := range b[9:12] {
		if d < '0' || d > '9' {
			return false
		}
	}
	if b[9] == '0' || (len(b) > 12 && b[12] != ' ') {
		return false
	}
	if strict {
		for _, r := range b[12:] {
			if (r < 0x20 && r != '\t') || r == 0x7f {
				return false
			}
		}
	}
	return true
}

// plausibleTarget reports whether t can be a request-target (RFC 9112,
// 3.2). In sync any run without whitespace is taken; a hunt wants the
// usual forms in visible ASCII.
func plausibleTarget(t []byte, inSync bool) bool {
	if bytes.IndexByte(t, '\t') >= 0 {
		return false
	}
	if inSync {
		return true
	}
	for _, b := range t {
		if b <= 0x20 || b >= 0x7f {
			return false
		}
	}
	return t[0] == '/' || t[0] == '*' || bytes.Contains(t, []byte("://")) || bytes.IndexByte(t, ':') > 0
}

func isKnownMethod(b []byte) bool {
	for _, m := range methods {
		if string(b) == m {
			return true
		}
	}
	return false
}

// looksLikeMethod reports whether b is written as methods are: upper-case
// letters, '_' and '-' (RFC 9110, 9.1: "by convention ... all-uppercase").
func looksLikeMethod(b []byte) bool {
	for _, c := range b {
		if (c < 'A' || c > 'Z') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// knownMethodSuffix returns the length of the longest known method that
// ends b, or 0.
func knownMethodSuffix(b []byte) int {
	best := 0
	for _, m := range methods {
		if len(m) > best && bytes.HasSuffix(b, []byte(m)) {
			best = len(m)
		}
	}
	return best
}
