package nettrace

// A parallel run (Options.Workers ≥ 2).
//
// The calling goroutine reads, decodes and tracks every packet exactly as
// a single-worker run does — so stream numbers, TCP analysis, idle expiry
// and the connection cap are those of one worker — and writes, in order, a
// record of everything it reports, of what the cross-connection diagnoses
// observe (packets, closed connections), and one job per call into an
// application decoder (attach, Feed, Gap, Close). The jobs run on the
// workers, sharded by stream ID, so each connection's calls run in order
// on one goroutine. The merger goroutine replays the record batch by
// batch, splicing in each job's output where the call was made, into the
// collector and the diagnosers: the Reporter sees exactly the sequence of
// a single-worker run, and the diagnosers see what they see there.
//
// Two things cross connections and are kept in single-worker order
// explicitly: endpoints learned from endpoint-mapper replies, and TLS keys
// from pcapng Decryption Secrets Blocks (the pipeline is drained before
// they are added). Learned endpoints are stamped with the job that learned
// them, and a lookup waits until the other workers have run every earlier
// job that could learn one: a job of a connection that may carry DCE/RPC
// (mayLearn). Connections on the ports of the other decoders never wait.

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nettrace/nettrace/diagnose"
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

type pipeline struct {
	a          *Analyzer
	workers    []*worker
	cur        *batch
	free       chan *batch
	merge      chan *batch
	merged     chan struct{}
	issued     []uint64 // jobs issued per worker
	learns     []uint64 // of those, jobs of connections that may learn endpoints
	seq        uint64   // jobs issued in all
	routes     map[uint64]*route
	summary    health.Event // the flow.summary waiting for its FlowStats
	hasSummary bool         // (by value: a pointer would move every event to the heap)
	started    bool
	stopped    bool
}

func newPipeline(a *Analyzer, n int) *pipeline {
	pl := &pipeline{
		a:      a,
		free:   make(chan *batch, batchesInFlight),
		merge:  make(chan *batch, batchesInFlight),
		merged: make(chan struct{}),
		issued: make([]uint64, n),
		learns: make([]uint64, n),
		routes: map[uint64]*route{},
	}
	for i := 0; i < n; i++ {
		w := &worker{id: i, pl: pl, in: make(chan *batch, batchesInFlight)}
		w.cond.L = &w.mu
		w.scope = scope{a: a, w: w}
		w.scope.decs = w.scope.decoders()
		pl.workers = append(pl.workers, w)
	}
	for i := 0; i < batchesInFlight; i++ {
		pl.free <- &batch{parts: make([]part, n)}
	}
	pl.cur = <-pl.free
	return pl
}

// start launches the workers and the merger. The collector and the
// diagnosers are the merger's from now until stop; the collector no longer
// stamps times (the record is stamped as it is written) nor feeds the
// network diagnoser every event (the merger feeds it the calling
// goroutine's).
func (pl *pipeline) start() {
	pl.started = true
	pl.a.col.now, pl.a.col.onEvent = nil, nil
	for _, w := range pl.workers {
		go w.run()
	}
	go pl.mergeLoop()
}

// batch is a stretch of the ordered record and the jobs it refers to.
type batch struct {
	recs    []record
	events  []health.Event
	msgs    []health.Message
	flows   []flowRecord
	packets []packetRecord
	payload []byte // the packets' payload prefixes
	parts   []part // one per worker
	pending sync.WaitGroup
}

func (b *batch) reset() {
	b.recs = b.recs[:0]
	clear(b.events)
	b.events = b.events[:0]
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	clear(b.flows)
	b.flows = b.flows[:0]
	clear(b.packets)
	b.packets = b.packets[:0]
	b.payload = b.payload[:0]
	for i := range b.parts {
		b.parts[i].reset()
	}
}

// part is one worker's share of a batch.
type part struct {
	jobs  []job
	data  []byte   // copies of the stream bytes the jobs feed
	waits []uint64 // per job, the learning jobs issued to each worker before it
	out   []item   // what the jobs reported, filled by the worker
}

func (p *part) reset() {
	clear(p.jobs)
	p.jobs = p.jobs[:0]
	p.data = p.data[:0]
	p.waits = p.waits[:0]
	clear(p.out)
	p.out = p.out[:0]
}

type recordKind uint8

const (
	recEvent recordKind = iota
	recMessage
	recJob
	recFlow
	recPacket
)

