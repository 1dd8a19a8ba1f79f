package smb

import "github.com/nettrace/nettrace/tcpstate"

// pendingCost is about what one pending request holds: the request, its
// map entry and its key in the eviction queue.
const pendingCost = 256

// Held implements tcpstate.Holder: the bytes the connection buffers
// between deliveries (partial PDUs, pending requests, and what the
// handlers of its named pipes buffer).
func (c *Conn) Held() int {
	n := cap(c.half[0].buf) + cap(c.half[1].buf) + len(c.pending)*pendingCost
	if c.pipes > 0 {
		for _, f := range c.files {
			if h, ok := f.handler.(tcpstate.Holder); ok {
				n += h.Held()
			}
		}
	}
	return n
}

// Shed implements tcpstate.Holder: the memory budget needs the buffered
// bytes back. A partial PDU is dropped as after a gap (the direction
// resynchronises on the next SMB header), pending requests are forgotten
// (their responses are then decoded without a request, as in a capture
// that started after them), and the pipe handlers shed theirs.
func (c *Conn) Shed(at tcpstate.Position) int {
	before := c.Held()
	for d := range c.half {
		h := &c.half[d]
		if !h.resync && (len(h.buf) > 0 || h.skip > 0) {
			h.need, h.skip, h.lazy = 0, 0, false
			c.startResync(tcpstate.Dir(d), resyncShed)
		}
		h.buf, h.box = nil, nil
	}
	c.pending = make(map[reqKey]*request) // a cleared map keeps its buckets
	c.pendQ = nil
	c.lastCreate = nil
	if c.pipes > 0 {
		for _, f := range c.files {
			if h, ok := f.handler.(tcpstate.Holder); ok {
				h.Shed(at)
			}
		}
	}
	return before - c.Held()
}
