package tls

import (
	"errors"
	"fmt"
	"sync"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// This file frames the bytes of one direction into records. It carries a
// partial record across Feed calls, finds its place again after a gap or
// when the capture started inside a record (decode.resync), and stops
// decoding a direction whose bytes are not TLS (decode.gave_up): our
// parser not recognising bytes says something about our coverage, not
// about the peer, so neither is a tls.malformed warning.

// Why a direction lost its place (the reason evidence of decode.resync).
const (
	lostAtStart = "no record header at the start of the stream"
	lostInGap   = "after bytes the capture missed"
	lostShed    = "after the memory budget had the buffered bytes dropped"
)

// Feed consumes bytes of one direction.
func (c *Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	h := &c.half[dir&1]
	if len(data) == 0 {
		return
	}
	h.fed += int64(len(data))
	if h.err != nil {
		h.ignored += len(data)
		return
	}
	buf, pend := h.join(data, at)
	fromBuf := pend > 0
	for h.err == nil {
		if h.resync {
			var found bool
			if buf, pend, found = c.resyncStart(dir, h, buf, pend, at); !found {
				break
			}
		}
		var again bool
		if buf, pend, again = c.records(dir, h, buf, pend, at); !again {
			break
		}
	}
	if h.err != nil {
		h.buf = h.buf[:0]
		h.release()
		return
	}
	c.keep(h, buf, pend, at, fromBuf)
	h.release()
}

// join returns the bytes to parse and how many of them (pend) arrived
// before this Feed: data itself when nothing is carried over (no copy,
// bufPos becomes at), else h.buf with data appended.
func (h *halfConn) join(data []byte, at tcpstate.Position) ([]byte, int) {
	pend := len(h.buf)
	if pend == 0 {
		h.bufPos = at
		return data, 0
	}
	h.buf = append(h.buf, data...)
	return h.buf, pend
}

// resyncStart drops the bytes before the first record start (see
// findRecordStart) of a direction that lost its place and reports true
// with the bytes from there, after a decode.resync naming what it skipped.
// Otherwise it returns what to keep for the next Feed: a candidate header
// that more bytes will confirm or refute, or the last bytes, where a
// header may begin. A direction that skips more than MaxResyncBytes is
// given up.
func (c *Conn) resyncStart(dir tcpstate.Dir, h *halfConn, buf []byte, pend int, at tcpstate.Position) ([]byte, int, bool) {
	i, sure := findRecordStart(buf)
	if i < 0 {
		i = max(len(buf)-(recordHeaderLen-1), 0)
	}
	h.skipped += i
	buf, pend = buf[i:], pend-i
	if sure {
		h.resync = false
		c.resynced(dir, h, at)
		return buf, pend, true
	}
	if h.skipped > c.lim.MaxResyncBytes {
		c.giveUp(dir, h, h.lostPos, h.lostReason(), fmt.Errorf("tls: no record header found in %d bytes", h.skipped), h.skipped+len(buf))
		return nil, 0, false
	}
	return buf, pend, false
}

// resynced reports the bytes a direction skipped to find its place again.
func (c *Conn) resynced(dir tcpstate.Dir, h *halfConn, at tcpstate.Position) {
	if h.skipped > 0 {
		c.event(health.DecodeResync, health.DefaultSeverity(health.DecodeResync), at,
			fmt.Sprintf("TLS from the %s: skipped %d bytes (%s) to the next record header", dir, h.skipped, h.lostWhy),
			map[string]any{"decoder": "tls", "skipped": h.skipped, "dir": dir.String(), "reason": h.lostWhy})
	}
	h.skipped = 0
}

// lostReason is the decode.gave_up reason of a direction that never found
// a record start again.
func (h *halfConn) lostReason() string {
	if h.lostWhy == lostAtStart {
		return "not TLS"
	}
	return "no TLS record header found " + h.lostWhy
}

// giveUp stops decoding dir at position at: n bytes, and every later one,
// are counted, not parsed. The first error is kept; Close reports both in
// one decode.gave_up.
func (c *Conn) giveUp(dir tcpstate.Dir, h *halfConn, at tcpstate.Position, reason string, err error, n int) {
	if h.err != nil {
		return
	}
	if err == nil {
		err = errors.New("tls: " + reason)
	}
	h.err = err
	h.stopWhy = reason
	h.stopPos = at
	h.ignored += n
}

// records handles the whole records at the front of buf (pend of whose
// bytes arrived before this Feed, at bufPos) and returns the tail that does
// not yet form a record, with its pend. again reports that the direction
// lost its place and buf is to be scanned for a record start.
func (c *Conn) records(dir tcpstate.Dir, h *halfConn, buf []byte, pend int, at tcpstate.Position) ([]byte, int, bool) {
	for len(buf) > 0 && h.err == nil {
		start := h.bufPos
		if pend <= 0 {
			start = at
		}
		if recordIncomplete(buf) {
			break // fast path: no error value for a record still arriving
		}
		rec, rest, err := ParseRecord(buf)
		if errors.Is(err, ErrTruncated) {
			break
		}
		if err != nil {
			n, next := c.badRecord(dir, h, buf, start, err)
			switch next {
			case recoverAbandon:
				return nil, 0, false
			case recoverWait:
				return buf, pend, false
			case recoverResync:
				return buf, pend, true
			}
			pend -= n
			buf = buf[n:]
			continue
		}
		n := len(buf) - len(rest)
		end := at
		if n <= pend {
			end = h.bufPos
		}
		h.synced = true
		h.lastEnd = end
		c.record(dir, rec, start, end)
		pend -= n
		buf = rest
	}
	return buf, pend, false
}

// recovery says how records goes on after bytes that are not a record.
type recovery uint8

const (
	recoverSkip    recovery = iota // skip the returned number of bytes and parse on
	recoverWait                    // stop; keep the bytes for the next Feed
	recoverResync                  // scan the bytes for a record start
	recoverAbandon                 // the direction was given up
)

// badRecord handles bytes at the front of buf that are not a TLS record
// (err from ParseRecord, at stream position start):
//   - the first bytes a client sends may be an SSLv2-compatible
//     ClientHello (RFC 5246, E.2);
//   - other first bytes of a direction are not in step with the records:
//     the capture started inside a record, or the stream is not TLS. The
//     direction scans for a record start (decode.resync), and gives up as
//     "not TLS" when there is none;
//   - in a direction that was in step with the records, the peers stopped
//     speaking TLS (GridFTP and FTP's CCC go on in cleartext): the
//     direction is given up with "not TLS after frame N";
//   - a record header of a known type and version whose length exceeds
//     the RFC's bound is provably invalid TLS: that alone is a
//     tls.malformed warning, and the direction is given up.
func (c *Conn) badRecord(dir tcpstate.Dir, h *halfConn, buf []byte, start tcpstate.Position, err error) (int, recovery) {
	if dir == tcpstate.ClientToServer && h.records == 0 && buf[0]&0x80 != 0 {
		if v2, r2, err2 := ParseSSLv2ClientHello(buf); err2 == nil {
			c.sslv2Hello(v2, start)
			h.records++
			h.synced = true
			h.lastEnd = start
			return len(buf) - len(r2), recoverSkip
		} else if errors.Is(err2, ErrTruncated) {
			return 0, recoverWait
		}
	}
	if invalidRecordHeader(buf) {
		c.malformedSev(dir, start, err, health.Warning)
		c.giveUp(dir, h, start, "invalid record header", err, len(buf))
		return 0, recoverAbandon
	}
	if !h.synced {
		h.resync = true
		h.lostWhy = lostAtStart
		h.lostPos = start
		return 0, recoverResync
	}
	c.giveUp(dir, h, start, fmt.Sprintf("not TLS after frame %d", h.lastEnd.Frame), err, len(buf))
	return 0, recoverAbandon
}

// invalidRecordHeader reports whether b starts with a record header of a
// known content type and version 3.0–3.4 whose length exceeds the bound
// of RFC 5246, 6.2.3: TLS, and invalid.
func invalidRecordHeader(b []byte) bool {
	return len(b) >= recordHeaderLen && ContentType(b[0]).known() && b[1] == 3 && b[2] <= 4 &&
		int(b[3])<<8|int(b[4]) > maxRecordLen
}

// keep stores the unparsed tail (at most one record) for the next Feed.
// fromBuf says buf is a suffix of h.buf.
func (c *Conn) keep(h *halfConn, buf []byte, pend int, at tcpstate.Position, fromBuf bool) {
	if len(buf) == 0 {
		h.buf = h.buf[:0]
		return
	}
	if pend <= 0 {
		h.bufPos = at
	}
	if fromBuf {
		n := copy(h.buf, buf)
		h.buf = h.buf[:n]
		return
	}
	h.acquire()
	h.buf = append(h.buf[:0], buf...)
}

// recordPool holds empty carry-over buffers for all Conns: a direction
// needs one only while a record spans deliveries, so one is taken when a
// partial record is kept and given back when a Feed leaves nothing over.
var recordPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledRecordBuf is the largest carry-over buffer returned to recordPool
// (a whole record of the largest size with room for a following segment).
const maxPooledRecordBuf = 4 * (recordHeaderLen + maxRecordLen)

// acquire makes buf a pooled buffer (kept as is when it already has room).
func (h *halfConn) acquire() {
	if h.box != nil {
		return
	}
	h.box = recordPool.Get().(*[]byte)
	if cap(h.buf) == 0 {
		h.buf = (*h.box)[:0]
	}
}

// release gives an empty buf back to recordPool.
func (h *halfConn) release() {
	if len(h.buf) != 0 || h.box == nil {
		return
	}
	if cap(h.buf) <= maxPooledRecordBuf {
		*h.box = h.buf[:0]
		recordPool.Put(h.box)
	}
	h.box, h.buf = nil, nil
}

// recordIncomplete reports whether b holds a plausible record header (or
// less) whose body has not fully arrived.
func recordIncomplete(b []byte) bool {
	if len(b) < recordHeaderLen {
		return len(b) == 0 || b[0]&0x80 == 0 // an SSLv2 hello is checked by its parser
	}
	n := int(b[3])<<8 | int(b[4])
	return ContentType(b[0]).known() && b[1] == 3 && n <= maxRecordLen && len(b) < recordHeaderLen+n
}

// plausibleHeader reports whether b starts with a plausible record header
// (known type, version 3.0–3.4, length within bounds); when b holds only
// part of a header, whether that part is plausible.
func plausibleHeader(b []byte) bool {
	if len(b) == 0 || !ContentType(b[0]).known() {
		return false
	}
	if len(b) >= 3 && (b[1] != 3 || b[2] > 4) {
		return false
	}
	if len(b) >= recordHeaderLen {
		n := int(b[3])<<8 | int(b[4])
		return n > 0 && n <= maxRecordLen
	}
	return true
}

// findRecordStart looks in b for where records start again: a plausible
// record header whose record is followed by the plausible type and version
// of the next one — two headers in a row, so that bytes inside ciphertext
// or cleartext are not taken for one. It returns the offset and sure=true
// for the first such header; the offset of the first candidate whose
// successor has not arrived yet (sure=false: wait for more bytes); or -1
// when b holds no candidate.
func findRecordStart(b []byte) (i int, sure bool) {
	for i = 0; i+recordHeaderLen <= len(b); i++ {
		if !plausibleHeader(b[i : i+recordHeaderLen]) {
			continue
		}
		next := i + recordHeaderLen + (int(b[i+3])<<8 | int(b[i+4]))
		if next+3 > len(b) {
			return i, false
		}
		if plausibleHeader(b[next:min(next+recordHeaderLen, len(b))]) {
			return i, true
		}
	}
	return -1, false
}

// Gap marks n bytes of dir as lost: the partial record and handshake
// message are dropped, the direction resynchronises on the next record
// start, and the plaintext decoder is told of a gap.
func (c *Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	h := &c.half[dir&1]
	h.gaps++
	if h.err == nil {
		h.buf = h.buf[:0]
		h.hs = h.hs[:0]
		h.hsLost = true
		h.synced = false
		h.resync = true
		h.afterGap = true
		if h.skipped == 0 {
			h.lostPos = at
		}
		h.lostWhy = lostInGap
	}
	c.plainGap(dir, n, at)
}
