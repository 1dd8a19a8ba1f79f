package tds

import "github.com/nettrace/nettrace/tcpstate"

// Held implements tcpstate.Holder: the bytes the connection buffers
// between deliveries (partial units, messages being reassembled, token
// bytes awaiting the rest of a token, and the TLS decoder of an encrypted
// login).
func (c *Conn) Held() int {
	n := 0
	for d := range c.half {
		h := &c.half[d]
		n += cap(h.buf) + h.top.held()
		for _, f := range h.smp {
			n += cap(f.buf) + f.msg.held()
		}
	}
	if t, ok := c.tlsH.(tcpstate.Holder); ok {
		n += t.Held()
	}
	return n
}

// held returns the bytes a message being reassembled buffers.
func (ms *msgState) held() int { return cap(ms.payload) + cap(ms.tok.pending) }

// Shed implements tcpstate.Holder: the memory budget needs the buffered
// bytes back. They are dropped as after a gap (the partial message is
// lost, each direction resynchronises on the next packet header) and the
// buffers are released, not kept for reuse.
func (c *Conn) Shed(at tcpstate.Position) int {
	freed := c.Held()
	for d := range c.half {
		h := &c.half[d]
		if h.dead || (len(h.buf) == 0 && !h.top.active && len(h.smp) == 0) {
			h.buf = nil
			continue
		}
		h.buf, h.tlsRemain = nil, 0
		for _, f := range h.smp {
			f.buf, f.msg = nil, msgState{}
		}
		if !h.resync {
			h.startResync(resyncShed)
		}
	}
	if t, ok := c.tlsH.(tcpstate.Holder); ok {
		t.Shed(at)
	}
	return freed - c.Held()
}
