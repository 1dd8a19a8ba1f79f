package tcpstate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// This file turns the analysis flags and series into health events. Events
// are built only for flagged segments: a clean segment allocates nothing.

// msf converts a duration to milliseconds with microsecond precision.
func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// relSeq returns seq relative to base as tshark prints relative sequence
// numbers, but signed: a segment from before the first one captured (a
// connection picked up mid-stream) is a small negative number, not a
// wrapped one (4294956353).
func relSeq(seq, base uint32) int64 { return int64(int32(seq - base)) }

// nsTime converts a capture time kept as Unix nanoseconds back to a Time.
func nsTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// secs formats a duration as seconds with one or more decimals ("2.6 s",
// "0.032 s").
func secs(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 10:
		return strconv.FormatFloat(s, 'f', 1, 64) + " s"
	case s >= 0.1:
		return strconv.FormatFloat(s, 'f', 2, 64) + " s"
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + " µs"
	default:
		return strconv.FormatFloat(s*1000, 'f', 1, 64) + " ms"
	}
}

func (a *seqAnalysis) emit(ctx *StreamContext, kind health.Kind, frame, at int64, msg string, ev map[string]any) {
	a.emitSev(ctx, kind, health.DefaultSeverity(kind), frame, at, msg, ev)
}

func (a *seqAnalysis) emitSev(ctx *StreamContext, kind health.Kind, sev health.Severity, frame, at int64, msg string, ev map[string]any) {
	if ctx == nil || ctx.Reporter == nil {
		return
	}
	ctx.Event(health.Event{Kind: kind, Severity: sev, Time: nsTime(at), Frame: frame, Message: msg, Evidence: ev})
}

// saveSACK keeps the SACK blocks (without a DSACK block) h just sent.
func (h *half) saveSACK(tcp *layers.TCPHeader) {
	h.nsack = 0
	for i, b := range tcp.SACKBlocks() {
		if i == 0 && (seqLE(b.Right, tcp.Ack) || tcp.NumSACK > 1 && seqGE(b.Left, tcp.SACK[1].Left) && seqLE(b.Right, tcp.SACK[1].Right)) {
			continue // DSACK
		}
		h.sack[h.nsack] = b
		h.nsack++
	}
}

// sacked reports whether [seq, end) lies inside one of h's last SACK blocks.
func (h *half) sacked(seq, end uint32) bool {
	for i := 0; i < h.nsack; i++ {
		if seqLE(h.sack[i].Left, seq) && seqLE(end, h.sack[i].Right) {
			return true
		}
	}
	return false
}

// segmentEvents emits the events of one flagged segment: a
// retransmission's, then one per flag of flagEvents.
func (a *seqAnalysis) segmentEvents(ctx *StreamContext, dir Dir, f Flags, s *segment) {
	if f&FlagRetransmission != 0 {
		a.retransmissionEvent(ctx, dir, f, s)
	}
	for i := range flagEvents {
		if e := &flagEvents[i]; f&e.flag != 0 {
			e.emit(a, ctx, dir, *s)
		}
	}
}

// flagEvents names, in the order they are emitted, the other flags that
// have an event of their own, with the step that emits it. The steps take
// the segment by value: a pointer passed through a func value would move
// every segment to the heap.
var flagEvents = [...]struct {
	flag Flags
	emit func(a *seqAnalysis, ctx *StreamContext, dir Dir, s segment)
}{
	{FlagOutOfOrder, (*seqAnalysis).outOfOrderEvent},
	{FlagLostSegment, (*seqAnalysis).lostSegmentEvent},
	{FlagAckLostSegment, (*seqAnalysis).ackLostSegmentEvent},
	{FlagDuplicateAck, (*seqAnalysis).duplicateAckEvent},
	{FlagZeroWindow, (*seqAnalysis).zeroWindowEvent},
	{FlagZeroWindowProbe, (*seqAnalysis).zeroWindowProbeEvent},
	{FlagWindowFull, (*seqAnalysis).windowFullEvent},
	{FlagWindowUpdate, (*seqAnalysis).windowUpdateEvent},
	{FlagKeepAlive, (*seqAnalysis).keepAliveEvent},
}

