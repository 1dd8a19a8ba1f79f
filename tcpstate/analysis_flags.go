package tcpstate

import (
	"time"

	"github.com/nettrace/nettrace/layers"
)

// This file holds the tests that decide a segment's tcp.analysis flags:
// one small function per flag, named after it, run by flags in the order
// of Wireshark's tcp_analyze_sequence_number (tshark 4.0). Each reads the
// state of the sender (h) and of the receiver (r) as it was before the
// segment. They are small enough to be inlined: a segment costs one call.

// segment is what the analysis reads of one TCP segment, taken from the
// packet once, and what the flag tests find out for its events. It lives
// on analyze's stack.
type segment struct {
	seq, ack  uint32
	seglen    uint32 // payload length (segLen)
	end       uint32 // seq + seglen, plus one for a SYN or FIN
	tsval     uint32
	hasTS     bool
	synFinRst bool
	win       uint16 // raw window
	tf        layers.TCPFlags
	frame     int64
	now       int64 // capture time, Unix ns

	// Found by the analysis, for the events.
	late     bool    // the TSval is older than one already seen from the sender
	dupNum   int32   // duplicate_ack: its number
	dupOf    int64   // duplicate_ack: the frame it repeats
	orig     unacked // retransmission: first earlier transmission (zero: unknown)
	prev     unacked // retransmission: latest earlier transmission (zero: unknown)
	prevNext uint32  // the sender's next expected seq before the segment
}

// read fills s, which must be zero, from the TCP header of a segment with
// seglen bytes of payload, captured at frame and now. (It sets the fields
// one by one: a composite literal would be built aside and copied.)
func (s *segment) read(tcp *layers.TCPHeader, seglen uint32, frame, now int64) {
	s.seq, s.ack, s.seglen, s.end = tcp.Seq, tcp.Ack, seglen, tcp.Seq+seglen
	s.tsval, s.hasTS = tcp.TSval, tcp.HasTimestamps
	s.win, s.tf = tcp.Window, tcp.Flags
	s.frame, s.now = frame, now
	s.synFinRst = s.tf&(layers.FlagSYN|layers.FlagFIN|layers.FlagRST) != 0
	if s.synOrFin() {
		s.end++
	}
}

// synOrFin reports whether the segment carries a SYN or a FIN (each takes
// one sequence number).
func (s *segment) synOrFin() bool { return s.tf&(layers.FlagSYN|layers.FlagFIN) != 0 }

// hasACK reports whether the ACK flag is set.
func (s *segment) hasACK() bool { return s.tf&layers.FlagACK != 0 }

// sent reports whether the segment takes sequence space: data, a SYN or
// a FIN.
func (s *segment) sent() bool { return s.seglen > 0 || s.synOrFin() }

// unacked returns the segment as its sender remembers it.
func (s *segment) unacked() unacked {
	return unacked{seq: s.seq, next: s.end, tsval: s.tsval, hasTS: s.hasTS, frame: s.frame, at: s.now}
}

// ipIDs follows the IPv4 identifications one sender uses. Most stacks
// count them up (Linux per connection, Windows per host), so a segment
// whose ID is older than one already seen left the sender earlier: it was
// delayed on the way (reordered), not sent again. Senders whose IDs do not
// mostly go up by small steps (random IDs) tell nothing.
type ipIDs struct {
	last, max uint16
	lastLen   int // payload of the packet with ID last
	set       bool
	up, all   uint16 // pairs of consecutive packets whose ID moved by at most 64, and all pairs
}

// late records p's ID and reports whether it is older than the newest.
func (v *ipIDs) late(p *layers.Packet) bool {
	if p.Network != 4 || p.IPID == 0 {
		return false
	}
	id := uint16(p.IPID)
	if !v.set {
		v.last, v.max, v.set = id, id, true
		return false
	}
	// Whether the sender counts up is judged on the pairs before this one:
	// a late segment is itself a step back. One pair that went up by a
	// small step is already telling: random IDs do that once in a thousand.
	sequential := v.all >= 1 && uint32(v.up)*10 >= uint32(v.all)*9
	// A step is small up to 64, plus one per 536 bytes (the smallest
	// MSS) of the larger of the two packets: a TSO super-segment uses one
	// ID per segment the NIC cuts it into.
	step := int16(64 + min(max(v.lastLen, p.PayloadLen)/536, 1024))
	if d := int16(id - v.last); d != 0 && d >= -step && d <= step {
		v.up++ // a small step, up or (reordered) down: a counter
	}
	v.lastLen = p.PayloadLen
	v.all++
	if v.all >= 1<<14 {
		v.up, v.all = v.up/2, v.all/2
	}
	v.last = id
	behind := id - v.max // as int16: negative when id is older than max
	if int16(behind) > 0 {
		v.max = id
		return false
	}
	return sequential && int16(behind) < 0 && int16(behind) > -1024
}

