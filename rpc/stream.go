package rpc

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nettrace/nettrace/internal/resync"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// This file frames PDUs out of a direction's bytes and finds the framing
// again when it is lost. Why a direction lost its framing decides what is
// reported when it is found again:
//
//   - resyncGap: bytes were never captured (Gap). Skipping to the next PDU
//     header is an artefact of the capture: decode.resync (Info).
//   - resyncStart: the direction's first bytes are not a PDU header — the
//     capture started inside a PDU (a connection picked up mid-stream).
//     Also decode.resync (Info). When no PDU header appears at all, in
//     either direction, the bytes are not DCE/RPC (a named pipe carrying
//     another protocol, such as PsExec's): one decode.gave_up (Notice) for
//     the connection.
//   - resyncBad: a header that can never be valid followed PDUs that
//     decoded, with nothing missing in between: rpc.malformed, a notice
//     about nettrace's coverage (health.DefaultSeverity).
//
// A direction that finds no header within Limits.MaxResync bytes, or whose
// stream ends first, is given up: decode.gave_up (Notice), or rpc.malformed
// for resyncBad.

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
func describeResync(r resyncReason) string { return r.Describe("PDU", "after a malformed PDU header") }

// pdus frames and handles the whole PDUs in f (C706 12.6.3: frag_length
// bytes each), resynchronising after a bad header. It returns the offset
// of the first byte not consumed, or false when the direction was
// abandoned.
func (c *Conn) pdus(dir tcpstate.Dir, h *half, f *feedBytes) (int, bool) {
	b := f.b
	off := 0
	for off < len(b) {
		if h.resync {
			next, found, abandoned := c.resyncSkip(dir, h, f, off)
			if abandoned {
				return next, false
			}
			off = next
			if !found {
				break
			}
		}
		if len(b)-off < HeaderLen {
			break
		}
		n, err := c.pduLength(b[off:])
		if err != nil {
			c.startResync(dir, err, f.posOf(off))
			off++
			h.skipped++
			c.stats.BytesIgnored++
			continue
		}
		if len(b)-off < n {
			break
		}
		h.pdus++
		c.decoded++
		c.handle(dir, b[off:off+n], f.posOf(off), f.at)
		off += n
	}
	return off, true
}

// resyncSkip skips the bytes of f from off that cannot start a PDU header
// and returns the offset reached and whether a header starts there. A
// direction that has skipped more than MaxResync bytes is abandoned.
func (c *Conn) resyncSkip(dir tcpstate.Dir, h *half, f *feedBytes, off int) (next int, found, abandoned bool) {
	skip, found := c.scan(dir, f.b[off:])
	off += skip
	h.skipped += skip
	c.stats.BytesIgnored += int64(skip)
	if !found {
		if h.skipped > c.lim.MaxResync {
			c.stats.BytesIgnored += int64(len(f.b) - off)
			c.abandon(dir, f.at)
			return off, false, true
		}
		return off, false, false
	}
	c.endResync(dir, f.posOf(off))
	return off, true, false
}

// pduLength decodes the common header (C706 12.6.3.1) at the front of b and
// returns its frag_length, which must be within MaxFragLength.
func (c *Conn) pduLength(b []byte) (int, error) {
	var hdr Header
	if err := hdr.Decode(b); err != nil {
		return 0, err
	}
	if int(hdr.FragLength) > c.lim.MaxFragLength {
		return 0, malformed("pdu header", "frag_length %d exceeds the limit of %d", hdr.FragLength, c.lim.MaxFragLength)
	}
	return int(hdr.FragLength), nil
}

// scan looks for a plausible PDU header in b: a valid common header
// (version 5.0 or 5.1, a connection-oriented packet type, a defined data
// representation, a frag_length within MaxFragLength) whose packet type is
// one that dir sends. It returns how many bytes to skip and whether a header
// starts there; when none is found it skips all but the last HeaderLen-1
// bytes, which may begin one.
func (c *Conn) scan(dir tcpstate.Dir, b []byte) (int, bool) {
	for i := 0; i+HeaderLen <= len(b); i++ {
		if b[i] != 5 {
			continue
		}
		var h Header
		if h.Decode(b[i:]) == nil && int(h.FragLength) <= c.lim.MaxFragLength && sentBy(h.Type, dir) {
			return i, true
		}
	}
	k := len(b) - (HeaderLen - 1)
	if k < 0 {
		k = 0
	}
	return k, false
}

