package diagnose

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"

	"github.com/nettrace/nettrace/internal/flowhash"
)

// This file keeps the diagnoser's own light TCP connection table (it does
// not depend on tcpstate): who opened what, how many SYNs went unanswered,
// how long each connection lived. Closed connections are folded into
// per-source (C2), per-server (SYN flood) and per-service (C21) totals.

// connKey identifies a TCP connection: client is the SYN sender (or, for a
// connection picked up mid-stream, the side with the higher port).
type connKey struct{ client, server netip.AddrPort }

// connID is a connKey as plain bytes (per endpoint: the 16-byte address, an
// IPv4 marker and the port), the key of the connection table: hashing it
// is one memory hash instead of one per netip field. The two endpoints are
// in byte order, so both directions of a connection have the same ID and
// one lookup finds it (the table never holds both orientations of a tuple:
// a connection is only created when neither is present). Packets carry no
// IPv6 zones, the only part of an address it leaves out.
type connID [2 * connIDSide]byte

const connIDSide = 16 + 1 + 2

func (k connKey) id() connID {
	var a, b [connIDSide]byte
	putEndpoint(a[:], k.client)
	putEndpoint(b[:], k.server)
	if string(b[:]) < string(a[:]) {
		a, b = b, a
	}
	var id connID
	copy(id[:connIDSide], a[:])
	copy(id[connIDSide:], b[:])
	return id
}

// lookup returns the connection between a and b and the direction of a→b
// on it (0: a is its client). The connection cache answers first; the
// table is searched on a miss and the connection found takes the slot.
func (d *Network) lookup(a, b netip.AddrPort) (*netConn, int) {
	slot := &d.connCache[connSlot(a, b)]
	c := *slot
	switch {
	case c != nil && c.key.client == a && c.key.server == b:
		return c, 0
	case c != nil && c.key.client == b && c.key.server == a:
		return c, 1
	}
	c = d.conns[connKey{client: a, server: b}.id()]
	if c == nil {
		return nil, 0
	}
	*slot = c
	if c.key.client == a && c.key.server == b {
		return c, 0
	}
	return c, 1
}

// connCacheBits sizes the connection cache: 1024 slots, 8 KiB.
const connCacheBits = 10

// connSlot returns the connection cache slot of the tuple (a, b), the same
// for both directions. Colliding tuples only share a slot: a miss falls
// back to the table, so a crafted collision costs a lookup, never a result.
func connSlot(a, b netip.AddrPort) uint {
	return flowhash.Slot(a, b, connCacheBits)
}

// uncache forgets c in the connection cache (it leaves the table).
func (d *Network) uncache(c *netConn) {
	if slot := &d.connCache[connSlot(c.key.client, c.key.server)]; *slot == c {
		*slot = nil
	}
	if d.lastConn == c {
		d.lastConn = nil
	}
}

func putEndpoint(b []byte, ap netip.AddrPort) {
	a := ap.Addr()
	*(*[16]byte)(b) = a.As16()
	if a.Is4() {
		b[16] = 1
	}
	b[17], b[18] = byte(ap.Port()>>8), byte(ap.Port())
}

// netConn is one tracked TCP connection. Index 0 of the arrays is the
// client→server direction.
type netConn struct {
	key                   connKey
	svc                   *service
	src                   *sourceAgg
	per                   *periodAgg
	firstFrame, lastFrame int64
	first, last           time.Time
	syns                  int
	synSeq                uint32
	synack                bool
	completed             bool // the client acknowledged the SYN-ACK
	fin                   [2]bool
	rst                   bool
	mss                   [2]uint16
	dir                   [2]pmtuDir

	requests     int
	respBytes    int64 // server→client payload since the last request
	lastReqFrame int64

	// The connection's place in its list (Network.open or .closed), in
	// order of last activity: the sweep pops expired ones from the front.
	list       *connList
	prev, next *netConn
}

// connList is a list of connections in order of last activity.
type connList struct{ head, tail *netConn }

func (l *connList) push(c *netConn) {
	c.list, c.prev, c.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
}

