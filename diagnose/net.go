package diagnose

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Network finds what no single connection explains (casebook C2, C6,
// C9, C14, C16, C17, C19, C21): ICMP errors matched to the flows they quote,
// path-MTU reductions and black holes, fragmentation, UDP and SYN floods, one
// source opening many connections (NAT), ARP storms and conflicts, replies
// from an address other than the one asked, periodic attempts, destinations
// explained by DNS, and the workload profile per service.
//
// Feed it every decoded packet with Packet, optionally every event of the
// analysis with Event and every closed TCP connection's summary with Flow,
// then call Finish once at the end of the capture: the findings are emitted
// there, in frame order. Everything is driven by capture time and every
// table is bounded by NetworkConfig. A Network is not safe for concurrent
// use.
type Network struct {
	cfg NetworkConfig

	conns    map[connID]*netConn
	open     connList // conns not closed, in order of last activity
	closed   connList // conns closed by FINs or a reset, in order of last activity
	lastConn *netConn // the connection of the previous TCP packet (lookup cache)
	// connCache holds recently used connections of conns by connSlot of
	// their tuple (see lookup); a connection leaves it when it leaves conns.
	connCache *[1 << connCacheBits]*netConn
	freeRings []*[pmtuRing]segRec // path-MTU rings of dropped connections, for reuse
	services  map[svcKey]*service
	sources   map[srcKey]*sourceAgg
	synDst    map[netip.AddrPort]*synAgg
	udp       map[addrPair]*udpPair
	pending   map[pendKey]*pendReq
	asym      map[asymKey]*asymAgg
	periodic  map[periodKey]*periodAgg
	icmp      map[icmpKey]*icmpAgg
	arp       map[netip.Addr]*arpSender
	arpMAC    map[netip.Addr]arpBinding
	arpConf   map[netip.Addr]*arpConflict
	names     map[netip.Addr]*dnsName
	dests     map[netip.Addr]*destAgg
	lastHTTP  map[netip.Addr]httpReq // last cleartext HTTP request per server address
	echo      map[echoKey]echoReq    // outstanding DF echo requests
	echoPaths map[addrKey]*echoPath  // echo sizes per path (ping PMTU)
	pmtu      []health.Event         // PMTU findings made as connections close
	nIntvl    int                    // intervals kept, all tables together

	fragIncomplete, fragOverlap int // net.fragment_* events seen (from layers)
	capped                      map[string]bool
	last                        time.Time
	lastSweep                   time.Time
	sweepGap                    time.Duration // capture time between sweeps
	sweepAt                     time.Time     // lastSweep + sweepGap, when sweepAtExact
	sweepAtExact                bool
	finished                    bool
}

// NewNetwork returns a diagnoser with cfg (zero fields take their
// defaults).
func NewNetwork(cfg NetworkConfig) *Network {
	d := &Network{
		cfg:       cfg.withDefaults(),
		conns:     map[connID]*netConn{},
		connCache: new([1 << connCacheBits]*netConn),
		services:  map[svcKey]*service{},
		sources:   map[srcKey]*sourceAgg{},
		synDst:    map[netip.AddrPort]*synAgg{},
		udp:       map[addrPair]*udpPair{},
		pending:   map[pendKey]*pendReq{},
		asym:      map[asymKey]*asymAgg{},
		periodic:  map[periodKey]*periodAgg{},
		icmp:      map[icmpKey]*icmpAgg{},
		arp:       map[netip.Addr]*arpSender{},
		arpMAC:    map[netip.Addr]arpBinding{},
		arpConf:   map[netip.Addr]*arpConflict{},
		names:     map[netip.Addr]*dnsName{},
		dests:     map[netip.Addr]*destAgg{},
		lastHTTP:  map[netip.Addr]httpReq{},
		echo:      map[echoKey]echoReq{},
		echoPaths: map[addrKey]*echoPath{},
		capped:    map[string]bool{},
	}
	d.sweepGap = min(d.cfg.ConnIdle/4, sweepEvery)
	d.setSweepAt()
	return d
}

// Packet observes one decoded frame. p and its Payload are not kept after
// the call returns. For a TCP packet the diagnoser judges retransmissions
// itself (data wholly below the highest sequence number seen was sent
// again); PacketTracked takes the connection tracker's word instead.
func (d *Network) Packet(p *layers.Packet) { d.observe(p, Tracked{}, false) }

// Tracked is what connection tracking (tcpstate) concluded about a TCP
// packet.
type Tracked struct {
	// Resent: the packet carried data its sender had sent before — a
	// retransmission, not a late original (reordering) nor a copy.
	Resent bool
}

// PacketTracked observes one decoded frame with what the connection
// tracker concluded about it (TCP); copies of a packet (tcpstate's
// duplicates) should not be passed at all.
func (d *Network) PacketTracked(p *layers.Packet, t Tracked) { d.observe(p, t, true) }

func (d *Network) observe(lp *layers.Packet, t Tracked, tracked bool) {
	if d.finished || lp == nil {
		return
	}
	p := &packet{Packet: lp, src: lp.SrcAddrPort(), dst: lp.DstAddrPort(), tracked: t, hasTracked: tracked}
	if p.Time.After(d.last) {
		d.last = p.Time
	}
	switch p.Transport {
	case layers.TransportARP:
		d.arpPacket(p)
		return
	case layers.TransportICMP:
		if p.ICMP.IsError || isEcho(&p.ICMP) {
			d.icmpPacket(p)
		}
	case layers.TransportTCP:
		if !p.Fragment {
			d.tcpPacket(p)
		}
	case layers.TransportUDP:
		if isDNS(lp) {
			d.dnsPacket(p)
		}
		if !p.Fragment {
			d.udpPacket(p)
		}
	}
	if d.sweepDue() {
		d.sweep(d.last)
	}
}

// Event observes one event of the analysis. The diagnoser counts the
// fragment events the packet decoder raises (for the fragmentation
// findings); other kinds are ignored today.
func (d *Network) Event(e health.Event) {
	switch e.Kind {
	case health.NetFragmentIncomplete:
		d.fragIncomplete++
	case health.NetFragmentOverlap:
		d.fragOverlap++
	}
}

// Flow observes one closed TCP connection's summary from the tracker. It
// adds the tracker's RTT measurements to the workload profile of the
// connection's service.
func (d *Network) Flow(s *health.FlowStats) {
	if s == nil || d.finished {
		return
	}
	sv := d.services[svcKey{server: s.Server, proto: protoTCP}]
	if sv == nil {
		return
	}
	if s.HandshakeRTT > 0 {
		sv.rttSum += s.HandshakeRTT
		sv.rttN++
	}
	sv.retrans[0] += s.RetransBytes[0]
	sv.retrans[1] += s.RetransBytes[1]
}

// HTTPRequest tells the diagnoser about an HTTP request it cannot see in
// clear text (decrypted TLS): it counts for the workload profile, for the
// destinations explained by DNS and as the request that may precede a flood.
// Cleartext requests are found in Packet payloads already; a request
// reported both ways (same frame and connection) is counted once.
func (d *Network) HTTPRequest(frame int64, at time.Time, client, server netip.AddrPort, line string) {
	if d.finished {
		return
	}
	c, dir := d.lookup(client, server)
	if dir != 0 {
		c = nil // only the connection client opened to server
	}
	d.httpRequest(c, frame, at, client, server, line, "")
}

// Finish emits the findings to rep, in frame order. Call it once, at the end
// of the capture; later calls do nothing.
func (d *Network) Finish(rep health.Reporter) {
	if d.finished {
		return
	}
	for _, l := range []*connList{&d.closed, &d.open} {
		for c := l.head; c != nil; c = c.next {
			d.foldConn(c)
		}
	}
	clear(d.conns)
	d.open, d.closed = connList{}, connList{}
	d.lastConn = nil
	clear(d.connCache[:])
	var out []health.Event
	out = append(out, d.icmpFindings()...)
	out = append(out, d.pmtu...)
	out = append(out, d.pingFindings()...)
	out = append(out, d.floodFindings()...)
	out = append(out, d.connFindings()...)
	out = append(out, d.arpFindings()...)
	out = append(out, d.asymFindings()...)
	out = append(out, d.periodicFindings()...)
	out = append(out, d.dnsFindings()...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Frame < out[j].Frame })
	d.finished = true
	if rep == nil {
		return
	}
	for _, e := range out {
		rep.Event(e)
	}
}

