package tls

import (
	"fmt"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// This file holds what a Conn concludes when its connection ends. A
// conclusion about the network (a ClientHello never answered, a handshake
// cut short) holds only for what the capture shows: a direction the
// capture missed (one-sided, started mid-stream, bytes acknowledged but
// never seen, a gap) proves nothing, and a direction whose records could
// not be read is judged by what it went on to send.

// minAnswerWait is how long a ClientHello must have waited before the
// capture ended for the silence to count: RFC 6298's initial
// retransmission timeout, as for tcp.syn_unanswered.
const minAnswerWait = time.Second

// Close ends the connection: a ClientHello the capture proves was never
// answered becomes tls.handshake_stalled, a handshake cut by a reset
// tls.handshake_failed, and a direction whose decoding stopped one
// decode.gave_up.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	if c.closed {
		return
	}
	c.closed = true
	switch {
	case c.haveCH && !c.haveSH && !c.failed:
		if c.unanswered(reason, at) {
			waited := at.Time.Sub(c.chPos.Time)
			hello := "ClientHello (no SNI)"
			ev := map[string]any{"waited_ms": waited.Milliseconds(), "client_hello_frame": c.chPos.Frame,
				"close": reason.String()}
			if c.sni != "" {
				hello = fmt.Sprintf("ClientHello (SNI %q)", c.sni)
				ev["sni"] = c.sni
			}
			c.event(health.TLSHandshakeStalled, health.Error, c.chPos,
				fmt.Sprintf("%s was never answered by a ServerHello: waited %s until the connection ended (%s)",
					hello, waited.Round(time.Millisecond), reason), ev)
		}
	case c.haveSH && !c.hrr && !c.failed && reason == tcpstate.CloseRST && !c.handshakeDone() &&
		(c.half[0].dec != nil || c.version != VersionTLS13) && c.sawBoth():
		c.failed = true
		c.event(health.TLSHandshakeFailed, health.Error, at,
			"the connection was reset before the TLS handshake completed",
			map[string]any{"stage": c.stage(), "close": reason.String()})
	}
	c.reportStops()
	c.releaseHeld()
	if c.plain != nil {
		c.plain.Close(reason, at)
	}
	if c.raw != nil {
		c.raw.Close(reason, at)
	}
}

// unanswered reports whether the capture proves that the server sent
// nothing after the last ClientHello: the server's direction was captured
// (some of its packets, none of its bytes acknowledged but missing, no
// gap), the capture did not start mid-stream, and the client waited long
// enough (minAnswerWait) unless the connection ended otherwise than with
// the capture.
func (c *Conn) unanswered(reason tcpstate.CloseReason, at tcpstate.Position) bool {
	v := &c.ctx.Visibility
	sv := &c.half[tcpstate.ServerToClient]
	if !v.Captured(tcpstate.ServerToClient) || v.OneSided || v.MidStream || sv.gaps > 0 || sv.fed > c.serverFedAtCH {
		return false
	}
	return reason != tcpstate.CloseEndOfCapture || at.Time.Sub(c.chPos.Time) >= minAnswerWait
}

// sawBoth reports whether the capture shows both directions whole.
func (c *Conn) sawBoth() bool {
	v := &c.ctx.Visibility
	return v.Captured(tcpstate.ClientToServer) && v.Captured(tcpstate.ServerToClient) && !v.OneSided &&
		c.half[0].gaps == 0 && c.half[1].gaps == 0
}

// handshakeDone reports whether the handshake completed as far as the
// capture can tell: both Finished messages were read or, where records
// could not be read (no key, or not every key), both sides went on past
// their Finished. In TLS 1.2 a side's first protected handshake record is
// its Finished (RFC 5246, 7.4.9), and application data comes after it. In
// TLS 1.3 every record after the ServerHello looks alike (RFC 8446, 5.2):
// the server's flight, the client's flight ending with its Finished, then
// application data; so the client must have sent two protected records
// after the server's first and the server one after the client's first.
func (c *Conn) handshakeDone() bool {
	cl, sv := &c.half[tcpstate.ClientToServer], &c.half[tcpstate.ServerToClient]
	if cl.finished && sv.finished {
		return true
	}
	if c.version == VersionTLS13 {
		return sv.protected > sv.protectedLate && cl.protectedLate >= 2 && sv.protectedLate > 0
	}
	past := func(h *halfConn) bool { return h.finished || h.protectedHS || h.protected > 0 }
	return past(cl) && past(sv)
}

// reportStops reports, once per direction, why its decoding stopped, and
// the decrypted data that was not decoded.
func (c *Conn) reportStops() {
	for d := range c.half {
		dir := tcpstate.Dir(d)
		h := &c.half[d]
		if n := h.skipped + len(h.buf); h.err == nil && h.resync && n > 0 {
			// No record start found by the end: the stream is not TLS when
			// its start was captured and is not one, or when a record's
			// worth of bytes held no header.
			if (h.lostWhy == lostAtStart && h.records == 0 && !c.ctx.Visibility.MidStream) || n > recordHeaderLen+maxRecordLen {
				c.giveUp(dir, h, h.lostPos, h.lostReason(), nil, n)
			}
		}
		if h.err == nil {
			continue
		}
		c.event(health.DecodeGaveUp, health.DefaultSeverity(health.DecodeGaveUp), h.stopPos,
			fmt.Sprintf("stopped decoding TLS from the %s at frame %d: %s; %d bytes not decoded", dir, h.stopPos.Frame, h.stopWhy, h.ignored),
			map[string]any{"decoder": "tls", "reason": h.stopWhy, "dir": dir.String(), "bytes": h.ignored, "error": h.err.Error()})
	}
	if c.notPlain != "" {
		c.event(health.DecodeGaveUp, health.DefaultSeverity(health.DecodeGaveUp), c.notPlainPos,
			fmt.Sprintf("the decrypted application data (%d bytes) was not decoded: %s", c.notPlainN, c.notPlain),
			map[string]any{"decoder": "tls", "reason": c.notPlain, "dir": c.notPlainDir.String(), "bytes": c.notPlainN, "alpn": c.alpn})
	}
}

// Finished reports how the TLS session ended (tcpstate.Finisher): "the TLS
// session was closed (close_notify)" after a close_notify alert from
// either side, in clear or decrypted; else, when the application data was
// decrypted and handed to Config.Plaintext, what that decoder says when it
// is a Finisher; else "".
func (c *Conn) Finished() string {
	if c.closeNotify {
		return "the TLS session was closed (close_notify)"
	}
	if f, ok := c.plain.(tcpstate.Finisher); ok {
		return f.Finished()
	}
	return ""
}

var _ tcpstate.Finisher = (*Conn)(nil)
