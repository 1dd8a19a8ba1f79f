package htmlreport

import (
	"fmt"
	"html/template"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

// Options shape the page. The zero value is ready to use.
type Options struct {
	// Title heads the page (default "nettrace report · " and the
	// capture's name).
	Title string
	// MaxConnections caps the rows of the connection table (default 2000;
	// connections with findings first).
	MaxConnections int
}

// Write writes rep as one self-contained HTML page to w: the findings,
// most serious first, each with the graphs of a connection it was found on
// (when rep.Series holds that connection: run the analysis with
// nettrace.Options.Series), and the table of TCP connections, sortable by
// clicking a column header. Every string that comes from the capture is
// escaped.
func Write(w io.Writer, rep *nettrace.Report, o Options) error {
	return pageTemplate.Execute(w, build(rep, o))
}

// page is what the template renders.
type page struct {
	Policy      string
	Title       string
	Summary     string
	Truncated   string
	Profile     string
	Decryption  string
	Findings    []findingView
	Info        string
	Conns       []connRow
	ConnsHidden int
}

type findingView struct {
	Severity, Kind, Anchor string
	Count                  int
	Where                  string
	Message                string
	Frame                  int64
	Flow                   string
	Frames                 string
	Folded                 int
	Evidence               string
	Variants               string
	Graphs                 *graphBlock
	SeeConn                bool
	SeeConnID              uint64
	NoGraph                string
}

type graphBlock struct {
	ID       uint64
	Flow     string
	Protocol string
	Note     string
	Figures  []figure
}

type figure struct {
	SVG     template.HTML // built by chart.svg, which escapes every string it writes
	Caption string
}

type connRow struct {
	ID                           uint64
	Client, Server, Protocol     string
	First, Last, PktOut, PktIn   int64
	BytesOut, BytesIn            int64
	RTT, RTTValue, End, Findings string
	Problems                     int
}

func build(rep *nettrace.Report, o Options) page {
	p := page{Policy: policy, Title: o.Title, Truncated: rep.Capture.Truncated, Profile: rep.Profile.Summary}
	if p.Title == "" {
		p.Title = "nettrace report · " + rep.Capture.Name
	}
	p.Summary = summaryLine(rep)
	p.Decryption = rep.Decryption.String()
	p.Findings, p.Info = findings(rep)
	p.Conns, p.ConnsHidden = connections(rep, o)
	return p
}

func summaryLine(rep *nettrace.Report) string {
	c := rep.Capture
	s := fmt.Sprintf("%d frames · %d bytes captured · %s", c.Frames, c.Bytes, c.Duration().Round(time.Millisecond))
	if !c.First.IsZero() {
		s += fmt.Sprintf(" (%s → %s)", c.First.UTC().Format("2006-01-02 15:04:05.000"), c.Last.UTC().Format("15:04:05.000 MST"))
	}
	return s + fmt.Sprintf(" · %d TCP connections", len(rep.Flows)+rep.FlowsDropped)
}

// findings builds the finding sections: errors, warnings and notices in
// full, info kinds folded into one line. Each connection's graphs are drawn
// once, under the first finding that names it; later findings link to them.
func findings(rep *nettrace.Report) ([]findingView, string) {
	g := newGraphPicker(rep)
	var out []findingView
	var info []string
	for _, f := range rep.Findings {
		if f.Severity == health.Info {
			info = append(info, fmt.Sprintf("%s ×%d", f.Kind, f.Count))
			continue
		}
		v := findingOf(f)
		s := g.pick(f)
		switch {
		case s == nil && isConnection(f.Example.Flow) && rep.Series != nil:
			v.NoGraph = "No graph: the connections of this finding were not recorded (see nettrace.SeriesOptions: a bounded number is kept)."
		case s == nil:
		case g.drawn[s.ID]:
			v.SeeConn, v.SeeConnID = true, s.ID
		default:
			g.drawn[s.ID] = true
			v.Graphs = graphsOf(s, g.flows[s.ID].Protocol)
		}
		out = append(out, v)
	}
	return out, strings.Join(info, ", ")
}

// isConnection reports whether flow names a TCP connection ("a:p->b:q/tcp"),
// not an aggregate such as a source talking to a service.
func isConnection(flow string) bool {
	client, rest, ok := strings.Cut(flow, "->")
	server, _, _ := strings.Cut(rest, "/")
	_, errC := netip.ParseAddrPort(client)
	_, errS := netip.ParseAddrPort(server)
	return ok && errC == nil && errS == nil && strings.HasSuffix(flow, "/tcp")
}

// graphPicker chooses the connection whose graphs illustrate a finding.
type graphPicker struct {
	byFlow map[string]*nettrace.ConnSeries
	list   []*nettrace.ConnSeries
	flows  map[uint64]nettrace.Flow
	drawn  map[uint64]bool
}

func newGraphPicker(rep *nettrace.Report) *graphPicker {
	g := &graphPicker{byFlow: map[string]*nettrace.ConnSeries{}, flows: map[uint64]nettrace.Flow{}, drawn: map[uint64]bool{}}
	for i := range rep.Series {
		g.byFlow[rep.Series[i].Flow] = &rep.Series[i]
		g.list = append(g.list, &rep.Series[i])
	}
	for _, f := range rep.Flows {
		g.flows[f.ID] = f
	}
	return g
}

// pick returns a recorded connection the finding was found on — its
// example's, one of its example flows, or any whose counts have the kind —
// preferring one not drawn yet; nil when none was recorded.
func (g *graphPicker) pick(f nettrace.Finding) *nettrace.ConnSeries {
	var cands []*nettrace.ConnSeries
	if s := g.byFlow[f.Example.Flow]; s != nil {
		cands = append(cands, s)
	}
	for _, fl := range f.Flows {
		if s := g.byFlow[fl]; s != nil {
			cands = append(cands, s)
		}
	}
	for _, s := range g.list {
		if g.flows[s.ID].Counts[f.Kind] > 0 {
			cands = append(cands, s)
		}
	}
	for _, undrawnWithData := range []func(*nettrace.ConnSeries) bool{
		func(s *nettrace.ConnSeries) bool { return !g.drawn[s.ID] && hasData(s) },
		func(s *nettrace.ConnSeries) bool { return !g.drawn[s.ID] },
		func(s *nettrace.ConnSeries) bool { return hasData(s) },
	} {
		for _, s := range cands {
			if undrawnWithData(s) {
				return s
			}
		}
	}
	if len(cands) > 0 {
		return cands[0]
	}
	return nil
}

func hasData(s *nettrace.ConnSeries) bool {
	for _, smp := range s.Samples {
		if smp.Len > 0 {
			return true
		}
	}
	return false
}

func findingOf(f nettrace.Finding) findingView {
	e := f.Example
	v := findingView{
		Severity: f.Severity.String(), Kind: string(f.Kind), Anchor: "finding-" + strings.ReplaceAll(string(f.Kind), ".", "-"),
		Count: f.Count, Message: e.Message, Frame: e.Frame, Flow: e.Flow, Folded: f.Folded, Evidence: evidence(e.Evidence),
	}
	switch {
	case f.FlowCount > 1:
		v.Where = fmt.Sprintf("on %d connections", f.FlowCount)
	case f.FlowCount == 1:
		v.Where = "on 1 connection"
	default:
		v.Where = "in the capture"
	}
	var frames []string
	for _, fr := range f.Frames {
		if fr != e.Frame {
			frames = append(frames, fmt.Sprint(fr))
		}
	}
	v.Frames = strings.Join(frames, ", ")
	var parts []string
	for _, x := range f.Variants {
		parts = append(parts, fmt.Sprintf("%s ×%d (%s)", x.Label, x.Count, x.Severity))
	}
	v.Variants = strings.Join(parts, ", ")
	return v
}

// evidence prints an event's evidence as sorted key=value pairs.
func evidence(ev map[string]any) string {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, ev[k])
	}
	return strings.Join(parts, " · ")
}

