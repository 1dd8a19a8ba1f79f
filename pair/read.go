package pair

import (
	"context"
	"errors"
	"io"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/defaults"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// Limits bound the memory of reading captures for comparison: only TCP
// header values are kept (about 72 bytes per segment, never payload), so the
// defaults hold at most about 72 MB per capture.
type Limits struct {
	// MaxConns is the number of TCP connections kept per capture (default
	// 10,000); later connections are counted in Report.ConnsDropped.
	MaxConns int
	// MaxSegmentsPerConn is the number of segments kept per connection
	// (default 20,000); later ones are counted in SegmentsDropped.
	MaxSegmentsPerConn int
	// MaxSegments is the number of segments kept per capture (default
	// 1,000,000).
	MaxSegments int
}

// DefaultLimits returns the default Limits.
func DefaultLimits() Limits {
	return Limits{MaxConns: 10_000, MaxSegmentsPerConn: 20_000, MaxSegments: 1_000_000}
}

func (l Limits) withDefaults() Limits {
	defaults.Fill(&l, DefaultLimits())
	return l
}

// Read is one capture read for comparison: its TCP view, what was read,
// and what the limits left out.
type Read struct {
	Capture      Capture
	Info         layers.CaptureInfo
	ConnsDropped int
}

// ReadCapture reads the TCP segments of every connection of the capture at
// path, headers only, within lim (zero fields take their defaults).
// Connections are those of tcpstate's tracker — tshark's tcp.stream — and
// each segment's sequence numbers are made relative to its connection's
// ISNs. label names the capture in events ("a" or "b"). A capture damaged
// part-way is read up to the damage (Info.Truncated says why); err is
// non-nil when the file cannot be opened or is not a capture.
func ReadCapture(path, label string, layerLimits layers.Limits, lim Limits) (*Read, error) {
	return ReadCaptureContext(context.Background(), path, label, layerLimits, lim)
}

// ReadCaptureContext is ReadCapture stopped when ctx is done (checked
// every 1024 frames): it then returns ctx's error.
func ReadCaptureContext(ctx context.Context, path, label string, layerLimits layers.Limits, lim Limits) (*Read, error) {
	c, err := layers.Open(path)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r := &reader{lim: lim.withDefaults(), byID: map[uint64]int{}}
	r.out.Capture = Capture{Label: label, Name: path}
	r.out.Info.Name = path
	dec := layers.NewDecoder(health.Discard, layerLimits)
	tr := tcpstate.NewTracker(tcpstate.DefaultConfig(), health.Discard, nil)
	tr.OnSegment = r.segment
	for {
		f, err := c.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.out.Info.Truncated = err.Error()
			}
			break
		}
		if f.Number%1024 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.out.Info.Add(f)
		if p, ok := dec.Decode(f); ok {
			tr.Packet(p)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.out.Info.Frames > 0 {
		dec.Flush(r.out.Info.Last)
	}
	return &r.out, nil
}

// reader collects the tracker's segments into a Capture.
type reader struct {
	out   Read
	lim   Limits
	byID  map[uint64]int // stream ID → index in out.Capture.Conns, -1 when dropped
	bases map[uint64]*bases
	total int
}

// bases records which ISNs of a connection are known.
type bases struct{ client, server bool }

func (r *reader) segment(p *layers.Packet, s tcpstate.Segment) {
	i, ok := r.byID[s.ID]
	if !ok {
		i = r.newConn(p, s)
	}
	if i < 0 {
		return
	}
	pc := &r.out.Capture.Conns[i]
	if len(pc.Segments) >= r.lim.MaxSegmentsPerConn || r.total >= r.lim.MaxSegments {
		pc.SegmentsDropped++
		return
	}
	r.total++
	pc.Segments = append(pc.Segments, r.headers(p, pc, r.bases[s.ID], s.Dir == tcpstate.ClientToServer))
}

// newConn adds the connection of p's stream, or records it as dropped.
func (r *reader) newConn(p *layers.Packet, s tcpstate.Segment) int {
	cap := &r.out.Capture
	if len(cap.Conns) >= r.lim.MaxConns {
		r.out.ConnsDropped++
		r.byID[s.ID] = -1
		return -1
	}
	client, server := p.SrcAddrPort(), p.DstAddrPort()
	if s.Dir == tcpstate.ServerToClient {
		client, server = server, client
	}
	cap.Conns = append(cap.Conns, Conn{Client: client, Server: server})
	if r.bases == nil {
		r.bases = map[uint64]*bases{}
	}
	r.bases[s.ID] = &bases{}
	r.byID[s.ID] = len(cap.Conns) - 1
	return len(cap.Conns) - 1
}

// headers copies the header values of p, relative to the connection's
// ISNs (set from the SYN, SYN-ACK, or the first sequence number seen).
func (r *reader) headers(p *layers.Packet, pc *Conn, b *bases, fromClient bool) Segment {
	t := &p.TCP
	synOnly := t.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN
	synAck := t.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN|layers.FlagACK
	// Sender's base.
	if fromClient {
		if !b.client || (synOnly && !pc.ClientSYN) {
			pc.ClientSYN = synOnly
			pc.ClientISN, b.client = t.Seq, true
		}
	} else if !b.server || (synAck && !pc.ServerSYN) {
		if synAck {
			pc.ServerSYN = true
		}
		pc.ServerISN, b.server = t.Seq, true
	}
	// Receiver's base from the ACK when not yet known.
	if t.Flags&layers.FlagACK != 0 {
		if fromClient && !b.server {
			pc.ServerISN, b.server = t.Ack, true
		} else if !fromClient && !b.client {
			pc.ClientISN, b.client = t.Ack, true
		}
	}
	seqBase, ackBase := pc.ServerISN, pc.ClientISN
	if fromClient {
		seqBase, ackBase = pc.ClientISN, pc.ServerISN
	}
	s := Segment{
		Frame: p.Frame, Time: p.Time, FromClient: fromClient,
		Seq: t.Seq - seqBase, Flags: t.Flags, PayloadLen: p.PayloadLen,
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
