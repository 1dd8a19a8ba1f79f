package pair

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Options configure AnalyzeFiles. The zero value uses the defaults.
type Options struct {
	// Reporter, when set, also receives the pair.* events as they are found.
	Reporter health.Reporter
	// Layers sets the packet-decoding limits (default layers.DefaultLimits()).
	Layers *layers.Limits
	// Limits bound what is kept of each capture (zero fields: defaults).
	Limits Limits
	// Compare tunes the matching and the comparison (zero fields: defaults).
	Compare Config
}

// Report is what the comparison of two captures of the same traffic
// found: the connections seen in both and what changed between the two
// capture points.
type Report struct {
	// A and B describe the two captures (labelled "a" and "b" in events).
	A, B layers.CaptureInfo
	// ConnsA and ConnsB count the TCP connections read from each capture.
	ConnsA, ConnsB int
	// Matches are the connections found in both captures, in order of
	// their first frame in A.
	Matches []Matched
	// Ambiguous counts connections of A with several equally good
	// candidates in B; they are left unmatched.
	Ambiguous int
	// Events are the pair.* findings in emission order: per match
	// pair.matched first, then pair.packet_changed, pair.lost_between and
	// pair.delay_split. Each event's Frame is a frame of the capture its
	// Evidence "capture" names.
	Events []health.Event
	// ConnsDropped and SegmentsDropped count what the Limits left out
	// (both captures together); the comparison covers what was kept.
	ConnsDropped, SegmentsDropped int
}

// Matched is one connection seen in both captures.
type Matched struct {
	ClientA, ServerA netip.AddrPort // as seen in capture A
	ClientB, ServerB netip.AddrPort // as seen in capture B
	FirstFrameA      int64          // the connection's first frame in A
	FirstFrameB      int64          // and in B
	// By says how the two were matched (MatchedBy…).
	By string
	// NAT is true when the addresses or ports differ between A and B.
	NAT bool
	// ClientSide is "a" or "b", the capture nearer the client, or "" when
	// the timing does not tell.
	ClientSide string
}

// String summarises a match in one line.
func (m Matched) String() string {
	s := fmt.Sprintf("%s->%s (a, frame %d) = %s->%s (b, frame %d), matched by %s",
		m.ClientA, m.ServerA, m.FirstFrameA, m.ClientB, m.ServerB, m.FirstFrameB, m.By)
	if m.NAT {
		s += ", through NAT"
	}
	return s
}

// AnalyzeFiles compares two captures of the same traffic taken at two
// points (typically one at the client, one at the server). It matches the
// TCP connections present in both, also through NAT (by the client's ISN
// and SYN timestamp, else both ISNs or sequence ranges, else start time and
// payload sizes), and reports what changed between the two points: packets
// altered in transit, segments lost between the points, and per-request
// time between the points versus server time. Only TCP header values are
// kept, never payload.
//
// A capture damaged part-way is compared up to the damage (CaptureInfo
// says where it stopped); err is non-nil when a file cannot be opened or is
// not a capture.
func AnalyzeFiles(pathA, pathB string, opts Options) (*Report, error) {
	return AnalyzeFilesContext(context.Background(), pathA, pathB, opts)
}

// AnalyzeFilesContext is AnalyzeFiles stopped when ctx is done: reading
// either capture stops and it returns ctx's error and no Report (a
// comparison of partly read captures would claim losses that are not).
func AnalyzeFilesContext(ctx context.Context, pathA, pathB string, opts Options) (*Report, error) {
	llim := layers.DefaultLimits()
	if opts.Layers != nil {
		llim = *opts.Layers
	}
	ra, err := ReadCaptureContext(ctx, pathA, "a", llim, opts.Limits)
	if err != nil {
		return nil, err
	}
	rb, err := ReadCaptureContext(ctx, pathB, "b", llim, opts.Limits)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		A: ra.Info, B: rb.Info,
		ConnsA: len(ra.Capture.Conns), ConnsB: len(rb.Capture.Conns),
		ConnsDropped: ra.ConnsDropped + rb.ConnsDropped,
	}
	for _, c := range ra.Capture.Conns {
		rep.SegmentsDropped += c.SegmentsDropped
	}
	for _, c := range rb.Capture.Conns {
		rep.SegmentsDropped += c.SegmentsDropped
	}
	col := &collector{next: opts.Reporter}
	matches, ambiguous := Compare(&ra.Capture, &rb.Capture, opts.Compare, col)
	rep.Ambiguous, rep.Events = ambiguous, col.events
	for _, m := range matches {
		ca, cb := &ra.Capture.Conns[m.A], &rb.Capture.Conns[m.B]
		rep.Matches = append(rep.Matches, Matched{
			ClientA: ca.Client, ServerA: ca.Server, ClientB: cb.Client, ServerB: cb.Server,
			FirstFrameA: ca.Segments[0].Frame, FirstFrameB: cb.Segments[0].Frame,
			By: m.By, NAT: m.NAT, ClientSide: m.ClientSide,
		})
	}
	return rep, nil
}

// collector keeps the pair events and forwards them.
type collector struct {
	next   health.Reporter
	events []health.Event
}

func (c *collector) Event(e health.Event) {
	c.events = append(c.events, e)
	if c.next != nil {
		c.next.Event(e)
	}
}

func (c *collector) Message(health.Message) {}

func (c *collector) WantMessages() bool { return false }
