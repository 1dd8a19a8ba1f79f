package smb

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nettrace/nettrace/internal/resync"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// half is the framing state of one direction.
//
// Invariant: buf holds the first bytes of exactly one incomplete PDU (its
// NBSS header first) that started at start; need is that PDU's total size
// once its header is known (0 before). When skip > 0 the PDU was too large
// to buffer, or (lazy) its head is all that its decoding reads: buf holds
// its head and skip bytes remain to be discarded.
type half struct {
	buf     []byte
	box     *[]byte // pduPool entry that buf came from (nil when buf is not pooled)
	start   tcpstate.Position
	need    int
	skip    int
	probed  bool              // the head of the current PDU was checked by headOnly
	lazy    bool              // headOnly: skip holds the rest of a PDU whose head is all that is decoded
	last    time.Time         // time of the latest delivery to the current PDU
	gap     time.Duration     // largest stall between deliveries inside the current PDU
	gapAt   tcpstate.Position // delivery that ended that stall
	resync  bool              // scanning for the next SMB header
	reason  resyncReason      // why the current resync started
	scan    int               // bytes scanned during the current resync
	losses  int               // gaps and resyncs: bytes of this direction not decoded
	good    int64             // PDUs that framed as SMB or NBSS session control
	dead    bool              // direction abandoned
	ignore  int64             // bytes ignored (resync, abandoned)
	err     error             // first error
	pdus    int64
	multi   int64     // PDUs that spanned several deliveries
	prevEnd time.Time // end of the previous complete PDU
}

// pduPool holds empty PDU buffers for all Conns: a direction needs one only
// while a PDU spans deliveries, so buffers are taken when a partial PDU
// starts and given back when a Feed ends with nothing pending.
var pduPool = sync.Pool{New: func() any { return new([]byte) }}

// acquire makes buf a pooled buffer (kept as is when it already has room).
func (h *half) acquire() {
	if h.box != nil {
		return
	}
	h.box = pduPool.Get().(*[]byte)
	if cap(h.buf) == 0 {
		h.buf = (*h.box)[:0]
	}
}

// release gives an empty buf back to pduPool unless it is larger than max.
func (h *half) release(max int) {
	if len(h.buf) != 0 || h.box == nil {
		return
	}
	if cap(h.buf) <= max {
		*h.box = h.buf[:0]
		pduPool.Put(h.box)
	}
	h.box, h.buf = nil, nil
}

// begin starts a new PDU at at.
func (h *half) begin(at tcpstate.Position) {
	h.start, h.last, h.gap, h.gapAt = at, at.Time, 0, tcpstate.Position{}
	h.probed, h.lazy = false, false
}

// touch records a delivery that continues the current PDU.
func (h *half) touch(at tcpstate.Position) {
	d := sub(at.Time, h.last)
	if d > h.gap {
		h.gap, h.gapAt = d, at
	}
	if d > 0 { // at.Time.After(h.last): Sub keeps the sign even when it saturates
		h.last = at.Time
	}
}

// sub is t.Sub(u). Capture times carry no monotonic reading, and instants
// less than 2^32 s apart cannot overflow a Duration, so for them the
// difference is computed directly instead of through Sub's overflow check.
func sub(t, u time.Time) time.Duration {
	if s := t.Unix() - u.Unix(); s > -1<<32 && s < 1<<32 && t == t.Round(0) && u == u.Round(0) {
		return time.Duration(s)*time.Second + time.Duration(t.Nanosecond()-u.Nanosecond())
	}
	return t.Sub(u)
}

// pduInfo is where and when a PDU was seen.
type pduInfo struct {
	start, end tcpstate.Position
	gap        time.Duration
	gapAt      tcpstate.Position
	partial    bool      // only the head was kept
	prevEnd    time.Time // when the previous PDU of this direction ended
}

// Feed implements tcpstate.StreamHandler: it frames NBSS packets out of
// arbitrary chunks and decodes each complete one.
func (c *Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	if dir > 1 {
		return
	}
	h := &c.half[dir]
	for len(data) > 0 {
		switch {
		case h.dead:
			h.ignore += int64(len(data))
			return
		case h.resync:
			data = c.resyncScan(dir, data, at)
		case h.skip > 0:
			data = c.skipBody(dir, data, at)
		default:
			data = c.frame(dir, data, at)
		}
	}
	if len(h.buf) == 0 && cap(h.buf) > 2*c.lim.MaxBuffered {
		h.buf = nil // do not keep a large buffer alive between PDUs (a pending one is in use)
	}
	h.release(2 * c.lim.MaxBuffered)
}

