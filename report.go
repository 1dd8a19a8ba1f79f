package nettrace

import (
	"fmt"
	"maps"
	"sort"
	"sync"

	"github.com/nettrace/nettrace/connlog"
	"github.com/nettrace/nettrace/diagnose"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// Report is what an analysis found in one capture.
type Report struct {
	Capture layers.CaptureInfo
	// Findings group the events by kind: most severe first; within a
	// severity, cross-connection diagnoses before symptoms, then by count.
	Findings []Finding
	// Events holds the first Options.MaxEventsKept events in emission
	// order (flow summaries excluded: see Flows).
	Events []health.Event
	// EventsDropped counts events beyond that cap.
	EventsDropped int
	// Flows holds one summary per TCP connection, in order of stream ID,
	// up to Options.MaxFlowsKept; FlowsDropped counts the rest.
	Flows        []Flow
	FlowsDropped int
	// Protocols counts the TCP connections attached to each decoder.
	Protocols map[string]int
	// Workload profiles each service (server address, port and protocol):
	// connections, concurrency, request rates, sizes (casebook C21).
	Workload *diagnose.Workload
	// Profile says what kind of capture this is (one-sided, mid-stream,
	// duplicated, missed bytes), as the capture.profile event does.
	Profile CaptureProfile
	// Memory is what the memory budget did (Options.MemoryBudget).
	Memory MemoryUse
	// Skipped counts what Options.Filter, From, To and Streams left out;
	// Capture describes the whole capture as read.
	Skipped Skipped
	// Decryption says what TLS decryption did: connections decrypted,
	// without a key, with a suite not supported.
	Decryption Decryption
	// OrderForced counts the events passed to the Reporter before an
	// earlier retransmission's event because more than 32768 were waiting
	// for its cause (see health.PerFrame for the order); 0 on every capture
	// of the test corpus.
	OrderForced int
	// Series are the packet series of connections with findings, in stream
	// order, when Options.Series asked for them; SeriesSkipped counts the
	// connections not recorded because Options.Series.MaxOpen were
	// recorded at the time.
	Series        []ConnSeries
	SeriesSkipped int
}

// Flow is one TCP connection's summary and the decoder it was given.
type Flow struct {
	health.FlowStats
	// Protocol is the decoder attached to the connection ("tls", "smb", …),
	// or "" when none recognised it.
	Protocol string
	// ServerName is the DNS name the server's address was resolved from
	// earlier in the capture (casebook C16), or "".
	ServerName string
}

// Conn returns the connection as a line of Zeek's conn.log (package
// connlog: conn_state, history, uid, packets and bytes).
func (f *Flow) Conn() connlog.Record { return connlog.FromFlow(&f.FlowStats, f.Protocol) }

// Conns returns the conn.log records of the connections in Flows, in the
// same order (by stream ID, which is the order of their first packets).
func (r *Report) Conns() []connlog.Record {
	out := make([]connlog.Record, len(r.Flows))
	for i := range r.Flows {
		out[i] = r.Flows[i].Conn()
	}
	return out
}

// Finding groups the events of one kind.
type Finding struct {
	Kind     health.Kind
	Severity health.Severity // the highest severity seen
	// Count is the number of events of the kind, folded ones included.
	Count int
	// Frames are the first distinct frames the kind was reported at, in
	// frame order (at most Options.MaxExampleFrames).
	Frames []int64
	// Flows are examples of the flows it was reported on (at most 16);
	// FlowCount is how many distinct flows there were in all.
	Flows     []string
	FlowCount int
	// Folded counts the events of the kind that were not passed on to the
	// Reporter (Options.MaxEventsPerFlow, MaxEventsPerKind); they are in
	// Count, and an events.folded event says where they were.
	Folded int
	// Example is the first event of the kind at the highest severity.
	Example health.Event
	// Variants split the count of kinds that mix what is normal with what
	// is not: tls.alert by level and description ("warning close_notify"
	// is a normal close, "fatal handshake_failure" is not), most frequent
	// first, each with its own severity (at most 32; the rest in "other").
	Variants []Variant
}

// Variant is one part of a Finding's count.
type Variant struct {
	Label    string
	Severity health.Severity
	Count    int
}

// maxVariants bounds the variants kept per finding.
const maxVariants = 32

// variantOf returns the label splitting e's kind, or "" when its kind is
// not split.
func variantOf(e health.Event) string {
	if e.Kind != health.TLSAlert {
		return ""
	}
	level := "level " + fmt.Sprint(e.Evidence["level"])
	switch fmt.Sprint(e.Evidence["level"]) {
	case "1":
		level = "warning"
	case "2":
		level = "fatal"
	}
	return fmt.Sprintf("%s %v", level, e.Evidence["description"])
}

// addVariant counts e in its variant of f.
func (f *Finding) addVariant(e health.Event) {
	label := variantOf(e)
	if label == "" {
		return
	}
	i := f.variant(label)
	if i < 0 && len(f.Variants) >= maxVariants-1 {
		label = "other"
		i = f.variant(label)
	}
	if i < 0 {
		f.Variants = append(f.Variants, Variant{Label: label, Severity: e.Severity})
		i = len(f.Variants) - 1
	}
	f.Variants[i].Count++
	f.Variants[i].Severity = max(f.Variants[i].Severity, e.Severity)
}

// variant returns the index of the variant labelled label, or -1.
func (f *Finding) variant(label string) int {
	for i := range f.Variants {
		if f.Variants[i].Label == label {
			return i
		}
	}
	return -1
}

// collector is the Analyzer's own Reporter: it forwards to the user's
// Reporter and keeps the bounded, grouped view that becomes the Report.
// Repeated events are folded: past MaxEventsPerFlow events of one kind on
// one flow, or MaxEventsPerKind of one kind in the capture, they are
// counted instead of passed on, and one events.folded event per kind and
// flow says how many and where (foldSummary).
type collector struct {
	// mu guards what Findings reads: it may run on another goroutine
	// than the events' (the merger's, or the embedder's).
	mu        sync.Mutex
	next      health.Reporter
	wantMsgs  bool      // the decoders build messages: for next or for handlers
	fwdMsgs   bool      // messages go to next (Options.Messages)
	handlers  *Handlers // nil when no handler is set
	maxKept   int
	maxFrames int
	perFlow   int // events of one kind on one flow passed on, then folded
	perKind   int // events of one kind passed on, then folded
	findings  map[health.Kind]*Finding
	flowSets  map[health.Kind]map[string]int // distinct flows per kind, with their event count
	folds     map[foldKey]*fold
	events    []health.Event
	dropped   int
	flows     []Flow
	flowsDrop int
	order     orderer            // what goes to next, in output order
	now       *tcpstate.Position // the frame being analysed
	onEvent   func(health.Event) // the network diagnoser sees every event
}

// foldKey identifies a run of folded events: a kind on a flow ("" for
// events without a flow, and for those folded by the per-kind cap).
type foldKey struct {
	kind health.Kind
	flow string
}

// fold counts the events folded under one key.
type fold struct {
	n                     int
	firstFrame, lastFrame int64
	first                 health.Event
}

// maxFlowSet bounds the distinct flows counted per kind; past it
// FlowCount stops growing (the report says "at least").
const maxFlowSet = 1 << 20

func newCollector(next health.Reporter, o *Options) *collector {
	if next == nil {
		next = health.Discard
	}
	c := &collector{
		next: next, wantMsgs: o.Messages || o.Handlers.any(), fwdMsgs: o.Messages, maxKept: o.maxEventsKept(), maxFrames: o.maxExampleFrames(),
		perFlow: o.maxEventsPerFlow(), perKind: o.maxEventsPerKind(),
		findings: map[health.Kind]*Finding{}, flowSets: map[health.Kind]map[string]int{}, folds: map[foldKey]*fold{},
	}
	c.order.out = next.Event
	if o.Handlers.any() {
		c.handlers = &o.Handlers
	}
	return c
}

func (c *collector) WantMessages() bool { return c.wantMsgs }

func (c *collector) Message(m health.Message) {
	if c.handlers != nil && m.Value != nil {
		c.handlers.deliver(&m)
	}
	if c.fwdMsgs {
		c.next.Message(m)
	}
}

const maxFlowsPerFinding = 16

func (c *collector) Event(e health.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.Kind == kindUndecided {
		c.order.event(e)
		return
	}
	if e.Time.IsZero() && c.now != nil {
		e.Time = c.now.Time // every event carries a capture time
	}
	if c.onEvent != nil {
		c.onEvent(e)
	}
	if e.Kind == health.FlowSummary {
		c.order.event(e) // kept as typed FlowStats through the tracker's hook
		return
	}
	f := c.finding(e)
	if c.folded(f, e) {
		return
	}
	c.order.event(e)
	if len(c.events) < c.maxKept {
		c.events = append(c.events, e)
	} else {
		c.dropped++
	}
}

// finding counts e in its kind's Finding and returns it.
func (c *collector) finding(e health.Event) *Finding {
	f := c.findings[e.Kind]
	if f == nil {
		f = &Finding{Kind: e.Kind, Severity: e.Severity, Example: e}
		c.findings[e.Kind] = f
	}
	f.Count++
	f.addVariant(e)
	if e.Severity > f.Severity {
		f.Severity = e.Severity
		f.Example = e
	}
	if e.Frame > 0 {
		f.Frames = addFrame(f.Frames, e.Frame, c.maxFrames)
	}
	if e.Flow != "" {
		set := c.flowSets[e.Kind]
		if set == nil {
			set = map[string]int{}
			c.flowSets[e.Kind] = set
		}
		if _, seen := set[e.Flow]; !seen && len(set) < maxFlowSet {
			f.FlowCount++
			if len(f.Flows) < maxFlowsPerFinding {
				f.Flows = append(f.Flows, e.Flow)
			}
		}
		set[e.Flow]++
	}
	return f
}

// folded reports whether e goes past the caps of repeated events; it is
// then counted for its events.folded summary instead of passed on.
func (c *collector) folded(f *Finding, e health.Event) bool {
	k := foldKey{kind: e.Kind, flow: e.Flow}
	switch {
	case e.Flow != "" && c.flowSets[e.Kind][e.Flow] > c.perFlow:
	case f.Count-f.Folded > c.perKind:
		k.flow = ""
	default:
		return false
	}
	f.Folded++
	fd := c.folds[k]
	if fd == nil {
		fd = &fold{firstFrame: e.Frame, first: e}
		c.folds[k] = fd
	}
	fd.n++
	fd.firstFrame, fd.lastFrame = min(fd.firstFrame, e.Frame), max(fd.lastFrame, e.Frame)
	return true
}

// foldSummary reports one events.folded event per kind and flow whose
// events were folded, in the order of their first folded frame.
func (c *collector) foldSummary() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.flush()
	keys := make([]foldKey, 0, len(c.folds))
	for k := range c.folds {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := c.folds[keys[i]], c.folds[keys[j]]
		if a.firstFrame != b.firstFrame {
			return a.firstFrame < b.firstFrame
		}
		return keys[i].kind < keys[j].kind || keys[i].kind == keys[j].kind && keys[i].flow < keys[j].flow
	})
	for _, k := range keys {
		fd := c.folds[k]
		where := "in the capture"
		if k.flow != "" {
			where = "on " + k.flow
		}
		c.order.event(health.Event{
			Kind: health.EventsFolded, Severity: health.Info, Time: fd.first.Time, Frame: fd.firstFrame, Flow: k.flow,
			Message:  fmt.Sprintf("%d more %s events %s (frames %d to %d) were counted but not listed one by one", fd.n, k.kind, where, fd.firstFrame, fd.lastFrame),
			Evidence: map[string]any{"kind": string(k.kind), "folded": fd.n, "first_frame": fd.firstFrame, "last_frame": fd.lastFrame},
		})
	}
}