// graphsOf draws a connection's graphs: time-sequence of its data
// direction, RTT, throughput, and the latency timeline for request/response
// protocols.
func graphsOf(s *nettrace.ConnSeries, proto string) *graphBlock {
	dir := dataDir(s)
	b := &graphBlock{ID: s.ID, Flow: s.Flow, Protocol: proto}
	if s.Stride > 1 {
		b.Note = fmt.Sprintf("long connection: about one ordinary packet in %d drawn (SYN/FIN/RST, retransmissions and segments after missing bytes always)", s.Stride)
	}
	b.Figures = append(b.Figures,
		figure{template.HTML(sequenceGraph(s, dir)), fmt.Sprintf("Time-sequence graph (Stevens) of the %s data: each bar a segment; the ACK line and the receive-window limit of the other side.", dir)})
	if len(rttPoints(s, 0))+len(rttPoints(s, 1)) > 0 {
		b.Figures = append(b.Figures, figure{template.HTML(rttGraph(s)), "Round-trip time: from each data segment (sent once) to the ACK that covers it."})
	}
	if tp := throughputPoints(s, 60); len(tp[0])+len(tp[1]) > 0 {
		b.Figures = append(b.Figures, figure{template.HTML(throughputGraph(s)), "Throughput: new bytes delivered per second, each direction."})
	}
	if len(b.Figures) == 1 {
		b.Note = strings.TrimPrefix(b.Note+" · no data acknowledged: no RTT or throughput to draw", " · ")
	}
	if turns := latencyTurns(s); requestResponse(proto) && len(turns) > 0 {
		b.Figures = append(b.Figures, figure{template.HTML(latencyGraph(s, turns)),
			"Latency timeline: per request, the response time split into network round trip (capture point ↔ server) and server time."})
	}
	return b
}

