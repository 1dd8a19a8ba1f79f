package nettrace

import (
	"sort"

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

// Finding groups the events of one kind.
type Finding struct {
	Kind     health.Kind
	Severity health.Severity // the highest severity seen
	Count    int
	// Frames are the first frames the kind was reported at (capped).
	Frames []int64
	// Flows are the distinct flows it was reported on (capped).
	Flows []string
	// Example is the first event of the kind at the highest severity.
	Example health.Event
}

// collector is the Analyzer's own Reporter: it forwards to the user's
// Reporter and keeps the bounded, grouped view that becomes the Report.
type collector struct {
	next      health.Reporter
	wantMsgs  bool
	maxKept   int
	maxFrames int
	findings  map[health.Kind]*Finding
	events    []health.Event
	dropped   int
	flows     []Flow
	flowsDrop int
	now       *tcpstate.Position // the frame being analysed
	onEvent   func(health.Event) // the network diagnoser sees every event
}

func newCollector(next health.Reporter, wantMsgs bool, maxKept, maxFrames int) *collector {
	if next == nil {
		next = health.Discard
	}
	return &collector{
		next: next, wantMsgs: wantMsgs, maxKept: maxKept, maxFrames: maxFrames,
		findings: map[health.Kind]*Finding{},
	}
}

func (c *collector) WantMessages() bool { return c.wantMsgs }

func (c *collector) Message(m health.Message) {
	if c.wantMsgs {
		c.next.Message(m)
	}
}

const maxFlowsPerFinding = 16

func (c *collector) Event(e health.Event) {
	if e.Time.IsZero() && c.now != nil {
		e.Time = c.now.Time // every event carries a capture time
	}
	c.next.Event(e)
	if c.onEvent != nil {
		c.onEvent(e)
	}
	if e.Kind == health.FlowSummary {
		return // kept as typed FlowStats through the tracker's hook
	}
	f := c.findings[e.Kind]
	if f == nil {
		f = &Finding{Kind: e.Kind, Severity: e.Severity, Example: e}
		c.findings[e.Kind] = f
	}
	f.Count++
	if e.Severity > f.Severity {
		f.Severity = e.Severity
		f.Example = e
	}
	if len(f.Frames) < c.maxFrames && e.Frame > 0 {
		f.Frames = append(f.Frames, e.Frame)
	}
	if e.Flow != "" && len(f.Flows) < maxFlowsPerFinding && !contains(f.Flows, e.Flow) {
		f.Flows = append(f.Flows, e.Flow)
	}
	if len(c.events) < c.maxKept {
		c.events = append(c.events, e)
	} else {
		c.dropped++
	}
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
