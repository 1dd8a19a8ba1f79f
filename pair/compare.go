package pair

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/defaults"
	"github.com/nettrace/nettrace/layers"
)

// Two-capture correlation (casebook C1, C13, C15): one connection captured
// at two points — typically at the client and at the server, possibly with
// NAT between them — is matched across the two captures, and the two views
// are compared: packets changed in transit, segments lost between the
// points, and where the time of each request is spent.
//
// The input is a compact, header-only view of each capture's TCP
// connections (Capture), read from a capture file by ReadCapture or built by
// the caller. Nothing here sees payload bytes.

// Segment is one TCP segment of a connection, headers only.
type Segment struct {
	Frame      int64     // 1-based frame number in its capture
	Time       time.Time // capture timestamp
	FromClient bool      // sent by the connection's client
	// Seq is the sender's sequence number relative to the sender's ISN
	// (Conn.ClientISN or ServerISN); Ack is relative to the receiver's
	// ISN, and 0 when the ACK flag is clear.
	Seq, Ack   uint32
	Flags      layers.TCPFlags
	PayloadLen int    // TCP payload length
	IPTotalLen int    // IPv4 total length (IPv6: payload length + 40); 0 for TSO
	TSval      uint32 // TCP timestamp value, when HasTS
	HasTS      bool
	MSS        uint16 // MSS option (SYN, SYN-ACK), 0 when absent
}

// Conn is one TCP connection of one capture.
type Conn struct {
	Client, Server netip.AddrPort
	// ClientISN and ServerISN are the sequence numbers the segments' Seq
	// and Ack are relative to: the SYN's (SYN-ACK's) sequence number when
	// ClientSYN (ServerSYN), otherwise the first sequence number seen in
	// that direction.
	ClientISN, ServerISN uint32
	ClientSYN, ServerSYN bool
	// Segments in capture order.
	Segments []Segment
	// SegmentsDropped counts segments beyond the collector's cap; the
	// comparison covers the ones kept.
	SegmentsDropped int
}

// Start returns the time of the connection's first segment.
func (c *Conn) Start() time.Time {
	if len(c.Segments) == 0 {
		return time.Time{}
	}
	return c.Segments[0].Time
}

// Flow returns the connection as events print it ("client->server/tcp").
func (c *Conn) Flow() string { return c.Client.String() + "->" + c.Server.String() + "/tcp" }

// Capture is the TCP view of one capture.
type Capture struct {
	// Label names the capture in events: "a" or "b".
	Label string
	// Name is the file name, used in messages when set.
	Name  string
	Conns []Conn
}

func (p *Capture) title() string {
	if p.Name == "" {
		return "capture " + p.Label
	}
	return "capture " + p.Label + " (" + p.Name + ")"
}

// Config tunes Compare. Zero fields take the documented defaults.
type Config struct {
	// MaxStartSkew bounds the start-time difference of two connections
	// matched without ISNs (the two capture hosts' clocks may differ).
	// Default 10 s.
	MaxStartSkew time.Duration
	// Payloads is how many payload sizes per direction are compared when
	// matching by start time and payload sizes. Default 4.
	Payloads int
	// MaxFallbackComparisons caps the pairs of connections compared
	// without ISNs. Default 1,000,000.
	MaxFallbackComparisons int
	// MaxEventsPerMatch caps the packet_changed and lost_between events
	// per matched connection (each carries the total). Default 8.
	MaxEventsPerMatch int
	// NetworkDominant: a delay split is a Notice when the time between
	// the capture points is at least this long and at least half of what
	// the client waits. Default 10 ms.
	NetworkDominant time.Duration
}

// defaultConfig holds the defaults documented on Config.
var defaultConfig = Config{
	MaxStartSkew:           10 * time.Second,
	Payloads:               4,
	MaxFallbackComparisons: 1_000_000,
	MaxEventsPerMatch:      8,
	NetworkDominant:        10 * time.Millisecond,
}

func (c Config) withDefaults() Config {
	defaults.Fill(&c, defaultConfig)
	return c
}

// How two connections were matched, strongest first.
const (
	MatchedByISNAndTSval = "client ISN and SYN TSval"
	MatchedByISNs        = "ISNs of both sides"
	MatchedByClientISN   = "client ISN"
	MatchedBySeqRanges   = "sequence numbers of both sides"
	MatchedByPayloads    = "start time and payload sizes"
)

// Match pairs connection A of capture a with connection B of capture b.
type Match struct {
	A, B int    // indexes into the captures' Conns
	By   string // MatchedBy…
	// NAT is true when the two views' addresses or ports differ.
	NAT bool
	// ClientSide is the label of the capture nearer the client ("a" or
	// "b"), "" when the timing does not tell.
	ClientSide string
}

