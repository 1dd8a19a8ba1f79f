package tcpstate

import (
	"bytes"
	"sort"
	"sync"

	"github.com/nettrace/nettrace/health"
)

// Out-of-order bytes are copied into pooled buffers of three size classes:
// a typical segment (MSS ≤ 1460) fits the smallest, and nothing is
// allocated once the pools are warm. Buffers go back to their pool as soon
// as their bytes are delivered or the connection ends.
const (
	class0 = 2 << 10
	class1 = 16 << 10
	class2 = 64 << 10
)

var (
	pool0 = sync.Pool{New: func() any { return new([class0]byte) }}
	pool1 = sync.Pool{New: func() any { return new([class1]byte) }}
	pool2 = sync.Pool{New: func() any { return new([class2]byte) }}
)

// maxFree caps the Tracker's own list of free class-0 buffers (256 KiB);
// beyond it buffers go back to the shared pool.
const maxFree = 128

// getBuf returns a pooled buffer of length n (n ≤ class2). Class-0 buffers
// come first from the Tracker's free list: it is used by one goroutine, so
// it needs none of sync.Pool's synchronisation on the per-segment path.
func (t *Tracker) getBuf(n int) []byte {
	switch {
	case n <= class0:
		if k := len(t.free0); k > 0 {
			b := t.free0[k-1]
			t.free0[k-1] = nil
			t.free0 = t.free0[:k-1]
			return b[:n]
		}
		return pool0.Get().(*[class0]byte)[:n]
	case n <= class1:
		return pool1.Get().(*[class1]byte)[:n]
	default:
		return pool2.Get().(*[class2]byte)[:n]
	}
}

// putBuf returns a buffer from getBuf to the free list or its pool.
func (t *Tracker) putBuf(b []byte) {
	switch cap(b) {
	case class0:
		if len(t.free0) < maxFree {
			t.free0 = append(t.free0, (*[class0]byte)(b[:class0]))
			return
		}
		pool0.Put((*[class0]byte)(b[:class0]))
	case class1:
		pool1.Put((*[class1]byte)(b[:class1]))
	case class2:
		pool2.Put((*[class2]byte)(b[:class2]))
	}
}

// chunk is a run of buffered out-of-order bytes of one frame.
type chunk struct {
	seq  uint32
	data []byte // pooled
	at   Position
}

func (c *chunk) end() uint32 { return c.seq + uint32(len(c.data)) }

// dirHalf is one direction of a connection, named after its sender: the
// sender's endpoint state and the reassembly of the bytes it sends.
type dirHalf struct {
	state tcpState

	// tshark's base_seq: the ISN, or the first sequence number seen minus
	// one when the connection was picked up mid-stream.
	baseSet bool
	base    uint32

	synSeen bool
	isn     uint32

	nextSet bool
	next    uint32 // next sequence number to deliver
	highEnd uint32 // highest segment end seen (valid when nextSet)

	finSeen  bool
	finSeq   uint32
	finAcked bool

	// synData is payload carried on this side's SYN, held until the peer's
	// ACK says whether it was accepted.
	synData []byte
	synAt   Position

	ooo      []chunk // buffered out-of-order bytes, sorted, non-overlapping
	buffered int

	// kept[keptHead:] holds copies of delivered bytes that the receiver
	// has not acknowledged yet, oldest first, to check retransmissions
	// against (bounded by Config.MaxRetainPerConn; keptMem counts buffer
	// sizes). Acknowledged chunks are dropped by moving keptHead, so that
	// an ACK shifts nothing; their cleared slots are reclaimed when the
	// slice is full (see pushKept). keptHead is 0 whenever kept is empty,
	// so len(kept) > 0 says whether any bytes are kept.
	kept     []chunk
	keptHead int
	keptMem  int
}

// liveKept returns the kept chunks of h, oldest first.
func (h *dirHalf) liveKept() []chunk { return h.kept[h.keptHead:] }

// limitHit says which cap stopped buffer.
type limitHit struct{ perConn bool }