// sweepEvery is the most capture time between two sweeps.
const sweepEvery = time.Second

// sweepDue reports whether sweepGap of capture time passed since the last
// sweep (last − lastSweep ≥ sweepGap). sweepAt answers it with one time
// comparison: since sweepGap ≥ 0, last ≥ lastSweep + sweepGap says the
// same as time.Time.Sub, saturation included, as long as the addition
// did not overflow; otherwise Sub answers.
func (d *Network) sweepDue() bool {
	if d.sweepAtExact {
		return !d.last.Before(d.sweepAt)
	}
	return d.last.Sub(d.lastSweep) >= d.sweepGap
}

// setSweepAt derives sweepAt from lastSweep. Below 2^62 Unix seconds
// adding at most sweepEvery cannot overflow time.Time's seconds.
func (d *Network) setSweepAt() {
	d.sweepAtExact = d.lastSweep.Unix() < 1<<62
	if d.sweepAtExact {
		d.sweepAt = d.lastSweep.Add(d.sweepGap)
	}
}

// sweep folds TCP connections silent for ConnIdle (closed ones after
// closedLinger) and forgets expired UDP requests and quiet UDP streams.
func (d *Network) sweep(now time.Time) {
	d.lastSweep = now
	d.setSweepAt()
	for c := d.closed.head; c != nil && now.Sub(c.last) >= closedLinger; c = d.closed.head {
		d.foldConn(c)
		d.dropConn(c)
	}
	for c := d.open.head; c != nil && now.Sub(c.last) >= d.cfg.ConnIdle; c = d.open.head {
		d.foldConn(c)
		d.dropConn(c)
	}
	for k, r := range d.pending {
		if now.Sub(r.at) > d.cfg.ReplyWindow {
			delete(d.pending, k)
		}
	}
	d.sweepEcho(now)
	// UDP streams that went quiet and can no longer be a finding (too few
	// datagrams for a flood, nothing fragmented) make room for new ones.
	for k, u := range d.udp {
		if now.Sub(u.last) >= d.cfg.ConnIdle && u.datagrams < int64(d.cfg.FloodMinDatagrams) && u.reassembled == 0 {
			delete(d.udp, k)
		}
	}
}