func (l *connList) remove(c *netConn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.list, c.prev, c.next = nil, nil, nil
}

// touch moves c to the back of the list it belongs in now: closed once
// both FINs or a reset were seen.
func (d *Network) touch(c *netConn) {
	want := &d.open
	if c.rst || c.fin[0] && c.fin[1] {
		want = &d.closed
	}
	if c.list == want && want.tail == c {
		return
	}
	if c.list != nil {
		c.list.remove(c)
	}
	want.push(c)
}

// closedLinger is how long a closed connection stays in the table so that
// its last ACKs are not taken for a new connection.
const closedLinger = 5 * time.Second

// netInterval is one connection's lifetime, for peak concurrency.
type netInterval struct{ from, to int64 } // UnixNano

// srcKey is one client address talking to one service (casebook C2).
type srcKey struct {
	client netip.Addr
	server netip.AddrPort
}

// sourceAgg sums the connections of one client address to one service.
type sourceAgg struct {
	key        srcKey
	conns      int
	answered   int // connections whose SYN got a SYN-ACK
	syns       int
	unanswered int // SYNs never answered
	firstFrame int64
	first      time.Time
	intervals  []netInterval
	clipped    bool
}

// synAgg counts the SYNs to one server port (SYN flood).
type synAgg struct {
	rate       netRate
	syns       int
	unanswered int
	completed  int // handshakes completed (the client's ACK after the SYN-ACK)
	synacks    int // SYN-ACKs the server sent
	resets     int // resets the server sent
	untracked  int // SYNs of connections beyond MaxConns (counted, not followed)
	firstFrame int64
	sources    []netip.Addr // distinct sources, capped at maxSYNSources
	manySrc    bool
}

const maxSYNSources = 64

func (d *Network) tcpPacket(p *packet) {
	syn := p.TCP.Flags.Has(layers.FlagSYN)
	ack := p.TCP.Flags.Has(layers.FlagACK)
	c, dir := d.connOf(p, syn, ack)
	if c == nil {
		return // the table is full
	}
	d.lastConn = c
	c.last, c.lastFrame = p.Time, p.Frame
	d.handshake(c, dir, p, syn, ack)
	if p.TCP.Flags.Has(layers.FlagRST) {
		if a := d.synDst[c.key.server]; a != nil && dir == 1 && !c.rst {
			a.resets++
		}
		c.rst = true
	}
	if p.TCP.Flags.Has(layers.FlagFIN) {
		c.fin[dir] = true
	}
	d.touch(c)
	retrans := d.pmtuSegment(c, dir, p)
	d.serviceCount(c, dir, p, retrans)
}

// connOf returns the connection of p and p's direction in it (0: from the
// client), made when p is its first packet; nil when the table is full.
func (d *Network) connOf(p *packet, syn, ack bool) (*netConn, int) {
	dir := 0
	var c *netConn
	switch lc := d.lastConn; {
	case lc != nil && lc.key.client == p.src && lc.key.server == p.dst:
		c = lc
	case lc != nil && lc.key.client == p.dst && lc.key.server == p.src:
		c, dir = lc, 1
	default:
		c, dir = d.lookup(p.src, p.dst)
	}
	if c != nil && syn && !ack && dir == 0 && c.syns > 0 && (c.synSeq != p.TCP.Seq || c.rst || c.fin[0] && c.fin[1]) {
		// A new connection on a used tuple (port reuse).
		d.foldConn(c)
		d.dropConn(c)
		c = nil
	}
	if c != nil {
		return c, dir
	}
	if len(d.conns) >= d.cfg.MaxConns {
		d.markCapped("connections")
		if syn && !ack {
			d.untrackedSYN(p) // a flood fills the table: its SYNs still count
		}
		return nil, 0
	}
	if syn && ack {
		d.asymReply(p, protoTCP)
	}
	client, server := p.src, p.dst
	switch {
	case syn && ack:
		client, server = p.dst, p.src
	case !syn && p.src.Port() < p.dst.Port():
		client, server = p.dst, p.src
	}
	c = d.newConn(connKey{client: client, server: server}, p)
	if client != p.src {
		dir = 1
	}
	if syn && !ack {
		c.per = d.attempt(client.Addr(), server, protoTCP, p)
		d.asymRequest(p, protoTCP)
	}
	return c, dir
}