// feed delivers in-order bytes to the handler and counts them.
func (c *conn) feed(d Dir, data []byte, at Position) {
	if len(data) == 0 {
		return
	}
	c.st.Bytes[d] += int64(len(data))
	if c.h != nil && !c.handlerClosed {
		c.h.Feed(d, data, at)
	}
}

func (c *conn) gap(d Dir, n uint32, at Position) {
	if n == 0 {
		return
	}
	c.gapBytes[d] += int64(n)
	c.z.skipped(d)
	if c.h != nil && !c.handlerClosed {
		c.h.Gap(d, int(n), at)
	}
}

// data takes the payload of a non-SYN segment of direction d starting at
// seq. Bytes before the reassembly point were delivered already (the first
// copy wins); bytes at it are delivered at once, without copying; later
// bytes are buffered until the hole before them fills or is declared lost.
func (c *conn) data(d Dir, seq uint32, payload []byte, at Position) {
	h := &c.halves[d]
	if h.synData != nil && seq == h.isn+1 {
		// Fresh data where the SYN's payload would go: the sender did not
		// count on the SYN payload (or resends it); this copy wins.
		c.dropSynData(h)
	}
	if h.finSeen {
		// Nothing follows a FIN (RFC 9293, 3.10.7.4): drop bytes past it.
		if !rsLT(seq, h.finSeq) {
			return
		}
		if k := h.finSeq - seq; uint32(len(payload)) > k {
			payload = payload[:k]
		}
	}
	end := seq + uint32(len(payload))
	if rsLT(h.highEnd, end) {
		h.highEnd = end
	}
	if len(h.ooo) > 0 || (len(h.kept) > 0 && rsLT(seq, h.next)) {
		c.checkOverlap(d, seq, payload, at)
	}
	retried := false
	for len(payload) > 0 {
		if len(h.ooo) > 0 { // drain has nothing to do otherwise
			c.drain(d)
		}
		if rsLT(seq, h.next) {
			skip := h.next - seq
			if uint32(len(payload)) <= skip {
				return
			}
			payload, seq = payload[skip:], h.next
			continue
		}
		if seq != h.next {
			hit, ok := c.buffer(d, seq, payload, at)
			if ok {
				return
			}
			c.bufferLimit(d, hit, len(payload), at)
			if retried {
				// Still no room (the global budget is held by other
				// connections): skip the hole and deliver in order.
				c.flushTo(d, seq, at)
			}
			retried = true
			continue
		}
		n := len(payload)
		if len(h.ooo) > 0 {
			if k := h.ooo[0].seq - seq; int(k) < n {
				n = int(k)
			}
		}
		c.feed(d, payload[:n], at)
		c.retain(h, seq, payload[:n], at)
		h.next += uint32(n)
		payload, seq = payload[n:], seq+uint32(n)
	}
	if len(h.ooo) > 0 {
		c.drain(d)
	}
}

// checkOverlap compares payload with the bytes kept for the same sequence
// numbers — delivered and not yet acknowledged, or buffered out of order —
// and reports the first difference (tcp.overlap_conflict).
func (c *conn) checkOverlap(d Dir, seq uint32, payload []byte, at Position) {
	h := &c.halves[d]
	for _, list := range [2][]chunk{h.liveKept(), h.ooo} {
		if ch, lo, hi := firstConflict(list, seq, payload); ch != nil {
			c.ctx.Event(health.Event{
				Kind: health.TCPOverlapConflict, Severity: health.Warning,
				Time: at.Time, Frame: at.Frame,
				Message: "retransmitted " + d.String() + " bytes differ from the copy received first; the first copy is kept",
				Evidence: map[string]any{
					"seq": lo - h.base, "len": hi - lo, "first_frame": ch.at.Frame, // seq: relative, first differing byte
				},
			})
			return
		}
	}
}