// retransmissionEvent emits a retransmission (tcp.retransmission,
// tcp.fast_retransmission, tcp.spurious_retransmission) whose cause the
// segment already tells, or keeps it pending until the receiver's answer
// does.
func (a *seqAnalysis) retransmissionEvent(ctx *StreamContext, dir Dir, f Flags, s *segment) {
	r := &a.half[dir^1]
	pd := a.half[dir].newPending(r, f, s)
	orig := &s.orig
	switch {
	case pd.kind == health.TCPSpuriousRetransmission:
		a.emitRetrans(ctx, dir, &pd, "spurious", "acked")
	case orig.frame != 0 && orig.hasTS && s.hasTS && orig.tsval == s.tsval:
		a.emitRetrans(ctx, dir, &pd, "spurious", "duplicate")
	case s.late:
		a.emitRetrans(ctx, dir, &pd, "reorder", "timestamps")
	case s.seglen > 0 && r.sacked(pd.seq, pd.end):
		a.emitRetrans(ctx, dir, &pd, "spurious", "sack")
	default:
		a.addPending(ctx, dir, &pd)
	}
}

// newPending describes the retransmission s of h; r is the receiver.
func (h *half) newPending(r *half, f Flags, s *segment) pending {
	pd := pending{
		kind: health.TCPRetransmission, frame: s.frame, at: s.now,
		seq: s.seq, end: s.seq + s.seglen, tsval: s.tsval, hasTS: s.hasTS,
	}
	if s.seglen == 0 {
		pd.end++ // a SYN or FIN
		pd.ctl = "FIN"
		if s.tf&layers.FlagSYN != 0 {
			pd.ctl = "SYN"
		}
	}
	orig, prev := &s.orig, &s.prev
	if orig.frame != 0 {
		pd.origFrame, pd.origAt = orig.frame, orig.at
		pd.origTSval = orig.tsval
		pd.hasTS = pd.hasTS && orig.hasTS
	} else {
		pd.hasTS = false
	}
	if prev.frame != 0 && prev.frame != orig.frame {
		pd.prevFrame, pd.prevAt = prev.frame, prev.at
	}
	switch {
	case f&FlagFastRetransmission != 0:
		pd.kind, pd.fast, pd.dupAcks = health.TCPFastRetransmission, true, r.dupAcks
	case f&FlagSpuriousRetransmission != 0:
		pd.kind = health.TCPSpuriousRetransmission
	}
	return pd
}

// undecidedCause decides the cause of a retransmission of dir that no ACK
// decided: loss when the receiver's ACKs, captured, never covered it;
// unknown when the capture holds nothing the receiver sent (how then says
// so) or when the receiver acknowledged it in the end.
func (a *seqAnalysis) undecidedCause(dir Dir, pd *pending) (cause, how string) {
	r := &a.half[dir^1]
	switch {
	case r.segments == 0:
		return "unknown", "receiver_not_captured"
	case !r.highAckSet || seqLE(r.highAck, pd.seq):
		return "loss", ""
	}
	return "unknown", ""
}

// addPending keeps a retransmission of dir until the receiver's answer
// decides its cause. When pendingCap are already waiting, the oldest is
// decided with what is known.
func (a *seqAnalysis) addPending(ctx *StreamContext, dir Dir, pd *pending) {
	x := a.half[dir].extra()
	if x.npend == pendingCap {
		old := x.pend[0]
		cause, how := a.undecidedCause(dir, &old)
		if how == "" {
			how = "pending_limit"
		}
		a.emitRetrans(ctx, dir, &old, cause, how)
		a.held.release(old.frame)
		copy(x.pend[:], x.pend[1:])
		x.npend--
	}
	x.pend[x.npend] = *pd
	x.npend++
	a.held.add(pd.frame)
}