// isLate reports whether the segment's TSval is older than one already
// seen from the same sender: it was sent earlier and delayed, reordered
// rather than resent.
func (s *segment) isLate(h *half) bool {
	return s.hasTS && h.tsSeen && seqLT(s.tsval, h.maxTSval)
}

// flags runs Wireshark's tests of the segment in its order and returns
// the flags they set. Besides the duplicate-ACK count (countDupAck) and
// the peer's highest contiguous byte after an ACK of unseen data, it
// changes no state: advance records the segment afterwards.
//
// The tests are small functions named after their tcp.analysis flag,
// inlined here: a zero window probe skips the other tests of the sender's
// segment, up to Wireshark's finished_fwd label, and so do a keep-alive
// ACK and a zero window probe ACK; the retransmission family comes last,
// and a keep-alive is never a retransmission.
func (a *seqAnalysis) flags(s *segment, h, r *half) Flags {
	var f Flags
	if s.zeroWindowProbe(h, r) {
		f = FlagZeroWindowProbe
	} else {
		if s.zeroWindow() {
			f |= FlagZeroWindow
		}
		if s.lostSegment(h) {
			f |= FlagLostSegment
		}
		if s.keepAlive(h) {
			f |= FlagKeepAlive
		}
		if s.windowUpdate(h) {
			f |= FlagWindowUpdate
		}
		if s.windowFull(r) {
			f |= FlagWindowFull
		}
		switch {
		case s.keepAliveAck(h, r):
			f |= FlagKeepAliveAck
		case s.zeroWindowProbeAck(h, r):
			f |= FlagZeroWindowProbeAck
		case s.duplicateAck(h):
			f |= FlagDuplicateAck
		}
	}
	// finished_fwd
	h.countDupAck(s, f)
	if s.ackLostSegment(r) && r.ackLostOnce() {
		f |= FlagAckLostSegment
	}
	if !s.sent() || f&FlagKeepAlive != 0 {
		return f
	}
	notAdvanced := s.notAdvanced(h)
	switch {
	case notAdvanced && s.fastRetransmission(r):
		f |= FlagFastRetransmission | FlagRetransmission
	case s.spuriousRetransmission(r):
		f |= FlagSpuriousRetransmission | FlagRetransmission
	case notAdvanced && s.outOfOrder(h, a.oooThreshold()):
		f |= FlagOutOfOrder
	case notAdvanced: // retransmission
		f |= FlagRetransmission
	}
	return f
}

// zeroWindowProbe (tcp.analysis.zero_window_probe): exactly 1 byte at the
// next expected sequence number while the peer advertises a zero window.
func (s *segment) zeroWindowProbe(h, r *half) bool {
	return s.seglen == 1 && h.nextSeqSet && s.seq == h.nextSeq && r.winSet && r.win == 0
}

// zeroWindow (tcp.analysis.zero_window): the sender advertises a zero
// window, outside SYN, FIN and RST.
func (s *segment) zeroWindow() bool { return s.win == 0 && !s.synFinRst }

// lostSegment (tcp.analysis.lost_segment): the segment starts beyond the
// next expected byte.
func (s *segment) lostSegment(h *half) bool {
	return h.nextSeqSet && seqGT(s.seq, h.nextSeq) && s.tf&layers.FlagRST == 0
}

// keepAlive (tcp.analysis.keep_alive): 0 or 1 byte, one byte before the
// next expected sequence number.
func (s *segment) keepAlive(h *half) bool {
	return s.seglen <= 1 && h.nextSeqSet && s.seq == h.nextSeq-1 && !s.synFinRst
}

// sameSeqAck reports whether the segment repeats the sender's next
// expected sequence number and its last ACK.
func (s *segment) sameSeqAck(h *half) bool {
	return h.nextSeqSet && s.seq == h.nextSeq && s.ack == h.lastAck && !s.synFinRst
}

// sameWin reports whether the segment repeats the sender's last window.
func (s *segment) sameWin(h *half) bool { return h.winSet && s.win == h.win }

// windowUpdate (tcp.analysis.window_update): no data, the same seq and ack,
// a new non-zero window.
func (s *segment) windowUpdate(h *half) bool {
	return s.seglen == 0 && s.win != 0 && (!h.winSet || s.win != h.win) && s.sameSeqAck(h)
}

// windowFull (tcp.analysis.window_full): the data reaches the right edge
// of the window the receiver advertised.
func (s *segment) windowFull(r *half) bool {
	if s.seglen == 0 || r.wsState == wsUnknown || !r.winSet || s.synFinRst {
		return false
	}
	shift := uint8(0)
	if r.wsState == wsShift && !r.winFromSYN {
		shift = r.wsShift
	}
	return s.seq+s.seglen == r.lastAck+uint32(r.win)<<shift
}

