package tls

import "github.com/nettrace/nettrace/tcpstate"

// Held implements tcpstate.Holder: the bytes the connection buffers
// between deliveries (an incomplete record, handshake bytes not yet
// forming a message) and what the decoders of its plaintext buffer.
func (c *Conn) Held() int {
	n := 0
	for d := range c.half {
		n += cap(c.half[d].buf) + cap(c.half[d].hs)
	}
	for _, h := range [...]tcpstate.StreamHandler{c.plain, c.raw} {
		if hd, ok := h.(tcpstate.Holder); ok {
			n += hd.Held()
		}
	}
	return n
}

// Shed implements tcpstate.Holder: the memory budget needs the buffered
// bytes back. An incomplete record is dropped as after a gap (the
// direction scans for the next record header, and the plaintext decoders
// are told of the bytes they will not see); the plaintext decoders shed
// what they buffer.
func (c *Conn) Shed(at tcpstate.Position) int {
	before := c.Held()
	for d := range c.half {
		h := &c.half[d]
		dropped := len(h.buf) + len(h.hs)
		if dropped > 0 && h.err == nil {
			h.hsLost, h.synced, h.resync, h.afterGap = true, false, true, true
			if h.skipped == 0 {
				h.lostPos = at
			}
			h.lostWhy = lostShed
			c.plainGap(tcpstate.Dir(d), dropped, at)
		}
		h.buf, h.box, h.hs = nil, nil, nil
	}
	for _, h := range [...]tcpstate.StreamHandler{c.plain, c.raw} {
		if hd, ok := h.(tcpstate.Holder); ok {
			hd.Shed(at)
		}
	}
	return before - c.Held()
}

// plainGap tells the plaintext decoders that n bytes of dir will not reach
// them.
func (c *Conn) plainGap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	if c.plain != nil {
		c.plain.Gap(dir, n, at)
	}
	if c.raw != nil {
		c.raw.Gap(dir, n, at)
	}
}