// outOfOrderEvent emits tcp.out_of_order.
func (a *seqAnalysis) outOfOrderEvent(ctx *StreamContext, dir Dir, s segment) {
	h := &a.half[dir]
	rel := relSeq(s.seq, h.base)
	a.emit(ctx, health.TCPOutOfOrder, s.frame, s.now,
		fmt.Sprintf("%s segment out of order: %d bytes at seq %d arrived after later data", dir.String(), s.seglen, rel),
		map[string]any{"seq": rel, "bytes": s.seglen, "since_highest_ms": msf(time.Duration(s.now - h.nextSeqAt))})
}

// lostSegmentEvent emits tcp.lost_segment.
func (a *seqAnalysis) lostSegmentEvent(ctx *StreamContext, dir Dir, s segment) {
	rel := relSeq(s.seq, a.half[dir].base)
	// nextSeq has moved on; the gap is from the previous expectation.
	missing := int64(int32(s.seq - s.prevNext))
	ev := map[string]any{"seq": rel}
	msg := fmt.Sprintf("previous segment not captured: %s data before seq %d is missing (lost before the capture point, or not captured)", dir.String(), rel)
	if missing > 0 {
		ev["missing_bytes"] = missing
		msg = fmt.Sprintf("previous segment not captured: %d bytes of %s data before seq %d are missing (lost before the capture point, or not captured)", missing, dir.String(), rel)
	}
	a.emit(ctx, health.TCPLostSegment, s.frame, s.now, msg, ev)
}

// ackLostSegmentEvent emits tcp.ack_unseen_segment.
func (a *seqAnalysis) ackLostSegmentEvent(ctx *StreamContext, dir Dir, s segment) {
	ack := relSeq(s.ack, a.half[dir^1].base)
	a.emit(ctx, health.TCPAckUnseenSegment, s.frame, s.now,
		fmt.Sprintf("%s acknowledges %s data the capture never saw (ack %d)", dir.String(), dir.Other().String(), ack),
		map[string]any{"ack": ack})
}

// duplicateAckEvent emits tcp.dup_ack.
func (a *seqAnalysis) duplicateAckEvent(ctx *StreamContext, dir Dir, s segment) {
	ack := relSeq(s.ack, a.half[dir^1].base)
	ev := map[string]any{"dup_ack_num": s.dupNum, "ack": ack}
	if s.dupOf != 0 {
		ev["dup_of_frame"] = s.dupOf
	}
	a.emit(ctx, health.TCPDupAck, s.frame, s.now,
		fmt.Sprintf("duplicate ACK #%d of frame %d: %s still waits for %s seq %d", s.dupNum, s.dupOf, dir.String(), dir.Other().String(), ack), ev)
}

// zeroWindowEvent emits tcp.zero_window.
func (a *seqAnalysis) zeroWindowEvent(ctx *StreamContext, dir Dir, s segment) {
	who := dir.String()
	a.emit(ctx, health.TCPZeroWindow, s.frame, s.now,
		fmt.Sprintf("%s advertises a zero receive window: its application is not reading, %s must stop sending", who, dir.Other().String()),
		map[string]any{"by": who})
}

// zeroWindowProbeEvent emits tcp.zero_window_probe.
func (a *seqAnalysis) zeroWindowProbeEvent(ctx *StreamContext, dir Dir, s segment) {
	rel := relSeq(s.seq, a.half[dir].base)
	a.emit(ctx, health.TCPZeroWindowProbe, s.frame, s.now,
		fmt.Sprintf("%s probes %s's zero window (1 byte at seq %d)", dir.String(), dir.Other().String(), rel),
		map[string]any{"seq": rel})
}

