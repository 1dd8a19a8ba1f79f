package http

import "github.com/nettrace/nettrace/tcpstate"

// requestCost is about what one request awaiting its response holds.
const requestCost = 128

// Held implements tcpstate.Holder: the bytes the connection buffers
// between deliveries (a line being collected, compressed bodies awaiting
// their end, requests awaiting their responses).
func (c *Conn) Held() int {
	n := len(c.pending) * requestCost
	for d := range c.half {
		h := &c.half[d]
		n += cap(h.lb.b) + cap(h.lb.marks)*16 + h.msg.compHeld()
	}
	return n
}

// Shed implements tcpstate.Holder: the memory budget needs the buffered
// bytes back. The compressed bodies being collected are dropped (each is
// then counted, not decoded, and its http.body_limit says why); a partial
// line, at most Limits.MaxHeaderBytes, is kept: dropping it would lose the
// message's framing.
func (c *Conn) Shed(at tcpstate.Position) int {
	freed := 0
	for d := range c.half {
		freed += c.half[d].msg.shedComp()
	}
	return freed
}

// compHeld is the capacity of the compressed body buffered.
func (b *bodyAcc) compHeld() int {
	if b.comp == nil {
		return 0
	}
	return cap(*b.comp)
}

// Held implements tcpstate.Holder: the bytes the connection buffers
// between deliveries (a frame being collected, the HPACK dynamic tables,
// compressed bodies awaiting their end, open streams).
func (c *H2Conn) Held() int {
	n := len(c.streams) * h2StreamCost
	for d := range c.half {
		h := &c.half[d]
		n += cap(h.buf) + int(h.tableMax)
	}
	for _, s := range c.streams {
		n += s.msg[0].compHeld() + s.msg[1].compHeld()
	}
	return n
}

// h2StreamCost is about what one open stream holds besides its body.
const h2StreamCost = 512

// Shed implements tcpstate.Holder: the compressed bodies of the open
// streams are dropped (counted, not decoded). The frame being collected
// and the HPACK tables are kept: without them the direction's later
// header blocks could not be decoded.
func (c *H2Conn) Shed(at tcpstate.Position) int {
	freed := 0
	for _, s := range c.streams {
		for i := range s.msg {
			freed += s.msg[i].shedComp()
		}
	}
	c.buffered = 0
	return freed
}
