package pipeline

import (
	"runtime"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// Batch bounds: a batch is handed over when its record or one worker's
// copied stream bytes reach these; batchesInFlight bounds memory and how
// far the calling goroutine runs ahead of the merger.
const (
	maxBatchRecords = 4096
	maxBatchBytes   = 512 << 10
	batchesInFlight = 4
)

// MaxWorkers caps Config.Workers: beyond it more goroutines only add
// batches to fill and merge.
const MaxWorkers = 64

// Merger receives, on the merger goroutine and in the order of a
// single-worker run, everything the calling goroutine and the decoders
// reported.
type Merger interface {
	// Event receives an event (flow summaries included).
	Event(e health.Event)
	// Message receives a decoded message.
	Message(m health.Message)
	// Packet receives a decoded packet recorded with Pipeline.Packet, with
	// the tag it was recorded with. Raw is nil and Payload holds only the
	// prefix that was recorded.
	Packet(p *layers.Packet, tag uint8)
	// Flow receives a closed connection's summary, right after its
	// flow.summary event, with the decoders' events counted in.
	Flow(s *health.FlowStats)
	// Note receives what a decoder noted with Worker.Note.
	Note(id uint64, note string)
}

// Config configures a Pipeline.
type Config struct {
	// Workers is the number of worker goroutines (at least 1, at most
	// MaxWorkers).
	Workers int
	// WantMessages is what the decoders' Reporters answer to WantMessages.
	WantMessages bool
	// Now returns the frame being analysed on the calling goroutine: events
	// without a time are stamped with it, and each job remembers it.
	Now func() tcpstate.Position
	// Merger receives the merged output.
	Merger Merger
}

// A Builder builds a connection's handler on the connection's worker, at
// its attach job: ctx's Reporter is the worker's, and w serves the
// handler's ordering needs (Now, Seq, WaitPrevious, Note).
type Builder func(w *Worker, ctx *tcpstate.StreamContext) tcpstate.StreamHandler

// Pipeline is one parallel run. Create it with New, call Start before the
// first packet and Stop after the last; everything else is called on the
// calling goroutine in between.
type Pipeline struct {
	cfg        Config
	workers    []*Worker
	cur        *batch
	free       chan *batch
	merge      chan *batch
	merged     chan struct{}
	issued     []uint64 // jobs issued per worker
	marked     []uint64 // of those, jobs of connections marked when attached
	seq        uint64   // jobs issued in all
	conns      map[uint64]*conn
	summary    health.Event // the flow.summary waiting for its FlowStats
	hasSummary bool         // (by value: a pointer would move every event to the heap)
	started    bool
	stopped    bool
}

// New returns a pipeline of cfg.Workers workers (capped to MaxWorkers).
func New(cfg Config) *Pipeline {
	n := min(max(cfg.Workers, 1), MaxWorkers)
	pl := &Pipeline{
		cfg:    cfg,
		free:   make(chan *batch, batchesInFlight),
		merge:  make(chan *batch, batchesInFlight),
		merged: make(chan struct{}),
		issued: make([]uint64, n),
		marked: make([]uint64, n),
		conns:  map[uint64]*conn{},
	}
	for i := range n {
		w := &Worker{id: i, pl: pl, in: make(chan *batch, batchesInFlight)}
		w.cond.L = &w.mu
		pl.workers = append(pl.workers, w)
	}
	for range batchesInFlight {
		pl.free <- &batch{parts: make([]part, n)}
	}
	pl.cur = <-pl.free
	return pl
}

// Workers returns the number of workers; Worker.ID is below it.
func (pl *Pipeline) Workers() int { return len(pl.workers) }

// Start launches the workers and the merger. The Merger is the merger
// goroutine's from now until Stop returns.
func (pl *Pipeline) Start() {
	pl.started = true
	for _, w := range pl.workers {
		go w.run()
	}
	go pl.mergeLoop()
}

// Recorder returns the Reporter of the calling goroutine's components:
// what they report is recorded in order.
func (pl *Pipeline) Recorder() health.Reporter { return (*recorder)(pl) }

// recorder appends what the calling goroutine reports to the record.
type recorder Pipeline

func (r *recorder) Event(e health.Event) {
	pl := (*Pipeline)(r)
	if e.Time.IsZero() {
		e.Time = pl.cfg.Now().Time // as a single-worker run stamps it
	}
	if e.Kind == health.FlowSummary {
		pl.flushSummary()
		pl.summary, pl.hasSummary = e, true
		return
	}
	pl.flushSummary()
	add(pl, recEvent, &pl.cur.events, e)
}

func (r *recorder) Message(m health.Message) {
	pl := (*Pipeline)(r)
	if !pl.cfg.WantMessages {
		return
	}
	pl.flushSummary()
	add(pl, recMessage, &pl.cur.msgs, m)
}

func (r *recorder) WantMessages() bool { return r.cfg.WantMessages }

// Packet records p for the Merger with the first used bytes of its
// payload and a tag the Merger receives with it; what aliases the frame
// (Raw, the rest of Payload) is left out.
func (pl *Pipeline) Packet(p *layers.Packet, used int, tag uint8) {
	pl.flushSummary()
	b := pl.cur
	pr := packetRecord{p: *p, off: len(b.payload), n: min(used, len(p.Payload)), tag: tag}
	b.payload = append(b.payload, p.Payload[:pr.n]...)
	pr.p.Raw, pr.p.Payload = nil, nil
	if len(p.FragFrames) > 0 {
		pr.p.FragFrames = append([]int64(nil), p.FragFrames...)
	}
	add(pl, recPacket, &b.packets, pr)
}

// FlowClosed records a closed connection's summary (the tracker's
// OnSummary, right after its flow.summary event).
func (pl *Pipeline) FlowClosed(s *health.FlowStats) {
	fr := flowRecord{stats: *s, conn: pl.conns[s.ID]}
	delete(pl.conns, s.ID)
	if pl.hasSummary {
		fr.event = pl.summary
	}
	pl.recordFlow(fr)
}

// flushSummary records a flow.summary that no FlowStats followed (the
// tracker always sends both; this keeps the record whole regardless).
func (pl *Pipeline) flushSummary() {
	if pl.hasSummary {
		pl.recordFlow(flowRecord{event: pl.summary})
	}
}

func (pl *Pipeline) recordFlow(fr flowRecord) {
	pl.summary, pl.hasSummary = health.Event{}, false
	add(pl, recFlow, &pl.cur.flows, fr)
}

// add appends v to one of the current batch's lists, and its record.
func add[T any](pl *Pipeline, kind recordKind, list *[]T, v T) {
	b := pl.cur
	b.recs = append(b.recs, record{kind: kind, i: int32(len(*list))})
	*list = append(*list, v)
	pl.full()
}

// Attach is a connection's NewHandler in a parallel run: the handler is
// built by build on the connection's worker, and the handler returned
// turns every call into a job for that worker. marked says that the
// connection's decoders may write the state that WaitPrevious orders.
func (pl *Pipeline) Attach(ctx *tcpstate.StreamContext, marked bool, build Builder) tcpstate.StreamHandler {
	w := pl.workers[ctx.ID%uint64(len(pl.workers))]
	c := &conn{w: w, build: build, ctx: *ctx, marked: marked, tracked: ctx}
	c.ctx.Reporter = &connReporter{w: w, flow: ctx.Flow}
	pl.conns[ctx.ID] = c
	pl.issue(c, job{op: jobAttach}, nil)
	return (*proxy)(c)
}

// conn is one connection's state in a parallel run: the calling
// goroutine's side (tracked, marked) and the worker's (ctx, h).
type conn struct {
	w       *Worker
	build   Builder
	ctx     tcpstate.StreamContext  // the worker's copy, with its Reporter
	tracked *tcpstate.StreamContext // the tracker's, for the RTT
	marked  bool
	h       tcpstate.StreamHandler // built at the attach job, on the worker
}

// proxy is the handler the tracker calls: each call becomes a job.
type proxy conn

func (p *proxy) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	c := (*conn)(p)
	c.w.pl.issue(c, job{op: jobFeed, dir: dir, at: at}, data)
}

