package tcpstate

import (
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Flags is a set of tcp.analysis flags of one segment, named as Wireshark
// names them.
//
// As in tshark's output, a fast or spurious retransmission also carries
// FlagRetransmission (tshark adds tcp.analysis.retransmission to both), so
// the frames with FlagRetransmission are the frames tshark's
// tcp.analysis.retransmission filter shows.
type Flags uint32

// Analysis flags (Wireshark's tcp.analysis.*).
const (
	FlagRetransmission Flags = 1 << iota
	FlagFastRetransmission
	FlagSpuriousRetransmission
	FlagOutOfOrder
	FlagLostSegment
	FlagAckLostSegment
	FlagDuplicateAck
	FlagZeroWindow
	FlagZeroWindowProbe
	FlagZeroWindowProbeAck
	FlagWindowFull
	FlagWindowUpdate
	FlagKeepAlive
	FlagKeepAliveAck
	FlagReusedPorts
)

var flagNames = [...]string{
	"retransmission", "fast_retransmission", "spurious_retransmission",
	"out_of_order", "lost_segment", "ack_lost_segment", "duplicate_ack",
	"zero_window", "zero_window_probe", "zero_window_probe_ack",
	"window_full", "window_update", "keep_alive", "keep_alive_ack",
	"reused_ports",
}

// Has reports whether every flag of x is set in f.
func (f Flags) Has(x Flags) bool { return f&x == x }

// String lists the flags by their tcp.analysis field names, joined by
// "|" ("retransmission|fast_retransmission"), or "" for none.
func (f Flags) String() string {
	var b []byte
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, n...)
		}
	}
	return string(b)
}