// firstConflict returns the first chunk of list (sorted, non-overlapping)
// whose bytes differ from payload at seq, the sequence number of the first
// differing byte and the end of the overlap.
func firstConflict(list []chunk, seq uint32, payload []byte) (*chunk, uint32, uint32) {
	end := seq + uint32(len(payload))
	i := sort.Search(len(list), func(i int) bool { return rsLT(seq, list[i].end()) })
	for ; i < len(list) && rsLT(list[i].seq, end); i++ {
		ch := &list[i]
		lo, hi := ch.seq, ch.end()
		if rsLT(lo, seq) {
			lo = seq
		}
		if rsLT(end, hi) {
			hi = end
		}
		a, b := ch.data[lo-ch.seq:hi-ch.seq], payload[lo-seq:hi-seq]
		if !bytes.Equal(a, b) {
			k := 0
			for a[k] == b[k] {
				k++
			}
			return ch, lo + uint32(k), hi
		}
	}
	return nil, 0, 0
}

// retain keeps a copy of delivered bytes until the receiver acknowledges
// them, within Config.MaxRetainPerConn (oldest dropped first) and
// Config.MaxRetainTotal (not kept when full).
func (c *conn) retain(h *dirHalf, seq uint32, data []byte, at Position) {
	lim := c.t.cfg.MaxRetainPerConn
	for lim > 0 && len(data) > 0 {
		n := min(len(data), class2)
		size := bufSize(n)
		for h.keptMem+size > lim && len(h.kept) > 0 {
			c.unkeep(h, 1)
		}
		if h.keptMem+size > lim || c.t.retained+size > c.t.cfg.MaxRetainTotal {
			return
		}
		// The caps were checked above for this buffer's size: keep it.
		buf := c.t.getBuf(n)
		copy(buf, data[:n])
		c.pushKept(h, seq, buf, at)
		data, seq = data[n:], seq+uint32(n)
	}
}

// keep appends the pooled buffer data (bytes from seq, of frame at) to the
// kept bytes, or returns it to its pool when the caps leave no room.
func (c *conn) keep(h *dirHalf, seq uint32, data []byte, at Position) {
	size := cap(data)
	lim := c.t.cfg.MaxRetainPerConn
	for h.keptMem+size > lim && len(h.kept) > 0 {
		c.unkeep(h, 1)
	}
	if lim <= 0 || h.keptMem+size > lim || c.t.retained+size > c.t.cfg.MaxRetainTotal {
		c.t.putBuf(data)
		return
	}
	c.pushKept(h, seq, data, at)
}

// pushKept appends a chunk the caps have room for to the kept bytes. When
// the slice is full and at least half of it is dropped slots, the live
// chunks move to its front first, so the slice grows only with the number
// of chunks kept and each chunk is moved O(1) times on average.
func (c *conn) pushKept(h *dirHalf, seq uint32, data []byte, at Position) {
	if n := len(h.kept); n == cap(h.kept) && h.keptHead > 0 && 2*h.keptHead >= n {
		live := copy(h.kept, h.kept[h.keptHead:])
		clear(h.kept[live:])
		h.kept, h.keptHead = h.kept[:live], 0
	}
	// Fill the new slot field by field: a chunk literal is built on the
	// stack and copied, and that copy stalls on store forwarding.
	if n := len(h.kept); n < cap(h.kept) {
		h.kept = h.kept[:n+1]
	} else {
		h.kept = append(h.kept, chunk{})
	}
	ch := &h.kept[len(h.kept)-1]
	ch.seq, ch.data, ch.at = seq, data, at
	size := cap(data)
	h.keptMem += size
	c.t.retained += size
}

// unkeep drops the k oldest kept chunks of h.
func (c *conn) unkeep(h *dirHalf, k int) {
	drop := h.kept[h.keptHead : h.keptHead+k]
	for i := range drop {
		size := cap(drop[i].data)
		h.keptMem -= size
		c.t.retained -= size
		c.t.putBuf(drop[i].data)
		drop[i] = chunk{}
	}
	h.keptHead += k
	if h.keptHead == len(h.kept) {
		h.kept, h.keptHead = h.kept[:0], 0
	}
}

// ackKept drops the kept bytes of d that ack acknowledges.
func (c *conn) ackKept(d Dir, ack uint32) {
	h := &c.halves[d]
	live := h.liveKept()
	k := 0
	for k < len(live) && rsLE(live[k].end(), ack) {
		k++
	}
	if k > 0 {
		c.unkeep(h, k)
	}
}

