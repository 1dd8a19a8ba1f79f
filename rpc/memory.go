package rpc

import (
	"unsafe"

	"github.com/nettrace/nettrace/tcpstate"
)

// callCost is about what one open call holds besides its stub: the call,
// its map entry and its bound contexts.
const callCost = 192

// Held implements tcpstate.Holder: the bytes the connection buffers
// between deliveries (partial PDUs, open calls and the stubs being
// reassembled for the endpoint mapper or a Config.Stubs hook).
func (c *Conn) Held() int {
	n := len(c.calls) * callCost
	for d := range c.half {
		h := &c.half[d]
		n += cap(h.buf) + cap(h.marks)*int(unsafe.Sizeof(mark{}))
	}
	for _, cl := range c.calls {
		n += cap(cl.stub)
	}
	return n
}

// Shed implements tcpstate.Holder: the memory budget needs the buffered
// bytes back. A partial PDU is dropped as after a gap (the direction
// resynchronises on the next PDU header) and open calls are forgotten
// (their responses are decoded without their request, as in a capture
// that started after it).
func (c *Conn) Shed(at tcpstate.Position) int {
	before := c.Held()
	for d := range c.half {
		h := &c.half[d]
		if len(h.buf) > 0 && !h.resync && !h.dead {
			c.stats.BytesIgnored += int64(len(h.buf))
			h.resync, h.reason = true, resyncShed
			h.losses++
		}
		h.buf, h.marks = nil, nil
	}
	c.calls = make(map[uint32]*call) // a cleared map keeps its buckets
	return before - c.Held()
}