// windowFullEvent emits tcp.window_full.
func (a *seqAnalysis) windowFullEvent(ctx *StreamContext, dir Dir, s segment) {
	inFlight := int32(s.seq + s.seglen - a.half[dir^1].lastAck)
	a.emit(ctx, health.TCPWindowFull, s.frame, s.now,
		fmt.Sprintf("%s filled %s's receive window (%d bytes in flight): the receiver limits throughput", dir.String(), dir.Other().String(), inFlight),
		map[string]any{"in_flight": inFlight})
}

// windowUpdateEvent emits tcp.window_update.
func (a *seqAnalysis) windowUpdateEvent(ctx *StreamContext, dir Dir, s segment) {
	h := &a.half[dir]
	w := int64(s.win)
	if h.wsState == wsShift {
		w <<= h.wsShift
	}
	a.emit(ctx, health.TCPWindowUpdate, s.frame, s.now,
		fmt.Sprintf("%s window update: receive window now %d bytes", dir.String(), w),
		map[string]any{"window": w})
}

// keepAliveEvent emits tcp.keep_alive.
func (a *seqAnalysis) keepAliveEvent(ctx *StreamContext, dir Dir, s segment) {
	r := &a.half[dir^1]
	rel := relSeq(s.seq, a.half[dir].base)
	ev := map[string]any{"seq": rel, "bytes": s.seglen}
	msg := fmt.Sprintf("%s keep-alive (%d bytes at seq %d, one before the next expected byte)", dir.String(), s.seglen, rel)
	if r.winSet && r.win == 0 {
		// Linux probes a zero window with 0 bytes at snd.una-1, which
		// tshark calls a keep-alive.
		ev["zero_window_probe"] = true
		msg = fmt.Sprintf("%s probes %s's zero window (Linux style: %d bytes at seq %d; tshark labels it keep-alive)", dir.String(), dir.Other().String(), s.seglen, rel)
	}
	a.emit(ctx, health.TCPKeepAlive, s.frame, s.now, msg, ev)
}

// emitRetrans emits the event of one retransmission with its cause.
func (a *seqAnalysis) emitRetrans(ctx *StreamContext, dir Dir, pd *pending, cause, how string) {
	h := &a.half[dir]
	rel := relSeq(pd.seq, h.base)
	n := pd.end - pd.seq
	if pd.ctl != "" {
		n = 0
	}
	ev := map[string]any{"seq": rel, "bytes": n, "cause": cause, "cause_evidence": how}
	var b strings.Builder
	who := dir.String()
	switch {
	case pd.ctl != "" && pd.kind != health.TCPSpuriousRetransmission:
		fmt.Fprintf(&b, "%s %s retransmission", who, pd.ctl)
	case pd.kind == health.TCPFastRetransmission:
		fmt.Fprintf(&b, "%s fast retransmission of %d bytes at seq %d after %d duplicate ACKs", who, n, rel, pd.dupAcks)
		ev["dup_acks"] = pd.dupAcks
	case pd.kind == health.TCPSpuriousRetransmission:
		fmt.Fprintf(&b, "%s spurious retransmission of %d bytes at seq %d: the receiver had already acknowledged them", who, n, rel)
	default:
		fmt.Fprintf(&b, "%s retransmission of %d bytes at seq %d", who, n, rel)
	}
	if pd.origFrame != 0 {
		d := time.Duration(pd.at - pd.origAt)
		ev["original_frame"] = pd.origFrame
		ev["since_original_ms"] = msf(d)
		fmt.Fprintf(&b, " (retransmits frame %d, %s later", pd.origFrame, secs(d))
		if pd.prevFrame != 0 {
			dp := time.Duration(pd.at - pd.prevAt)
			ev["previous_frame"] = pd.prevFrame
			ev["since_previous_ms"] = msf(dp)
			fmt.Fprintf(&b, "; previous copy frame %d, %s before", pd.prevFrame, secs(dp))
		}
		b.WriteByte(')')
	}
	switch {
	case cause == "loss" && pd.ctl != "":
		fmt.Fprintf(&b, "; the earlier %s got no answer", pd.ctl)
	case cause == "loss":
		b.WriteString("; cause: loss (the receiver was missing these bytes)")
	case cause == "reorder":
		b.WriteString("; cause: reordering (the original was only delayed)")
	case cause == "spurious" && how == "duplicate":
		b.WriteString("; cause: spurious (an identical copy: duplicated by the network, not resent)")
		ev["duplicate"] = true
	case cause == "spurious" && pd.kind != health.TCPSpuriousRetransmission:
		b.WriteString("; cause: spurious (the receiver already had these bytes)")
	case cause == "unknown" && how == "receiver_not_captured":
		b.WriteString("; cause unknown (the receiver's side is not in the capture)")
	case cause == "unknown":
		b.WriteString("; cause unknown (no answer from the receiver in the capture)")
	}
	// A retransmission that repaired nothing is worth less attention, and
	// so is a SYN retry (tcp.syn_unanswered or the handshake tells more).
	sev := health.DefaultSeverity(pd.kind)
	if (cause == "spurious" || cause == "reorder" || cause == "unknown" || pd.ctl == "SYN") && sev > health.Notice {
		sev = health.Notice
	}
	a.emitSev(ctx, pd.kind, sev, pd.frame, pd.at, b.String(), ev)
}

