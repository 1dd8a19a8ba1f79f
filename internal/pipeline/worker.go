package pipeline

import (
	"sync"
	"sync/atomic"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Worker runs the jobs of the connections whose stream ID falls to it. The
// handlers it builds use it for what crosses connections.
type Worker struct {
	id   int
	pl   *Pipeline
	in   chan *batch
	done atomic.Uint64 // jobs run
	// markedRun counts the jobs of marked connections run; workers waiting
	// for it to grow (WaitPrevious) sleep on cond.
	markedRun atomic.Uint64
	waiters   atomic.Int32
	mu        sync.Mutex
	cond      sync.Cond
	part      *part // the batch part being run
	job       *job  // the job being run
	k         int   // its index in part.jobs
}

// ID numbers the workers from 0.
func (w *Worker) ID() int { return w.id }

// Now returns the frame that was being analysed when the current job was
// issued: what a single-worker run would see as "now" in the decoder call.
func (w *Worker) Now() tcpstate.Position { return w.job.now }

// Seq returns the current job's position among all jobs issued: state
// stamped with the Seq of the job that wrote it is older than the current
// job when its stamp is lower.
func (w *Worker) Seq() uint64 { return w.job.seq }

// Note sends note about stream id to the Merger, in order.
func (w *Worker) Note(id uint64, note string) {
	w.emit(item{kind: itemNote, id: id, note: note})
}

func (w *Worker) run() {
	for b := range w.in {
		pt := &b.parts[w.id]
		w.part = pt
		for i := range pt.jobs {
			j := &pt.jobs[i]
			w.job, w.k = j, i
			j.out = len(pt.out)
			w.runJob(j, pt)
			j.end = len(pt.out)
			if j.c.marked {
				w.markedOne()
			}
			w.done.Add(1)
		}
		w.part, w.job = nil, nil
		b.pending.Done()
	}
}

func (w *Worker) runJob(j *job, pt *part) {
	c := j.c
	c.ctx.RTT, c.ctx.Altered = j.rtt, j.altered
	switch j.op {
	case jobAttach:
		c.h = c.build(w, &c.ctx)
	case jobFeed:
		if c.h != nil {
			c.h.Feed(j.dir, pt.data[j.off:j.off+j.n:j.off+j.n], j.at)
		}
	case jobGap:
		if c.h != nil {
			c.h.Gap(j.dir, j.n, j.at)
		}
	case jobReset:
		if r, ok := c.h.(tcpstate.ResetReviewer); ok {
			r.ReviewReset(j.ev)
		} else {
			c.ctx.Event(j.ev)
		}
	case jobClose:
		c.ctx.Visibility = j.vis
		if c.h != nil {
			c.h.Close(j.reason, j.at)
		}
	}
}

// WaitPrevious waits until the other workers have run every job of a
// marked connection issued before the current one. It cannot deadlock: the
// worker whose current job is the oldest never waits.
func (w *Worker) WaitPrevious() {
	n := len(w.pl.workers)
	waits := w.part.waits[w.k*n : w.k*n+n]
	for i, other := range w.pl.workers {
		if i != w.id {
			other.awaitMarked(waits[i])
		}
	}
}

// awaitMarked returns once w has run n jobs of marked connections.
func (w *Worker) awaitMarked(n uint64) {
	if w.markedRun.Load() >= n {
		return
	}
	w.mu.Lock()
	w.waiters.Add(1)
	for w.markedRun.Load() < n {
		w.cond.Wait()
	}
	w.waiters.Add(-1)
	w.mu.Unlock()
}

// markedOne counts a marked job run and wakes the workers waiting.
func (w *Worker) markedOne() {
	w.markedRun.Add(1)
	if w.waiters.Load() > 0 {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// emit appends an item to the current job's output.
func (w *Worker) emit(it item) {
	w.part.out = append(w.part.out, it)
}

// connReporter is the Reporter of a connection's decoders on its worker:
// it counts their events for the connection's summary, as the tracker's
// per-flow reporter does in a single-worker run, and stamps them as a
// single-worker run would.
type connReporter struct {
	w      *Worker
	flow   string
	counts map[health.Kind]int
}

func (r *connReporter) Event(e health.Event) {
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

func (r *connReporter) Message(m health.Message) {
	if !r.WantMessages() {
		return
	}
	if m.Flow == "" {
		m.Flow = r.flow
	}
	r.w.emit(item{kind: itemMessage, msg: m})
}

func (r *connReporter) WantMessages() bool { return r.w.pl.cfg.WantMessages }
