package health

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// JSONSink is a Reporter that writes events and messages as JSON lines,
// one object per line, in the contract's field order, exactly as
// encoding/json would write them but without reflection for the types
// decoders use (see encode.go). Call Flush when done. Write errors are
// kept: Err returns the first.
type JSONSink struct {
	w        *bufio.Writer
	line     []byte
	messages bool
	events   bool
	err      error
}

// NewJSONSink returns a sink writing to w. events and messages select what
// is written: doctor -json writes events, dissect writes messages.
func NewJSONSink(w io.Writer, events, messages bool) *JSONSink {
	return &JSONSink{w: bufio.NewWriterSize(w, 64<<10), events: events, messages: messages}
}

// Event writes e when the sink writes events.
func (s *JSONSink) Event(e Event) {
	if s.events && s.err == nil {
		s.line = appendEvent(s.line[:0], &e)
		s.writeLine()
	}
}

// Message writes m when the sink writes messages.
func (s *JSONSink) Message(m Message) {
	if s.messages && s.err == nil {
		s.line = appendMessage(s.line[:0], &m)
		s.writeLine()
	}
}

// WantMessages reports whether the sink writes messages.
func (s *JSONSink) WantMessages() bool { return s.messages }

func (s *JSONSink) writeLine() {
	s.line = append(s.line, '\n')
	_, s.err = s.w.Write(s.line)
}

// Flush writes buffered lines and returns the first error met.
func (s *JSONSink) Flush() error {
	if err := s.w.Flush(); s.err == nil {
		s.err = err
	}
	return s.err
}

// TextSink is a Reporter that writes one human-readable line per event:
//
//	warning  frame 1921  tcp.retransmission  10.1.1.1:1099->172.16.1.1:80/tcp  retransmits frame 458 …
//
// Messages are not written. Flow summaries are skipped unless Summaries is set.
type TextSink struct {
	w         *bufio.Writer
	Summaries bool
	err       error
}

// NewTextSink returns a sink writing to w. Call Flush when done.
func NewTextSink(w io.Writer) *TextSink { return &TextSink{w: bufio.NewWriter(w)} }

// Event writes one line for e.
func (s *TextSink) Event(e Event) {
	if s.err != nil || (e.Kind == FlowSummary && !s.Summaries) {
		return
	}
	_, s.err = fmt.Fprintf(s.w, "%-8s frame %-7d %-32s %s  %s%s\n",
		e.Severity, e.Frame, e.Kind, e.Flow, e.Message, FormatEvidence(e.Evidence))
}

// Message does nothing: text output is for events.
func (s *TextSink) Message(Message) {}

// WantMessages reports false.
func (s *TextSink) WantMessages() bool { return false }

// Flush writes buffered lines and returns the first error met.
func (s *TextSink) Flush() error {
	if err := s.w.Flush(); s.err == nil {
		s.err = err
	}
	return s.err
}

// FormatEvidence renders evidence as " [k=v k=v]" with sorted keys, or ""
// when there is none.
func FormatEvidence(ev map[string]any) string {
	if len(ev) == 0 {
		return ""
	}
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(" [")
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%v", k, ev[k])
	}
	b.WriteByte(']')
	return b.String()
}

// Tee returns a Reporter that forwards to every non-nil reporter; it wants
// messages when any of them does.
func Tee(reps ...Reporter) Reporter {
	var t tee
	for _, r := range reps {
		if r != nil {
			t = append(t, r)
		}
	}
	return t
}

type tee []Reporter

func (t tee) Event(e Event) {
	for _, r := range t {
		r.Event(e)
	}
}

func (t tee) Message(m Message) {
	for _, r := range t {
		if r.WantMessages() {
			r.Message(m)
		}
	}
}

func (t tee) WantMessages() bool {
	for _, r := range t {
		if r.WantMessages() {
			return true
		}
	}
	return false
}

// Millis converts d to milliseconds with microsecond precision, the unit
// of every *_ms evidence field.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