// handshake follows the three-way handshake of c, and counts it for the
// SYN-flood diagnosis.
func (d *Network) handshake(c *netConn, dir int, p *packet, syn, ack bool) {
	switch {
	case syn && !ack && dir == 0:
		c.syns++
		c.synSeq = p.TCP.Seq
		c.mss[0] = p.TCP.MSS
		d.synSeen(c, p)
	case syn && ack && dir == 1:
		c.synack = true
		c.mss[1] = p.TCP.MSS
		if a := d.synDst[c.key.server]; a != nil {
			a.synacks++
		}
	case !syn && ack && dir == 0 && c.synack && !c.completed:
		c.completed = true
		if a := d.synDst[c.key.server]; a != nil {
			a.completed++
		}
	}
}

// serviceCount counts p in its service's packets, bytes and rate (data
// sent again is not counted twice), and follows HTTP requests.
func (d *Network) serviceCount(c *netConn, dir int, p *packet, retrans bool) {
	sv := c.svc
	sv.packets[dir]++
	if p.PayloadLen > 0 && !retrans {
		sv.bytes[dir] += int64(p.PayloadLen)
		sv.rate[dir].add(p.Time, int64(p.PayloadLen), p.Frame)
		if dir == 0 {
			if line, host, ok := httpRequestLine(p.Payload); ok {
				d.httpRequest(c, p.Frame, p.Time, c.key.client, c.key.server, line, host)
			}
		} else if c.requests > 0 {
			c.respBytes += int64(p.PayloadLen)
		}
	}
	if p.Time.After(sv.last) {
		sv.last = p.Time
	}
}

func (d *Network) newConn(k connKey, p *packet) *netConn {
	c := &netConn{key: k, firstFrame: p.Frame, first: p.Time}
	c.svc = d.service(svcKey{server: k.server, proto: protoTCP}, p)
	c.svc.conns++
	c.svc.client(k.client.Addr())
	sk := srcKey{client: k.client.Addr(), server: k.server}
	s := d.sources[sk]
	if s == nil && len(d.sources) < d.cfg.MaxKeys {
		s = &sourceAgg{key: sk, firstFrame: p.Frame, first: p.Time}
		d.sources[sk] = s
	} else if s == nil {
		d.markCapped("sources")
	}
	c.src = s
	d.conns[k.id()] = c
	d.destConn(k.server.Addr(), p)
	return c
}

// synSeen counts a SYN (original or retransmitted) to c's server.
func (d *Network) synSeen(c *netConn, p *packet) {
	a := d.synDst[c.key.server]
	if a == nil {
		if len(d.synDst) >= d.cfg.MaxKeys {
			d.markCapped("syn_servers")
			return
		}
		a = &synAgg{firstFrame: p.Frame}
		d.synDst[c.key.server] = a
	}
	a.syns++
	a.rate.add(p.Time, 1, p.Frame)
	if !a.manySrc {
		src := c.key.client.Addr()
		found := false
		for _, s := range a.sources {
			if s == src {
				found = true
				break
			}
		}
		if !found {
			if len(a.sources) < maxSYNSources {
				a.sources = append(a.sources, src)
			} else {
				a.manySrc = true
			}
		}
	}
}

// untrackedSYN counts a SYN of a connection the full table cannot hold,
// toward its server's SYN flood totals.
func (d *Network) untrackedSYN(p *packet) {
	a := d.synDst[p.dst]
	if a == nil {
		if len(d.synDst) >= d.cfg.MaxKeys {
			return
		}
		a = &synAgg{firstFrame: p.Frame}
		d.synDst[p.dst] = a
	}
	a.syns++
	a.untracked++
	a.rate.add(p.Time, 1, p.Frame)
	a.manySrc = a.manySrc || len(a.sources) >= maxSYNSources
}

