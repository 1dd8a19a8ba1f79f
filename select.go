package nettrace

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nettrace/nettrace/diagnose"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// TimeBound is one end of the capture-time window of Options.From and
// Options.To: an absolute time, or an offset from the time of the
// capture's first frame. The zero TimeBound does not bound.
type TimeBound struct {
	// Time is the absolute bound, used when Relative is false.
	Time time.Time
	// Offset is the bound as a duration after the first frame's time,
	// used when Relative is true.
	Offset   time.Duration
	Relative bool
}

// At returns the absolute bound t.
func At(t time.Time) TimeBound { return TimeBound{Time: t} }

// AfterFirst returns the bound d after the capture's first frame.
func AfterFirst(d time.Duration) TimeBound { return TimeBound{Offset: d, Relative: true} }

// IsZero reports whether b does not bound.
func (b TimeBound) IsZero() bool { return !b.Relative && b.Time.IsZero() }

// String formats b as ParseTimeBound reads it ("" when zero).
func (b TimeBound) String() string {
	switch {
	case b.Relative:
		return "+" + b.Offset.String()
	case b.Time.IsZero():
		return ""
	}
	return b.Time.Format(time.RFC3339Nano)
}

// ParseTimeBound parses a time bound: an RFC 3339 time
// ("2026-11-21T10:00:00Z", "2026-11-21T11:00:00.5+01:00"), or "+" and an
// offset from the capture's first frame, as a Go duration ("+10s",
// "+1m30s", "+250ms") or a number of seconds ("+90", "+1.5"). The empty
// string is the zero bound.
func ParseTimeBound(s string) (TimeBound, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return TimeBound{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil {
			sec, ferr := strconv.ParseFloat(rest, 64)
			if ferr != nil || sec < 0 || sec > 1e9 {
				return TimeBound{}, fmt.Errorf("%q: want +DURATION after the first frame (+10s, +1m30s, +90)", s)
			}
			d = time.Duration(sec * float64(time.Second))
		}
		if d < 0 {
			return TimeBound{}, fmt.Errorf("%q: the offset is negative", s)
		}
		return AfterFirst(d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return TimeBound{}, fmt.Errorf("%q: want an RFC 3339 time (2026-11-21T10:00:00Z) or an offset from the first frame (+10s)", s)
	}
	return At(t), nil
}

// resolve returns the bound's time for a capture whose first frame is at
// first.
func (b TimeBound) resolve(first time.Time) time.Time {
	if b.Relative {
		return first.Add(b.Offset)
	}
	return b.Time
}

// Skipped counts what Options.Filter, From, To and Streams left out of an
// analysis.
type Skipped struct {
	// Frames counts the frames Filter, From and To left out: read, never
	// decoded or analysed.
	Frames int64
	// Packets counts the frames Streams left out: tracked only to number
	// the connections (packets of other TCP connections, UDP, ICMP, ARP,
	// frames that do not decode).
	Packets int64
	// Streams counts the TCP connections Streams left out.
	Streams int
	// Missing lists the stream numbers of Options.Streams that the capture
	// (as Filter, From and To keep it) does not have.
	Missing []uint64
}

// selection applies Options.Filter, From, To and Streams.
type selection struct {
	filter   *layers.Filter
	from, to TimeBound
	window   bool
	first    time.Time // the capture's first frame, once read
	fromT    time.Time // from and to resolved against first
	toT      time.Time
	resolved bool
	streams  map[uint64]bool // nil: every connection
	seen     uint64          // connections the tracker numbered
	gate     *frameGate      // decoder events held until the frame's connection is known
	skipped  Skipped
}

// newSelection checks and compiles the selection options.
func newSelection(o *Options) (*selection, error) {
	s := &selection{from: o.From, to: o.To, window: !o.From.IsZero() || !o.To.IsZero()}
	if strings.TrimSpace(o.Filter) != "" {
		f, err := layers.CompileFilter(o.Filter)
		if err != nil {
			return nil, fmt.Errorf("nettrace: Options.Filter: %w", err)
		}
		s.filter = f
	}
	if !o.From.IsZero() && !o.To.IsZero() && o.From.Relative == o.To.Relative {
		empty := o.From.Relative && o.From.Offset >= o.To.Offset || !o.From.Relative && !o.From.Time.Before(o.To.Time)
		if empty {
			return nil, fmt.Errorf("nettrace: Options.From (%s) is not before Options.To (%s)", o.From, o.To)
		}
	}
	if len(o.Streams) > 0 {
		s.streams = make(map[uint64]bool, len(o.Streams))
		for _, id := range o.Streams {
			s.streams[id] = true
		}
	}
	return s, nil
}

// keep reports whether frame f is analysed (Filter, From, To); first is
// the capture's first frame time.
func (s *selection) keep(f *layers.Frame, first time.Time) bool {
	if s.window {
		if !s.resolved {
			s.fromT, s.toT, s.resolved = s.from.resolve(first), s.to.resolve(first), true
		}
		if !s.from.IsZero() && f.Time.Before(s.fromT) || !s.to.IsZero() && !f.Time.Before(s.toT) {
			return false
		}
	}
	return s.filter == nil || s.filter.MatchFrame(f)
}

// selectStream is the tracker's Select: it numbers the connections seen
// and declines those Options.Streams does not list.
func (s *selection) selectStream(id uint64) bool {
	s.seen = max(s.seen, id+1)
	if s.streams[id] {
		return true
	}
	s.skipped.Streams++
	return false
}

// report returns what was left out, once the capture is read.
func (s *selection) report() Skipped {
	sk := s.skipped
	sk.Missing = nil
	for id := range s.streams {
		if id >= s.seen {
			sk.Missing = append(sk.Missing, id)
		}
	}
	slices.Sort(sk.Missing)
	return sk
}

// frameGate holds the Decoder's events while a frame is decoded, until the
// tracker says which connection the frame is of (Options.Streams): they
// are then passed on, or dropped with the frame.
type frameGate struct {
	next    health.Reporter
	held    []health.Event
	holding bool
	drop    bool // drop everything (after the last frame)
}

func (g *frameGate) Event(e health.Event) {
	switch {
	case g.drop:
	case g.holding:
		g.held = append(g.held, e)
	default:
		g.next.Event(e)
	}
}

func (g *frameGate) Message(m health.Message) {
	if !g.drop {
		g.next.Message(m)
	}
}

func (g *frameGate) WantMessages() bool { return g.next.WantMessages() }

func (g *frameGate) hold() { g.holding = true }

// release ends holding, passing the held events on when pass is set.
func (g *frameGate) release(pass bool) {
	g.holding = false
	if pass {
		for _, e := range g.held {
			g.next.Event(e)
		}
	}
	clear(g.held)
	g.held = g.held[:0]
}

// selectedFrame is frame for a run limited to Options.Streams: every TCP
// packet goes through the tracker (which numbers the connections), but only
// those of a selected connection go further, with the Decoder's events
// about them; every other frame is left out.
func (a *Analyzer) selectedFrame(f *layers.Frame) {
	g := a.sel.gate
	g.hold()
	p, ok := a.decoder.Decode(f)
	if !ok || p.Transport != layers.TransportTCP {
		g.release(false)
		a.sel.skipped.Packets++
		return
	}
	a.seg = tcpstate.Segment{}
	a.tracker.Packet(p) // OnSegment fills a.seg
	if !a.sel.streams[a.seg.ID] {
		g.release(false)
		a.sel.skipped.Packets++
		return
	}
	g.release(true)
	if a.opts.PacketMessages && a.col.fwdMsgs {
		a.packetMessage(p)
	}
	if a.seg.Duplicate {
		return
	}
	tag := tagTracked
	if a.seg.Resent {
		tag |= tagResent
	}
	if a.pl != nil {
		a.pl.Packet(p, diagnose.PayloadUsed(p), tag)
	} else {
		a.observe(p, tag)
	}
}