// connections builds the table rows: connections with findings first, at
// most MaxConnections.
func connections(rep *nettrace.Report, o Options) ([]connRow, int) {
	limit := o.MaxConnections
	if limit <= 0 {
		limit = 2000
	}
	flows := append([]nettrace.Flow(nil), rep.Flows...)
	sort.SliceStable(flows, func(i, j int) bool { return problems(flows[i]) > problems(flows[j]) })
	hidden := rep.FlowsDropped
	if len(flows) > limit {
		hidden += len(flows) - limit
		flows = flows[:limit]
	}
	rows := make([]connRow, len(flows))
	for i, f := range flows {
		server := f.Server.String()
		if f.ServerName != "" {
			server += " (" + f.ServerName + ")"
		}
		rows[i] = connRow{
			ID: f.ID, Client: f.Client.String(), Server: server, Protocol: f.Protocol,
			First: f.FirstFrame, Last: f.LastFrame, PktOut: f.Packets[0], PktIn: f.Packets[1],
			BytesOut: f.Bytes[0], BytesIn: f.Bytes[1], RTT: "-", RTTValue: "-1", End: f.CloseReason,
			Findings: findingsOf(f), Problems: problems(f),
		}
		if f.HandshakeRTT > 0 {
			rows[i].RTT = fmt.Sprintf("%.1f", ms(f.HandshakeRTT))
			rows[i].RTTValue = rows[i].RTT
		}
	}
	return rows, hidden
}

// problems counts a connection's events above info.
func problems(f nettrace.Flow) int {
	n := 0
	for k, c := range f.Counts {
		if health.DefaultSeverity(k) > health.Info {
			n += c
		}
	}
	return n
}

func findingsOf(f nettrace.Flow) string {
	var parts []string
	for k, n := range f.Counts {
		if health.DefaultSeverity(k) > health.Info {
			parts = append(parts, fmt.Sprintf("%s×%d", k, n))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}
