package tcpstate

import (
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/flowhash"
	"github.com/nettrace/nettrace/layers"
)

// connKey is a connection's tuple in canonical order (lo < hi), so that both
// directions find the same entry. It is a fixed-size byte array (per
// endpoint: the 16-byte address, an IPv4 marker and the port), so map
// lookups hash plain memory and allocate nothing. Decoded packets carry no
// IPv6 zones, the only part of a netip.AddrPort it leaves out.
type connKey [2 * keySide]byte

// keySide is the size of one endpoint in a connKey.
const keySide = 16 + 1 + 2

// makeKey builds the key of the tuple (lo, hi).
func makeKey(lo, hi netip.AddrPort) connKey {
	var k connKey
	putSide(k[:keySide], lo)
	putSide(k[keySide:], hi)
	return k
}

func putSide(b []byte, ap netip.AddrPort) {
	a := ap.Addr()
	*(*[16]byte)(b) = a.As16()
	if a.Is4() {
		b[16] = 1
	}
	b[17], b[18] = byte(ap.Port()>>8), byte(ap.Port())
}

// cacheBits sizes the Tracker's connection cache: 1024 slots, 8 KiB.
const cacheBits = 10

// cacheSlot returns the connection cache slot of the tuple (a, b), the same
// for both directions. Colliding tuples only share a slot: a miss falls
// back to the table, so a crafted collision costs a lookup, never a result.
func cacheSlot(a, b netip.AddrPort) uint {
	return flowhash.Slot(a, b, cacheBits)
}

// phase is where a connection is in its life.
type phase uint8

const (
	phaseOpen    phase = iota // handshake or data
	phaseClosing              // handler closed after both FINs; waiting for the last ACK
	phaseDone                 // summary emitted; forgotten (a tombstone may remain)
)

// flowReporter counts the events raised on one flow (for FlowStats.Counts)
// and fills their Flow. A flow raises few distinct kinds, so they are
// counted in a short list, made into a map once, in the summary.
type flowReporter struct {
	inner  health.Reporter
	flow   string
	counts []kindCount
}

type kindCount struct {
	kind health.Kind
	n    int
}

func (r *flowReporter) Event(e health.Event) {
	r.count(e.Kind)
	if e.Flow == "" {
		e.Flow = r.flow
	}
	r.inner.Event(e)
}

func (r *flowReporter) count(k health.Kind) {
	for i := range r.counts {
		if r.counts[i].kind == k {
			r.counts[i].n++
			return
		}
	}
	r.counts = append(r.counts, kindCount{k, 1})
}

// countMap returns the counts as FlowStats.Counts has them (nil if none).
func (r *flowReporter) countMap() map[health.Kind]int {
	if len(r.counts) == 0 {
		return nil
	}
	m := make(map[health.Kind]int, len(r.counts))
	for _, kc := range r.counts {
		m[kc.kind] = kc.n
	}
	return m
}

func (r *flowReporter) Message(m health.Message) {
	if m.Flow == "" {
		m.Flow = r.flow
	}
	r.inner.Message(m)
}

func (r *flowReporter) WantMessages() bool { return r.inner.WantMessages() }

// conn is one tracked connection.
type conn struct {
	t   *Tracker
	key connKey
	ctx StreamContext
	rep flowReporter
	h   StreamHandler
	// shed: ended at the MaxHalfOpen cap (counted, no flow.summary event)
	shed bool
	ana  seqAnalysis

	halves   [2]dirHalf
	st       health.FlowStats
	gapBytes [2]int64
	unseen   [2]int64 // bytes the peer acknowledged that the capture never saw, per sender
	dupCount int64    // packets captured twice, left out
	sums     [2]sumCount
	z        zeek // the connection as Zeek follows it (conn.log)

	phase         phase
	quiet         bool // not selected (Tracker.Select): tracked, not reported
	handlerClosed bool
	closeReason   CloseReason
	anyFIN        bool
	anyRST        bool
	synAckSeen    bool
	lastSYN       time.Time // most recent client SYN (tshark's iRTT starts there)

	// LRU membership (see lru.go).
	list *lruList
	lru  link[conn]
	last time.Time
}

