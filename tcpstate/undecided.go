package tcpstate

// heldFrames is the multiset of the frames of retransmissions whose cause
// is still undecided, so that an output stage can hold later events until
// their tcp.*retransmission events come out (Tracker.OldestUndecided).
// Retransmissions are held in frame order (each at the frame being
// analysed), so the frames form a queue; decided ones are removed from the
// counts and skipped lazily at the front.
type heldFrames struct {
	queue []int64
	head  int
	count map[int64]int
}

func (h *heldFrames) add(frame int64) {
	if h == nil {
		return
	}
	if h.count == nil {
		h.count = map[int64]int{}
	}
	h.queue = append(h.queue, frame)
	h.count[frame]++
}

func (h *heldFrames) release(frame int64) {
	if h == nil {
		return
	}
	if n := h.count[frame]; n > 1 {
		h.count[frame] = n - 1
	} else {
		delete(h.count, frame)
	}
}

// oldest returns the smallest held frame, 0 when none is held.
func (h *heldFrames) oldest() int64 {
	for h.head < len(h.queue) && h.count[h.queue[h.head]] == 0 {
		h.head++
	}
	if h.head == len(h.queue) {
		h.queue, h.head = h.queue[:0], 0
		return 0
	}
	if h.head > 1024 && h.head > len(h.queue)/2 { // reclaim the skipped front
		h.queue = append(h.queue[:0], h.queue[h.head:]...)
		h.head = 0
	}
	return h.queue[h.head]
}

// OldestUndecided returns the frame of the oldest retransmission whose
// event is still held back until the receiver's answer decides its cause
// (at most eight per direction of each connection; all are decided when the
// connection closes), or 0 when none is. An output stage that sorts events
// by frame can release everything before it.
func (t *Tracker) OldestUndecided() int64 { return t.held.oldest() }