// record is one entry of the ordered record: an index into the batch's
// events, messages or flows, or into part w's jobs.
type record struct {
	kind recordKind
	w    int32
	i    int32
}

// flowRecord is a closed connection: its flow.summary event and FlowStats,
// completed at merge time with the events its decoders raised.
type flowRecord struct {
	event health.Event
	stats health.FlowStats
	route *route
}

// packetRecord is one decoded packet for the network diagnoser, with the
// part of the payload it reads copied to batch.payload[off:off+n]; what
// aliases the frame (Raw, Payload) is left out, FragFrames is copied.
type packetRecord struct {
	p      layers.Packet
	off, n int
}

// packet records the current packet for the network diagnoser.
func (pl *pipeline) packet(p *layers.Packet) {
	pl.flushSummary()
	b := pl.cur
	pr := packetRecord{p: *p, off: len(b.payload), n: diagnose.PayloadUsed(p)}
	b.payload = append(b.payload, p.Payload[:pr.n]...)
	pr.p.Raw, pr.p.Payload = nil, nil
	if len(p.FragFrames) > 0 {
		pr.p.FragFrames = append([]int64(nil), p.FragFrames...)
	}
	add(pl, recPacket, &b.packets, pr)
}

type jobOp uint8

const (
	jobAttach jobOp = iota
	jobFeed
	jobGap
	jobClose
)

// job is one call into a connection's decoders.
type job struct {
	op       jobOp
	learns   bool // the connection may learn endpoints (pipeline.mayLearn)
	dir      tcpstate.Dir
	reason   tcpstate.CloseReason
	r        *route
	seq      uint64
	off, n   int // Feed: data[off:off+n]; Gap: n bytes missing
	at       tcpstate.Position
	now      tcpstate.Position // the frame being analysed when the call was made
	rtt      time.Duration     // the connection's handshake RTT then
	out, end int               // the job's items in part.out
}

type itemKind uint8

const (
	itemEvent itemKind = iota
	itemMessage
	itemProto
)

// item is something a job reported.
type item struct {
	kind itemKind
	ev   health.Event
	msg  health.Message
	id   uint64 // itemProto: the stream and its decoder
	name string
}

// recorder returns the Reporter of the calling goroutine's components.
func (pl *pipeline) recorder() health.Reporter { return (*mainRecorder)(pl) }

// mainRecorder appends what the calling goroutine reports to the record.
type mainRecorder pipeline

func (m *mainRecorder) Event(e health.Event) {
	pl := (*pipeline)(m)
	a := pl.a
	if e.Time.IsZero() {
		e.Time = a.last.Time // as the collector would stamp it
	}
	if e.Kind == health.FlowSummary {
		pl.flushSummary()
		pl.summary, pl.hasSummary = e, true
		return
	}
	pl.flushSummary()
	add(pl, recEvent, &pl.cur.events, e)
}

func (m *mainRecorder) Message(msg health.Message) {
	pl := (*pipeline)(m)
	if !pl.a.col.wantMsgs {
		return
	}
	pl.flushSummary()
	add(pl, recMessage, &pl.cur.msgs, msg)
}

func (m *mainRecorder) WantMessages() bool { return m.a.col.wantMsgs }

// flushSummary records a flow.summary that no FlowStats followed (the
// tracker always sends both; this keeps the record whole regardless).
func (pl *pipeline) flushSummary() {
	if !pl.hasSummary {
		return
	}
	pl.recordFlow(flowRecord{event: pl.summary})
}

// flowClosed records a closed connection's summary and FlowStats.
func (pl *pipeline) flowClosed(s *health.FlowStats) {
	fr := flowRecord{stats: *s, route: pl.routes[s.ID]}
	delete(pl.routes, s.ID)
	if pl.hasSummary {
		fr.event = pl.summary
	}
	pl.recordFlow(fr)
}

func (pl *pipeline) recordFlow(fr flowRecord) {
	pl.summary, pl.hasSummary = health.Event{}, false
	add(pl, recFlow, &pl.cur.flows, fr)
}

// add appends v to one of the current batch's lists, and its record.
func add[T any](pl *pipeline, kind recordKind, list *[]T, v T) {
	b := pl.cur
	b.recs = append(b.recs, record{kind: kind, i: int32(len(*list))})
	*list = append(*list, v)
	pl.full()
}