// dirOf returns the direction of p within c.
func (c *conn) dirOf(p *layers.Packet) Dir {
	if p.SrcAddrPort() == c.ctx.Client {
		return ClientToServer
	}
	return ServerToClient
}

// setState records a state change of the sender of direction d.
func (c *conn) setState(d Dir, s tcpState, frame int64) {
	h := &c.halves[d]
	if h.state == s {
		return
	}
	if c.st.Transitions == nil {
		c.st.Transitions = make([]health.Transition, 0, 8) // a whole connection makes about 8: one allocation
	}
	if len(c.st.Transitions) < maxTransitions {
		c.st.Transitions = append(c.st.Transitions, health.Transition{
			Endpoint: d.String(), From: h.state.String(), To: s.String(), Frame: frame,
		})
	}
	h.state = s
}

// seqSpan returns the sequence space the payload of p covers (more than
// len(p.Payload) when the snapshot length cut the frame).
func seqSpan(p *layers.Packet) int {
	if p.PayloadLen > len(p.Payload) {
		return p.PayloadLen
	}
	return len(p.Payload)
}

// packet processes one segment of c sent in direction d.
func (c *conn) packet(d Dir, p *layers.Packet) {
	at := Position{Frame: p.Frame, Time: p.Time}
	prev := c.st.LastTime
	c.st.Packets[d]++
	c.st.LastFrame, c.st.LastTime = p.Frame, p.Time
	c.observe(d, p)
	// A checksum left to the NIC (offload) is wrong on every packet the
	// capturing host sends: only a wrong one among right ones is Zeek's C.
	c.z.packet(d, p, p.L4Checksum == layers.ChecksumBad && c.sums[d].good > 0)

	c.ana.analyze(&c.ctx, d, p)

	h, peer := &c.halves[d], &c.halves[d.Other()]
	tcp := &p.TCP
	seq, n := tcp.Seq, seqSpan(p)
	if !h.baseSet {
		h.baseSet, h.base = true, seq-1
		if tcp.Flags.Has(layers.FlagSYN) {
			h.base = seq
		}
	}

	// SYN: the sender's ISN.
	if tcp.Flags.Has(layers.FlagSYN) {
		c.syn(d, p, at)
	} else if !h.nextSet {
		h.nextSet, h.next, h.highEnd = true, seq, seq
	}

	// ACK: what the sender received of the other direction.
	if tcp.Flags.Has(layers.FlagACK) {
		c.ack(d, tcp.Ack, at)
	}

	// Payload (SYN payload is held by syn).
	if n > 0 && !tcp.Flags.Has(layers.FlagSYN) && c.phase == phaseOpen && !c.handlerClosed {
		c.data(d, seq, p.Payload, at)
		if n > len(p.Payload) {
			c.truncated(d, seq, len(p.Payload), n, at)
		}
	}

	// FIN: the sender has no more data.
	if tcp.Flags.Has(layers.FlagFIN) {
		c.fin(d, p, n)
	}

	if tcp.Flags.Has(layers.FlagRST) {
		c.rst(d, p, prev, at)
		return
	}

	// Both FINs seen: once both streams are complete the handler is done;
	// once both FINs are acknowledged the connection is.
	if h.finSeen && peer.finSeen && c.phase == phaseOpen {
		c.tryCloseFIN(at)
	}
	if c.phase == phaseClosing && h.finAcked && peer.finAcked {
		c.end(CloseFIN, at)
	}
}