// setNow sets the position stamped on events without a time (nil: none).
func (c *collector) setNow(p *tcpstate.Position) {
	c.mu.Lock()
	c.now = p
	c.mu.Unlock()
}

// snapshot returns the findings so far, sorted, sharing nothing with c.
func (c *collector) snapshot() []Finding {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.sortedFindings()
	for i := range out {
		out[i].Frames = append([]int64(nil), out[i].Frames...)
		out[i].Flows = append([]string(nil), out[i].Flows...)
		out[i].Example.Evidence = maps.Clone(out[i].Example.Evidence)
	}
	return out
}

// addFrame adds frame to the sorted distinct list frames, keeping the max
// smallest.
func addFrame(frames []int64, frame int64, max int) []int64 {
	i := sort.Search(len(frames), func(i int) bool { return frames[i] >= frame })
	if i < len(frames) && frames[i] == frame || i == max {
		return frames
	}
	if len(frames) == max {
		frames = frames[:max-1]
	}
	frames = append(frames, 0)
	copy(frames[i+1:], frames[i:])
	frames[i] = frame
	return frames
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// sortedFindings returns the findings, most severe first; within a
// severity, diagnoses before symptoms, then the most frequent, then by kind
// for a stable order.
func (c *collector) sortedFindings() []Finding {
	out := make([]Finding, 0, len(c.findings))
	for _, f := range c.findings {
		sort.SliceStable(f.Variants, func(i, j int) bool {
			a, b := f.Variants[i], f.Variants[j]
			if a.Count != b.Count {
				return a.Count > b.Count
			}
			return a.Label < b.Label
		})
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if da, db := health.IsDiagnosis(a.Kind), health.IsDiagnosis(b.Kind); da != db {
			return da
		}
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Kind < b.Kind
	})
	return out
}