// bufSize is the size of the pooled buffer getBuf(n) returns.
func bufSize(n int) int {
	switch {
	case n <= class0:
		return class0
	case n <= class1:
		return class1
	}
	return class2
}

// buffer copies the parts of payload not yet buffered. It reports false
// (and which cap) when a cap stops it; the parts stored before stay.
func (c *conn) buffer(d Dir, seq uint32, payload []byte, at Position) (limitHit, bool) {
	h := &c.halves[d]
	i := sort.Search(len(h.ooo), func(i int) bool { return rsLT(seq, h.ooo[i].end()) })
	for len(payload) > 0 {
		if i < len(h.ooo) && rsLE(h.ooo[i].seq, seq) {
			skip := h.ooo[i].end() - seq
			if uint32(len(payload)) <= skip {
				return limitHit{}, true
			}
			payload, seq = payload[skip:], seq+skip
			i++
			continue
		}
		n := len(payload)
		if i < len(h.ooo) {
			if k := h.ooo[i].seq - seq; int(k) < n {
				n = int(k)
			}
		}
		if n > class2 {
			n = class2
		}
		if h.buffered+n > c.t.cfg.MaxBufferPerConn {
			return limitHit{perConn: true}, false
		}
		if c.t.buffered+n > c.t.cfg.MaxBufferTotal {
			return limitHit{}, false
		}
		buf := c.t.getBuf(n)
		copy(buf, payload[:n])
		h.ooo = append(h.ooo, chunk{})
		copy(h.ooo[i+1:], h.ooo[i:])
		h.ooo[i] = chunk{seq: seq, data: buf, at: at}
		h.buffered += n
		c.t.buffered += n
		i++
		payload, seq = payload[n:], seq+uint32(n)
	}
	return limitHit{}, true
}

// bufferLimit handles a reached cap for direction d: it skips the holes
// of d from the lowest up, delivering the buffered bytes after each, until
// half the per-direction cap is free (or, for the global cap, until need
// more bytes fit), and reports how many bytes were skipped.
func (c *conn) bufferLimit(d Dir, hit limitHit, need int, at Position) {
	h := &c.halves[d]
	limit, scope := c.t.cfg.MaxBufferTotal, "all connections"
	if hit.perConn {
		limit, scope = c.t.cfg.MaxBufferPerConn, "one direction"
	}
	before := c.gapBytes[d]
	for len(h.ooo) > 0 {
		if hit.perConn && h.buffered <= c.t.cfg.MaxBufferPerConn/2 {
			break
		}
		if !hit.perConn && c.t.buffered+need <= c.t.cfg.MaxBufferTotal {
			break
		}
		c.flushTo(d, h.ooo[0].seq, h.ooo[0].at)
	}
	c.ctx.Event(health.Event{
		Kind: health.TCPBufferLimit, Severity: health.Warning,
		Time: at.Time, Frame: at.Frame,
		Message: "reassembly buffer for " + scope + " full: the " + d.String() +
			" stream skips its oldest missing bytes and goes on",
		Evidence: map[string]any{"limit": limit, "dropped": c.gapBytes[d] - before, "dir": d.String()},
	})
}

// drain delivers the buffered chunks that the reassembly point reached.
func (c *conn) drain(d Dir) {
	h := &c.halves[d]
	k := 0
	for k < len(h.ooo) {
		ch := &h.ooo[k]
		if rsLT(h.next, ch.seq) {
			break
		}
		if end := ch.end(); rsLT(h.next, end) {
			whole := h.next == ch.seq
			c.feed(d, ch.data[h.next-ch.seq:], ch.at)
			h.next = end
			if whole {
				// Delivered as buffered: keep it for the overlap check
				// instead of copying again.
				n := len(ch.data)
				h.buffered -= n
				c.t.buffered -= n
				c.keep(h, ch.seq, ch.data, ch.at)
				*ch = chunk{}
			}
		}
		k++
	}
	if k > 0 {
		c.release(h, k)
	}
}