// truncated handles a segment of d at seq whose frame the snapshot length
// cut: its payload covers n bytes, of which only the first captured are
// in the capture; the rest exist but are unknown.
func (c *conn) truncated(d Dir, seq uint32, captured, n int, at Position) {
	h := &c.halves[d]
	cut, end := seq+uint32(captured), seq+uint32(n)
	if rsLT(h.highEnd, end) {
		h.highEnd = end
	}
	if h.next == cut {
		c.flushTo(d, end, at)
	}
}

// fin handles the FIN flag of p, a segment of d whose payload covers n
// bytes of sequence space: the first FIN of d fixes where its stream ends.
func (c *conn) fin(d Dir, p *layers.Packet, n int) {
	c.anyFIN = true
	h := &c.halves[d]
	if h.finSeen {
		return
	}
	finSeq := p.TCP.Seq + uint32(n)
	if p.TCP.Flags.Has(layers.FlagSYN) {
		finSeq++
	}
	h.finSeen, h.finSeq = true, finSeq
	switch h.state {
	case stateCloseWait:
		c.setState(d, stateLastAck, p.Frame)
	case stateEstablished, stateSynRcvd, stateSynSent, stateListen, stateClosed:
		c.setState(d, stateFinWait1, p.Frame)
	}
}

// rst handles the RST flag of p, a segment of d: the connection ends.
// prev is the time of the connection's packet before p.
func (c *conn) rst(d Dir, p *layers.Packet, prev time.Time, at Position) {
	c.anyRST = true
	c.st.ResetBy = d.String()
	c.st.ResetFrame = p.Frame
	if !prev.IsZero() {
		c.st.IdleBeforeRST = p.Time.Sub(prev)
	}
	c.setState(d, stateClosed, p.Frame)
	c.setState(d.Other(), stateClosed, p.Frame)
	c.end(CloseRST, at)
}

// tryCloseFIN closes the handler when both directions delivered every byte
// before their FIN.
func (c *conn) tryCloseFIN(at Position) {
	for d := range c.halves {
		h := &c.halves[d]
		if h.nextSet && h.next != h.finSeq {
			return
		}
	}
	c.closeHandler(CloseFIN, at)
	c.phase = phaseClosing
	c.t.relist(c)
}

// syn handles the SYN flag of a segment of d.
func (c *conn) syn(d Dir, p *layers.Packet, at Position) {
	h := &c.halves[d]
	tcp := &p.TCP
	synAck := tcp.Flags.Has(layers.FlagACK)
	if !synAck && d == ClientToServer {
		c.st.SYNs++
		if len(c.st.SYNFrames) < maxSYNFrames {
			c.st.SYNFrames = append(c.st.SYNFrames, p.Frame)
		}
		c.lastSYN = p.Time
	}
	if synAck {
		if d == ServerToClient {
			c.st.SYNACKs++
		}
		c.synAckSeen = true
	}
	if !h.synSeen || (h.isn != tcp.Seq && h.next == h.isn+1 && h.synData == nil && len(h.ooo) == 0) {
		h.synSeen, h.isn = true, tcp.Seq
		h.nextSet, h.next, h.highEnd = true, tcp.Seq+1, tcp.Seq+1
	}
	switch {
	case !synAck && (h.state == stateClosed || h.state == stateListen):
		c.setState(d, stateSynSent, p.Frame)
	case synAck && (h.state == stateListen || h.state == stateClosed):
		c.setState(d, stateSynRcvd, p.Frame)
	}
	if len(p.Payload) > 0 && c.phase == phaseOpen {
		c.holdSynData(h, p.Payload, at)
	}
}

