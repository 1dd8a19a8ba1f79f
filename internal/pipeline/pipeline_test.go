package pipeline

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// logMerger writes what it receives, in order, one line each.
type logMerger struct{ lines []string }

func (m *logMerger) Event(e health.Event) {
	m.lines = append(m.lines, fmt.Sprintf("event %s %s %d", e.Kind, e.Message, e.Frame))
}
func (m *logMerger) Message(msg health.Message) { m.lines = append(m.lines, "message "+msg.Proto) }
func (m *logMerger) Packet(p *layers.Packet, tag uint8) {
	m.lines = append(m.lines, fmt.Sprintf("packet %d %q", p.Frame, p.Payload))
}
func (m *logMerger) Flow(s *health.FlowStats) {
	m.lines = append(m.lines, fmt.Sprintf("flow %d %v", s.ID, s.Counts))
}
func (m *logMerger) Note(id uint64, note string) {
	m.lines = append(m.lines, fmt.Sprintf("note %d %s", id, note))
}

// echo is a decoder that reports every call, with a delay on odd streams
// so that the workers finish out of order.
type echo struct {
	w   *Worker
	ctx *tcpstate.StreamContext
}

func (e *echo) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	if e.ctx.ID%2 == 1 {
		time.Sleep(time.Millisecond)
	}
	e.ctx.Event(health.Event{Kind: "test.feed", Message: fmt.Sprintf("%d:%s", e.ctx.ID, data), Frame: at.Frame})
}
func (e *echo) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {}
func (e *echo) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	e.ctx.Event(health.Event{Kind: "test.close", Message: fmt.Sprint(e.ctx.ID), Frame: at.Frame})
}

// run drives a pipeline of n workers through a fixed script and returns
// what the merger received.
func run(n int) []string {
	var now tcpstate.Position
	m := &logMerger{}
	pl := New(Config{Workers: n, Now: func() tcpstate.Position { return now }, Merger: m})
	pl.Start()
	rec := pl.Recorder()
	build := func(w *Worker, ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
		w.Note(ctx.ID, "echo")
		return &echo{w: w, ctx: ctx}
	}
	var hs []tcpstate.StreamHandler
	for id := range uint64(4) {
		now = tcpstate.Position{Frame: int64(id + 1)}
		hs = append(hs, pl.Attach(&tcpstate.StreamContext{ID: id, Flow: fmt.Sprint("flow", id), Reporter: rec}, false, build))
	}
	for frame := int64(5); frame < 45; frame++ {
		now = tcpstate.Position{Frame: frame}
		id := uint64(frame % 4)
		hs[id].Feed(tcpstate.ClientToServer, []byte(fmt.Sprint(frame)), now)
		if frame%10 == 0 {
			rec.Event(health.Event{Kind: "test.main", Frame: frame})
			p := layers.Packet{Frame: frame, Payload: []byte("payload")}
			pl.Packet(&p, 3, 0)
		}
	}
	for id, h := range hs {
		now = tcpstate.Position{Frame: 50 + int64(id)}
		h.Close(tcpstate.CloseFIN, now)
		rec.Event(health.Event{Kind: health.FlowSummary, Frame: now.Frame})
		pl.FlowClosed(&health.FlowStats{ID: uint64(id), Client: netip.MustParseAddrPort("10.0.0.1:1")})
	}
	pl.Stop()
	return m.lines
}

// The merger sees the same sequence whatever the number of workers: the
// calling goroutine's record with each decoder call's output spliced in
// where the call was made, flows with their decoders' events counted.
func TestMergedInSingleWorkerOrder(t *testing.T) {
	want := run(1)
	if len(want) < 50 || !strings.HasPrefix(want[0], "note 0 echo") || !strings.Contains(strings.Join(want, "\n"), `packet 10 "pay"`) {
		t.Fatalf("unexpected single-worker output:\n%s", strings.Join(want, "\n"))
	}
	for _, n := range []int{2, 3, 8} {
		got := run(n)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%d workers:\n%s\nwant:\n%s", n, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