// matchConns matches the connections of a and b. Each connection is matched
// at most once; a connection with several equally good candidates is left
// unmatched and counted in ambiguous.
func matchConns(a, b *Capture, cfg Config) (matches []Match, ambiguous int) {
	cfg = cfg.withDefaults()
	usedA := make([]bool, len(a.Conns))
	usedB := make([]bool, len(b.Conns))
	amb := make([]bool, len(a.Conns))

	// Strong levels: index b by client ISN.
	byISN := map[uint32][]int{}
	for j := range b.Conns {
		if b.Conns[j].ClientSYN {
			byISN[b.Conns[j].ClientISN] = append(byISN[b.Conns[j].ClientISN], j)
		}
	}
	type cand struct{ i, j, level int }
	var cands []cand
	for i := range a.Conns {
		ca := &a.Conns[i]
		if !ca.ClientSYN {
			continue
		}
		js := byISN[ca.ClientISN]
		if len(js) > maxISNCandidates {
			amb[i] = true // the same ISN many times: not an identifier here
			ambiguous++
			continue
		}
		for _, j := range js {
			if l := isnLevel(ca, &b.Conns[j]); l > 0 {
				cands = append(cands, cand{i, j, l})
			}
		}
	}
	// Weak levels: connections not matched by ISN, within the start skew.
	assign := func(level int, list []cand) {
		perA := map[int][]int{}
		perB := map[int]int{}
		for _, c := range list {
			if c.level != level || usedA[c.i] || usedB[c.j] || amb[c.i] {
				continue
			}
			perA[c.i] = append(perA[c.i], c.j)
			perB[c.j]++
		}
		is := make([]int, 0, len(perA))
		for i := range perA {
			is = append(is, i)
		}
		sort.Ints(is)
		for _, i := range is {
			js := perA[i]
			if len(js) != 1 || perB[js[0]] != 1 {
				amb[i] = true
				ambiguous++
				continue
			}
			usedA[i], usedB[js[0]] = true, true
			matches = append(matches, Match{A: i, B: js[0], By: levelName[level]})
		}
	}
	for l := 1; l <= 3; l++ {
		assign(l, cands)
	}
	weak := fallbackCandidates(a, b, usedA, usedB, cfg)
	for _, c := range weak {
		cands = append(cands, cand{c[0], c[1], c[2]})
	}
	assign(4, cands)
	assign(5, cands)
	sort.Slice(matches, func(x, y int) bool { return matches[x].A < matches[y].A })
	for k := range matches {
		m := &matches[k]
		ca, cb := &a.Conns[m.A], &b.Conns[m.B]
		m.NAT = ca.Client != cb.Client || ca.Server != cb.Server
		m.ClientSide = clientSide(a, b, ca, cb)
	}
	return matches, ambiguous
}

// maxISNCandidates bounds the connections of b compared with one of a by
// the client ISN; more share it only in crafted or broken captures.
const maxISNCandidates = 64

var levelName = [...]string{"", MatchedByISNAndTSval, MatchedByISNs, MatchedByClientISN, MatchedBySeqRanges, MatchedByPayloads}

// isnLevel grades two connections whose client SYNs carry the same ISN:
// 1 when a SYN TSval is the same too, 2 when the server ISNs also agree,
// 3 on the client ISN alone; 0 when timestamps or server ISNs contradict.
func isnLevel(a, b *Conn) int {
	tsA, tsB := synTSvals(a), synTSvals(b)
	if len(tsA) > 0 && len(tsB) > 0 {
		for _, x := range tsA {
			if slices.Contains(tsB, x) {
				return 1
			}
		}
		return 0 // both have timestamps, none agree: another connection
	}
	if a.ServerSYN && b.ServerSYN {
		if a.ServerISN == b.ServerISN {
			return 2
		}
		return 0
	}
	return 3
}

// synTSvals returns the TSvals of a connection's client SYNs (at most 8).
func synTSvals(c *Conn) []uint32 {
	var out []uint32
	for i := range c.Segments {
		s := &c.Segments[i]
		if s.FromClient && s.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN && s.HasTS && len(out) < 8 {
			out = append(out, s.TSval)
		}
	}
	return out
}

// fallbackCandidates compares the connections left unmatched whose start
// times are within cfg.MaxStartSkew: level 4 when both directions' raw
// sequence ranges overlap (at least one lacks its SYN), level 5 when the
// first payload sizes of both directions agree (when both SYNs were seen
// with different client ISNs, they must also share the server ISN, a SYN
// TSval or the server port).
func fallbackCandidates(a, b *Capture, usedA, usedB []bool, cfg Config) [][3]int {
	var bs []int
	for j := range b.Conns {
		if !usedB[j] && len(b.Conns[j].Segments) > 0 {
			bs = append(bs, j)
		}
	}
	sort.Slice(bs, func(x, y int) bool { return b.Conns[bs[x]].Start().Before(b.Conns[bs[y]].Start()) })
	sizesB := map[int][2][]int{}
	var out [][3]int
	budget := cfg.MaxFallbackComparisons
	for i := range a.Conns {
		ca := &a.Conns[i]
		if usedA[i] || len(ca.Segments) == 0 {
			continue
		}
		start := ca.Start()
		k := sort.Search(len(bs), func(x int) bool { return !b.Conns[bs[x]].Start().Before(start.Add(-cfg.MaxStartSkew)) })
		sizesA := payloadSizes(ca, cfg.Payloads)
		for ; k < len(bs) && !b.Conns[bs[k]].Start().After(start.Add(cfg.MaxStartSkew)); k++ {
			if budget--; budget < 0 {
				return out
			}
			j := bs[k]
			cb := &b.Conns[j]
			if (!ca.ClientSYN || !cb.ClientSYN) && seqOverlap(ca, cb) {
				out = append(out, [3]int{i, j, 4})
				continue
			}
			if ca.ClientSYN && cb.ClientSYN && !weakAgree(ca, cb) {
				continue
			}
			sb, ok := sizesB[j]
			if !ok {
				sb = payloadSizes(cb, cfg.Payloads)
				sizesB[j] = sb
			}
			if sameSizes(sizesA, sb) {
				out = append(out, [3]int{i, j, 5})
			}
		}
	}
	return out
}