// dropConn removes c from the table.
func (d *Network) dropConn(c *netConn) {
	delete(d.conns, c.key.id())
	if c.list != nil {
		c.list.remove(c)
	}
	d.uncache(c)
	for i := range c.dir {
		if r := c.dir[i].ring; r != nil && len(d.freeRings) < maxFreeRings {
			d.freeRings = append(d.freeRings, r)
			c.dir[i].ring = nil
		}
	}
}

// maxFreeRings bounds the path-MTU rings kept for reuse (256 bytes each).
const maxFreeRings = 1024

// newRing returns an empty path-MTU ring, reused from a dropped
// connection when one is free: a busy capture opens and drops
// connections all the time, and one ring per data direction was the
// diagnoser's largest allocation.
func (d *Network) newRing() *[pmtuRing]segRec {
	n := len(d.freeRings)
	if n == 0 {
		return new([pmtuRing]segRec)
	}
	r := d.freeRings[n-1]
	d.freeRings = d.freeRings[:n-1]
	*r = [pmtuRing]segRec{}
	return r
}

// foldConn adds a finished (or abandoned) connection to the totals.
func (d *Network) foldConn(c *netConn) {
	unanswered := 0
	if c.syns > 0 {
		unanswered = c.syns
		if c.synack {
			unanswered--
		}
	}
	iv := netInterval{from: c.first.UnixNano(), to: c.last.UnixNano()}
	if s := c.src; s != nil {
		s.conns++
		s.syns += c.syns
		s.unanswered += unanswered
		if c.synack {
			s.answered++
		}
		if d.nIntvl < d.cfg.MaxIntervals {
			s.intervals = append(s.intervals, iv)
			d.nIntvl++
		} else {
			s.clipped = true
		}
	}
	if a := d.synDst[c.key.server]; a != nil {
		a.unanswered += unanswered
	}
	if c.per != nil && c.syns > 0 && !c.synack {
		c.per.unanswered++
	}
	sv := c.svc
	if d.nIntvl < d.cfg.MaxIntervals {
		sv.intervals = append(sv.intervals, iv)
		d.nIntvl++
	} else {
		sv.clipped = true
	}
	if c.requests > 0 {
		sv.sizes.add(c.respBytes)
	} else if c.synack || c.syns == 0 {
		sv.connSizes.add(c.dir[1].payload)
	}
	d.pmtuFold(c)
}

// netPeakConcurrent returns the largest number of overlapping intervals and
// when it was first reached.
func netPeakConcurrent(ivs []netInterval) (int, time.Time) {
	if len(ivs) == 0 {
		return 0, time.Time{}
	}
	type edge struct {
		at    int64
		delta int
	}
	edges := make([]edge, 0, 2*len(ivs))
	for _, iv := range ivs {
		edges = append(edges, edge{iv.from, 1}, edge{iv.to, -1})
	}
	// Starts sort before ends at the same instant: a connection that
	// opens as another closes overlaps it (same-time SYN bursts count).
	sort.Slice(edges, func(i, j int) bool {
		if edges[i].at != edges[j].at {
			return edges[i].at < edges[j].at
		}
		return edges[i].delta > edges[j].delta
	})
	cur, peak := 0, 0
	var at int64
	for _, e := range edges {
		cur += e.delta
		if cur > peak {
			peak, at = cur, e.at
		}
	}
	return peak, time.Unix(0, at).UTC()
}

