package tds

import (
	"errors"
	"fmt"

	"github.com/nettrace/nettrace/internal/resync"

	"github.com/nettrace/nettrace/tcpstate"
)

// resyncReason is why a direction is looking for the next packet start
// (internal/resync).
type resyncReason = resync.Reason

const (
	resyncBad   = resync.Bad
	resyncGap   = resync.Gap
	resyncStart = resync.Start
	resyncShed  = resync.Shed
)

// describeResync says why the direction resynchronised, for a message.
func describeResync(r resyncReason) string { return r.Describe("packet", "after malformed data") }

// startResync drops the partial message and makes the direction look for
// the next unit start: a known packet type with a plausible length (or,
// with MARS, an SMP header; once TLS began, a TLS record header).
func (h *half) startResync(reason resyncReason) {
	h.resync, h.scanned, h.waitLen, h.lastScan = true, 0, 0, 0
	h.reason = reason
	h.losses++
	h.top = msgState{}
}

// bad reports malformed framing once per direction and starts a resync. A
// direction whose first bytes do not frame was picked up inside a packet:
// that is resynchronised and reported as decode.resync, not as malformed.
func (c *Conn) bad(dir tcpstate.Dir, at tcpstate.Position, err error) {
	h := &c.half[dir]
	var pe *ParseError
	if errors.As(err, &pe) {
		pe.Frame = at.Frame
	}
	if h.units == 0 && h.losses == 0 {
		h.startResync(resyncStart)
		return
	}
	if h.firstErr == nil {
		h.firstErr = err
		c.emitMalformed(dir, at, err)
	}
	h.startResync(resyncBad)
}

// resync looks in b, the bytes of a direction that lost its framing, for
// the next unit start (see scan). It returns the bytes skipped and whether
// a unit starts after them; without one the caller waits for more bytes.
// A direction that scans more than Limits.ResyncScan bytes in vain is
// given up (h.dead, decode.gave_up). at is the position of b's last byte.
func (c *Conn) resync(dir tcpstate.Dir, h *half, b []byte, at tcpstate.Position) (int, bool) {
	// While a candidate waits for its bytes, rescan only when it can be
	// decided or 1 KiB more arrived: 1-byte deliveries must not make
	// resynchronisation quadratic.
	if h.waitLen > 0 && len(b) < h.waitLen && len(b)-h.lastScan < 1024 {
		return 0, false
	}
	i, wait, need := c.scan(dir, b)
	h.scans++
	h.waitLen, h.lastScan = 0, 0
	if wait {
		h.waitLen, h.lastScan = need-i, len(b)-i
	}
	if i < 0 {
		// Keep what may be the start of a header.
		skip := len(b) - min(len(b), HeaderLen-1)
		h.ignored += int64(skip)
		h.scanned += skip
		if h.scanned > c.lim.ResyncScan {
			h.dead = true
			c.resyncGaveUp(dir, fmt.Sprintf("no TDS packet header within %d bytes %s", h.scanned, describeResync(h.reason)), at)
		}
		return skip, false
	}
	h.ignored += int64(i)
	h.scanned += i
	if wait {
		return i, false
	}
	if h.reason != resyncBad && h.scanned > 0 {
		c.resyncEvent(dir, h.scanned, h.reason, at)
	}
	h.resync, h.scanned = false, 0
	return i, true
}

// resyncGaveUp reports a direction given up while resynchronising. When
// nothing in the connection ever framed as TDS the bytes are another
// protocol; either way it is a notice about nettrace's coverage.
func (c *Conn) resyncGaveUp(dir tcpstate.Dir, why string, at tcpstate.Position) {
	if !c.sawTDS {
		why = "the bytes are not TDS: " + why
	}
	c.gaveUpEvent(dir, why, int64(c.half[dir].scanned), at)
}

// scan returns the offset of the first verified unit start in b: a
// plausible packet header whose packet is complete and followed by the end
// of b or by another plausible header (or, once TLS was seen, a TLS record
// header). Without one, it returns the first candidate that needs more bytes
// to be verified, with wait set and need the length of b that decides it,
// or -1 when b holds no candidate.
func (c *Conn) scan(dir tcpstate.Dir, b []byte) (int, bool, int) {
	firstWait, need := -1, 0
	wait := func(i, n int) {
		if firstWait < 0 {
			firstWait, need = i, i+n
		}
	}
	for i := 0; i < len(b); i++ {
		rest := b[i:]
		if c.half[dir].smp != nil && len(rest) > 0 && rest[0] == smpID {
			_, _, _, err := ParseSMP(rest)
			if err == nil {
				return i, false, 0
			}
			var pe *ParseError
			if errors.As(err, &pe) && errors.Is(err, ErrTruncated) {
				wait(i, pe.Need+1)
			}
			continue
		}
		if c.tlsStarted && isTLSRecord(rest) {
			if len(rest) < 5 {
				wait(i, 5)
				continue
			}
			if tlsRecordLen(rest) <= maxTLSRecord {
				return i, false, 0
			}
			continue
		}
		if len(rest) < HeaderLen {
			if partialHeader(dir, rest) {
				wait(i, HeaderLen)
			}
			continue
		}
		if !plausibleHeader(dir, rest, false) {
			continue
		}
		_, after, err := ParsePacket(rest)
		switch {
		case err != nil: // truncated: the header is plausible, the packet incomplete
			n := HeaderLen + 1
			var pe *ParseError
			if errors.As(err, &pe) && pe.Need > 0 {
				n = pe.Need + 1
			}
			wait(i, n)
		case len(after) == 0:
			return i, false, 0
		case len(after) < HeaderLen:
			if partialHeader(dir, after) {
				return i, false, 0
			}
		case plausibleHeader(dir, after, false):
			return i, false, 0
		}
	}
	if firstWait >= 0 {
		return firstWait, true, need
	}
	return -1, false, 0
}

// partialHeader reports whether b (shorter than a header) may start one.
func partialHeader(dir tcpstate.Dir, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	t := PacketType(b[0])
	if !t.sentBy(dir) {
		return false
	}
	return len(b) < 2 || Status(b[1])&^statusKnown == 0
}