// weakAgree reports whether two connections whose SYNs were both seen with
// different client ISNs (a firewall that randomises ISNs) still share
// something: the server ISN, a SYN TSval or the server port.
func weakAgree(a, b *Conn) bool {
	if a.ServerSYN && b.ServerSYN && a.ServerISN == b.ServerISN {
		return true
	}
	for _, x := range synTSvals(a) {
		if slices.Contains(synTSvals(b), x) {
			return true
		}
	}
	return a.Server.Port() == b.Server.Port()
}

// payloadSizes returns the first n new-data payload sizes per direction
// (client, server).
func payloadSizes(c *Conn, n int) [2][]int {
	var out [2][]int
	var next [2]uint32
	var seen [2]bool
	for i := range c.Segments {
		s := &c.Segments[i]
		if s.PayloadLen == 0 {
			continue
		}
		d := 1
		if s.FromClient {
			d = 0
		}
		if seen[d] && int32(s.Seq-next[d]) < 0 {
			continue // retransmission
		}
		seen[d], next[d] = true, s.Seq+uint32(s.PayloadLen)
		if len(out[d]) < n {
			out[d] = append(out[d], s.PayloadLen)
		}
	}
	return out
}

// sameSizes reports whether two connections' payload sizes agree on at
// least two payloads and on every compared position.
func sameSizes(a, b [2][]int) bool {
	compared := 0
	for d := range 2 {
		n := min(len(a[d]), len(b[d]))
		if (len(a[d]) == 0) != (len(b[d]) == 0) {
			return false
		}
		for k := range n {
			if a[d][k] != b[d][k] {
				return false
			}
		}
		compared += n
	}
	return compared >= 2
}

// seqOverlap reports whether both directions' raw sequence ranges of a
// and b intersect.
func seqOverlap(a, b *Conn) bool {
	for _, fromClient := range []bool{true, false} {
		la, ha, okA := rawRange(a, fromClient)
		lb, hb, okB := rawRange(b, fromClient)
		if !okA || !okB || int32(ha-lb) < 0 || int32(hb-la) < 0 {
			return false
		}
	}
	return true
}

func rawRange(c *Conn, fromClient bool) (lo, hi uint32, ok bool) {
	base := c.ServerISN
	if fromClient {
		base = c.ClientISN
	}
	var maxRel uint32
	for i := range c.Segments {
		s := &c.Segments[i]
		if s.FromClient == fromClient {
			ok = true
			if e := s.Seq + uint32(s.PayloadLen); e > maxRel {
				maxRel = e
			}
		}
	}
	return base, base + maxRel, ok
}

// handshake returns the times of the first SYN, SYN-ACK and the client's
// first ACK after it.
func handshake(c *Conn) (syn, synAck, ack *Segment) {
	for i := range c.Segments {
		s := &c.Segments[i]
		switch {
		case syn == nil && s.FromClient && s.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN:
			syn = s
		case synAck == nil && syn != nil && !s.FromClient && s.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN|layers.FlagACK:
			synAck = s
		case synAck != nil && s.FromClient && s.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagACK:
			return syn, synAck, s
		}
	}
	return syn, synAck, nil
}

// nearClient says whether the capture of c is nearer the client: there the
// server's SYN-ACK comes late after the SYN and the client's ACK at once.
// ok is false without a full handshake.
func nearClient(c *Conn) (near, ok bool) {
	syn, synAck, ack := handshake(c)
	if ack == nil {
		return false, false
	}
	return synAck.Time.Sub(syn.Time) > ack.Time.Sub(synAck.Time), true
}

// clientSide returns the label of the capture nearer the client: from the
// handshakes, else from the request/response times (larger nearer the
// client).
func clientSide(a, b *Capture, ca, cb *Conn) string {
	na, okA := nearClient(ca)
	nb, okB := nearClient(cb)
	switch {
	case okA && okB && na != nb:
		if na {
			return a.Label
		}
		return b.Label
	case okA && !okB:
		if na {
			return a.Label
		}
		return b.Label
	case okB && !okA:
		if nb {
			return b.Label
		}
		return a.Label
	}
	ra, rb := medianResponse(ca), medianResponse(cb)
	switch {
	case ra < 0 || rb < 0 || ra == rb:
		return ""
	case ra > rb:
		return a.Label
	}
	return b.Label
}