// startResync makes dir look for the next PDU header after err, a header
// that did not decode at at.
func (c *Conn) startResync(dir tcpstate.Dir, err error, at tcpstate.Position) {
	h := &c.half[dir]
	var pe *ParseError
	if errors.As(err, &pe) && pe.Frame == 0 {
		pe.Frame = at.Frame
	}
	if !h.resync {
		h.resync, h.losses = true, h.losses+1
		h.reason = resyncBad
		if h.pdus == 0 {
			h.reason = resyncStart
		}
	}
	if h.pending == nil {
		h.pending, h.pendPos = err, at
	}
	if h.firstErr == nil {
		h.firstErr = err
	}
}

// endResync reports the resynchronisation that just found a header at at.
func (c *Conn) endResync(dir tcpstate.Dir, at tcpstate.Position) {
	h := &c.half[dir]
	h.resync = false
	switch {
	case h.reason != resyncBad && h.skipped > 0:
		c.resyncEvent(dir, at)
	case h.reason == resyncBad && (h.pending != nil || h.skipped > 0):
		msg := fmt.Sprintf("%s: skipped %d bytes to the next DCE/RPC header at frame %d", dirName(dir), h.skipped, at.Frame)
		ev := map[string]any{"dir": dirName(dir), "bytes_skipped": h.skipped}
		pos := at
		if h.pending != nil {
			msg = fmt.Sprintf("%s: %v; skipped %d bytes to the next DCE/RPC header at frame %d", dirName(dir), h.pending, h.skipped, at.Frame)
			ev["error"] = h.pending.Error()
			pos = h.pendPos
		}
		c.malformedEvent(pos, msg, ev)
	}
	h.pending, h.skipped = nil, 0
}

// resyncEvent reports decode.resync: dir skipped bytes the capture made
// undecodable (a gap, a mid-stream start) and decodes from the header at at.
func (c *Conn) resyncEvent(dir tcpstate.Dir, at tcpstate.Position) {
	h := &c.half[dir]
	c.stats.Resyncs++
	if c.nResync >= c.lim.MaxEvents {
		c.stats.EventsCapped++
		return
	}
	c.nResync++
	c.ctx.Event(health.Event{Kind: health.DecodeResync, Severity: health.DefaultSeverity(health.DecodeResync), Time: at.Time, Frame: at.Frame,
		Message: fmt.Sprintf("DCE/RPC from the %s: skipped %d bytes (%s) to the next PDU header at frame %d, and decoded from there",
			dir, h.skipped, describeResync(h.reason), at.Frame),
		Evidence: map[string]any{"decoder": decoderName, "skipped": h.skipped, "dir": dir.String(), "reason": h.reason.Evidence()}})
}

// decoderName names this package's decoder in decode.* events.
const decoderName = "dcerpc"

// abandon gives dir up: no PDU header within MaxResync bytes.
func (c *Conn) abandon(dir tcpstate.Dir, at tcpstate.Position) {
	h := &c.half[dir]
	if c.decoded == 0 {
		c.notDCERPC(dir, at, fmt.Sprintf("no DCE/RPC PDU header (version 5.0 or 5.1, a known packet type, a plausible frag_length) in the first %d bytes", h.skipped))
		return
	}
	h.dead, h.buf = true, nil
	if h.reason == resyncBad {
		msg := fmt.Sprintf("%s: no DCE/RPC header within %d bytes; the rest of this direction is not decoded", dirName(dir), h.skipped)
		ev := map[string]any{"dir": dirName(dir), "bytes_skipped": h.skipped}
		if h.pending != nil {
			ev["error"] = h.pending.Error()
			msg = fmt.Sprintf("%s: %v; %s", dirName(dir), h.pending, msg)
		}
		c.malformedEvent(at, msg, ev)
	} else {
		c.gaveUpEvent(dir, at, fmt.Sprintf("no DCE/RPC PDU header within %d bytes %s", h.skipped, describeResync(h.reason)), int64(h.skipped))
	}
	h.pending, h.skipped = nil, 0
}