// skipBody discards the part of data that belongs to the rest of a PDU
// whose head alone is kept, and decodes the PDU (as partial) once its last
// byte has gone by. It returns the bytes after those discarded.
func (c *Conn) skipBody(dir tcpstate.Dir, data []byte, at tcpstate.Position) []byte {
	h := &c.half[dir]
	h.touch(at)
	n := min(h.skip, len(data))
	h.skip -= n
	if h.skip == 0 {
		c.finishBuffered(dir, at, true)
	}
	return data[n:]
}

// frame takes the next step of framing a PDU and returns the bytes of data
// it did not use. A whole PDU at the front of data is decoded where it is;
// otherwise the NBSS header, the SMB protocol id and the body (or its head)
// are copied into buf as they arrive, each checked before the next.
func (c *Conn) frame(dir tcpstate.Dir, data []byte, at tcpstate.Position) []byte {
	h := &c.half[dir]
	if len(h.buf) == 0 {
		if total, ok := c.wholePDU(data); ok {
			h.begin(at)
			c.finishPDU(dir, data[:total], pduInfo{start: at, end: at})
			return data[total:]
		}
		h.begin(at)
		h.acquire()
	} else {
		h.touch(at)
	}
	ok := true
	if h.need == 0 {
		if data, ok = c.readHeader(dir, data); !ok {
			return data
		}
	}
	if h.need >= NBSSHeaderLen+4 && len(h.buf) < NBSSHeaderLen+4 && h.buf[0] == byte(NBSSMessage) {
		if data, ok = c.readProtocolID(dir, data); !ok {
			return data
		}
	}
	return c.readBody(dir, data, at)
}

// wholePDU reports whether data starts with a whole PDU that can be decoded
// without a copy, and returns its size: a valid NBSS header, at most
// MaxBuffered bytes, and for a session message an SMB protocol id.
func (c *Conn) wholePDU(data []byte) (int, bool) {
	if len(data) < NBSSHeaderLen {
		return 0, false
	}
	_, n, err := ParseNBSSHeader(data)
	total := n + NBSSHeaderLen
	if err != nil || total > c.lim.MaxBuffered || total > len(data) {
		return 0, false
	}
	if data[0] == byte(NBSSMessage) && n >= 4 && !smbMagic(data[NBSSHeaderLen:]) {
		return 0, false
	}
	return total, true
}

// readHeader copies the NBSS header into buf and, once it is complete, sets
// need to the PDU's size. A header that is invalid or announces more than
// MaxPDU bytes is reported and starts a resync. It returns the rest of data
// and whether the header is complete and valid.
func (c *Conn) readHeader(dir tcpstate.Dir, data []byte) ([]byte, bool) {
	h := &c.half[dir]
	data = h.fillTo(NBSSHeaderLen, data)
	if len(h.buf) < NBSSHeaderLen {
		return data, false
	}
	_, n, err := ParseNBSSHeader(h.buf)
	if err == nil && n+NBSSHeaderLen > c.lim.MaxPDU {
		err = malformed("nbss header", "length %d exceeds limit %d", n, c.lim.MaxPDU)
	}
	if err != nil {
		c.badFraming(dir, h.start, err, true)
		return data, false
	}
	h.need = n + NBSSHeaderLen
	return data, true
}

// readProtocolID copies the first 4 bytes of a session message into buf,
// so that the SMB protocol id is checked before waiting for a long body. A
// message that is not SMB is reported and starts a resync. It returns the
// rest of data and whether the protocol id is complete and valid.
func (c *Conn) readProtocolID(dir tcpstate.Dir, data []byte) ([]byte, bool) {
	h := &c.half[dir]
	data = h.fillTo(NBSSHeaderLen+4, data)
	if len(h.buf) < NBSSHeaderLen+4 {
		return data, false
	}
	if !smbMagic(h.buf[NBSSHeaderLen:]) {
		h.need = 0
		c.badFraming(dir, h.start, malformed("smb message", "protocol id %x", h.buf[NBSSHeaderLen:NBSSHeaderLen+4]), true)
		return data, false
	}
	return data, true
}