// FlagByName returns the flag whose tcp.analysis field name is name
// ("duplicate_ack"), or 0.
func FlagByName(name string) Flags {
	for i, n := range flagNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// Window-scale knowledge of one direction (Wireshark's win_scale -1/-2/n).
const (
	wsUnknown uint8 = iota // no SYN seen: windows cannot be scaled
	wsNone                 // the handshake did not negotiate scaling
	wsShift                // scaling negotiated: shift in wsShift
)

// unacked is one segment not yet acknowledged (Wireshark's tcp_unacked_t).
type unacked struct {
	seq, next uint32
	tsval     uint32
	hasTS     bool
	frame     int64
	at        int64 // capture time, Unix ns
}

// pending is a retransmission whose cause waits for the receiver's answer.
type pending struct {
	kind      health.Kind
	ctl       string // "SYN" or "FIN" for a retransmitted SYN or FIN without data
	fast      bool
	frame     int64
	at        int64
	seq, end  uint32
	tsval     uint32
	origTSval uint32
	hasTS     bool
	origFrame int64
	origAt    int64
	prevFrame int64
	prevAt    int64
	dupAcks   int32
}

// series is the transmissions of one segment (for the RTO backoff).
type series struct {
	active  bool
	syn     bool
	seq     uint32
	bytes   int32
	n       int32 // transmissions recorded (capped at seriesCap)
	total   int32 // retransmissions seen, uncapped
	frames  [seriesCap]int64
	times   [seriesCap]int64
	acked   bool
	ackedAt int64
}

// sackHole is a hole a receiver SACKs around.
type sackHole struct {
	active     bool
	start      uint32 // the receiver's cumulative ACK: first missing byte
	sle, sre   uint32 // lowest SACK left edge above start, highest right edge
	count      int32
	frame      int64
	at         int64
	lastFrame  int64
	lastAt     int64
	filled     bool
	fillFrame  int64
	fillAt     int64
	senderBase uint32
}

// halfExtra is the part of a half needed only once there is trouble.
type halfExtra struct {
	pend  [pendingCap]pending
	npend int
	ser   series
	hole  sackHole // holes in the OTHER endpoint's data that this one SACKs
}

// extra returns h's trouble state, allocating it on first use.
func (h *half) extra() *halfExtra {
	if h.x == nil {
		h.x = new(halfExtra)
	}
	return h.x
}

// half is the analysis state of the segments one endpoint sends.
type half struct {
	// Wireshark tcp_analyze_seq_info (zero values mean "not yet seen").
	nextSeq, maxToAck     uint32
	nextSeqSet, maxToAckS bool
	nextSeqAt             int64
	lastAck               uint32 // ack field of the last segment sent
	lastAckAt             int64
	win                   uint16 // last raw window
	winSet                bool
	winFromSYN            bool // the last window came from a SYN (never scaled)
	wsState, wsShift      uint8
	dupAcks               int32
	lastNonDupAck         int64
	lastFlags             Flags

	base    uint32 // for relative sequence numbers (ISN, or first seq-1)
	baseSet bool

	highAck    uint32 // highest cumulative ACK sent (with the ACK flag)
	highAckSet bool
	maxTSval   uint32
	tsSeen     bool
	ids        ipIDs // the sender's IPv4 identifications, to tell a late segment

	ual  [unackedCap]unacked
	nual int

	// x holds the state of retransmissions and SACK holes: allocated on
	// the first retransmission or SACK block, so that a clean connection
	// stays small.
	x *halfExtra
	// The last SACK blocks this endpoint sent (DSACK excluded).
	sack  [4]layers.SACKBlock
	nsack int

	// measurements
	segments     int64
	retransBytes int64
	maxInFlight  int64
	zwSince      int64
	inZW         bool
	zwTotal      time.Duration
	fin          bool
}

// seqAnalysis is the per-connection TCP analysis: Wireshark-compatible
// per-segment flags and the lifecycle findings. The zero value is ready.
//
// Per segment (analyze), it computes tshark 4.0's tcp.analysis flags with
// the same per-direction state (next expected sequence number, highest
// contiguous byte, last ACK and window, duplicate-ACK count, window scale
// learned from the SYNs, initial RTT as the out-of-order threshold) and
// emits one event per flag (tcp.retransmission, tcp.dup_ack, …). Beyond
// tshark, a retransmission's evidence names its original frame and gives
// its cause: "spurious" (already acknowledged or SACKed, a byte-identical
// network duplicate, or later proven unnecessary by a DSACK block or by the
// timestamps echoed in the ACK after an RTO), "reorder" (the segment's
// TSval is older than one already seen from that sender, or a fast
// retransmission later proven unnecessary), "loss" (the receiver's ACK
// covered it only after the retransmission, or never did) or "unknown".
// Such events are emitted when the receiver's answer decides the cause, or
// at finish.
//
// Over the connection it follows the handshake (tcp.syn_unanswered,
// tcp.refused, tcp.synack_payload, tcp.handshake_ack_mismatch), resets
// (tcp.reset), silences (tcp.idle), retransmission series with exponential
// backoff (tcp.rto_backoff) and holes a receiver keeps SACKing around
// (tcp.sack_hole), and measures what finish writes into the FlowStats.
//
// Every structure is bounded (see the constants in analysis_config.go);
// analyze allocates only to build the events of flagged segments.
type seqAnalysis struct {
	cfg  *AnalysisConfig
	half [2]half
	held *heldFrames // the tracker's undecided retransmissions (nil alone)

	// handshake
	synCount      int
	synTimes      [synTimesCap]int64
	synFrames     [synTimesCap]int64
	lastSYNAt     int64 // most recent SYN without ACK (Wireshark's ts_mru_syn)
	synAckCount   int
	synAckFrame   int64
	synAckPayload int
	serverISN     uint32
	synAckSeen    bool
	ackChecked    bool
	established   bool
	midStream     bool
	firstRTT      time.Duration
	firstRTTSet   bool

	// acked: the direction sent a segment with the ACK flag, so it heard
	// from the other side (an ACK of the SYN-ACK, of data): evidence that
	// the other direction existed even when the capture lacks it.
	acked [2]bool
	// reviewer, when set, reports the connection's reset itself (the
	// handler implements ResetReviewer).
	reviewer ResetReviewer
	// serverHidden: the capture lacks packets the server sent on other
	// connections (set by the tracker before finish).
	serverHidden bool
	// lastResent: the last segment analysed carried data its sender had
	// sent before (a retransmission, not a late original).
	lastResent bool

	// reset
	rstSeen   bool
	rstBy     Dir
	rstFrame  int64
	rstIdle   time.Duration
	refused   bool
	anyPkt    bool
	lastAt    int64
	lastFrame int64
	maxIdle   time.Duration
	idleFrom  int64
	idleTo    int64
	idleAt    int64
	idleCount int

	// RTT from ACKs (tcp.analysis.ack_rtt), kept per acknowledging
	// direction: only the far endpoint's ACKs measure the network.
	rtt      [2]rttStats
	rng      uint32
	synAckAt int64
}

// rttStats are the ack_rtt samples of the ACKs one endpoint sent.
type rttStats struct {
	n        int
	min, max int64
	res      [rttReservoirCap]int64
}

// configure sets the thresholds of the lifecycle findings; nil means
// DefaultAnalysisConfig. c is kept (not copied, so that every connection
// can share the tracker's) and must already have its defaults applied
// (c.withDefaults()). The tracker calls it before the first segment.
func (a *seqAnalysis) configure(c *AnalysisConfig) { a.cfg = c }

func (a *seqAnalysis) config() *AnalysisConfig {
	if a.cfg == nil {
		return &defaultAnalysisConfig
	}
	return a.cfg
}

// Sequence-space comparisons (RFC 1982 serial arithmetic).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }
func seqGE(a, b uint32) bool { return int32(a-b) >= 0 }

// segLen is the TCP payload length of p: the length the headers declare, or
// what was captured for a TSO super-segment (IPv4 total length 0, C10).
func segLen(p *layers.Packet) uint32 {
	n := p.PayloadLen
	if len(p.Payload) > n {
		n = len(p.Payload)
	}
	if n < 0 {
		n = 0
	}
	return uint32(n)
}

const (
	fastRetransWindow = 20 * time.Millisecond // Wireshark: retransmission within 20 ms of the 2nd dup ACK
	oooDefault        = 3 * time.Millisecond  // Wireshark: out-of-order threshold before the initial RTT is known
)

// analyze is called by the tracker for every segment of the connection, in
// capture order, before reassembly. It returns the segment's flags and
// emits the per-segment events through ctx.
//
// The flags follow Wireshark's tcp_analyze_sequence_number (tshark 4.0):
// same definitions, same order of tests (flags, in analysis_flags.go),
// same state per direction. The one deliberate difference: a SYN-ACK
// carrying payload that the client ignores (its handshake ACK is ISN+1, as
// Linux does) does not move the server's expected sequence number, so the
// server's first data is not called a retransmission (casebook C1; tshark
// is fooled there).
func (a *seqAnalysis) analyze(ctx *StreamContext, dir Dir, p *layers.Packet) Flags {
	dir &= 1
	h := &a.half[dir]
	r := &a.half[dir^1]
	var s segment
	s.read(&p.TCP, segLen(p), p.Frame, p.Time.UnixNano())
	h.segments++
	s.late = h.ids.late(p) || s.isLate(h)
	h.setBase(&s)

	a.lifecycle(ctx, dir, p, s.now, s.seglen)

	// Window scaling is learned from the SYNs (Wireshark's
	// verify_tcp_window_scaling).
	if s.tf&layers.FlagSYN != 0 {
		a.learnWindowScale(dir, s.hasACK(), p.TCP.WindowScale)
	}

	f := a.flags(&s, h, r)

	// The original lookup comes before the segment is remembered: it must
	// not find the segment itself.
	if f&FlagRetransmission != 0 {
		s.orig, s.prev = h.findOriginal(s.seq)
	}
	s.prevNext = h.nextSeq
	if s.sent() {
		h.remember(s.unacked())
	}
	h.advance(&s, f)

	// What this segment tells about the peer's data: RTT, causes of the
	// peer's pending retransmissions, SACK holes, backoff series end.
	if s.hasACK() {
		a.ackReceived(ctx, dir, p, s.now)
	}
	if s.hasTS && (!h.tsSeen || seqGT(s.tsval, h.maxTSval)) {
		h.maxTSval, h.tsSeen = s.tsval, true
	}
	if s.hasACK() {
		h.saveSACK(&p.TCP)
	}
	h.measure(r, &s, f)

	if f != 0 {
		a.segmentEvents(ctx, dir, f, &s)
	}
	if f&FlagRetransmission != 0 && s.seglen > 0 {
		a.trackSeries(ctx, dir, &s)
	}
	h.lastFlags = f
	a.lastResent = f&FlagRetransmission != 0 && s.seglen > 0 && !s.late
	return f
}

// setBase sets the base of h's relative sequence numbers from its first
// segment: the ISN of a SYN, else the sequence number before the first.
func (h *half) setBase(s *segment) {
	if h.baseSet {
		return
	}
	h.baseSet = true
	if s.tf&layers.FlagSYN != 0 {
		h.base = s.seq
	} else {
		h.base = s.seq - 1
	}
}

// advance records the segment in its sender's state, as Wireshark does
// after its tests: the next expected sequence number and the highest
// contiguous byte (neither moved by a zero window probe), the window and
// the ACK.
func (h *half) advance(s *segment, f Flags) {
	if f&FlagZeroWindowProbe == 0 {
		if !h.nextSeqSet || seqGT(s.end, h.nextSeq) {
			h.nextSeq, h.nextSeqSet, h.nextSeqAt = s.end, true, s.now
		}
		if !h.maxToAckS || s.seq == h.maxToAck {
			h.maxToAck, h.maxToAckS = h.nextSeq, true
		}
	}
	h.win, h.winSet = s.win, true
	h.winFromSYN = s.tf&layers.FlagSYN != 0
	h.lastAck, h.lastAckAt = s.ack, s.now
}

// measure adds the segment to its sender's measurements: retransmitted
// bytes, the most bytes in flight, time spent in a zero window.
func (h *half) measure(r *half, s *segment, f Flags) {
	if f&FlagRetransmission != 0 {
		h.retransBytes += int64(s.seglen)
	}
	if s.seglen > 0 && r.highAckSet {
		h.maxInFlight = max(h.maxInFlight, int64(int32(h.nextSeq-r.highAck)))
	}
	if s.tf&(layers.FlagSYN|layers.FlagRST) == 0 {
		h.zeroWindowTime(s)
	}
}

// zeroWindowTime adds up the time h advertises a zero window.
func (h *half) zeroWindowTime(s *segment) {
	if s.win == 0 && !h.inZW {
		h.inZW, h.zwSince = true, s.now
	} else if s.win != 0 && h.inZW {
		h.inZW = false
		h.zwTotal += time.Duration(s.now - h.zwSince)
	}
}

// learnWindowScale applies Wireshark's rule: scaling is used only when
// both SYNs carry the option.
func (a *seqAnalysis) learnWindowScale(dir Dir, synAck bool, ws int8) {
	h, r := &a.half[dir], &a.half[dir^1]
	if ws >= 0 {
		if ws > 14 {
			ws = 14 // RFC 7323, 2.3
		}
		if h.wsState == wsUnknown || h.wsState == wsShift {
			h.wsState, h.wsShift = wsShift, uint8(ws)
		}
		if synAck && r.wsState == wsNone {
			h.wsState = wsNone
		}
		return
	}
	if h.wsState == wsUnknown || h.wsState == wsShift {
		h.wsState, r.wsState = wsNone, wsNone
	}
}

// remember records a sent segment in the bounded unacked list.
func (h *half) remember(u unacked) {
	if h.nual == unackedCap {
		// Keep the oldest (the one an RTO retransmits); drop the second.
		copy(h.ual[1:], h.ual[2:])
		h.nual--
	}
	h.ual[h.nual] = u
	h.nual++
}

// findOriginal returns copies of the first and the latest remembered
// transmissions of the bytes at seq, or zero values.
func (h *half) findOriginal(seq uint32) (first, latest unacked) {
	found := false
	for i := 0; i < h.nual; i++ {
		u := &h.ual[i]
		if seqLE(u.seq, seq) && seqLT(seq, u.next) || u.seq == seq {
			if !found {
				first, found = *u, true
			}
			latest = *u
		}
	}
	return first, latest
}

// ackReceived processes the ACK (and SACK/timestamps) of a segment sent in
// dir: it acknowledges the data of the other direction.
func (a *seqAnalysis) ackReceived(ctx *StreamContext, dir Dir, p *layers.Packet, now int64) {
	ackr := &a.half[dir] // the receiver, sending this ACK
	snd := &a.half[dir^1]
	ack := p.TCP.Ack
	if !ackr.highAckSet || seqGT(ack, ackr.highAck) {
		ackr.highAck, ackr.highAckSet = ack, true
	}

	// ack_rtt: the ACK exactly acknowledges a remembered segment.
	sampled := false
	j := 0
	for i := 0; i < snd.nual; i++ {
		u := snd.ual[i]
		if u.next == ack && !sampled {
			a.rttSample(dir, now-u.at)
			sampled = true
		}
		if seqLE(u.next, ack) {
			continue // acknowledged: drop
		}
		if seqLT(u.seq, ack) {
			u.seq = ack // partly acknowledged
		}
		snd.ual[j] = u
		j++
	}
	snd.nual = j

	// The DSACK block, if any (RFC 2883): the first block lies below the
	// cumulative ACK or inside the second block.
	var dL, dR uint32
	dsack := false
	blocks := p.TCP.SACKBlocks()
	if len(blocks) > 0 {
		b0 := blocks[0]
		if seqLE(b0.Right, ack) || len(blocks) > 1 && seqGE(b0.Left, blocks[1].Left) && seqLE(b0.Right, blocks[1].Right) {
			dsack, dL, dR = true, b0.Left, b0.Right
		}
	}

	if snd.x == nil && ackr.x == nil && len(blocks) == 0 {
		return // no retransmission, series or hole to follow
	}
	sx := snd.extra()
	// Causes of the sender's pending retransmissions.
	for i := 0; i < sx.npend; {
		pd := &sx.pend[i]
		cause, how := "", ""
		switch {
		case dsack && seqLT(dL, pd.end) && seqGT(dR, pd.seq):
			cause, how = unnecessaryCause(pd.fast), "dsack"
		case seqGE(ack, pd.end):
			if pd.hasTS && p.TCP.HasTimestamps && pd.origTSval != pd.tsval && p.TCP.TSecr == pd.origTSval {
				cause, how = unnecessaryCause(pd.fast), "timestamps"
			} else {
				cause, how = "loss", "acked"
			}
		}
		if cause == "" {
			i++
			continue
		}
		a.emitRetrans(ctx, dir^1, pd, cause, how)
		a.held.release(pd.frame)
		sx.npend--
		copy(sx.pend[i:sx.npend], sx.pend[i+1:sx.npend+1])
	}

	// SACK holes in the sender's data, seen by this receiver.
	a.trackHole(ctx, dir, p, now, blocks, dsack)

	// The ACK ends the sender's retransmission series.
	if s := &sx.ser; s.active && seqGT(ack, s.seq) {
		s.acked, s.ackedAt = true, now
		a.closeSeries(ctx, dir^1)
	}
}

// unnecessaryCause names a retransmission the receiver did not need: the
// original arrived late (reordering triggered the fast retransmission) or
// the timer fired too early.
func unnecessaryCause(fast bool) string {
	if fast {
		return "reorder"
	}
	return "spurious"
}

// rttSample adds one ACK RTT sample of an ACK sent in dir.
func (a *seqAnalysis) rttSample(dir Dir, d int64) {
	if d < 0 {
		return
	}
	r := &a.rtt[dir]
	if r.n == 0 || d < r.min {
		r.min = d
	}
	if d > r.max {
		r.max = d
	}
	if r.n < rttReservoirCap {
		r.res[r.n] = d
	} else {
		// Reservoir sampling with a deterministic xorshift generator.
		if a.rng == 0 {
			a.rng = 0x9e3779b9
		}
		a.rng ^= a.rng << 13
		a.rng ^= a.rng >> 17
		a.rng ^= a.rng << 5
		if k := int(a.rng % uint32(r.n+1)); k < rttReservoirCap {
			r.res[k] = d
		}
	}
	r.n++
}

// farAcker returns the direction whose ACKs measure the network round
// trip: the endpoint away from the capture point. The handshake tells
// where the capture was taken: near the client, the SYN-ACK comes a round
// trip after the SYN and the ACK at once; near the server, the reverse.
// Without a handshake, the ACKs with the larger median delay are taken
// (the near endpoint's ACKs only measure its own delay).
func (a *seqAnalysis) farAcker() Dir {
	if a.synAckAt != 0 && a.lastSYNAt != 0 && a.firstRTTSet && a.synAckAt >= a.lastSYNAt {
		ackAt := a.lastSYNAt + int64(a.firstRTT)
		if a.synAckAt-a.lastSYNAt >= ackAt-a.synAckAt {
			return ServerToClient // near the client: the server is far
		}
		return ClientToServer
	}
	if a.rtt[ClientToServer].median() > a.rtt[ServerToClient].median() {
		return ClientToServer
	}
	return ServerToClient
}

// finish is called once when the connection ends (before its flow.summary
// is emitted). It emits end-of-connection findings and fills the
// measurement fields of st.
func (a *seqAnalysis) finish(ctx *StreamContext, reason CloseReason, at Position, st *health.FlowStats) {
	endAt := a.lastAt
	for d := Dir(0); d < 2; d++ {
		h := &a.half[d]
		if x := h.x; x != nil {
			// Undecided retransmissions: decide with what the capture shows.
			for i := 0; i < x.npend; i++ {
				pd := &x.pend[i]
				cause, how := a.undecidedCause(d, pd)
				if how == "" {
					how = "end"
				}
				a.emitRetrans(ctx, d, pd, cause, how)
				a.held.release(pd.frame)
			}
			x.npend = 0
			if x.ser.active {
				a.closeSeries(ctx, d)
			}
			if x.hole.active {
				a.closeHole(ctx, d)
			}
		}
		if h.inZW && endAt > h.zwSince {
			h.zwTotal += time.Duration(endAt - h.zwSince)
			h.inZW = false
		}
	}
	a.finishLifecycle(ctx, reason, at)
	if st == nil {
		return
	}
	a.fillStats(st)
}

// fillStats writes the measurements into st. Lifecycle fields the tracker
// owns are filled only when still empty (same definitions).
func (a *seqAnalysis) fillStats(st *health.FlowStats) {
	if a.firstRTTSet {
		st.HandshakeRTT = a.firstRTT
	}
	far := a.farAcker()
	if a.rtt[far].n == 0 {
		far ^= 1
	}
	if r := &a.rtt[far]; r.n > 0 {
		st.RTTSamples = r.n
		st.RTTMin = time.Duration(r.min)
		st.RTTMax = time.Duration(r.max)
		st.RTTMedian = time.Duration(r.median())
	}
	for d := 0; d < 2; d++ {
		st.RetransBytes[d] = a.half[d].retransBytes
		st.MaxInFlight[d] = a.half[d].maxInFlight
		st.ZeroWindow[d] = a.half[d].zwTotal
	}
	st.MaxIdle = a.maxIdle
	st.SYNs = a.synCount
	if len(st.SYNFrames) == 0 && a.synCount > 0 {
		n := min(a.synCount, synTimesCap)
		st.SYNFrames = append(st.SYNFrames, a.synFrames[:n]...)
	}
	if st.SYNACKs == 0 {
		st.SYNACKs = a.synAckCount
	}
	if !st.Established {
		st.Established = a.established
	}
	if !st.MidStream {
		st.MidStream = a.midStream
	}
	if st.ResetBy == "" && a.rstSeen {
		st.ResetBy = a.rstBy.String()
		st.ResetFrame = a.rstFrame
		st.IdleBeforeRST = a.rstIdle
	}
}

// median returns the median of the reservoir.
func (r *rttStats) median() int64 {
	n := min(r.n, rttReservoirCap)
	if n == 0 {
		return 0
	}
	var s [rttReservoirCap]int64
	copy(s[:n], r.res[:n])
	for i := 1; i < n; i++ { // insertion sort: at most rttReservoirCap values
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