// trackSeries records a retransmission of dir in its backoff series.
func (a *seqAnalysis) trackSeries(ctx *StreamContext, dir Dir, seg *segment) {
	s := &a.half[dir].extra().ser
	if s.active && s.seq == seg.seq {
		s.total++
		if s.n < seriesCap {
			s.frames[s.n], s.times[s.n] = seg.frame, seg.now
			s.n++
		}
		return
	}
	if s.active {
		a.closeSeries(ctx, dir)
	}
	*s = series{active: true, seq: seg.seq, bytes: int32(seg.seglen), total: 1}
	if seg.orig.frame != 0 {
		s.frames[0], s.times[0] = seg.orig.frame, seg.orig.at
		s.n = 1
	}
	s.frames[s.n], s.times[s.n] = seg.frame, seg.now
	s.n++
}

// closeSeries ends dir's retransmission series and reports it when its
// gaps roughly double (RTO exponential backoff, RFC 6298 5.5).
func (a *seqAnalysis) closeSeries(ctx *StreamContext, dir Dir) {
	s := &a.half[dir].extra().ser
	s.active = false
	if int(s.total) < a.config().BackoffMinRetransmissions || s.n < 4 {
		return
	}
	var gaps [seriesCap]time.Duration
	ng := int(s.n) - 1
	for i := 0; i < ng; i++ {
		gaps[i] = time.Duration(s.times[i+1] - s.times[i])
	}
	doubling := 0
	for i := 1; i < ng; i++ {
		if gaps[i-1] <= 0 {
			continue
		}
		if ratio := float64(gaps[i]) / float64(gaps[i-1]); ratio >= 1.5 && ratio <= 2.8 {
			doubling++
		}
	}
	if doubling < 2 || 2*doubling < ng-1 {
		return
	}
	h := &a.half[dir]
	gapsMS := make([]float64, ng)
	var list strings.Builder
	for i := 0; i < ng; i++ {
		gapsMS[i] = msf(gaps[i])
		if i > 0 {
			list.WriteString(", ")
		}
		list.WriteString(secs(gaps[i]))
	}
	rel := relSeq(s.seq, h.base)
	msg := fmt.Sprintf("%s retransmitted %d bytes at seq %d %d times with exponential backoff (gaps %s)",
		dir, s.bytes, rel, s.total, list.String())
	if s.acked {
		msg += fmt.Sprintf("; acknowledged %s after the first transmission", secs(time.Duration(s.ackedAt-s.times[0])))
	} else {
		msg += "; never acknowledged in the capture: every copy was lost or the receiver is gone"
	}
	// A series never acknowledged is a stalled connection.
	sev := health.DefaultSeverity(health.TCPRTOBackoff)
	if !s.acked {
		sev = health.Error
	}
	a.emitSev(ctx, health.TCPRTOBackoff, sev, s.frames[0], s.times[0], msg, map[string]any{
		"count": s.total, "gaps_ms": gapsMS, "first_frame": s.frames[0], "last_frame": s.frames[s.n-1],
		"seq": rel, "bytes": s.bytes, "acked": s.acked,
	})
}