// readBody copies the PDU into buf up to bufferTarget. A complete PDU is
// decoded. When only the head is wanted, the rest is skipped; when the head
// of a PDU that fits MaxBuffered has just arrived, headOnly decides whether
// the rest is copied too. It returns the rest of data.
func (c *Conn) readBody(dir tcpstate.Dir, data []byte, at tcpstate.Position) []byte {
	h := &c.half[dir]
	want := c.bufferTarget(h)
	if len(h.buf)+len(data) < want && cap(h.buf) < want {
		// The PDU spans deliveries: size the buffer once for all of it
		// rather than letting append grow it step by step.
		nb := make([]byte, len(h.buf), want)
		copy(nb, h.buf)
		h.buf = nb
	}
	data = h.fillTo(want, data)
	if len(h.buf) < want {
		return data
	}
	if h.need <= want {
		c.finishBuffered(dir, at, false)
		return data
	}
	if !h.probed && h.need <= c.lim.MaxBuffered {
		h.probed = true
		if !c.headOnly(h.buf) {
			return data // buffer the whole PDU
		}
		h.lazy = true
	}
	h.skip = h.need - want
	return data
}

// bufferTarget is how many bytes of the current PDU buf must hold before
// the next step: all of them, or HeadBytes when the PDU is larger than
// MaxBuffered, when its head is all that is decoded (lazy), or until
// headOnly has seen its head.
func (c *Conn) bufferTarget(h *half) int {
	if h.need > c.lim.MaxBuffered || h.lazy {
		return c.lim.HeadBytes
	}
	if h.need > c.lim.HeadBytes && !h.probed {
		return c.lim.HeadBytes // the head decides whether the rest is copied (headOnly)
	}
	return h.need
}

// fillTo appends data to buf until buf holds n bytes and returns the rest
// of data.
func (h *half) fillTo(n int, data []byte) []byte {
	take := min(n-len(h.buf), len(data))
	h.buf = append(h.buf, data[:take]...)
	return data[take:]
}

// finishBuffered decodes the PDU held in buf (only its head when partial)
// and empties buf for the next PDU.
func (c *Conn) finishBuffered(dir tcpstate.Dir, at tcpstate.Position, partial bool) {
	h := &c.half[dir]
	c.finishPDU(dir, h.buf, pduInfo{start: h.start, end: at, gap: h.gap, gapAt: h.gapAt, partial: partial})
	h.buf, h.need = h.buf[:0], 0
}

// Gap implements tcpstate.StreamHandler. Bytes lost inside the skipped data
// of a large PDU are simply counted; otherwise the partial PDU is dropped and
// the direction resynchronises on the next SMB header.
func (c *Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	if dir > 1 || n <= 0 {
		return
	}
	h := &c.half[dir]
	c.gaps[dir]++
	if h.dead {
		return
	}
	if h.skip >= n && len(h.buf) > 0 && !h.lazy { // a lazy PDU is dropped as a buffered one would be
		h.touch(at)
		h.skip -= n
		if h.skip == 0 {
			c.finishBuffered(dir, at, true)
		}
		return
	}
	h.buf, h.need, h.skip = h.buf[:0], 0, 0
	h.losses++
	c.pipesGap(dir, n, at)
	if !h.resync {
		c.startResync(dir, resyncGap)
	}
}

// headOnly reports whether decoding the PDU that starts with head uses no
// byte past head, so that the rest need not be copied: a single (not
// compounded) successful SMB2 READ response, whose data only a named-pipe
// handler would read, for a file that is not a pipe. That holds when no
// pipe share (IPC$) was ever connected, or when the pending READ request
// names a tracked file that is not a pipe: a file becomes a pipe only when
// it is opened, and until this response is complete the responses that
// open files, from the same server, cannot arrive. Only the data is not
// copied; the response is decoded exactly as when buffered whole.
func (c *Conn) headOnly(head []byte) bool {
	if len(head) < NBSSHeaderLen+header2Len+16 || head[0] != byte(NBSSMessage) {
		return false
	}
	h, _, err := ParseHeader2(head[NBSSHeaderLen:])
	if err != nil || !h.IsResponse() || h.Command != SMB2Read || h.NextCommand != 0 || h.Status != StatusSuccess {
		return false
	}
	if !c.pipeTree && !c.maybePipes {
		return true
	}
	req := c.pending[reqKey{id: h.MessageID}]
	if req == nil || req.op != opRead || !req.hasFile {
		return false
	}
	fl := c.files[req.fkey]
	return fl != nil && !fl.stats.Pipe && !fl.kindUnknown // a file of unknown kind may turn out a pipe from this data
}

