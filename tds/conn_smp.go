package tds

import (
	"errors"

	"github.com/nettrace/nettrace/tcpstate"
)

// smpPacket handles one SMP packet ([MC-SMP] 2.2): DATA payloads feed the
// session's TDS framer; SYN, ACK and FIN only open, acknowledge and close
// sessions.
func (c *Conn) smpPacket(dir tcpstate.Dir, h *half, hdr SMPHeader, payload []byte, start, at tcpstate.Position) {
	sid := int(hdr.SID)
	if c.want {
		h := hdr
		c.message(&Message{Origin: c.origin(at), Kind: KindSMP, Dir: dir, SMP: &h})
	}
	if h.smp == nil {
		h.smp = map[int]*framer{} // MARS seen: resync also looks for SMP headers
	}
	if hdr.Flags != SMPData || len(payload) == 0 {
		if hdr.Flags == SMPFin {
			delete(h.smp, sid)
		}
		return
	}
	f := h.smp[sid]
	if f == nil {
		if len(h.smp) >= c.lim.MaxSessions {
			h.ignored += int64(len(payload))
			return
		}
		f = &framer{}
		h.smp[sid] = f
	}
	c.smpData(dir, sid, f, payload, start, at)
}

// smpData frames the TDS packets of session sid from one DATA payload
// (which started at start), keeping an incomplete packet for the next.
func (c *Conn) smpData(dir tcpstate.Dir, sid int, f *framer, payload []byte, start, at tcpstate.Position) {
	if len(f.buf) == 0 {
		f.start = start
	}
	whole := join(&f.buf, payload)
	buf := whole
	pstart := f.start
	for len(buf) > 0 {
		p, rest, err := ParsePacket(buf)
		if errors.Is(err, ErrTruncated) {
			break
		}
		if err != nil {
			// The session's TDS stream is broken: report once, drop its
			// partial data; the SMP framing itself is still intact.
			c.emitMalformed(dir, at, err)
			f.msg = msgState{}
			buf = buf[len(buf):]
			break
		}
		c.packet(dir, sid, &f.msg, p, pstart, at)
		pstart = at
		buf = rest
	}
	if len(buf) > 0 && len(buf) <= len(payload) {
		f.start = at
	}
	if len(buf) > 0xFFFF+HeaderLen { // cannot happen with valid packets; cap anyway
		buf = buf[len(buf):]
	}
	f.buf = keepTail(f.buf, whole, len(whole)-len(buf))
}

// session returns the request/response state of SMP session sid (noSession
// without MARS). Beyond Limits.MaxSessions sessions, new ones share one
// state rather than grow the map.
func (c *Conn) session(sid int) *session {
	s := c.sessions[sid]
	if s == nil {
		if len(c.sessions) > c.lim.MaxSessions {
			if c.overflow == nil {
				c.overflow = &session{id: sid}
			}
			return c.overflow
		}
		s = &session{id: sid}
		c.sessions[sid] = s
	}
	return s
}