func (p *proxy) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	c := (*conn)(p)
	c.w.pl.issue(c, job{op: jobGap, dir: dir, n: n, at: at}, nil)
}

// ReviewReset hands the connection's tcp.reset event to its handler on the
// worker (tcpstate.ResetReviewer), in order; a handler that does not
// review resets has the event reported as it is.
func (p *proxy) ReviewReset(e health.Event) {
	c := (*conn)(p)
	c.w.pl.issue(c, job{op: jobReset, ev: e}, nil)
}

func (p *proxy) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	c := (*conn)(p)
	c.w.pl.issue(c, job{op: jobClose, reason: reason, at: at, vis: c.tracked.Visibility}, nil)
}

// issue records one call into c's handler as a job of c's worker: j holds
// the call (op, dir, n, at, reason, ev), data the bytes a Feed delivers.
func (pl *Pipeline) issue(c *conn, j job, data []byte) {
	pl.flushSummary()
	b := pl.cur
	wid := c.w.id
	pt := &b.parts[wid]
	j.c, j.seq, j.now, j.rtt, j.altered = c, pl.seq, pl.cfg.Now(), c.tracked.RTT, c.tracked.Altered
	if j.op == jobFeed {
		j.off, j.n = len(pt.data), len(data)
		pt.data = append(pt.data, data...)
	}
	pt.waits = append(pt.waits, pl.marked...)
	pl.seq++
	pl.issued[wid]++
	if c.marked {
		pl.marked[wid]++
	}
	b.recs = append(b.recs, record{kind: recJob, w: int32(wid), i: int32(len(pt.jobs))})
	pt.jobs = append(pt.jobs, j)
	if len(pt.data) >= maxBatchBytes {
		pl.flush()
		return
	}
	pl.full()
}