// resyncReason is why a direction is looking for the next PDU start
// (internal/resync).
type resyncReason = resync.Reason

const (
	resyncBad   = resync.Bad
	resyncGap   = resync.Gap
	resyncStart = resync.Start
	resyncShed  = resync.Shed
)

// describeResync says why the direction resynchronised, for a message.
func describeResync(r resyncReason) string { return r.Describe("PDU", "after undecodable data") }

// decoderName names this package's decoder in decode.* events.
const decoderName = "smb"

// badFraming handles bytes of dir, starting at at, that do not frame as an
// NBSS packet holding SMB. On a direction that has framed nothing yet, with
// nothing missing before, the capture started inside a PDU: it
// resynchronises and says so once the next header is found
// (decode.resync). Otherwise it reports smb.malformed and resynchronises.
// With rescan the bytes held in buf (a bad header) are scanned again from
// the second on; without, the PDU in buf was consumed and is skipped whole.
func (c *Conn) badFraming(dir tcpstate.Dir, at tcpstate.Position, err error, rescan bool) {
	h := &c.half[dir]
	reason := resyncBad
	if h.good == 0 && h.losses == 0 {
		reason = resyncStart
	} else {
		c.malformed(dir, at, err)
	}
	held := h.buf
	c.startResync(dir, reason)
	switch {
	case !rescan: // the caller counts the PDU it consumed
	case len(held) > 0:
		h.buf = append(h.buf, held[1:]...) // overlapping: append copies like copy
		h.scan++
		h.ignore++
	}
}

func (c *Conn) startResync(dir tcpstate.Dir, reason resyncReason) {
	h := &c.half[dir]
	if !h.resync {
		h.losses++
	}
	h.resync, h.scan, h.reason = true, 0, reason
	h.buf = h.buf[:0]
}

// resyncScan looks for an NBSS session message header followed by an SMB
// protocol id. It returns the bytes from that header on (copied), or nil
// when none was found yet (the last 7 bytes are kept for the next call).
func (c *Conn) resyncScan(dir tcpstate.Dir, data []byte, at tcpstate.Position) []byte {
	h := &c.half[dir]
	h.buf = append(h.buf, data...)
	for i := 0; i+8 <= len(h.buf); i++ {
		b := h.buf[i:]
		if b[0] == 0 && b[5] == 'S' && b[6] == 'M' && b[7] == 'B' && b[4] >= 0xfc {
			h.ignore += int64(i)
			if skipped := h.scan + i; skipped > 0 && h.reason != resyncBad {
				c.resyncEvent(dir, skipped, at)
			}
			out := append([]byte(nil), b...)
			h.buf, h.resync, h.need, h.skip = h.buf[:0], false, 0, 0
			return out
		}
	}
	keep := min(len(h.buf), 7)
	dropped := len(h.buf) - keep
	h.ignore += int64(dropped)
	h.scan += dropped
	copy(h.buf, h.buf[dropped:])
	h.buf = h.buf[:keep]
	if h.scan > c.lim.MaxResync {
		h.dead = true
		h.ignore += int64(len(h.buf))
		h.buf = nil
		c.gaveUpEvent(dir, fmt.Sprintf("no SMB header found in %d bytes %s; the rest of this direction is ignored", h.scan, describeResync(h.reason)), int64(h.scan), at)
	}
	return nil
}

