package nettrace

import (
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// PairLimits bound the memory of AnalyzePair: only TCP header values are
// kept (about 72 bytes per segment, never payload), so the defaults hold at
// most about 72 MB per capture.
type PairLimits struct {
	// MaxConns is the number of TCP connections kept per capture (default
	// 10,000); later connections are counted in PairReport.ConnsDropped.
	MaxConns int
	// MaxSegmentsPerConn is the number of segments kept per connection
	// (default 20,000); later ones are counted in SegmentsDropped.
	MaxSegmentsPerConn int
	// MaxSegments is the number of segments kept per capture (default
	// 1,000,000).
	MaxSegments int
}

// DefaultPairLimits returns the default PairLimits.
func DefaultPairLimits() PairLimits {
	return PairLimits{MaxConns: 10_000, MaxSegmentsPerConn: 20_000, MaxSegments: 1_000_000}
}

func (l PairLimits) withDefaults() PairLimits {
	d := DefaultPairLimits()
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.MaxSegmentsPerConn <= 0 {
		l.MaxSegmentsPerConn = d.MaxSegmentsPerConn
	}
	if l.MaxSegments <= 0 {
		l.MaxSegments = d.MaxSegments
	}
	return l
}

// PairReport is what the comparison of two captures of the same traffic
// found: the connections seen in both and what changed between the two
// capture points.
type PairReport struct {
	// A and B describe the two captures (labelled "a" and "b" in events).
	A, B CaptureInfo
	// ConnsA and ConnsB count the TCP connections read from each capture.
	ConnsA, ConnsB int
	// Matches are the connections found in both captures, in order of
	// their first frame in A.
	Matches []PairMatch
	// Ambiguous counts connections of A with several equally good
	// candidates in B; they are left unmatched.
	Ambiguous int
	// Events are the pair.* findings in emission order: per match
	// pair.matched first, then pair.packet_changed, pair.lost_between and
	// pair.delay_split. Each event's Frame is a frame of the capture its
	// Evidence "capture" names.
	Events []health.Event
	// ConnsDropped and SegmentsDropped count what the PairLimits left out
	// (both captures together); the comparison covers what was kept.
	ConnsDropped, SegmentsDropped int
}

// PairMatch is one connection seen in both captures.
type PairMatch struct {
	ClientA, ServerA netip.AddrPort // as seen in capture A
	ClientB, ServerB netip.AddrPort // as seen in capture B
	FirstFrameA      int64          // the connection's first frame in A
	FirstFrameB      int64          // and in B
	// By says how the two were matched (health.MatchedBy…).
	By string
	// NAT is true when the addresses or ports differ between A and B.
	NAT bool
	// ClientSide is "a" or "b", the capture nearer the client, or "" when
	// the timing does not tell.
	ClientSide string
}

// AnalyzePair compares two captures of the same traffic taken at two points
// (typically one at the client, one at the server), reading pathA and pathB
// with opts.Layers' limits and the default PairLimits. It matches the TCP
// connections present in both, also through NAT (by the client's ISN and
// SYN timestamp, else both ISNs or sequence ranges, else start time and
// payload sizes), and reports what changed between the two points: packets
// altered in transit, segments lost between the points, and per-request
// time between the points versus server time. Events also go to
// opts.Reporter when set. Only TCP header values are kept, never payload.
//
// A capture damaged part-way is compared up to the damage (CaptureInfo
// says where it stopped); err is non-nil when a file cannot be opened or is
// not a capture.
func AnalyzePair(pathA, pathB string, opts Options) (*PairReport, error) {
	return AnalyzePairLimits(pathA, pathB, opts, DefaultPairLimits())
}

// AnalyzePairLimits is AnalyzePair with explicit memory limits (zero fields
// take their defaults).
func AnalyzePairLimits(pathA, pathB string, opts Options, lim PairLimits) (*PairReport, error) {
	lim = lim.withDefaults()
	llim := layers.DefaultLimits()
	if opts.Layers != nil {
		llim = *opts.Layers
	}
	rep := &PairReport{}
	ra, err := readPairCapture(pathA, "a", llim, lim)
	if err != nil {
		return nil, err
	}
	rb, err := readPairCapture(pathB, "b", llim, lim)
	if err != nil {
		return nil, err
	}
	rep.A, rep.B = ra.info, rb.info
	rep.ConnsA, rep.ConnsB = len(ra.pc.Conns), len(rb.pc.Conns)
	rep.ConnsDropped = ra.connsDropped + rb.connsDropped
	for _, c := range ra.pc.Conns {
		rep.SegmentsDropped += c.SegmentsDropped
	}
	for _, c := range rb.pc.Conns {
		rep.SegmentsDropped += c.SegmentsDropped
	}
	col := &pairCollector{next: opts.Reporter}
	matches := health.ComparePair(&ra.pc, &rb.pc, health.PairConfig{}, col)
	_, rep.Ambiguous = health.MatchPair(&ra.pc, &rb.pc, health.PairConfig{})
	for _, m := range matches {
		ca, cb := &ra.pc.Conns[m.A], &rb.pc.Conns[m.B]
		rep.Matches = append(rep.Matches, PairMatch{
			ClientA: ca.Client, ServerA: ca.Server, ClientB: cb.Client, ServerB: cb.Server,
			FirstFrameA: ca.Segments[0].Frame, FirstFrameB: cb.Segments[0].Frame,
			By: m.By, NAT: m.NAT, ClientSide: m.ClientSide,
		})
	}
	rep.Events = col.events
	return rep, nil
}

// pairCollector keeps the pair events and forwards them.
type pairCollector struct {
	next   health.Reporter
	events []health.Event
}

func (c *pairCollector) Event(e health.Event) {
	c.events = append(c.events, e)
	if c.next != nil {
		c.next.Event(e)
	}
}

func (c *pairCollector) Message(health.Message) {}

func (c *pairCollector) WantMessages() bool { return false }

// pairRead is one capture's TCP view.
type pairRead struct {
	pc           health.PairCapture
	info         CaptureInfo
	connsDropped int
}

// pairConnState is the collector's state of one connection.
type pairConnState struct {
	idx            int  // in pc.Conns
	baseC, baseS   bool // ClientISN / ServerISN set
	clientToServer layers.Flow
}

// readPairCapture reads the TCP segments of every connection of the
// capture at path, headers only, within lim.
func readPairCapture(path, label string, llim layers.Limits, lim PairLimits) (*pairRead, error) {
	c, err := layers.Open(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r := &pairRead{pc: health.PairCapture{Label: label, Name: path}}
	r.info.Name = path
	dec := layers.NewDecoder(health.Discard, llim)
	conns := map[layers.Flow]*pairConnState{}
	total := 0
	for {
		f, err := c.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.info.Truncated = err.Error()
			}
			break
		}
		r.info.Frames = f.Number
		r.info.Bytes += int64(f.CapLen)
		if r.info.First.IsZero() {
			r.info.First = f.Time
		}
		r.info.Last = f.Time
		p, ok := dec.Decode(f)
		if !ok || p.Transport != layers.TransportTCP {
			continue
		}
		fl := layers.FlowOf(p)
		key, _ := fl.Canonical()
		st := conns[key]
		syn := p.TCP.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN
		if st != nil && syn && fl == st.clientToServer && r.pc.Conns[st.idx].ClientSYN && p.TCP.Seq != r.pc.Conns[st.idx].ClientISN {
			st = nil // a new connection on the same 4-tuple
		}
		if st == nil {
			if len(r.pc.Conns) >= lim.MaxConns {
				r.connsDropped++
				continue
			}
			st = &pairConnState{idx: len(r.pc.Conns), clientToServer: clientFlow(p, fl)}
			r.pc.Conns = append(r.pc.Conns, health.PairConn{Client: st.clientToServer.Src, Server: st.clientToServer.Dst})
			conns[key] = st
		}
		pc := &r.pc.Conns[st.idx]
		if len(pc.Segments) >= lim.MaxSegmentsPerConn || total >= lim.MaxSegments {
			pc.SegmentsDropped++
			continue
		}
		total++
		pc.Segments = append(pc.Segments, pairSegment(p, pc, st, fl == st.clientToServer))
	}
	if r.info.Frames > 0 {
		dec.Flush(r.info.Last)
	}
	return r, nil
}