// connFindings reports one source opening many connections with SYNs left
// unanswered (C2) and SYN floods.
func (d *Network) connFindings() []health.Event {
	var many, floods []health.Event
	keys := make([]srcKey, 0, len(d.sources))
	for k := range d.sources {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return d.sources[keys[i]].firstFrame < d.sources[keys[j]].firstFrame })
	for _, k := range keys {
		s := d.sources[k]
		if s.syns == 0 {
			continue
		}
		peak, at := netPeakConcurrent(s.intervals)
		pct := (200*s.unanswered + s.syns) / (2 * s.syns) // rounded
		if peak < d.cfg.ManyConnsMin || pct < d.cfg.ManyConnsUnansweredPct {
			continue
		}
		ev := map[string]any{
			"source":          k.client.String(),
			"server":          k.server.String(),
			"connections":     s.conns,
			"peak_concurrent": peak,
			"syns":            s.syns,
			"syns_unanswered": s.unanswered,
			"unanswered_pct":  pct,
			"accepted":        s.answered,
			"never_answered":  s.conns - s.answered,
			"peak_at":         at.Format(time.RFC3339Nano),
		}
		if s.clipped {
			ev["approximate"] = true
		}
		many = append(many, health.Event{
			Kind: health.NetManyConnectionsSingleSource, Severity: health.Warning, Time: s.first, Frame: s.firstFrame,
			Flow: k.client.String() + "->" + k.server.String() + "/tcp",
			Message: fmt.Sprintf("one source %s opens %d connections to %s (%d at once); %d%% of its %d SYNs unanswered (%d of %d connections never accepted): "+
				"the source is likely a NAT (or proxy) in front of many users, so a per-source connection limit on the server or a firewall hits legitimate users",
				k.client, s.conns, k.server, peak, pct, s.syns, s.conns-s.answered, s.conns),
			Evidence: ev,
		})
	}
	servers := make([]netip.AddrPort, 0, len(d.synDst))
	for k := range d.synDst {
		servers = append(servers, k)
	}
	sort.Slice(servers, func(i, j int) bool { return d.synDst[servers[i]].firstFrame < d.synDst[servers[j]].firstFrame })
	for _, k := range servers {
		if e, ok := d.synFlood(k, d.synDst[k]); ok {
			floods = append(floods, e)
		}
	}
	return append(netCapEvents(many, d.cfg.MaxEventsPerKind), netCapEvents(floods, d.cfg.MaxEventsPerKind)...)
}

// synFlood reports a SYN flood on server k: a peak of SYNFloodMinRate SYNs
// per second, at least half of the handshakes it followed never
// completed. What the capture proves decides the severity: when it holds
// the server's answers (SYN-ACKs or resets), the handshakes that never
// completed are a fact — unanswered, or answered and never acknowledged
// (spoofed sources) — and the finding is a warning; when it holds no
// packet from the server (a capture of one direction, a filter), whether
// the server answered cannot be told, and it is a notice.
func (d *Network) synFlood(k netip.AddrPort, a *synAgg) (health.Event, bool) {
	tracked := a.syns - a.untracked
	open := tracked - a.completed
	if a.rate.peak < int64(d.cfg.SYNFloodMinRate) || tracked == 0 || 2*open < tracked {
		return health.Event{}, false
	}
	nsrc := fmt.Sprint(len(a.sources))
	if a.manySrc {
		nsrc = fmt.Sprintf("more than %d", maxSYNSources)
	}
	msg := fmt.Sprintf("SYN flood on %s: up to %d SYNs/s from %s sources, %d SYNs; of the %d connection attempts followed, %d never completed their handshake",
		k, a.rate.peak, nsrc, a.syns, tracked, open)
	sev := health.Warning
	if a.synacks+a.resets > 0 {
		msg += fmt.Sprintf(" (the server answered %d with SYN-ACK and %d with a reset; %d SYNs got no answer)", a.synacks, a.resets, a.unanswered)
	} else {
		sev = health.Notice
		msg += ": the capture holds no answer from the server (one direction captured, or filtered), so whether it answered cannot be told"
	}
	if a.untracked > 0 {
		msg += fmt.Sprintf("; %d SYNs came while %d connections were already followed and were only counted", a.untracked, d.cfg.MaxConns)
	}
	return health.Event{
		Kind: health.NetSYNFlood, Severity: sev, Time: a.rate.peakAt, Frame: a.firstFrame,
		Flow: k.String(), Message: msg,
		Evidence: map[string]any{
			"server": k.String(), "rate_per_s": a.rate.peak, "peak_frame": a.rate.peakFrame,
			"syns": a.syns, "unanswered": a.unanswered, "sources": nsrc, "never_completed": open,
			"completed": a.completed, "synacks": a.synacks, "resets": a.resets, "untracked": a.untracked,
			"server_seen": a.synacks+a.resets > 0,
		},
	}, true
}