// cap records that a table reached its cap (reported in evidence).
func (d *Network) markCapped(table string) { d.capped[table] = true }

// --- small helpers shared by the diagnoses ---

// netProtoName returns "tcp", "udp", "icmp", "icmpv6" or the number.
func netProtoName(p uint8) string {
	switch p {
	case protoTCP:
		return "tcp"
	case protoUDP:
		return "udp"
	case protoICMP:
		return "icmp"
	case protoICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(int(p))
}

// netFlowString formats a directed flow as events print it:
// "10.1.1.1:1099->172.16.1.1:80/tcp".
func netFlowString(src, dst netip.AddrPort, proto uint8) string {
	return src.String() + "->" + dst.String() + "/" + netProtoName(proto)
}

// netSeqLT reports a < b in TCP sequence space (RFC 9293, 3.4).
func netSeqLT(a, b uint32) bool { return int32(a-b) < 0 }

// netSeqLEQ reports a <= b in TCP sequence space.
func netSeqLEQ(a, b uint32) bool { return int32(a-b) <= 0 }

// netFrames is a capped list of frame numbers for evidence.
type netFrames struct {
	frames []int64
	n      int
}

func (f *netFrames) add(frame int64, max int) {
	f.n++
	if len(f.frames) < max {
		f.frames = append(f.frames, frame)
	}
}

func (f *netFrames) first() int64 {
	if len(f.frames) == 0 {
		return 0
	}
	return f.frames[0]
}

// netRate counts over a sliding 1 s window of ten 100 ms slots and keeps
// the peak. It allocates nothing.
type netRate struct {
	slot      [rateSlots]int64
	idx       int64 // absolute index of the newest slot
	sum       int64
	started   bool
	peak      int64
	peakAt    time.Time
	peakFrame int64
}

const (
	rateSlots = 10
	rateSlot  = 100 * time.Millisecond
)

func netSlotIndex(i int64) int { return int(((i % rateSlots) + rateSlots) % rateSlots) }

func (w *netRate) add(t time.Time, n int64, frame int64) {
	s := t.UnixNano() / int64(rateSlot)
	if !w.started {
		w.idx, w.started = s, true
	}
	if s > w.idx {
		if adv := s - w.idx; adv >= rateSlots {
			w.slot = [rateSlots]int64{}
			w.sum = 0
		} else {
			for i := int64(1); i <= adv; i++ {
				j := netSlotIndex(w.idx + i)
				w.sum -= w.slot[j]
				w.slot[j] = 0
			}
		}
		w.idx = s
	}
	w.slot[netSlotIndex(w.idx)] += n
	w.sum += n
	if w.sum > w.peak {
		w.peak, w.peakAt, w.peakFrame = w.sum, t, frame
	}
}

// netSeconds returns d in seconds rounded to milliseconds.
func netSeconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

// netRound2 rounds x to two decimals.
func netRound2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// netPlural returns "1 thing" or "n things".
func netPlural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// netCapEvents keeps at most max events of a diagnosis; when more were found the
// last kept one says how many were left out.
func netCapEvents(evs []health.Event, max int) []health.Event {
	if len(evs) <= max {
		return evs
	}
	more := len(evs) - max
	evs = evs[:max]
	last := &evs[max-1]
	last.Message += fmt.Sprintf(" (%d more findings of this kind not listed)", more)
	if last.Evidence == nil {
		last.Evidence = map[string]any{}
	}
	last.Evidence["more_not_listed"] = more
	return evs
}

// netPrintable keeps a request line printable and short for evidence.
func netPrintable(b []byte, max int) string {
	var sb strings.Builder
	for _, c := range b {
		if sb.Len() >= max {
			break
		}
		if c < 0x20 || c > 0x7e {
			sb.WriteByte('.')
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}