// clientFlow returns the client→server direction of a new connection: the
// SYN's sender, the SYN-ACK's receiver, else the side with the higher port.
func clientFlow(p *layers.Packet, fl layers.Flow) layers.Flow {
	switch {
	case p.TCP.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN:
		return fl
	case p.TCP.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN|layers.FlagACK:
		return fl.Reverse()
	case fl.Src.Port() < fl.Dst.Port():
		return fl.Reverse()
	}
	return fl
}

// pairSegment copies the header values of p, relative to the connection's
// ISNs (set from the SYN, SYN-ACK, or the first sequence number seen).
func pairSegment(p *layers.Packet, pc *health.PairConn, st *pairConnState, fromClient bool) health.PairSegment {
	t := &p.TCP
	synOnly := t.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN
	synAck := t.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN|layers.FlagACK
	// Sender's base.
	if fromClient {
		if !st.baseC || (synOnly && !pc.ClientSYN) {
			pc.ClientSYN = synOnly
			pc.ClientISN, st.baseC = t.Seq, true
		}
	} else if !st.baseS || (synAck && !pc.ServerSYN) {
		if synAck {
			pc.ServerSYN = true
		}
		pc.ServerISN = t.Seq
		st.baseS = true
	}
	// Receiver's base from the ACK when not yet known.
	if t.Flags&layers.FlagACK != 0 {
		if fromClient && !st.baseS {
			pc.ServerISN, st.baseS = t.Ack, true
		} else if !fromClient && !st.baseC {
			pc.ClientISN, st.baseC = t.Ack, true
		}
	}
	seqBase, ackBase := pc.ServerISN, pc.ClientISN
	if fromClient {
		seqBase, ackBase = pc.ClientISN, pc.ServerISN
	}
	s := health.PairSegment{
		Frame: p.Frame, Time: p.Time, FromClient: fromClient,
		Seq: t.Seq - seqBase, Flags: uint16(t.Flags), PayloadLen: p.PayloadLen,
		IPTotalLen: p.IPLen, TSval: t.TSval, HasTS: t.HasTimestamps, MSS: t.MSS,
	}
	if t.Flags&layers.FlagACK != 0 {
		s.Ack = t.Ack - ackBase
	}
	if p.TSO {
		s.IPTotalLen = 0
	}
	return s
}

// String summarises a match in one line.
func (m PairMatch) String() string {
	s := fmt.Sprintf("%s->%s (a, frame %d) = %s->%s (b, frame %d), matched by %s",
		m.ClientA, m.ServerA, m.FirstFrameA, m.ClientB, m.ServerB, m.FirstFrameB, m.By)
	if m.NAT {
		s += ", through NAT"
	}
	return s
}