// keepAliveAck (tcp.analysis.keep_alive_ack): repeats the previous ACK
// after a keep-alive of the peer.
func (s *segment) keepAliveAck(h, r *half) bool {
	return s.seglen == 0 && s.win != 0 && s.sameWin(h) && s.sameSeqAck(h) && r.lastFlags&FlagKeepAlive != 0
}

// zeroWindowProbeAck (tcp.analysis.zero_window_probe_ack): the zero-window
// answer to the peer's zero window probe.
func (s *segment) zeroWindowProbeAck(h, r *half) bool {
	return s.seglen == 0 && s.win == 0 && s.sameWin(h) && h.nextSeqSet && s.seq == h.nextSeq &&
		(s.ack == h.lastAck || s.ack == h.lastAck+1) && r.lastFlags&FlagZeroWindowProbe != 0 && !s.synFinRst
}

// duplicateAck (tcp.analysis.duplicate_ack): no data, the same seq, ack
// and window as the previous segment.
func (s *segment) duplicateAck(h *half) bool {
	return s.seglen == 0 && s.win != 0 && s.sameWin(h) && s.sameSeqAck(h)
}

// countDupAck keeps the sender's duplicate-ACK count: a duplicate ACK
// counts one more and records its number and the frame it repeats; the
// count restarts when the ACK number changes (a window update with the
// same ACK does not restart it).
func (h *half) countDupAck(s *segment, f Flags) {
	if f&FlagDuplicateAck != 0 {
		if h.dupAcks < 0 { // after an ACK of unseen data (ackLostOnce)
			h.dupAcks = 0
		}
		h.dupAcks++
		s.dupNum, s.dupOf = h.dupAcks, h.lastNonDupAck
		return
	}
	if s.ack != h.lastAck || h.lastNonDupAck == 0 {
		h.lastNonDupAck = s.frame
		h.dupAcks = 0
	}
}

// ackLostSegment (tcp.analysis.ack_lost_segment): the ACK goes beyond the
// highest contiguous byte seen from the peer.
func (s *segment) ackLostSegment(r *half) bool {
	return r.maxToAckS && seqGT(s.ack, r.maxToAck) && s.hasACK()
}

// ackLostOnce decides, for an ACK beyond r's highest contiguous byte,
// whether it is flagged, as tshark 4.0 does: the boundary moves to r's
// next expected byte, and the ACK is flagged unless one was flagged since
// r last sent a segment with a new ACK (r.dupAcks is -1 until then). Pure
// ACKs and data that keep acknowledging the same hole are flagged once,
// not on every one that follows (tshark agreement on
// synthetic-ack-unseen-hole and suricata-dce-gap-handling-input).
func (r *half) ackLostOnce() bool {
	flag := r.dupAcks >= 0 || seqGT(r.maxToAck, r.nextSeq)
	r.maxToAck = r.nextSeq
	r.dupAcks = -1
	return flag
}

// notAdvanced reports whether the segment starts below the next expected
// sequence number, except for data right after a possible zero window
// probe.
func (s *segment) notAdvanced(h *half) bool {
	if s.seglen > 1 && h.nextSeqSet && h.nextSeq-1 == s.seq {
		return false
	}
	return h.nextSeqSet && seqLT(s.seq, h.nextSeq)
}

// fastRetransmission (tcp.analysis.fast_retransmission): the segment
// starts at the receiver's ACK, after at least two duplicate ACKs and
// within fastRetransWindow of the last ACK.
func (s *segment) fastRetransmission(r *half) bool {
	sinceAck := time.Duration(s.now - r.lastAckAt)
	return r.dupAcks >= 2 && r.lastAck == s.seq && sinceAck >= 0 && sinceAck < fastRetransWindow
}

// spuriousRetransmission (tcp.analysis.spurious_retransmission): the
// receiver has already acknowledged all of the segment's data.
func (s *segment) spuriousRetransmission(r *half) bool {
	return s.seglen > 0 && r.lastAck != 0 && seqLE(s.seq+s.seglen, r.lastAck)
}

// outOfOrder (tcp.analysis.out_of_order): the segment comes less than ooo
// after the sender's highest one and does not end where that one did.
func (s *segment) outOfOrder(h *half, ooo time.Duration) bool {
	sinceNext := time.Duration(s.now - h.nextSeqAt)
	return sinceNext >= 0 && sinceNext < ooo && h.nextSeq != s.end
}

// oooThreshold is Wireshark's out-of-order threshold: the initial RTT once
// known, else oooDefault.
func (a *seqAnalysis) oooThreshold() time.Duration {
	if a.firstRTTSet {
		return a.firstRTT
	}
	return oooDefault
}