// release returns the first k chunks of h to the pools.
func (c *conn) release(h *dirHalf, k int) {
	for i := 0; i < k; i++ {
		if h.ooo[i].data == nil {
			continue // moved to kept by drain
		}
		n := len(h.ooo[i].data)
		h.buffered -= n
		c.t.buffered -= n
		c.t.putBuf(h.ooo[i].data)
		h.ooo[i] = chunk{}
	}
	rest := copy(h.ooo, h.ooo[k:])
	for i := rest; i < len(h.ooo); i++ {
		h.ooo[i] = chunk{}
	}
	h.ooo = h.ooo[:rest]
}

// flushTo moves the reassembly point of d to target: holes become gaps and
// buffered bytes before target are delivered. at names the frame that
// declared the hole lost when no buffered frame follows it.
func (c *conn) flushTo(d Dir, target uint32, at Position) {
	h := &c.halves[d]
	if !h.nextSet {
		return
	}
	for {
		c.drain(d)
		if !rsLT(h.next, target) {
			return
		}
		gapEnd, gapAt := target, at
		if len(h.ooo) > 0 && rsLT(h.ooo[0].seq, target) {
			gapEnd, gapAt = h.ooo[0].seq, h.ooo[0].at
		}
		c.gap(d, gapEnd-h.next, gapAt)
		h.next = gapEnd
	}
}

// flushAll ends the reassembly of d: every hole up to the highest byte
// seen becomes a gap and every buffered byte is delivered.
func (c *conn) flushAll(d Dir, at Position) {
	h := &c.halves[d]
	if !h.nextSet {
		return
	}
	target := h.highEnd
	if n := len(h.ooo); n > 0 && rsLT(target, h.ooo[n-1].end()) {
		target = h.ooo[n-1].end()
	}
	if h.finSeen && rsLT(h.finSeq, target) {
		target = h.finSeq
	}
	c.flushTo(d, target, at)
}

// freeBuffers returns every buffer of the connection to the pools.
func (c *conn) freeBuffers() {
	for d := range c.halves {
		h := &c.halves[d]
		c.release(h, len(h.ooo))
		h.ooo = nil
		c.unkeep(h, len(h.liveKept()))
		h.kept, h.keptHead = nil, 0
		c.dropSynData(h)
	}
}

// holdSynData keeps a copy of the payload of a SYN or SYN-ACK of d. It is
// delivered only when the peer acknowledges it (RFC 9293 allows data on a
// SYN; Linux ignores data on a SYN-ACK and acknowledges ISN+1, casebook
// C1), so that injected or refused SYN data never shifts the stream.
func (c *conn) holdSynData(h *dirHalf, payload []byte, at Position) {
	if h.synData != nil || len(payload) == 0 {
		return
	}
	if len(payload) > class2 {
		payload = payload[:class2]
	}
	if c.t.buffered+len(payload) > c.t.cfg.MaxBufferTotal {
		return
	}
	h.synData = c.t.getBuf(len(payload))
	copy(h.synData, payload)
	h.synAt = at
	c.t.buffered += len(payload)
}

func (c *conn) dropSynData(h *dirHalf) {
	if h.synData == nil {
		return
	}
	c.t.buffered -= len(h.synData)
	c.t.putBuf(h.synData)
	h.synData = nil
}

// ackSynData settles the SYN payload of d on the peer's acknowledgment
// ack: delivered when ack covers it, dropped when ack is ISN+1.
func (c *conn) ackSynData(d Dir, ack uint32) {
	h := &c.halves[d]
	first := h.isn + 1
	if !rsLT(first, ack) {
		if ack == first {
			c.dropSynData(h)
		}
		return
	}
	buf, at := h.synData, h.synAt
	// Detach before delivering: data() drops synData at ISN+1.
	h.synData = nil
	c.t.buffered -= len(buf)
	data := buf
	if n := ack - first; uint32(len(data)) > n {
		data = data[:n]
	}
	c.data(d, first, data, at)
	c.t.putBuf(buf)
}
