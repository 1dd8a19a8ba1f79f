package tcpstate

import (
	"net/netip"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Tracker follows the TCP connections of one capture: it assigns each
// packet to a connection, tracks both endpoints' states, runs the TCP
// analysis and reassembles each direction for the connection's
// StreamHandler. Feed it packets in capture order with Packet, then call
// Close once. A Tracker is not safe for concurrent use.
type Tracker struct {
	// OnSummary, when set, receives each connection's FlowStats right after
	// its flow.summary event (the root Analyzer feeds its cross-flow
	// diagnoses with it). The value is final: the tracker never changes it
	// afterwards. Do not modify it; copy what you keep, since the pointer
	// holds the whole connection in memory.
	OnSummary func(*health.FlowStats)
	// OnSegment, when set, is called for every TCP packet after the
	// tracker has analysed it, with the connection it belongs to (see
	// Segment). p is the caller's packet: valid only during the call.
	OnSegment func(p *layers.Packet, s Segment)
	// NoSummaryEvents leaves out the flow.summary events (OnSummary still
	// receives every FlowStats): set it when nothing reads them, since
	// building one costs a map per connection.
	NoSummaryEvents bool
	// Select, when set, is asked once per new connection, with its stream
	// ID, whether to analyse it. A connection it declines is still tracked,
	// so that the IDs of later connections stay tshark's tcp.stream numbers,
	// and OnSegment still sees its packets; but no handler is attached to
	// it, it reports no event and no summary, OnSummary does not see it and
	// CaptureStats does not count it (see select.go).
	Select func(id uint64) bool

	cfg    Config
	rep    health.Reporter
	attach NewHandler

	conns map[connKey]*conn
	// cache holds recently used connections of conns by cacheSlot of their
	// tuple, so that most packets skip building the key and the map
	// lookup. A connection leaves it when it leaves conns (drop).
	cache  *[1 << cacheBits]*conn
	nextID uint64
	now    time.Time

	open     lruList // established (or picked up mid-stream)
	halfOpen lruList // handshake not complete (at most MaxHalfOpen)
	closing  lruList // closing after both FINs, waiting for the last ACK

	shed         halfOpenShed // connections ended at the MaxHalfOpen cap
	halfOpenPeak int

	tombs    map[connKey]*tomb // tuples of connections that ended with FIN/RST
	tombList list[tomb]

	buffered int // out-of-order bytes held by all connections
	retained int // buffer bytes kept for the overlap check (all connections)

	free0 []*[class0]byte // free class-0 buffers (getBuf), at most maxFree

	expireAt  time.Time // expire has nothing to do while now is not after it
	expireSet bool

	held heldFrames // frames of retransmissions whose cause is undecided

	duplicates int64                   // packets captured twice, all connections
	dups       *[1 << dupBits]dupEntry // fingerprints of recent packets (allocated past dupSmallMax slots)
	dupSmall   map[uint16]dupEntry     // the slots used before that
	hidden     map[netip.Addr]struct{} // senders the capture does not show (hideSender)
	stats      CaptureStats
}

// NewTracker returns a Tracker with the limits of cfg (zero fields take
// their defaults) that reports to rep (nil: health.Discard) and asks attach
// (nil: no decoding) for the handler of each new connection.
func NewTracker(cfg Config, rep health.Reporter, attach NewHandler) *Tracker {
	cfg = cfg.withDefaults()
	if rep == nil {
		rep = health.Discard
	}
	t := &Tracker{cfg: cfg, rep: rep, attach: attach, conns: make(map[connKey]*conn), tombs: make(map[connKey]*tomb),
		cache: new([1 << cacheBits]*conn)}
	t.open.timeout = cfg.IdleTimeout
	t.halfOpen.timeout = cfg.HalfOpenTimeout
	t.closing.timeout = cfg.HalfOpenTimeout
	return t
}

// Active returns the number of open connections (not yet summarised).
func (t *Tracker) Active() int { return t.open.n + t.halfOpen.n + t.closing.n }

// Packet consumes one TCP packet (p.Transport == layers.TransportTCP; other
// packets are ignored). p is not kept: the caller may reuse it on return.
//
// Connection rule (tshark 4.0's tcp.stream): a packet belongs to the
// latest connection of its tuple, except a SYN without ACK from an endpoint
// that already sent on that connection, which starts a new connection
// (tcp.port_reuse) when its sequence number differs from that endpoint's
// base: its ISN, or its first sequence number − 1 when the connection was
// picked up mid-stream. A SYN with the same ISN is a retransmission and
// stays in the connection, even after FIN or RST (as in tshark; such a SYN
// after the connection ended is a late packet of it).
func (t *Tracker) Packet(p *layers.Packet) {
	if p.Transport != layers.TransportTCP {
		return
	}
	if p.Time.After(t.now) {
		t.now = p.Time
	}
	if !t.expireSet || t.now.After(t.expireAt) {
		t.expire()
	}
	c, ok := t.connOf(p)
	if !ok {
		return // a late packet of an ended connection, told as such
	}
	dir := c.dirOf(p)
	if t.duplicate(c, dir, p) {
		// A second copy of a packet (two capture points, a SPAN port that
		// mirrors both ways): counted, left out of the analysis.
		c.dupCount++
		if !c.quiet {
			t.duplicates++
		}
		if t.OnSegment != nil {
			t.OnSegment(p, Segment{ID: c.ctx.ID, Dir: dir, Duplicate: true})
		}
		return
	}
	c.last = t.now
	moveTo(c, t.listFor(c))
	c.packet(dir, p)
	if c.phase != phaseDone {
		t.relist(c)
	}
	t.halfOpenPeak = max(t.halfOpenPeak, t.halfOpen.n)
	if t.OnSegment != nil {
		t.OnSegment(p, Segment{ID: c.ctx.ID, Dir: dir, Resent: c.ana.lastResent})
	}
}

// connOf returns the connection p belongs to, made when p starts one (or
// reuses the tuple of one that ended); false when p is a late packet of a
// connection that ended, which lateAck has handled.
func (t *Tracker) connOf(p *layers.Packet) (*conn, bool) {
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	slot := &t.cache[cacheSlot(src, dst)]
	var key connKey
	c := *slot
	if c != nil && c.phase != phaseDone && (src == c.ctx.Client && dst == c.ctx.Server || src == c.ctx.Server && dst == c.ctx.Client) {
		key = c.key // a live connection is the table's entry for its tuple
	} else {
		if src.Compare(dst) > 0 {
			key = makeKey(dst, src)
		} else {
			key = makeKey(src, dst)
		}
		c = t.conns[key]
		if c != nil {
			*slot = c
		}
	}
	pureSYN := p.TCP.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN
	reuse, prevID := false, uint64(0)
	if c != nil && pureSYN {
		if reuse = t.endReused(c, p); reuse {
			prevID, c = c.ctx.ID, nil
		}
	}
	if c == nil {
		if tb := t.tombs[key]; tb != nil {
			d := tb.dirOf(p)
			if !reuse && (!pureSYN || !tb.baseSet[d] || p.TCP.Seq == tb.base[d]) {
				// A late packet of a connection that ended: it belongs to
				// it (as in tshark); only a duplicate ACK is still told,
				// as tshark flags one after the FINs.
				t.lateAck(tb, d, p)
				if t.OnSegment != nil {
					t.OnSegment(p, Segment{ID: tb.id, Dir: d, Late: true})
				}
				return nil, false
			}
			if !reuse {
				reuse, prevID = true, tb.id
			}
			t.dropTomb(tb)
		}
		c = t.newConn(key, p, reuse, prevID)
		*slot = c
	}
	return c, true
}

// endReused ends c when the pure SYN p starts a new connection on its
// tuple (another initial sequence number), and reports whether it did.
func (t *Tracker) endReused(c *conn, p *layers.Packet) bool {
	h := &c.halves[c.dirOf(p)]
	if !h.baseSet || p.TCP.Seq == h.base {
		return false
	}
	reason := CloseIdle // the old connection went silent without FIN or RST
	switch {
	case c.anyRST:
		reason = CloseRST
	case c.anyFIN:
		reason = CloseFIN
	}
	c.end(reason, Position{Frame: p.Frame, Time: p.Time})
	return true
}

// Segment says where the tracker put one TCP packet: the connection's
// stream ID (tshark's tcp.stream) and the packet's direction in it. Late
// marks a packet of a connection that had already ended (FIN or RST),
// Duplicate a second copy of a packet the capture holds twice; neither is
// analysed further. Resent says that the packet carried data its sender had
// sent before: a retransmission, not a late original.
type Segment struct {
	ID        uint64
	Dir       Dir
	Late      bool
	Duplicate bool
	Resent    bool
}

// listFor returns the LRU list c belongs in.
func (t *Tracker) listFor(c *conn) *lruList {
	switch {
	case c.phase == phaseClosing:
		return &t.closing
	case c.st.Established || c.st.MidStream:
		return &t.open
	}
	return &t.halfOpen
}

// relist moves c to the list its phase calls for, keeping its activity.
func (t *Tracker) relist(c *conn) {
	if l := t.listFor(c); c.list != l {
		moveTo(c, l)
	}
}

// ended is called by conn.end: the connection is forgotten, but when it
// ended with FIN or RST its tuple lingers as a small tombstone.
func (t *Tracker) ended(c *conn) {
	t.drop(c)
	if c.closeReason != CloseFIN && c.closeReason != CloseRST {
		return
	}
	tb := &tomb{key: c.key, id: c.ctx.ID, client: c.ctx.Client, last: t.now, flow: c.ctx.Flow}
	for d := range c.halves {
		tb.baseSet[d], tb.base[d] = c.halves[d].baseSet, c.halves[d].base
		tb.acks[d].from(&c.ana.half[d])
	}
	if old := t.tombs[c.key]; old != nil {
		t.dropTomb(old)
	}
	t.tombs[c.key] = tb
	t.tombList.pushBack(tb, &tb.link)
	if t.tombList.n > t.cfg.MaxConns {
		t.dropTomb(t.tombList.front())
	}
}

// drop forgets c.
func (t *Tracker) drop(c *conn) {
	c.unlist()
	if t.conns[c.key] == c {
		delete(t.conns, c.key)
	}
	if slot := &t.cache[cacheSlot(c.ctx.Client, c.ctx.Server)]; *slot == c {
		*slot = nil
	}
}

// dropTomb forgets a tombstone.
func (t *Tracker) dropTomb(tb *tomb) {
	t.tombList.remove(&tb.link)
	if t.tombs[tb.key] == tb {
		delete(t.tombs, tb.key)
	}
}

// expire ends the connections idle for longer than their list's timeout.
func (t *Tracker) expire() {
	for _, l := range [...]*lruList{&t.open, &t.halfOpen, &t.closing} {
		for c := l.front(); c != nil && t.now.Sub(c.last) > l.timeout; c = l.front() {
			at := Position{Frame: c.st.LastFrame, Time: t.now}
			if c.phase == phaseClosing {
				c.end(CloseFIN, at)
			} else {
				c.evict(CloseIdle, "idle", at)
			}
		}
	}
	for tb := t.tombList.front(); tb != nil && t.now.Sub(tb.last) > t.cfg.ClosedLinger; tb = t.tombList.front() {
		t.dropTomb(tb)
	}
	// Until now passes expireAt nothing can expire: each list is ordered by
	// last activity (entries join at the tail with last = now, which never
	// decreases), so its head's deadline only moves later, and an empty
	// list's first entry joins at now or later.
	at := t.now.Add(t.cfg.ClosedLinger)
	if tb := t.tombList.front(); tb != nil {
		at = tb.last.Add(t.cfg.ClosedLinger)
	}
	for _, l := range [...]*lruList{&t.open, &t.halfOpen, &t.closing} {
		d := t.now.Add(l.timeout)
		if c := l.front(); c != nil {
			d = c.last.Add(l.timeout)
		}
		if d.Before(at) {
			at = d
		}
	}
	t.expireAt, t.expireSet = at, true
}

// evict ends c before it closed by itself (tcp.evicted).
func (c *conn) evict(reason CloseReason, why string, at Position) {
	if reason == CloseIdle && c.st.SYNACKs == 0 && !c.st.Established && !c.st.MidStream {
		// A connection attempt that never got an answer simply times out:
		// tcp.syn_unanswered explains it, an eviction notice would be noise.
		c.end(reason, at)
		return
	}
	c.ctx.Event(health.Event{
		Kind: health.TCPEvicted, Severity: health.Notice,
		Time: at.Time, Frame: at.Frame,
		Message: "connection dropped from tracking before it closed (" + why + "); its streams end here",
		Evidence: map[string]any{
			"reason": why, "idle_ms": health.Millis(at.Time.Sub(c.last)), "last_frame": c.st.LastFrame,
		},
	})
	c.end(reason, at)
}

// newConn creates the connection of p's tuple, evicting the longest idle
// one at the MaxConns cap. reuse says that a SYN with a new ISN replaces
// connection prevID of the same tuple.
func (t *Tracker) newConn(key connKey, p *layers.Packet, reuse bool, prevID uint64) *conn {
	at := Position{Frame: p.Frame, Time: p.Time}
	if p.TCP.Flags.Has(layers.FlagSYN) {
		// A connection attempt: past MaxHalfOpen attempts in their
		// handshake, the oldest one goes, never an established connection.
		for t.halfOpen.n >= t.cfg.MaxHalfOpen {
			t.shedHalfOpen(t.halfOpen.front(), at)
		}
	}
	for t.Active() >= t.cfg.MaxConns {
		victim := t.oldest()
		if victim.phase == phaseClosing {
			victim.end(CloseFIN, at)
		} else {
			victim.evict(CloseEvicted, "connection limit", at)
		}
	}
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	flags := p.TCP.Flags
	client, server := src, dst
	switch {
	case flags.Has(layers.FlagSYN) && !flags.Has(layers.FlagACK):
	case flags.Has(layers.FlagSYN):
		client, server = dst, src
	case dst.Port() > src.Port():
		client, server = dst, src
	}
	c := &conn{t: t, key: key}
	c.ana.configure(&t.cfg.Analysis)
	c.ana.held = &t.held
	c.ctx = StreamContext{
		ID: t.nextID, Client: client, Server: server,
		Flow:     layers.Flow{Src: client, Dst: server, Proto: layers.ProtoTCP}.String(),
		Reporter: &c.rep,
	}
	t.nextID++
	c.rep = flowReporter{inner: t.rep, flow: c.ctx.Flow}
	c.quiet = !t.selected(c.ctx.ID)
	if c.quiet {
		c.rep.inner = health.Discard
	}
	c.st.ID, c.st.Client, c.st.Server = c.ctx.ID, client, server
	c.st.FirstFrame, c.st.FirstTime = p.Frame, p.Time
	c.halves[ServerToClient].state = stateListen
	if !flags.Has(layers.FlagSYN) {
		c.st.MidStream = true
		c.halves[ClientToServer].state = stateEstablished
		c.halves[ServerToClient].state = stateEstablished
	} else if flags.Has(layers.FlagACK) {
		c.halves[ClientToServer].state = stateSynSent
	}
	t.conns[key] = c
	if t.attach != nil && !c.quiet {
		c.h = t.attach(&c.ctx)
		if r, ok := c.h.(ResetReviewer); ok {
			c.ana.reviewer = r
		}
	}
	if reuse {
		c.ctx.Event(health.Event{
			Kind: health.TCPPortReuse, Severity: health.Info,
			Time: at.Time, Frame: at.Frame,
			Message:  "new connection on the tuple of an earlier one",
			Evidence: map[string]any{"previous_stream": prevID},
		})
	}
	if c.st.MidStream {
		c.ctx.Event(health.Event{
			Kind: health.TCPMidStream, Severity: health.Info,
			Time: at.Time, Frame: at.Frame,
			Message: "connection picked up after its handshake: no SYN seen; client chosen by port",
		})
	}
	return c
}

// oldest returns the connection idle the longest, of any list.
func (t *Tracker) oldest() *conn {
	var victim *conn
	for _, l := range [...]*lruList{&t.halfOpen, &t.open, &t.closing} {
		if c := l.front(); c != nil && (victim == nil || c.last.Before(victim.last)) {
			victim = c
		}
	}
	return victim
}

// Close ends every open connection (close reason "end_of_capture", or "fin"
// for one that closed and waits for its last ACK) at the given position,
// in order of connection ID, emitting their summaries. The tracker is
// empty afterwards and may be reused for a new capture's packets.
func (t *Tracker) Close(at Position) {
	live := make([]*conn, 0, len(t.conns))
	for _, c := range t.conns {
		live = append(live, c)
	}
	sort.Slice(live, func(i, j int) bool { return live[i].ctx.ID < live[j].ctx.ID })
	for _, c := range live {
		if c.phase == phaseClosing {
			c.end(CloseFIN, at)
		} else {
			c.end(CloseEndOfCapture, at)
		}
	}
	for tb := t.tombList.front(); tb != nil; tb = t.tombList.front() {
		t.dropTomb(tb)
	}
	t.reportShed()
	t.conns = make(map[connKey]*conn)
	t.tombs = make(map[connKey]*tomb)
	clear(t.cache[:])
	t.expireSet = false
}