// ack handles the acknowledgment number ack sent in direction d: it covers
// bytes of the other direction.
func (c *conn) ack(d Dir, ack uint32, at Position) {
	o := d.Other()
	me, peer := &c.halves[d], &c.halves[o]

	// Handshake: the client acknowledges the SYN-ACK.
	if me.state == stateSynSent && c.synAckSeen && peer.synSeen {
		c.setState(d, stateEstablished, at.Frame)
		if peer.state == stateSynRcvd {
			c.setState(o, stateEstablished, at.Frame)
		}
		if d == ClientToServer {
			c.st.Established = true
			if !c.lastSYN.IsZero() && c.ctx.RTT == 0 {
				c.ctx.RTT = at.Time.Sub(c.lastSYN)
			}
		}
	}

	if peer.synData != nil {
		c.ackSynData(o, ack)
	}
	if len(peer.kept) > 0 {
		c.ackKept(o, ack)
	}

	// The peer's FIN acknowledged: the peer's FIN reached me.
	if peer.finSeen && !peer.finAcked && rsLE(peer.finSeq+1, ack) {
		peer.finAcked = true
		switch me.state {
		case stateEstablished, stateSynRcvd:
			c.setState(d, stateCloseWait, at.Frame)
		case stateFinWait1:
			c.setState(d, stateClosing, at.Frame)
		case stateFinWait2:
			c.setState(d, stateTimeWait, at.Frame)
		}
		switch peer.state {
		case stateFinWait1:
			c.setState(o, stateFinWait2, at.Frame)
		case stateClosing:
			c.setState(o, stateTimeWait, at.Frame)
		case stateLastAck:
			c.setState(o, stateClosed, at.Frame)
		}
	}

	// Bytes acknowledged but never seen: the capture lost them.
	if peer.nextSet && rsLT(peer.next, ack) && c.phase == phaseOpen && !c.handlerClosed {
		target := ack
		if peer.finSeen && rsLT(peer.finSeq, target) {
			target = peer.finSeq
		}
		k := target - peer.next
		switch {
		case k == 0 || k > maxAckGap:
		case k == 1 && !peer.finSeen && len(peer.ooo) == 0:
			// Likely the ACK of a FIN the capture missed, not a lost byte.
		default:
			before := c.gapBytes[o]
			c.flushTo(o, target, at)
			if missed := c.gapBytes[o] - before; missed > 0 {
				c.unseen[o] += missed
				c.z.gap(o)
			}
		}
	}
}

// closeHandler flushes both directions and closes the handler once.
func (c *conn) closeHandler(reason CloseReason, at Position) {
	if c.handlerClosed {
		return
	}
	for d := range c.halves {
		c.flushAll(Dir(d), at)
	}
	c.closeReason = reason
	c.handlerClosed = true
	c.ctx.Visibility = c.visibility()
	if c.h != nil {
		c.h.Close(reason, at)
	}
}

// end finishes the connection: handler close (unless done already),
// analysis, summary. The tracker keeps the tuple as a lingering entry when
// reason is FIN or RST.
func (c *conn) end(reason CloseReason, at Position) {
	if c.phase == phaseDone {
		return
	}
	c.closeHandler(reason, at)
	reason = c.closeReason
	c.phase = phaseDone
	c.freeBuffers()
	c.st.CloseReason = reason.String()
	c.ctx.Visibility = c.visibility()
	c.st.OneSided, c.st.UnseenBytes, c.st.Duplicates = c.ctx.Visibility.OneSided, c.unseen, c.dupCount
	if !c.quiet {
		c.t.count(&c.ctx.Visibility)
	}
	c.ana.serverHidden = c.t.hiddenSender(c.ctx.Server.Addr())
	c.ana.finish(&c.ctx, reason, at, &c.st)
	c.st.ClientState = c.halves[ClientToServer].state.String()
	c.st.ServerState = c.halves[ServerToClient].state.String()
	c.st.Counts = c.rep.countMap()
	c.st.Zeek = c.z.view(c.gapBytes)
	if !c.quiet {
		if !c.t.NoSummaryEvents && !c.shed {
			c.t.rep.Event(c.st.Event())
		}
		if c.t.OnSummary != nil {
			c.t.OnSummary(&c.st)
		}
	}
	c.h = nil
	c.t.ended(c)
}