// attach creates a connection's route, to be chosen on its worker.
func (pl *pipeline) attach(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	w := pl.workers[ctx.ID%uint64(len(pl.workers))]
	r := &route{s: &w.scope, ctx: &tcpstate.StreamContext{}}
	*r.ctx = *ctx
	r.ctx.Reporter = &routeReporter{w: w, flow: ctx.Flow}
	pl.routes[ctx.ID] = r
	p := &proxy{pl: pl, w: w.id, r: r, ctx: ctx, learns: pl.a.mayLearn(ctx.Server.Port())}
	p.issue(jobAttach, 0, nil, 0, tcpstate.Position{}, 0)
	return p
}

// proxy is the calling goroutine's side of a connection's route: each call
// becomes a job for the route's worker.
type proxy struct {
	pl  *pipeline
	w   int
	r   *route
	ctx *tcpstate.StreamContext // the tracker's, for the RTT
	// learns: the connection may carry DCE/RPC, so its decoders may learn
	// endpoints and look them up.
	learns bool
}

func (p *proxy) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	p.issue(jobFeed, dir, data, 0, at, 0)
}

func (p *proxy) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	p.issue(jobGap, dir, nil, n, at, 0)
}

func (p *proxy) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	p.issue(jobClose, 0, nil, 0, at, reason)
}

func (p *proxy) issue(op jobOp, dir tcpstate.Dir, data []byte, n int, at tcpstate.Position, reason tcpstate.CloseReason) {
	pl := p.pl
	pl.flushSummary()
	b := pl.cur
	pt := &b.parts[p.w]
	j := job{op: op, learns: p.learns, dir: dir, reason: reason, r: p.r, seq: pl.seq, n: n, at: at, now: pl.a.last, rtt: p.ctx.RTT}
	if op == jobFeed {
		j.off, j.n = len(pt.data), len(data)
		pt.data = append(pt.data, data...)
	}
	pt.waits = append(pt.waits, pl.learns...)
	pl.seq++
	pl.issued[p.w]++
	if p.learns {
		pl.learns[p.w]++
	}
	b.recs = append(b.recs, record{kind: recJob, w: int32(p.w), i: int32(len(pt.jobs))})
	pt.jobs = append(pt.jobs, j)
	if len(pt.data) >= maxBatchBytes {
		pl.flush()
		return
	}
	pl.full()
}

// full hands the batch over when it has grown to its bound.
func (pl *pipeline) full() {
	if len(pl.cur.recs) >= maxBatchRecords {
		pl.flush()
	}
}