// notDCERPC gives the whole connection up: nothing in it ever framed as a
// PDU, so its bytes are another protocol (a named pipe such as PsExec's
// runs its own protocol over SMB). One decode.gave_up, a notice about
// nettrace's coverage; both directions are ignored from here on.
func (c *Conn) notDCERPC(dir tcpstate.Dir, at tcpstate.Position, why string) {
	if c.gaveUp {
		return
	}
	c.gaveUp = true
	var n int64
	for d := range c.half {
		h := &c.half[d]
		n += int64(h.skipped) + int64(len(h.buf))
		h.dead, h.resync, h.buf, h.pending, h.skipped = true, false, nil, nil, 0
	}
	c.gaveUpEvent(dir, at, "the bytes are not DCE/RPC: "+why, n)
}

// gaveUpEvent reports decode.gave_up for dir.
func (c *Conn) gaveUpEvent(dir tcpstate.Dir, at tcpstate.Position, reason string, bytes int64) {
	c.stats.GaveUp++
	c.ctx.Event(health.Event{Kind: health.DecodeGaveUp, Severity: health.DefaultSeverity(health.DecodeGaveUp), Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("DCE/RPC decoding of the %s's bytes stopped: %s", dir, reason),
		Evidence: map[string]any{"decoder": decoderName, "reason": reason, "dir": dir.String(), "bytes": bytes}})
}

// malformedEvent reports rpc.malformed: bytes nettrace could not decode, a
// notice about its coverage (health.DefaultSeverity).
func (c *Conn) malformedEvent(at tcpstate.Position, msg string, ev map[string]any) {
	c.malformedEventSeverity(at, health.DefaultSeverity(health.RPCMalformed), msg, ev)
}

func (c *Conn) malformedEventSeverity(at tcpstate.Position, sev health.Severity, msg string, ev map[string]any) {
	c.stats.Malformed++
	if c.nMalf >= c.lim.MaxEvents {
		c.stats.EventsCapped++
		return
	}
	c.nMalf++
	c.ctx.Event(health.Event{Kind: health.RPCMalformed, Severity: sev, Time: at.Time, Frame: at.Frame,
		Message: msg, Evidence: ev})
}

// Gap drops the partial PDU of dir and resynchronises on the next header;
// stubs being reassembled in dir are abandoned.
func (c *Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	if c.closed || dir > tcpstate.ServerToClient {
		return
	}
	h := &c.half[dir]
	h.losses++
	if h.dead {
		return
	}
	c.stats.BytesIgnored += int64(len(h.buf))
	h.buf = h.buf[:0]
	if !h.resync {
		h.resync, h.reason = true, resyncGap
	}
	for _, cl := range c.calls {
		// A stub being reassembled in dir lost bytes; a reply that starts
		// after the gap is checked in response (its first fragment).
		if cl.reasm && (dir == tcpstate.ClientToServer) != cl.reqDone {
			cl.stub, cl.stubLost = nil, true
		}
	}
}