// trackHole follows the hole that the receiver dir SACKs around in the
// other direction's data.
func (a *seqAnalysis) trackHole(ctx *StreamContext, dir Dir, p *layers.Packet, now int64, blocks []layers.SACKBlock, dsack bool) {
	ack := p.TCP.Ack
	var sle, sre uint32
	found := false
	for i, b := range blocks {
		if i == 0 && dsack {
			continue
		}
		if seqGT(b.Left, ack) {
			if !found || seqLT(b.Left, sle) {
				sle = b.Left
			}
			if !found || seqGT(b.Right, sre) {
				sre = b.Right
			}
			found = true
		}
	}
	if !found && a.half[dir].x == nil {
		return
	}
	hole := &a.half[dir].extra().hole
	if found {
		if hole.active && hole.start == ack {
			hole.count++
			hole.lastFrame, hole.lastAt = p.Frame, now
			if seqLT(sle, hole.sle) {
				hole.sle = sle
			}
			if seqGT(sre, hole.sre) {
				hole.sre = sre
			}
			return
		}
		if hole.active {
			if seqGT(ack, hole.start) {
				hole.filled, hole.fillFrame, hole.fillAt = true, p.Frame, now
			}
			a.closeHole(ctx, dir)
		}
		*hole = sackHole{active: true, start: ack, sle: sle, sre: sre, count: 1,
			frame: p.Frame, at: now, lastFrame: p.Frame, lastAt: now, senderBase: a.half[dir^1].base}
		return
	}
	if hole.active && seqGT(ack, hole.start) {
		hole.filled, hole.fillFrame, hole.fillAt = true, p.Frame, now
		a.closeHole(ctx, dir)
	}
}

// closeHole reports the hole when the receiver kept SACKing around it.
func (a *seqAnalysis) closeHole(ctx *StreamContext, dir Dir) {
	hole := &a.half[dir].extra().hole
	hole.active = false
	cfg := a.config()
	if int(hole.count) < cfg.SackHoleMinAcks {
		return
	}
	if hole.filled && time.Duration(hole.fillAt-hole.at) < cfg.SackHoleMinDuration {
		return
	}
	base := hole.senderBase
	start, sle, sre := hole.start-base, hole.sle-base, hole.sre-base
	holeLen := hole.sle - hole.start
	span := time.Duration(hole.lastAt - hole.at)
	ev := map[string]any{
		"hole_start": start, "hole_len": holeLen, "sack_count": hole.count,
		"sle": sle, "sre": sre, "filled": hole.filled, "duration_ms": msf(span),
	}
	msg := fmt.Sprintf("%s keeps SACKing around a %d-byte hole at seq %d of the %s's data (SACK %d-%d, %d ACKs over %s)",
		dir, holeLen, start, dir.Other(), sle, sre, hole.count, secs(span))
	if hole.filled {
		ev["fill_frame"] = hole.fillFrame
		msg += fmt.Sprintf("; filled by frame %d after %s", hole.fillFrame, secs(time.Duration(hole.fillAt-hole.at)))
	} else {
		msg += "; the missing bytes never arrived: they are lost between the sender and the receiver"
	}
	a.emit(ctx, health.TCPSackHole, hole.frame, hole.at, msg, ev)
}