// flush hands the current batch to every worker and the merger.
func (pl *pipeline) flush() {
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

// drain waits until every job issued so far has run.
func (pl *pipeline) drain() {
	pl.flushSummary()
	pl.flush()
	for i, w := range pl.workers {
		for w.done.Load() < pl.issued[i] {
			runtime.Gosched()
		}
	}
}

// stop hands over the last batch and waits until everything is merged.
func (pl *pipeline) stop() {
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
	a := pl.a
	a.col.now, a.col.onEvent = &a.last, a.net.Event
}

// mergeLoop replays each batch, in order, once its jobs have run.
func (pl *pipeline) mergeLoop() {
	defer close(pl.merged)
	a := pl.a
	for b := range pl.merge {
		b.pending.Wait()
		for _, rec := range b.recs {
			switch rec.kind {
			case recEvent:
				// The network diagnoser counts the defragmenter's
				// events, all raised on the calling goroutine.
				a.col.Event(b.events[rec.i])
				a.net.Event(b.events[rec.i])
			case recPacket:
				pr := &b.packets[rec.i]
				pr.p.Payload = b.payload[pr.off : pr.off+pr.n : pr.off+pr.n]
				a.net.Packet(&pr.p)
			case recMessage:
				a.col.Message(b.msgs[rec.i])
			case recJob:
				pt := &b.parts[rec.w]
				j := &pt.jobs[rec.i]
				for k := j.out; k < j.end; k++ {
					pl.apply(&pt.out[k])
				}
			case recFlow:
				pl.mergeFlow(&b.flows[rec.i])
			}
		}
		b.reset()
		pl.free <- b
	}
}

func (pl *pipeline) apply(it *item) {
	a := pl.a
	switch it.kind {
	case itemEvent:
		a.col.Event(it.ev)
	case itemMessage:
		a.col.Message(it.msg)
	case itemProto:
		a.choseDecoder(it.id, it.name)
	}
}

// mergeFlow adds the events the connection's decoders raised to its
// summary's counts — in a single-worker run they are counted as raised —
// then reports the summary and keeps the flow.
func (pl *pipeline) mergeFlow(fr *flowRecord) {
	a := pl.a
	if fr.route != nil {
		if rr := fr.route.ctx.Reporter.(*routeReporter); len(rr.counts) > 0 {
			counts := make(map[health.Kind]int, len(fr.stats.Counts)+len(rr.counts))
			for k, n := range fr.stats.Counts {
				counts[k] = n
			}
			for k, n := range rr.counts {
				counts[k] += n
			}
			fr.stats.Counts = counts
			if fr.event.Evidence != nil {
				byName := make(map[string]int, len(counts))
				for k, n := range counts {
					byName[string(k)] = n
				}
				fr.event.Evidence["events"] = byName
			}
		}
	}
	if fr.event.Kind != "" {
		a.col.Event(fr.event)
	}
	if fr.stats.Client.IsValid() {
		a.keepFlow(&fr.stats)
		a.diagnoseFlow(&fr.stats)
	}
}

// worker runs the jobs of the connections whose stream ID falls to it.
type worker struct {
	id    int
	pl    *pipeline
	scope scope
	in    chan *batch
	done  atomic.Uint64 // jobs run
	// learned counts the jobs run of connections that may learn endpoints;
	// workers waiting for it to grow (waitPrevious) sleep on cond.
	learned atomic.Uint64
	waiters atomic.Int32
	mu      sync.Mutex
	cond    sync.Cond
	part    *part // the batch part being run
	job     *job  // the job being run
	k       int   // its index in part.jobs
}

func (w *worker) run() {
	for b := range w.in {
		pt := &b.parts[w.id]
		w.part = pt
		for i := range pt.jobs {
			j := &pt.jobs[i]
			w.job, w.k = j, i
			j.out = len(pt.out)
			w.runJob(j, pt)
			j.end = len(pt.out)
			if j.learns {
				w.learnedOne()
			}
			w.done.Add(1)
		}
		w.part, w.job = nil, nil
		b.pending.Done()
	}
}

func (w *worker) runJob(j *job, pt *part) {
	r := j.r
	r.ctx.RTT = j.rtt
	switch j.op {
	case jobAttach:
		r.choose()
	case jobFeed:
		r.Feed(j.dir, pt.data[j.off:j.off+j.n:j.off+j.n], j.at)
	case jobGap:
		r.Gap(j.dir, j.n, j.at)
	case jobClose:
		r.Close(j.reason, j.at)
	}
}

// waitPrevious waits until the other workers have run every job issued
// before the current one that could learn an endpoint. It cannot
// deadlock: the worker whose current job is the oldest never waits.
func (w *worker) waitPrevious() {
	n := len(w.pl.workers)
	waits := w.part.waits[w.k*n : w.k*n+n]
	for i, other := range w.pl.workers {
		if i != w.id {
			other.awaitLearned(waits[i])
		}
	}
}

// awaitLearned returns once w has run n learning jobs.
func (w *worker) awaitLearned(n uint64) {
	if w.learned.Load() >= n {
		return
	}
	w.mu.Lock()
	w.waiters.Add(1)
	for w.learned.Load() < n {
		w.cond.Wait()
	}
	w.waiters.Add(-1)
	w.mu.Unlock()
}

// learnedOne counts a learning job run and wakes the workers waiting.
func (w *worker) learnedOne() {
	w.learned.Add(1)
	if w.waiters.Load() > 0 {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// emit appends an item to the current job's output.
func (w *worker) emit(it item) {
	w.part.out = append(w.part.out, it)
}

// routeReporter is the Reporter of a connection's decoders on its worker:
// it counts their events for the connection's summary, as the tracker's
// per-flow reporter does in a single-worker run, and stamps them as the
// collector would.
type routeReporter struct {
	w      *worker
	flow   string
	counts map[health.Kind]int
}

func (r *routeReporter) Event(e health.Event) {
	if r.counts == nil {
		r.counts = make(map[health.Kind]int, 4)
	}
	r.counts[e.Kind]++
	if e.Flow == "" {
		e.Flow = r.flow
	}
	if e.Time.IsZero() {
		e.Time = r.w.job.now.Time
	}
	r.w.emit(item{kind: itemEvent, ev: e})
}

func (r *routeReporter) Message(m health.Message) {
	if !r.WantMessages() {
		return
	}
	if m.Flow == "" {
		m.Flow = r.flow
	}
	r.w.emit(item{kind: itemMessage, msg: m})
}

func (r *routeReporter) WantMessages() bool { return r.w.pl.a.col.wantMsgs }
