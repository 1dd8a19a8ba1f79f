package tcpstate

import (
	"fmt"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// lifecycle follows the handshake, resets and silences of the connection.
// It runs for every segment before the sequence analysis, one step per
// finding.
func (a *seqAnalysis) lifecycle(ctx *StreamContext, dir Dir, p *layers.Packet, now int64, seglen uint32) {
	tf := p.TCP.Flags
	hadPrev, prevAt := a.anyPkt, a.lastAt
	a.idle(p.Frame, now, tf)
	if tf&layers.FlagACK != 0 {
		a.acked[dir] = true
	}
	switch {
	case tf&layers.FlagSYN != 0 && tf&layers.FlagACK == 0:
		a.syn(dir, p.Frame, now)
	case tf&layers.FlagSYN != 0 && tf&layers.FlagACK != 0 && dir == ServerToClient:
		a.synAck(ctx, p, now, seglen)
	}
	if tf&(layers.FlagSYN|layers.FlagACK) == layers.FlagACK && a.lastSYNAt != 0 && !a.firstRTTSet {
		a.initialRTT(ctx, now)
	}
	if dir == ClientToServer && a.synAckSeen && !a.ackChecked && tf&layers.FlagACK != 0 && tf&(layers.FlagSYN|layers.FlagRST) == 0 {
		a.handshakeAck(ctx, p, now)
	}
	if tf&layers.FlagRST != 0 && !a.rstSeen {
		a.rstSeen, a.rstBy, a.rstFrame = true, dir, p.Frame
		if hadPrev {
			a.rstIdle = time.Duration(now - prevAt)
		}
		a.resetEvent(ctx, dir, p, now)
	}
	if tf&layers.FlagFIN != 0 {
		a.half[dir].fin = true
	}
}

// idle measures the silence before the segment: the longest one (for
// tcp.idle, emitted at the end) and how many reach the idle threshold. The
// first segment tells whether the capture starts mid-stream.
func (a *seqAnalysis) idle(frame, now int64, tf layers.TCPFlags) {
	if !a.anyPkt {
		a.anyPkt = true
		a.midStream = tf&layers.FlagSYN == 0
	} else if gap := time.Duration(now - a.lastAt); gap > 0 {
		if gap > a.maxIdle {
			a.maxIdle, a.idleFrom, a.idleTo, a.idleAt = gap, a.lastFrame, frame, now
		}
		if gap >= a.config().IdleThreshold {
			a.idleCount++
		}
	}
	a.lastAt, a.lastFrame = now, frame
}

// syn records a SYN: the most recent one (Wireshark's ts_mru_syn) and the
// client's attempts (for tcp.syn_unanswered and tcp.refused).
func (a *seqAnalysis) syn(dir Dir, frame, now int64) {
	a.lastSYNAt = now
	if dir != ClientToServer {
		return
	}
	if a.synCount < synTimesCap {
		a.synTimes[a.synCount], a.synFrames[a.synCount] = now, frame
	}
	a.synCount++
}

// synAck records the server's SYN-ACK; the first one's payload raises
// tcp.synack_payload.
func (a *seqAnalysis) synAck(ctx *StreamContext, p *layers.Packet, now int64, seglen uint32) {
	a.synAckCount++
	if a.synAckAt == 0 {
		a.synAckAt = now
	}
	if a.synAckSeen {
		return
	}
	a.synAckSeen, a.serverISN, a.synAckFrame = true, p.TCP.Seq, p.Frame
	a.synAckPayload = int(seglen)
	if seglen > 0 {
		a.emit(ctx, health.TCPSynAckPayload, p.Frame, now,
			fmt.Sprintf("SYN-ACK carries %d bytes of payload (IP total length %d); a SYN-ACK normally carries none: a NIC driver or middlebox may have added them (compare with a capture at the server)", seglen, p.IPLen),
			map[string]any{"payload_len": seglen, "ip_total_len": p.IPLen})
	}
}

// initialRTT is Wireshark's tcp.analysis.initial_rtt: from the most recent
// SYN to the first segment with ACK and without SYN.
func (a *seqAnalysis) initialRTT(ctx *StreamContext, now int64) {
	a.firstRTT, a.firstRTTSet = time.Duration(now-a.lastSYNAt), true
	if ctx != nil && ctx.RTT == 0 && a.firstRTT > 0 {
		ctx.RTT = a.firstRTT
	}
}

// handshakeAck checks the client's handshake ACK, which must acknowledge
// ISN+1 (casebook C1): tcp.handshake_ack_mismatch when only the SYN-ACK
// came from the server and the ACK is another number.
func (a *seqAnalysis) handshakeAck(ctx *StreamContext, p *layers.Packet, now int64) {
	a.ackChecked = true
	a.established = true
	ack, want := p.TCP.Ack, a.serverISN+1
	srv := &a.half[ServerToClient]
	onlySynAck := srv.segments == int64(a.synAckCount)
	switch {
	case onlySynAck && ack != want:
		msg := fmt.Sprintf("handshake ACK acknowledges %d (ISN+%d) instead of ISN+1 = %d", ack, int32(ack-a.serverISN), want)
		if a.synAckPayload > 0 && ack == want+uint32(a.synAckPayload) {
			msg += fmt.Sprintf(": the client accepted the %d payload bytes of the SYN-ACK (frame %d); unless the server really sent them (compare with a capture at the server), the server and stateful firewalls see a sequence mismatch and drop this ACK and what follows", a.synAckPayload, a.synAckFrame)
		} else {
			msg += ": the server and stateful firewalls see a sequence mismatch and drop this ACK and what follows"
		}
		a.emit(ctx, health.TCPHandshakeAckMismatch, p.Frame, now, msg,
			map[string]any{"expected_ack": want, "got_ack": ack, "isn": a.serverISN, "synack_frame": a.synAckFrame, "synack_payload": a.synAckPayload})
	case ack == want && a.synAckPayload > 0:
		a.ignoreSynAckPayload(want)
	}
}

// ignoreSynAckPayload takes back the payload of the SYN-ACK from the
// server's expected sequence numbers: the client ignored it (as Linux
// does), and so do we, unlike tshark.
func (a *seqAnalysis) ignoreSynAckPayload(want uint32) {
	srv := &a.half[ServerToClient]
	ghost := want + uint32(a.synAckPayload)
	if srv.nextSeqSet && srv.nextSeq == ghost {
		srv.nextSeq = want
	}
	if srv.maxToAckS && srv.maxToAck == ghost {
		srv.maxToAck = want
	}
}

// state names the connection's state as the capture shows it.
func (a *seqAnalysis) state() string {
	switch {
	case a.synCount > 0 && !a.synAckSeen:
		return "SYN_SENT"
	case a.synAckSeen && !a.established:
		return "SYN_RECEIVED"
	case a.half[0].fin && a.half[1].fin:
		return "CLOSING"
	case a.half[0].fin:
		return "FIN_WAIT (client closed)"
	case a.half[1].fin:
		return "FIN_WAIT (server closed)"
	}
	return "ESTABLISHED"
}

// unackedAt returns the bytes sent by each side and not acknowledged yet.
func (a *seqAnalysis) unackedAt() (c2s, s2c int64) {
	var u [2]int64
	for d := 0; d < 2; d++ {
		u[d] = a.unacked(Dir(d), 0, false)
	}
	return u[0], u[1]
}

// unacked returns the bytes d sent that the other side had not
// acknowledged, counting ack (when withAck) as one more acknowledgment of
// the other side: the ACK a reset carries.
func (a *seqAnalysis) unacked(d Dir, ack uint32, withAck bool) int64 {
	h, r := &a.half[d], &a.half[d^1]
	if !h.nextSeqSet {
		return 0
	}
	high, ok := r.highAck, r.highAckSet
	if withAck && (!ok || seqGT(ack, high)) {
		high, ok = ack, true
	}
	if !ok {
		return 0
	}
	return max(int64(int32(h.nextSeq-high)), 0)
}

// resetEvent reports the first reset of the connection: a refusal when it
// answers the SYN, else tcp.reset. Its severity follows what the capture
// proves: the resetter throwing away data the peer had sent (unacknowledged
// even by the reset's own ACK) is a warning; a reset with nothing of the
// peer's in flight is a notice, and the connection's handler (a
// ResetReviewer) may lower it further when the application protocol had
// ended cleanly.
func (a *seqAnalysis) resetEvent(ctx *StreamContext, dir Dir, p *layers.Packet, now int64) {
	if dir == ServerToClient && a.synCount > 0 && !a.synAckSeen {
		a.refused = true
		ev := map[string]any{"syn_frame": a.synFrames[0], "syn_count": a.synCount}
		server := ""
		if ctx != nil {
			server = " " + ctx.Server.String()
		}
		a.emit(ctx, health.TCPRefused, p.Frame, now,
			fmt.Sprintf("connection refused: the server%s answered the SYN (frame %d) with a reset: nothing listens on that port, or a firewall rejects it", server, a.synFrames[0]), ev)
		return
	}
	st := a.state()
	own := a.unacked(dir, 0, false)
	peer := a.unacked(dir^1, p.TCP.Ack, p.TCP.Flags.Has(layers.FlagACK))
	ev := map[string]any{"by": dir.String(), "state": st, "idle_ms": msf(a.rstIdle), "unacked_bytes": own + peer}
	var b strings.Builder
	fmt.Fprintf(&b, "%s reset the connection (%s)", dir, st)
	if a.rstIdle >= time.Second {
		fmt.Fprintf(&b, " after %s of silence", secs(a.rstIdle))
	}
	sev := health.Notice
	if peer > 0 {
		sev = health.Warning
		fmt.Fprintf(&b, "; %d bytes the %s had sent were not acknowledged: the reset discards them", peer, dir.Other())
		ev[unackedKey(dir^1)] = peer
	}
	if own > 0 {
		fmt.Fprintf(&b, "; the %s's own last %d bytes were not yet acknowledged", dir, own)
		ev[unackedKey(dir)] = own
	}
	e := health.Event{Kind: health.TCPReset, Severity: sev, Time: nsTime(now), Frame: p.Frame, Message: b.String(), Evidence: ev}
	if a.reviewer != nil {
		if e.Flow == "" && ctx != nil {
			e.Flow = ctx.Flow
		}
		a.reviewer.ReviewReset(e)
		return
	}
	a.emitSev(ctx, e.Kind, e.Severity, e.Frame, now, e.Message, e.Evidence)
}

// unackedKey names the evidence field of d's unacknowledged bytes.
func unackedKey(d Dir) string {
	if d == ClientToServer {
		return "unacked_c2s"
	}
	return "unacked_s2c"
}

// finishLifecycle emits the findings known only at the end.
func (a *seqAnalysis) finishLifecycle(ctx *StreamContext, reason CloseReason, at Position) {
	if a.synUnanswered(reason, at) {
		n := min(a.synCount, synTimesCap)
		spacing := make([]float64, 0, n)
		var list strings.Builder
		for i := 1; i < n; i++ {
			d := time.Duration(a.synTimes[i] - a.synTimes[i-1])
			spacing = append(spacing, msf(d))
			if i > 1 {
				list.WriteString(", ")
			}
			list.WriteString(secs(d))
		}
		server := "the server"
		if ctx != nil {
			server = ctx.Server.String()
		}
		msg := fmt.Sprintf("SYN to %s never answered (no SYN-ACK, no reset)", server)
		sev := health.DefaultSeverity(health.TCPSynUnanswered)
		if a.synCount > 1 {
			msg = fmt.Sprintf("%d SYNs to %s never answered (no SYN-ACK, no reset; retries after %s): the server is down, the port is filtered, or the SYNs are dropped on the way", a.synCount, server, list.String())
		} else if a.loneSYN(at) {
			sev = health.Notice
			msg = fmt.Sprintf("SYN to %s not answered in the capture, and never sent again although the capture went on for %s: every TCP stack retries an unanswered SYN within %s, so its sender is not one (a scan, a spoofed source) or got an answer the capture does not show",
				server, secs(at.Time.Sub(nsTime(a.synTimes[0]))), secs(loneSYNRetry))
		}
		a.emitSev(ctx, health.TCPSynUnanswered, sev, a.synFrames[0], a.synTimes[0], msg,
			map[string]any{"syn_count": a.synCount, "retry_spacing_ms": spacing,
				"waited_ms": msf(time.Duration(a.lastAt - a.synTimes[0]))})
	}
	a.idleEvent(ctx)
}

// synUnanswered reports whether the capture proves that the client's SYNs
// got no answer: no SYN-ACK and no reset, no server segment at all, the
// client never acknowledged anything (an ACK would show that a SYN-ACK
// reached it: the capture is one-sided), the capture shows what the server
// sends on its other connections, and the client had the time to retry
// (the capture did not end within the longest first retransmission
// timeout of a lone SYN, loneSYNRetry). A lone SYN never sent again is
// then said as a notice (loneSYN).
func (a *seqAnalysis) synUnanswered(reason CloseReason, at Position) bool {
	if a.synCount == 0 || a.synAckSeen || a.half[ServerToClient].segments > 0 || a.acked[ClientToServer] || a.serverHidden {
		return false
	}
	if reason == CloseEvicted {
		return false // dropped from tracking (a cap), not timed out: the answer may have come later
	}
	if a.synCount == 1 && reason == CloseEndOfCapture && at.Time.Sub(nsTime(a.synTimes[0])) <= loneSYNRetry {
		return false // the capture ended before the client would have sent it again
	}
	return true
}

// loneSYNRetry is the longest wait before a TCP stack sends an unanswered
// SYN again: Windows' 3 s initial RTO (RFC 6298 says 1 s; Linux uses 1 s).
const loneSYNRetry = 3 * time.Second

// loneSYN reports whether the connection's only SYN was never sent again
// although the capture, which ended (or the connection was closed) at at,
// went on past any stack's first SYN retransmission.
func (a *seqAnalysis) loneSYN(at Position) bool {
	return a.synCount == 1 && at.Time.Sub(nsTime(a.synTimes[0])) > loneSYNRetry
}

// idleEvent reports the longest silence of the connection when it reached
// the idle threshold.
func (a *seqAnalysis) idleEvent(ctx *StreamContext) {
	if a.maxIdle >= a.config().IdleThreshold {
		msg := fmt.Sprintf("connection silent for %s (frames %d to %d)", secs(a.maxIdle), a.idleFrom, a.idleTo)
		if a.rstSeen && a.rstFrame == a.idleTo {
			msg += fmt.Sprintf(", then reset by the %s", a.rstBy)
		}
		a.emit(ctx, health.TCPIdle, a.idleTo, a.idleAt, msg,
			map[string]any{"idle_ms": msf(a.maxIdle), "from_frame": a.idleFrom, "count": a.idleCount})
	}
}