func medianResponse(c *Conn) time.Duration {
	rs := requests(c)
	var ds []time.Duration
	for _, r := range rs {
		if r.resp != nil {
			ds = append(ds, r.resp.Time.Sub(r.req.Time))
		}
	}
	if len(ds) == 0 {
		return -1
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// Compare matches the connections of a and b, reports each match
// (pair.matched) and what changed between the two capture points
// (pair.packet_changed, pair.lost_between, pair.delay_split) to rep, and
// returns the matches with the number of connections of a left unmatched
// because several connections of b fitted them equally well. rep may be nil.
func Compare(a, b *Capture, cfg Config, rep health.Reporter) (matches []Match, ambiguous int) {
	if rep == nil {
		rep = health.Discard
	}
	cfg = cfg.withDefaults()
	matches, ambiguous = matchConns(a, b, cfg)
	for _, m := range matches {
		pc := pairComparison{a: a, b: b, ca: &a.Conns[m.A], cb: &b.Conns[m.B], m: m, cfg: cfg, rep: rep}
		pc.compare()
	}
	return matches, ambiguous
}

// pairComparison compares one matched connection.
type pairComparison struct {
	a, b   *Capture
	ca, cb *Conn
	m      Match
	cfg    Config
	rep    health.Reporter
	// offC and offS translate a's relative client (server) sequence
	// numbers into b's: relB = relA + off.
	offC, offS uint32
	aToB       []int // index of the same packet in cb.Segments, -1 if none
	// cov caches the coverage of a client, a server, b client, b server.
	cov     [4]seqCoverage
	covDone [4]bool
}

func (p *pairComparison) compare() {
	if !(p.ca.ClientSYN && p.cb.ClientSYN) {
		p.offC = p.ca.ClientISN - p.cb.ClientISN
	}
	if !(p.ca.ServerSYN && p.cb.ServerSYN) {
		p.offS = p.ca.ServerISN - p.cb.ServerISN
	}
	p.pairPackets()
	p.matched()
	p.changed()
	p.lost()
	p.delaySplit()
}

type segKey struct {
	fromClient bool
	seq, ack   uint32
	flags      layers.TCPFlags
	tsval      uint32
	hasTS      bool
}

func keyOf(s *Segment, seqOff, ackOff uint32) segKey {
	k := segKey{fromClient: s.FromClient, seq: s.Seq + seqOff, flags: s.Flags & (layers.FlagSYN | layers.FlagFIN | layers.FlagRST | layers.FlagACK), tsval: s.TSval, hasTS: s.HasTS}
	if s.Flags&layers.FlagACK != 0 {
		k.ack = s.Ack + ackOff
	}
	return k
}

// offsets returns the translation of a segment of a into b's spaces.
func (p *pairComparison) offsets(fromClient bool) (seqOff, ackOff uint32) {
	if fromClient {
		return p.offC, p.offS
	}
	return p.offS, p.offC
}

// pairPackets pairs each segment of a with the same packet in b: same
// direction, sequence and acknowledgement numbers, flags and TSval, in
// order of occurrence.
func (p *pairComparison) pairPackets() {
	inB := map[segKey][]int{}
	for j := range p.cb.Segments {
		k := keyOf(&p.cb.Segments[j], 0, 0)
		inB[k] = append(inB[k], j)
	}
	p.aToB = make([]int, len(p.ca.Segments))
	for i := range p.ca.Segments {
		s := &p.ca.Segments[i]
		so, ao := p.offsets(s.FromClient)
		k := keyOf(s, so, ao)
		if js := inB[k]; len(js) > 0 {
			p.aToB[i] = js[0]
			inB[k] = js[1:]
		} else {
			p.aToB[i] = -1
		}
	}
}

func (p *pairComparison) event(kind health.Kind, sev health.Severity, on *Capture, c *Conn, s *Segment, otherFrame int64, msg string, ev map[string]any) {
	ev["capture"] = on.Label
	other := "frame_b"
	if on == p.b {
		other = "frame_a"
	}
	ev["frame_"+on.Label] = s.Frame
	if otherFrame > 0 {
		ev[other] = otherFrame
	}
	p.rep.Event(health.Event{Kind: kind, Severity: sev, Time: s.Time, Frame: s.Frame, Flow: c.Flow(), Message: msg, Evidence: ev})
}

func firstMSS(c *Conn, fromClient bool) uint16 {
	for i := range c.Segments {
		s := &c.Segments[i]
		if s.FromClient == fromClient && s.Flags&layers.FlagSYN != 0 {
			return s.MSS
		}
	}
	return 0
}

func (p *pairComparison) matched() {
	ca, cb := p.ca, p.cb
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s and %s %s are the same connection (matched by %s)",
		p.a.title(), ca.Flow(), p.b.title(), cb.Flow(), p.m.By)
	if p.m.NAT {
		b.WriteString("; same connection seen through NAT")
		sep := ": "
		if ca.Client != cb.Client {
			fmt.Fprintf(&b, "%sthe client %s in %s is %s in %s", sep, ca.Client, p.a.Label, cb.Client, p.b.Label)
			sep = ", "
		}
		if ca.Server != cb.Server {
			fmt.Fprintf(&b, "%sthe server %s in %s is %s in %s", sep, ca.Server, p.a.Label, cb.Server, p.b.Label)
		}
	}
	mssA, mssB := firstMSS(ca, true), firstMSS(cb, true)
	if mssA != 0 && mssB != 0 && mssA != mssB {
		fmt.Fprintf(&b, "; the SYN's MSS is %d in %s and %d in %s (clamped between the points)", mssA, p.a.Label, mssB, p.b.Label)
	}
	smA, smB := firstMSS(ca, false), firstMSS(cb, false)
	if smA != 0 && smB != 0 && smA != smB {
		fmt.Fprintf(&b, "; the SYN-ACK's MSS is %d in %s and %d in %s", smA, p.a.Label, smB, p.b.Label)
	}
	if p.m.ClientSide != "" {
		fmt.Fprintf(&b, "; capture %s is nearer the client", p.m.ClientSide)
	}
	ev := map[string]any{
		"client_a": ca.Client.String(), "server_a": ca.Server.String(),
		"client_b": cb.Client.String(), "server_b": cb.Server.String(),
		"nat": p.m.NAT, "matched_by": p.m.By, "mss_a": int(mssA), "mss_b": int(mssB),
		"client_side": p.m.ClientSide,
	}
	if len(ca.Segments) == 0 || len(cb.Segments) == 0 {
		return
	}
	p.event(health.PairMatched, health.Info, p.a, ca, &ca.Segments[0], cb.Segments[0].Frame, b.String(), ev)
}

func segName(s *Segment) string {
	switch {
	case s.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN|layers.FlagACK:
		return "SYN-ACK"
	case s.Flags&layers.FlagSYN != 0:
		return "SYN"
	case s.Flags&layers.FlagRST != 0:
		return "RST"
	case s.Flags&layers.FlagFIN != 0:
		return "FIN"
	case s.PayloadLen > 0:
		return "data segment"
	}
	return "ACK"
}

func dirName(fromClient bool) string {
	if fromClient {
		return "client→server"
	}
	return "server→client"
}

// changed reports packets whose payload or IP length differ between the
// two points. A data segment that one side shows coalesced (GRO/LRO) or
// split (TSO) is not a change: the other side's following segments then
// cover the difference.
func (p *pairComparison) changed() {
	type change struct{ i, j int }
	var list []change
	for i, j := range p.aToB {
		if j < 0 {
			continue
		}
		sa, sb := &p.ca.Segments[i], &p.cb.Segments[j]
		switch {
		case sa.PayloadLen != sb.PayloadLen:
			if sa.Flags&(layers.FlagSYN|layers.FlagFIN|layers.FlagRST) == 0 && sb.Flags&(layers.FlagSYN|layers.FlagFIN|layers.FlagRST) == 0 && p.resegmented(sa, sb) {
				continue
			}
		case sa.IPTotalLen != sb.IPTotalLen && sa.IPTotalLen != 0 && sb.IPTotalLen != 0:
		default:
			continue
		}
		list = append(list, change{i, j})
	}
	for n, c := range list {
		if n == p.cfg.MaxEventsPerMatch {
			break
		}
		sa, sb := &p.ca.Segments[c.i], &p.cb.Segments[c.j]
		what := fmt.Sprintf("IP total length %d in %s vs %d in %s, payload %d vs %d bytes",
			sa.IPTotalLen, p.a.Label, sb.IPTotalLen, p.b.Label, sa.PayloadLen, sb.PayloadLen)
		why := "headers changed in transit"
		if sa.PayloadLen != sb.PayloadLen {
			why = fmt.Sprintf("%d bytes of payload added in transit", abs(sa.PayloadLen-sb.PayloadLen))
			if up := p.upstreamOf(sa.FromClient); up != nil {
				// The sender's side holds the original.
				if (up == p.a) == (sa.PayloadLen > sb.PayloadLen) {
					why = fmt.Sprintf("%d bytes of payload removed in transit", abs(sa.PayloadLen-sb.PayloadLen))
				}
			} else {
				why = fmt.Sprintf("payload differs by %d bytes between the points", abs(sa.PayloadLen-sb.PayloadLen))
			}
		}
		msg := fmt.Sprintf("the %s (%s) differs between the two capture points: %s (frame %d in %s, frame %d in %s): %s",
			segName(sa), dirName(sa.FromClient), what, sa.Frame, p.a.Label, sb.Frame, p.b.Label, why)
		p.event(health.PairPacketChanged, health.Warning, p.a, p.ca, sa, sb.Frame, msg, map[string]any{
			"payload_a": sa.PayloadLen, "payload_b": sb.PayloadLen, "ip_len_a": sa.IPTotalLen, "ip_len_b": sb.IPTotalLen,
			"segment": segName(sa), "changed_total": len(list),
		})
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// upstreamOf returns the capture nearer the sender of a direction, nil
// when unknown.
func (p *pairComparison) upstreamOf(fromClient bool) *Capture {
	switch p.m.ClientSide {
	case "":
		return nil
	case p.a.Label:
		if fromClient {
			return p.a
		}
		return p.b
	}
	if fromClient {
		return p.b
	}
	return p.a
}

// resegmented reports whether sa (in a) and sb (in b), the same segment
// with different payload lengths, were only cut differently (TSO at the
// sender, GRO/LRO at the receiver) rather than changed.
func (p *pairComparison) resegmented(sa, sb *Segment) bool {
	// The longer copy is a TSO super-segment, or the other capture holds
	// (some of) its extra bytes in other segments; bytes missing there
	// are reported by lost().
	if sa.PayloadLen > sb.PayloadLen {
		diff := uint32(sa.PayloadLen - sb.PayloadLen)
		return sa.IPTotalLen == 0 || p.coverage(true, sa.FromClient).missing(sb.Seq+uint32(sb.PayloadLen), sb.Seq+uint32(sa.PayloadLen)) < diff
	}
	diff := uint32(sb.PayloadLen - sa.PayloadLen)
	return sb.IPTotalLen == 0 || p.coverage(false, sa.FromClient).missing(sa.Seq+uint32(sa.PayloadLen), sa.Seq+uint32(sb.PayloadLen)) < diff
}

// seqCoverage is the union of the byte ranges [Seq, Seq+PayloadLen) of
// one direction of a connection, as sorted, merged, disjoint intervals of
// relative sequence numbers (a connection beyond 4 GiB in one direction
// wraps and is compared only approximately).
type seqCoverage [][2]uint32

func newCoverage(c *Conn, fromClient bool) seqCoverage {
	var ivs seqCoverage
	for i := range c.Segments {
		s := &c.Segments[i]
		if s.FromClient == fromClient && s.PayloadLen > 0 {
			lo := s.Seq
			hi := lo + uint32(s.PayloadLen)
			if hi < lo {
				hi = ^uint32(0) // wrapped: clamp
			}
			ivs = append(ivs, [2]uint32{lo, hi})
		}
	}
	sort.Slice(ivs, func(x, y int) bool { return ivs[x][0] < ivs[y][0] })
	out := ivs[:0]
	for _, v := range ivs {
		if n := len(out); n > 0 && v[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], v[1])
			continue
		}
		out = append(out, v)
	}
	return out
}

// missing returns how many bytes of [lo, hi) the coverage lacks.
func (v seqCoverage) missing(lo, hi uint32) uint32 {
	if hi <= lo {
		return 0
	}
	miss := hi - lo
	i := sort.Search(len(v), func(i int) bool { return v[i][1] > lo })
	for ; i < len(v) && v[i][0] < hi; i++ {
		miss -= min(v[i][1], hi) - max(v[i][0], lo)
	}
	return miss
}

// covers reports whether the coverage holds every byte of [lo, hi).
func (v seqCoverage) covers(lo, hi uint32) bool { return v.missing(lo, hi) == 0 }

// coverage returns the (cached) coverage of one direction of a or b.
func (p *pairComparison) coverage(ofB, fromClient bool) seqCoverage {
	k := 0
	if ofB {
		k = 2
	}
	if !fromClient {
		k++
	}
	if !p.covDone[k] {
		c := p.ca
		if ofB {
			c = p.cb
		}
		p.cov[k], p.covDone[k] = newCoverage(c, fromClient), true
	}
	return p.cov[k]
}

// lost reports data sent at the capture nearer the sender that never
// reached the other capture point: no copy of those bytes (nor a coalesced
// segment covering them) was captured there, although later data of the
// same direction, or the end of the connection, was.
func (p *pairComparison) lost() {
	for _, fromClient := range []bool{true, false} {
		up := p.upstreamOf(fromClient)
		if up == nil {
			return
		}
		upC, downC, down := p.ca, p.cb, p.b
		// off translates up's relative sequence numbers into down's.
		so, _ := p.offsets(fromClient)
		off := so
		if up == p.b {
			upC, downC, down = p.cb, p.ca, p.a
			off = -so
		}
		p.lostDir(up, down, upC, downC, fromClient, off, down == p.b)
	}
}

type lostGroup struct {
	seq     uint32
	length  int
	frames  []int64
	first   *Segment
	sent    int
	arrived int
	never   bool // no copy arrived; missing bytes of it were never seen
	missing int
}

// downView is what the downstream capture saw of one direction: each
// segment (sequence number, length) with how often it arrived, the span of
// sequence numbers seen, and whether the connection ended there.
type downView struct {
	exact          map[segSpan]int
	maxEnd, minSeq uint32
	any, ended     bool
}

type segSpan struct {
	seq uint32
	n   int
}

func viewDown(downC *Conn, fromClient bool) downView {
	v := downView{exact: map[segSpan]int{}}
	for i := range downC.Segments {
		s := &downC.Segments[i]
		if s.Flags&(layers.FlagFIN|layers.FlagRST) != 0 {
			v.ended = true
		}
		if s.FromClient != fromClient || s.PayloadLen == 0 {
			continue
		}
		v.exact[segSpan{s.Seq, s.PayloadLen}]++
		if e := s.Seq + uint32(s.PayloadLen); !v.any || int32(e-v.maxEnd) > 0 {
			v.maxEnd = e
		}
		if !v.any || int32(s.Seq-v.minSeq) < 0 {
			v.minSeq = s.Seq
		}
		v.any = true
	}
	return v
}

// sentGroups groups the upstream data segments of one direction by
// (sequence number, length) in order of first sending, with how many
// copies were sent and arrived downstream.
func sentGroups(upC *Conn, fromClient bool, off uint32, down downView) []*lostGroup {
	groups := map[segSpan]*lostGroup{}
	var order []*lostGroup
	for i := range upC.Segments {
		s := &upC.Segments[i]
		if s.FromClient != fromClient || s.PayloadLen == 0 {
			continue
		}
		k := segSpan{s.Seq + off, s.PayloadLen}
		g := groups[k]
		if g == nil {
			if len(groups) >= 1<<16 {
				continue
			}
			g = &lostGroup{seq: k.seq, length: s.PayloadLen, first: s, arrived: down.exact[k]}
			groups[k] = g
			order = append(order, g)
		}
		g.sent++
		if len(g.frames) < 16 {
			g.frames = append(g.frames, s.Frame)
		}
	}
	return order
}

// lostDir reports the data segments of one direction that the upstream
// capture sent and the downstream capture, while it was watching, never
// saw (or saw fewer times than they were sent).
func (p *pairComparison) lostDir(up, down *Capture, upC, downC *Conn, fromClient bool, off uint32, downIsB bool) {
	dv := viewDown(downC, fromClient)
	var report []*lostGroup
	for _, g := range sentGroups(upC, fromClient, off, dv) {
		end := g.seq + uint32(g.length)
		// The downstream capture must cover the segment's time: it saw
		// the connection start (or earlier data) and later data (or the
		// end of the connection).
		sawStart := downC.ServerSYN
		if fromClient {
			sawStart = downC.ClientSYN
		}
		sawStart = sawStart || (dv.any && int32(g.seq-dv.minSeq) >= 0)
		inWindow := sawStart && (dv.ended || (dv.any && int32(dv.maxEnd-end) > 0))
		if !inWindow || g.arrived >= g.sent {
			continue
		}
		if g.arrived == 0 {
			g.missing = int(p.coverage(downIsB, fromClient).missing(g.seq, end))
			if g.missing == 0 {
				continue // coalesced (GRO/LRO) or resegmented on the way
			}
			g.never = true
		}
		report = append(report, g)
	}
	for n, g := range report {
		if n == p.cfg.MaxEventsPerMatch {
			break
		}
		p.reportLost(up, down, upC, g, fromClient, len(report))
	}
}

// reportLost emits the pair.lost_between event of one group of segments.
func (p *pairComparison) reportLost(up, down *Capture, upC *Conn, g *lostGroup, fromClient bool, total int) {
	sev := health.Warning
	var msg string
	switch {
	case g.never && g.missing == g.length:
		msg = fmt.Sprintf("%d bytes (%s, relative seq %d) sent at %s in frame %d were never seen at %s: all %d copies (%s) were lost between the two capture points",
			g.length, dirName(fromClient), g.seq, up.title(), g.first.Frame, down.title(), g.sent, framesList(g.frames, g.sent))
	case g.never:
		msg = fmt.Sprintf("%d of the %d bytes (%s, relative seq %d) sent at %s in frame %d were never seen at %s (%d copies: %s): lost between the two capture points",
			g.missing, g.length, dirName(fromClient), g.seq, up.title(), g.first.Frame, down.title(), g.sent, framesList(g.frames, g.sent))
	default:
		sev = health.Notice
		msg = fmt.Sprintf("%d bytes (%s, relative seq %d) were sent %d times at %s (frames %s) but arrived %d times at %s: %d copies lost between the two capture points",
			g.length, dirName(fromClient), g.seq, g.sent, up.title(), framesList(g.frames, g.sent), g.arrived, down.title(), g.sent-g.arrived)
	}
	ev := map[string]any{
		"direction": dirName(fromClient), "frames": g.frames, "copies_sent": g.sent,
		"copies_arrived": g.arrived, "bytes": g.length, "seq": g.seq, "lost_total": total,
	}
	if g.never {
		ev["missing_bytes"] = g.missing
	}
	p.event(health.PairLostBetween, sev, up, upC, g.first, 0, msg, ev)
}

func framesList(frames []int64, total int) string {
	parts := make([]string, len(frames))
	for i, f := range frames {
		parts[i] = fmt.Sprint(f)
	}
	s := strings.Join(parts, ", ")
	if total > len(frames) {
		s += fmt.Sprintf(" and %d more", total-len(frames))
	}
	return "frames " + s
}

// request is a client turn: the first new client data after server data
// (or the first client data), and the first new server data after it.
type request struct {
	req, resp *Segment
}

// requests finds the client turns of c (at most 4096).
func requests(c *Conn) []request {
	var out []request
	var nextC, nextS uint32
	var seenC, seenS bool
	turn := false // a client request is waiting for its response
	for i := range c.Segments {
		s := &c.Segments[i]
		if s.PayloadLen == 0 {
			continue
		}
		if s.FromClient {
			if seenC && int32(s.Seq-nextC) < 0 {
				continue // retransmission
			}
			seenC, nextC = true, s.Seq+uint32(s.PayloadLen)
			if !turn {
				if len(out) == 4096 {
					return out
				}
				out = append(out, request{req: s})
				turn = true
			}
			continue
		}
		if seenS && int32(s.Seq-nextS) < 0 {
			continue
		}
		seenS, nextS = true, s.Seq+uint32(s.PayloadLen)
		if turn {
			out[len(out)-1].resp = s
			turn = false
		}
	}
	return out
}

// delaySplit compares each request's response time at the client-side
// capture with the same request's at the server-side capture: the
// difference is spent between the two capture points.
func (p *pairComparison) delaySplit() {
	if p.m.ClientSide == "" {
		return
	}
	cliCap, srvCap, cliC, srvC := p.a, p.b, p.ca, p.cb
	off := p.offC // a's client seq -> b's
	if p.m.ClientSide == p.b.Label {
		cliCap, srvCap, cliC, srvC = p.b, p.a, p.cb, p.ca
		off = -p.offC
	}
	atSrv := map[uint32]request{}
	for _, r := range requests(srvC) {
		if r.resp != nil {
			atSrv[r.req.Seq] = r
		}
	}
	var net, srv, cli []time.Duration
	var first *Segment
	var firstSrv int64
	for _, r := range requests(cliC) {
		if r.resp == nil {
			continue
		}
		rs, ok := atSrv[r.req.Seq+off]
		if !ok {
			continue
		}
		tc, ts := r.resp.Time.Sub(r.req.Time), rs.resp.Time.Sub(rs.req.Time)
		if first == nil {
			first, firstSrv = r.req, rs.req.Frame
		}
		cli, srv, net = append(cli, tc), append(srv, ts), append(net, tc-ts)
	}
	if len(cli) == 0 {
		return
	}
	hsNet := time.Duration(-1)
	if s1, sa1, _ := handshake(cliC); sa1 != nil {
		if s2, sa2, _ := handshake(srvC); sa2 != nil {
			hsNet = sa1.Time.Sub(s1.Time) - sa2.Time.Sub(s2.Time)
		}
	}
	medNet, medCli := median(net), median(cli)
	minS, maxS := slices.Min(srv), slices.Max(srv)
	minC, maxC := slices.Min(cli), slices.Max(cli)
	sev := health.Info
	var verdict string
	if medNet >= p.cfg.NetworkDominant && 2*medNet >= medCli {
		sev = health.Notice
		verdict = "the delay is in the network between the captures (WAN), not in the server"
	} else if 2*median(srv) >= medCli {
		verdict = "most of the time is the server's"
	} else {
		verdict = "the time is shared between the network and the server"
	}
	hs := ""
	if hsNet >= 0 {
		hs = fmt.Sprintf(" (handshake round trip between them %s)", pairMS(hsNet))
	}
	msg := fmt.Sprintf("%d request(s): the client waits %s for each response at %s; at %s the server answers the same requests in %s, so ~%s per request is spent between the two capture points%s: %s",
		len(cli), pairMSRange(minC, maxC), cliCap.title(), srvCap.title(), pairMSRange(minS, maxS), pairMS(medNet), hs, verdict)
	ev := map[string]any{
		"requests": len(cli), "network_ms": pairMSF(medNet), "server_min_ms": pairMSF(minS), "server_max_ms": pairMSF(maxS),
		"client_side_min_ms": pairMSF(minC), "client_side_max_ms": pairMSF(maxC),
	}
	if hsNet >= 0 {
		ev["handshake_network_ms"] = pairMSF(hsNet)
	}
	p.event(health.PairDelaySplit, sev, cliCap, cliC, first, firstSrv, msg, ev)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func pairMSF(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pairMS(d time.Duration) string { return fmt.Sprintf("%.1f ms", pairMSF(d)) }

func pairMSRange(lo, hi time.Duration) string {
	if pairMS(lo) == pairMS(hi) {
		return pairMS(lo)
	}
	return fmt.Sprintf("%.1f–%.1f ms", pairMSF(lo), pairMSF(hi))
}
