package nettrace

import (
	"container/heap"

	"github.com/nettrace/nettrace/health"
)

// kindUndecided is the Analyzer's own marker, never passed on: the oldest
// frame whose retransmission event the tracker still holds (Frame; 0 for
// none), written into the event stream where it changes, so that a
// parallel run's merger sees it at the same place as a single-worker run.
const kindUndecided health.Kind = "nettrace.undecided"

// maxHeldEvents bounds the events the orderer holds back: past it the
// oldest go out even if an earlier retransmission is still undecided
// (Report.OrderForced counts them).
const maxHeldEvents = 1 << 15

// orderer passes events on in output order: per-frame kinds
// (health.PerFrame) by frame, conclusions where they were reached (after
// every per-frame event of an earlier frame). A retransmission's event
// waits for its cause; while one is undecided, later events are held, and
// released in order once it comes out.
type orderer struct {
	out       func(health.Event)
	held      heldEvents
	seq       uint64
	seen      int64 // the latest frame the stream has reached
	undecided int64 // oldest frame still undecided, 0 when none
	forced    int   // events released past maxHeldEvents
}

type heldEvent struct {
	key, seq uint64
	e        health.Event
}

type heldEvents []heldEvent

func (h heldEvents) Len() int { return len(h) }
func (h heldEvents) Less(i, j int) bool {
	return h[i].key < h[j].key || h[i].key == h[j].key && h[i].seq < h[j].seq
}
func (h heldEvents) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *heldEvents) Push(x any)   { *h = append(*h, x.(heldEvent)) }
func (h *heldEvents) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// event takes one event in emission order.
func (o *orderer) event(e health.Event) {
	if e.Kind == kindUndecided {
		o.undecided = e.Frame
		o.release()
		return
	}
	key := o.seen
	if health.PerFrame(e.Kind) && e.Frame > 0 {
		key = e.Frame
	}
	o.seen = max(o.seen, e.Frame)
	if o.undecided == 0 && len(o.held) == 0 {
		o.out(e)
		return
	}
	o.seq++
	heap.Push(&o.held, heldEvent{key: uint64(key), seq: o.seq, e: e})
	o.release()
}

// release passes on the held events that nothing undecided precedes.
func (o *orderer) release() {
	for len(o.held) > 0 {
		top := o.held[0]
		switch {
		case o.undecided == 0 || int64(top.key) < o.undecided:
		case len(o.held) > maxHeldEvents:
			o.forced++
		default:
			return
		}
		heap.Pop(&o.held)
		o.out(top.e)
	}
}

// flush passes on everything held (at the end of the capture).
func (o *orderer) flush() {
	o.undecided = 0
	o.release()
}
