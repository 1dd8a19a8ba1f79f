package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/tcpstate"
)

// packet handles one TDS packet of a session ([MS-TDS] 2.2.3): it adds the
// packet to the message being reassembled in ms and, at EOM, hands the
// message on. start is the position of the packet's first byte, at the
// position of its last.
func (c *Conn) packet(dir tcpstate.Dir, sid int, ms *msgState, p Packet, start, at tcpstate.Position) {
	if c.onPacket != nil {
		c.onPacket(dir, p.Header, at)
	}
	if dir == tcpstate.ClientToServer && p.Type == TypePreTDS7Login && !ms.active && !c.sawMSTDS {
		if major, minor, ok := legacyLoginVersion(p.Payload); ok {
			c.legacyLogin(dir, major, minor, at)
			return
		}
	}
	switch p.Type {
	case TypePrelogin, TypeLogin7, TypeSSPI, TypeFedAuthToken, TypeTransactionManager:
		c.sawMSTDS = true
	}
	c.stats.Packets[dir]++
	if !c.expectedType(dir, p, at) {
		return
	}
	if ms.active && ms.first.Type != p.Type {
		c.interrupt(dir, ms)
		*ms = msgState{} // a new message began without the previous EOM
	}
	sess := c.session(sid)
	if !ms.active {
		c.beginMessage(dir, sess, ms, p, start)
	}
	ms.packets++
	ms.length += int(p.Length)
	ms.last = p.Header
	switch {
	case ms.tls:
		c.feedTLS(dir, p.Payload, at)
	case dir == tcpstate.ServerToClient && !ms.prelogin:
		c.feedTokens(ms, p.Payload, at)
	default:
		ms.collect(p.Payload, c.lim.MaxMessage)
	}
	if p.EOM() {
		c.endMessage(dir, sess, ms, at)
	} else if c.want {
		c.packetMessage(dir, sid, ms, p.Header, at)
	}
}

// packetMessage reports a packet that does not end its message, at its
// own frame, as tshark shows every packet's header (tds.type, tds.status,
// tds.channel, tds.packet_number): the message itself is reported at its
// last packet.
func (c *Conn) packetMessage(dir tcpstate.Dir, sid int, ms *msgState, h Header, at tcpstate.Position) {
	c.message(&Message{Origin: c.origin(at), Kind: KindPacket, Dir: dir, Type: h.Type, Status: h.Status,
		PacketLength: h.Length, SPID: h.SPID, PacketID: h.PacketID, Packets: ms.packets,
		Session: sid, HasSession: sid != noSession})
}

// expectedType reports whether the end sending dir sends packets of p's
// type. A response type from the client or a request type from the server
// (other than PRELOGIN, which carries the server's TLS handshake) is
// counted and reported once, and decodes nothing; the framing is intact.
func (c *Conn) expectedType(dir tcpstate.Dir, p Packet, at tcpstate.Position) bool {
	if (dir == tcpstate.ClientToServer) == p.Type.fromClient() || dir == tcpstate.ServerToClient && p.Type == TypePrelogin {
		return true
	}
	c.emitMalformed(dir, at, withFrame(malformed("packet", fmt.Sprintf("%s packet from the %s", p.Type, dir)), at.Frame))
	return false
}

// beginMessage starts the message that p begins, reusing the buffers of the
// previous message of this direction. The first server packet after a
// request is the first byte of its response (unless it carries the
// server's TLS handshake); a response to PRELOGIN is buffered and parsed as
// PRELOGIN.
func (c *Conn) beginMessage(dir tcpstate.Dir, sess *session, ms *msgState, p Packet, start tcpstate.Position) {
	payload, pending, cols, row := ms.payload[:0], ms.tok.pending[:0], ms.tok.ctx.Columns[:0], ms.tok.ctx.row[:0]
	*ms = msgState{active: true, first: p.Header, start: start, payload: payload,
		tok: tokenStream{pending: pending, ctx: TokenContext{Version: c.version, MaxColumns: c.lim.MaxColumns, Columns: cols, row: row}}}
	ms.tls = (p.Type == TypePrelogin || p.Type == TypeResponse && c.encryptTLS && !c.loggedIn) && isTLSRecord(p.Payload)
	if dir != tcpstate.ServerToClient {
		return
	}
	c.serverSpoke = true
	if !ms.tls && sess.pending != nil && !sess.pending.gotResp {
		sess.pending.gotResp = true
		sess.pending.firstResp = start
	}
	ms.prelogin = !ms.tls && (sess.pending != nil && sess.pending.prelogin || c.unpromptedPrelogin(sess, p))
}

// unpromptedPrelogin reports whether p, the first packet of a server
// message that answers no request the capture showed, starts a PRELOGIN
// response ([MS-TDS] 2.2.6.5): the first server message of a connection
// whose client side was not captured (or not yet decoded), whose payload
// starts with the VERSION option — a byte no token stream starts with.
func (c *Conn) unpromptedPrelogin(sess *session, p Packet) bool {
	return sess.pending == nil && !c.loggedIn && c.stats.Messages[tcpstate.ServerToClient] == 0 &&
		p.Type == TypeResponse && len(p.Payload) >= 6 && PreloginOption(p.Payload[0]) == OptVersion
}

// collect appends a packet's payload to a buffered message, up to max
// bytes; capped records that bytes were dropped.
func (ms *msgState) collect(b []byte, max int) {
	if room := max - len(ms.payload); room > 0 {
		ms.payload = append(ms.payload, b[:min(room, len(b))]...)
		if room < len(b) {
			ms.capped = true
		}
	} else if len(b) > 0 {
		ms.capped = true
	}
}

// dataBytes returns the message's bytes after the packet headers.
func (ms *msgState) dataBytes() int { return ms.length - ms.packets*HeaderLen }

// endMessage handles a message at its EOM packet.
func (c *Conn) endMessage(dir tcpstate.Dir, sess *session, ms *msgState, at tcpstate.Position) {
	c.stats.Messages[dir]++
	switch {
	case ms.tls:
		if c.want {
			m := c.newMessage(dir, sess.id, ms, at)
			m.TLS = true
			c.message(m)
		}
	case dir == tcpstate.ClientToServer:
		c.clientMessage(sess, ms, at)
	default:
		c.serverMessage(sess, ms, at)
	}
	ms.active = false
}

// messageError reports a message of dir that did not parse: once per
// direction as an event, and in its decoded message m (when wanted).
func (c *Conn) messageError(dir tcpstate.Dir, m *Message, at tcpstate.Position, err error) {
	c.emitMalformed(dir, at, err)
	if m != nil {
		m.Error = err.Error()
	}
}