// resyncEvent reports decode.resync (Info): dir skipped bytes the capture
// made undecodable and decodes from the SMB header found in the delivery at
// at.
func (c *Conn) resyncEvent(dir tcpstate.Dir, skipped int, at tcpstate.Position) {
	h := &c.half[dir]
	c.stats.Resyncs++
	if c.stats.Resyncs > int64(c.lim.MaxErrorEvents) {
		return
	}
	c.ctx.Event(health.Event{Kind: health.DecodeResync, Severity: health.DefaultSeverity(health.DecodeResync), Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("SMB from the %s: skipped %d bytes (%s) to the next SMB header, and decoded from there", dir, skipped, describeResync(h.reason)),
		Evidence: map[string]any{"decoder": decoderName, "skipped": skipped, "dir": dir.String(), "reason": h.reason.Evidence()}})
}

// gaveUpEvent reports decode.gave_up (Notice): dir is no longer decoded, a
// notice about nettrace's coverage.
func (c *Conn) gaveUpEvent(dir tcpstate.Dir, reason string, bytes int64, at tcpstate.Position) {
	c.ctx.Event(health.Event{Kind: health.DecodeGaveUp, Severity: health.DefaultSeverity(health.DecodeGaveUp), Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("SMB decoding of the %s's bytes stopped: %s", dir, reason),
		Evidence: map[string]any{"decoder": decoderName, "reason": reason, "dir": dir.String(), "bytes": bytes}})
}

// malformed reports a PDU that cannot be decoded (first error per direction
// kept; one event per occurrence up to the error-event cap).
func (c *Conn) malformed(dir tcpstate.Dir, at tcpstate.Position, err error) {
	h := &c.half[dir]
	var pe *ParseError
	if errors.As(err, &pe) && pe.Frame == 0 {
		cp := *pe
		cp.Frame = at.Frame
		err = &cp
	}
	if h.err == nil {
		h.err = err
	}
	c.stats.Malformed++
	if c.stats.Malformed > int64(c.lim.MaxErrorEvents) {
		return
	}
	c.ctx.Event(health.Event{Kind: health.SMBMalformed, Severity: health.DefaultSeverity(health.SMBMalformed), Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("undecodable SMB data from the %s: %v", dir, err),
		Evidence: map[string]any{"error": err.Error(), "direction": dir.String()}})
}

// finishPDU decodes one complete NBSS packet (or the head of a large one).
func (c *Conn) finishPDU(dir tcpstate.Dir, pdu []byte, info pduInfo) {
	h := &c.half[dir]
	h.pdus++
	info.prevEnd = h.prevEnd
	defer func() { h.prevEnd = info.end.Time }()
	if info.start.Frame != info.end.Frame {
		h.multi++
	}
	if info.gap >= c.lim.ShapingMinDelay {
		c.stallSample(dir, info)
	}
	typ, n, err := ParseNBSSHeader(pdu)
	if err != nil {
		c.malformed(dir, info.start, err)
		return
	}
	payload := pdu[NBSSHeaderLen:]
	if len(payload) > n {
		payload = payload[:n]
	}
	switch typ {
	case NBSSMessage:
		c.smbMessage(dir, payload, info)
	case NBSSKeepAlive:
		h.good++
		c.stats.KeepAlives++
	default:
		h.good++
		c.nbssControl(dir, typ, payload, info)
	}
}

// smbMessage dispatches an NBSS session message on its protocol id.
func (c *Conn) smbMessage(dir tcpstate.Dir, p []byte, info pduInfo) {
	if len(p) < 4 {
		c.badFraming(dir, info.start, truncated("smb message", 4), false)
		c.half[dir].scan += NBSSHeaderLen + len(p)
		return
	}
	if smbMagic(p) {
		c.half[dir].good++
	}
	switch [4]byte(p[:4]) {
	case magicSMB2:
		c.smb2PDU(dir, p, info)
	case magicSMB1:
		c.smb1PDU(dir, p, info)
	case magicTransform:
		c.transformPDU(dir, p, info)
	case magicCompress:
		c.compressedPDU(dir, p, info)
	default:
		c.badFraming(dir, info.start, malformed("smb message", "protocol id %x", p[:4]), false)
		c.half[dir].scan += NBSSHeaderLen + len(p)
	}
}

// smbMagic reports whether b starts with one of the SMB protocol ids.
func smbMagic(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	m := [4]byte(b[:4])
	return m == magicSMB1 || m == magicSMB2 || m == magicTransform || m == magicCompress
}
