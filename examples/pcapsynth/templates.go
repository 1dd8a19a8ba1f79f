package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"time"

	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/doctor/demo"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// defaultMix names the corpus's template globs and their share of replicas.
var defaultMix = []struct {
	glob   string
	weight float64
}{
	{"smb/*.pcap", 0.31 * 0.5}, {"cases/c08-*.pcap", 0.31 * 0.5},
	{"tls/*.pcap", 0.25},
	{"http/*.pcap", 0.19},
	{"dcerpc/*.pcap", 0.10},
	{"tcp/*.pcap", 0.10},
	{"tds/*.pcap", 0.05 * 0.5}, {"cases/c15-*.pcap", 0.05 * 0.5},
}

type template struct {
	name    string
	weight  float64
	client  [4]byte // the address replicas rewrite
	packets []tpacket
}

type tpacket struct {
	offset time.Duration // since the template's first packet
	data   []byte
	orig   int
}

// selector applies -filter, -flow, -from and -to to a template's frames.
type selector struct {
	filter   *layers.Filter
	streams  map[uint64]bool // nil: every frame
	from, to nettrace.TimeBound
}

func newSelector(t *cli.Tool) (*selector, error) {
	var opts nettrace.Options
	t.Apply(&opts)
	s := &selector{from: opts.From, to: opts.To}
	if opts.Filter != "" {
		f, err := layers.CompileFilter(opts.Filter)
		if err != nil {
			return nil, err // checked by Parse already
		}
		s.filter = f
	}
	if len(opts.Streams) > 0 {
		s.streams = map[uint64]bool{}
		for _, id := range opts.Streams {
			s.streams[id] = true
		}
	}
	return s, nil
}

// frame is a template frame read from its capture.
type frame struct {
	number int64
	time   time.Time
	data   []byte
	orig   int
}

// loadTemplates loads the templates: the files given (each one template),
// the corpus mix, or the bundled demo capture (one template per TCP
// connection). It returns what it says about damaged templates.
func loadTemplates(t *cli.Tool, paths []string, corpus string, sel *selector) ([]*template, []string, error) {
	var out []*template
	var damaged []string
	add := func(name string, r io.Reader, weight float64, split bool) error {
		frames, damage, err := readFrames(name, r, sel)
		if err != nil {
			return err
		}
		if damage != "" {
			damaged = append(damaged, damage)
		}
		if split {
			out = append(out, perConnection(name, frames)...)
		} else if tp := newTemplate(filepath.Base(name), weight, frames); tp != nil {
			out = append(out, tp)
		}
		return nil
	}
	switch {
	case len(paths) > 0:
		for _, p := range paths {
			in, err := t.Open(p)
			if err != nil {
				return nil, nil, err
			}
			err = add(in.Name, in.R, 1, false)
			in.Close()
			if err != nil {
				return nil, nil, err
			}
		}
	case corpus != "":
		for _, m := range defaultMix {
			files, _ := filepath.Glob(filepath.Join(corpus, m.glob))
			for _, f := range files {
				in, err := t.Open(f)
				if err != nil {
					return nil, nil, err
				}
				err = add(f, in.R, m.weight/float64(len(files)), false)
				in.Close()
				if err != nil {
					return nil, nil, err
				}
			}
		}
		if len(out) == 0 {
			return nil, nil, fmt.Errorf("no templates found under %s (want smb/*.pcap, tls/*.pcap, …; or give template captures as arguments)", corpus)
		}
	default:
		if err := add(demo.Name, bytes.NewReader(demo.Capture), 1, true); err != nil {
			return nil, nil, err
		}
	}
	return out, damaged, nil
}