// full hands the batch over when it has grown to its bound.
func (pl *Pipeline) full() {
	if len(pl.cur.recs) >= maxBatchRecords {
		pl.flush()
	}
}

// flush hands the current batch to every worker and the merger.
func (pl *Pipeline) flush() {
	b := pl.cur
	if len(b.recs) == 0 {
		return
	}
	b.pending.Add(len(pl.workers))
	for _, w := range pl.workers {
		w.in <- b
	}
	pl.merge <- b
	pl.cur = <-pl.free
}

// Drain waits until every job issued so far has run.
func (pl *Pipeline) Drain() {
	pl.flushSummary()
	pl.flush()
	for i, w := range pl.workers {
		for w.done.Load() < pl.issued[i] {
			runtime.Gosched()
		}
	}
}

// Stop hands over the last batch and waits until everything is merged.
// Later calls do nothing.
func (pl *Pipeline) Stop() {
	if !pl.started || pl.stopped {
		return
	}
	pl.stopped = true
	pl.flushSummary()
	pl.flush()
	for _, w := range pl.workers {
		close(w.in)
	}
	close(pl.merge)
	<-pl.merged
}

type jobOp uint8

const (
	jobAttach jobOp = iota
	jobFeed
	jobGap
	jobClose
	jobReset // ReviewReset: job.ev
)

// job is one call into a connection's decoders.
type job struct {
	op       jobOp
	dir      tcpstate.Dir
	reason   tcpstate.CloseReason
	c        *conn
	seq      uint64
	off, n   int // Feed: data[off:off+n]; Gap: n bytes missing
	at       tcpstate.Position
	now      tcpstate.Position   // the frame being analysed when the call was made
	rtt      time.Duration       // the connection's handshake RTT then
	altered  bool                // and its StreamContext.Altered
	out, end int                 // the job's items in part.out
	ev       health.Event        // jobReset: the tcp.reset event
	vis      tcpstate.Visibility // jobClose: what the capture showed of the connection
}