// Close reports a direction still looking for a PDU header, and calls the
// capture shows were never answered (see unanswered). Later calls are
// ignored.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	if c.closed {
		return
	}
	c.closed = true
	if c.decoded == 0 {
		for d := range c.half {
			if h := &c.half[d]; h.resync && h.skipped > 0 && !h.dead {
				c.notDCERPC(tcpstate.Dir(d), at, fmt.Sprintf("no DCE/RPC PDU header (version 5.0 or 5.1, a known packet type, a plausible frag_length) in %d bytes", h.skipped))
				break
			}
		}
	}
	for d := range c.half {
		h := &c.half[d]
		if !h.resync || h.dead || h.pending == nil && h.skipped == 0 {
			continue
		}
		if h.reason != resyncBad {
			c.gaveUpEvent(tcpstate.Dir(d), at, fmt.Sprintf("the stream ended before the next DCE/RPC PDU header (%d bytes skipped %s)", h.skipped, describeResync(h.reason)), int64(h.skipped))
			continue
		}
		msg := fmt.Sprintf("%s: stream ended while looking for a DCE/RPC header (%d bytes skipped)", dirName(tcpstate.Dir(d)), h.skipped)
		ev := map[string]any{"dir": dirName(tcpstate.Dir(d)), "bytes_skipped": h.skipped}
		pos := at
		if h.pending != nil {
			ev["error"] = h.pending.Error()
			msg = fmt.Sprintf("%s: %v; stream ended before the next DCE/RPC header (%d bytes skipped)", dirName(tcpstate.Dir(d)), h.pending, h.skipped)
			pos = h.pendPos
		}
		c.malformedEvent(pos, msg, ev)
	}
	var open []*call
	for _, cl := range c.calls {
		if cl.reqDone && !cl.respSeen {
			open = append(open, cl)
		}
	}
	sort.Slice(open, func(i, j int) bool { return open[i].seq < open[j].seq })
	for _, cl := range open {
		if !c.unanswered(cl) {
			c.stats.NotShown++
			continue
		}
		if reason == tcpstate.CloseEndOfCapture {
			// The connection did not end: the capture did. The answer may
			// come after it (an EcDoRpc long poll, a slow server).
			c.noResponse(cl, health.Notice, fmt.Sprintf("had no answer when the capture ended at frame %d, %s after the request; it may have come later", at.Frame, since(cl.reqEnd, at)), reason.String())
			continue
		}
		c.noResponse(cl, health.DefaultSeverity(health.RPCNoResponse), fmt.Sprintf("was never answered: the connection ended (%s) at frame %d", reason, at.Frame), reason.String())
	}
	c.calls = nil
}

// unanswered reports whether the capture shows that call cl, still open at
// Close, was never answered: the server's direction was captured (packets,
// and no byte of it missed: tcpstate.Visibility.Captured), nothing of it
// went undecoded after the request (no gap, no resynchronisation, not given
// up), and the capture did not start after the call began (its request was
// seen from its first fragment). A one-sided capture, or one that missed
// the server's bytes, cannot tell an unanswered call from an unseen answer.
func (c *Conn) unanswered(cl *call) bool {
	srv := &c.half[tcpstate.ServerToClient]
	switch {
	case !c.serverCaptured():
		return false
	case c.gaveUp || srv.dead || srv.resync || srv.losses != cl.srvLosses:
		return false
	case !cl.firstSeen:
		return false
	}
	return true
}

// Finished implements tcpstate.Finisher: "" while a call is outstanding, a
// PDU is partial or a direction is not being decoded; else that every call
// was answered.
func (c *Conn) Finished() string {
	if c.gaveUp || c.decoded == 0 || len(c.calls) > 0 {
		return ""
	}
	for d := range c.half {
		if h := &c.half[d]; len(h.buf) > 0 || h.resync || h.dead {
			return ""
		}
	}
	return "every DCE/RPC call was answered"
}

// serverCaptured reports whether the capture shows the server's side of
// the connection (tcpstate.Visibility.Captured). A Visibility with no
// packet counted was not filled in — a handler driven directly, not by the
// tracker — and the decoder then judges from the bytes it was given alone:
// the server's side is shown when it delivered any.
func (c *Conn) serverCaptured() bool {
	v := &c.ctx.Visibility
	if v.Packets == [2]int64{} {
		return c.half[tcpstate.ServerToClient].pdus > 0
	}
	return v.Captured(tcpstate.ServerToClient)
}

// since returns the capture time from a to b, rounded for a message.
func since(a, b tcpstate.Position) string {
	if a.Time.IsZero() || b.Time.Before(a.Time) {
		return "an unknown time"
	}
	return b.Time.Sub(a.Time).Round(time.Millisecond).String()
}