// readFrames reads the Ethernet frames of a template capture that the
// selector keeps. A damaged capture gives the frames before the damage and
// a warning saying where.
func readFrames(name string, r io.Reader, sel *selector) ([]frame, string, error) {
	c, err := layers.NewCapture(r)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	defer c.Close()
	var tr *tcpstate.Tracker
	var dec *layers.Decoder
	stream := int64(-1)
	if sel.streams != nil {
		dec = layers.NewDecoder(health.Discard, layers.DefaultLimits())
		tr = tcpstate.NewTracker(tcpstate.DefaultConfig(), health.Discard, nil)
		tr.OnSegment = func(_ *layers.Packet, s tcpstate.Segment) { stream = int64(s.ID) }
	}
	var out []frame
	var first time.Time
	var from, to time.Time
	damage := ""
	for {
		f, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			damage = fmt.Sprintf("template %s is damaged (%v): its %d frames before the damage were used", name, err, len(out))
			break
		}
		if f.Number == 1 {
			first = f.Time
			from, to = resolve(sel.from, first), resolve(sel.to, first)
		}
		if !sel.from.IsZero() && f.Time.Before(from) || !sel.to.IsZero() && !f.Time.Before(to) {
			continue
		}
		if sel.filter != nil && !sel.filter.MatchFrame(f) {
			continue
		}
		stream = -1
		if tr != nil {
			if p, ok := dec.Decode(f); ok {
				tr.Packet(p) // numbers the connections of the frames kept so far
			}
			if stream < 0 || !sel.streams[uint64(stream)] {
				continue
			}
		}
		if f.LinkType != glayers.LinkTypeEthernet || f.Link != 0 && f.Link != uint16(glayers.LinkTypeEthernet) {
			continue
		}
		out = append(out, frame{number: f.Number, time: f.Time, data: slices.Clone(f.Data), orig: f.WireLen})
	}
	return out, damage, nil
}

// resolve returns a time bound's time for a template whose first frame is
// at first.
func resolve(b nettrace.TimeBound, first time.Time) time.Time {
	if b.Relative {
		return first.Add(b.Offset)
	}
	return b.Time
}

// newTemplate builds a template from IPv4 frames; the client is the source
// of the first TCP SYN (or of the first IPv4 packet). It returns nil when
// no frame is IPv4.
func newTemplate(name string, weight float64, frames []frame) *template {
	t := &template{name: name, weight: weight}
	var first time.Time
	haveClient := false
	for _, f := range frames {
		ip, ok := ipv4Header(f.data)
		if !ok {
			continue
		}
		if len(t.packets) == 0 {
			first = f.time
		}
		if isSYN(f.data, ip) && !haveClient {
			copy(t.client[:], f.data[ip+12:ip+16])
			haveClient = true
		}
		if t.client == [4]byte{} {
			copy(t.client[:], f.data[ip+12:ip+16])
		}
		t.packets = append(t.packets, tpacket{offset: f.time.Sub(first), data: f.data, orig: f.orig})
	}
	if len(t.packets) == 0 {
		return nil
	}
	return t
}

// perConnection splits a capture's IPv4 TCP frames into one template per
// connection (its 4-tuple), so that a capture of several clients and
// servers replicates as independent connections.
func perConnection(name string, frames []frame) []*template {
	type tuple struct {
		a, b [6]byte // address and port of each end, in canonical order
	}
	groups := map[tuple][]frame{}
	var order []tuple
	for _, f := range frames {
		ip, ok := ipv4Header(f.data)
		if !ok || f.data[ip+9] != 6 {
			continue
		}
		l4 := ip + int(f.data[ip]&0x0f)*4
		if len(f.data) < l4+4 {
			continue
		}
		var src, dst [6]byte
		copy(src[:4], f.data[ip+12:ip+16])
		copy(src[4:], f.data[l4:l4+2])
		copy(dst[:4], f.data[ip+16:ip+20])
		copy(dst[4:], f.data[l4+2:l4+4])
		k := tuple{src, dst}
		if bytes.Compare(src[:], dst[:]) > 0 {
			k = tuple{dst, src}
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], f)
	}
	sort.SliceStable(order, func(i, j int) bool { return groups[order[i]][0].number < groups[order[j]][0].number })
	var out []*template
	for i, k := range order {
		if tp := newTemplate(fmt.Sprintf("%s#%d", name, i), 1, groups[k]); tp != nil {
			out = append(out, tp)
		}
	}
	return out
}
