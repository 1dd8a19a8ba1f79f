package tds

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// noSession is the session key of a connection without SMP (MARS).
const noSession = -1

// loginFailureNumbers are server errors that end a login ([MS-TDS] and SQL
// Server's documented login errors): login failed, untrusted domain,
// account locked / expired / must change password, disabled, cannot open
// the requested database, single-user / upgrade mode.
var loginFailureNumbers = map[int32]bool{18456: true, 18452: true, 18486: true, 18487: true, 18488: true,
	18470: true, 4060: true, 4064: true, 18401: true, 18451: true, 18461: true}

// Conn decodes one TDS connection. It implements tcpstate.StreamHandler.
// It is not safe for concurrent use.
type Conn struct {
	ctx  *tcpstate.StreamContext
	cfg  Config
	lim  Limits
	want bool

	half     [2]half
	sessions map[int]*session
	overflow *session

	version      TDSVersion
	clientPL     *Prelogin
	encryptTLS   bool // PRELOGIN negotiated TLS (login only or all)
	tlsStarted   bool
	tlsMade      bool
	tlsH         tcpstate.StreamHandler
	sawTDS       bool
	loggedIn     bool
	preloginSent bool
	preloginAt   tcpstate.Position
	serverSpoke  bool
	closed       bool
	dirKnown     bool
	swapped      bool // the tracker guessed the ends wrong (mid-stream pickup)

	serverTimes []time.Duration
	thinkTimes  []time.Duration
	evCount     map[health.Kind]int
	malformed   [2]bool

	stats Stats

	// onPacket, when set (tests), sees every TDS packet header with the
	// frame of its last byte.
	onPacket func(dir tcpstate.Dir, h Header, at tcpstate.Position)
}

type half struct {
	buf       []byte
	start     tcpstate.Position // position of buf[0]
	top       msgState
	smp       map[int]*framer // SMP sessions (DATA payload streams)
	tlsRemain int             // bytes of the current raw TLS record still to forward
	resync    bool
	scanned   int
	waitLen   int // resync: bytes the waiting candidate needs (from buf[0])
	lastScan  int // resync: len(buf) at the last scan
	scans     int // resync scans done (tests check they stay few)
	dead      bool
	ignored   int64
	firstErr  error
}

// framer reassembles TDS packets from an SMP session's DATA payloads.
type framer struct {
	buf   []byte
	start tcpstate.Position
	msg   msgState
}

// msgState is the message being reassembled in one direction of a session.
type msgState struct {
	active   bool
	first    Header
	last     Header
	start    tcpstate.Position
	packets  int
	length   int
	payload  []byte
	capped   bool
	tls      bool
	prelogin bool // a server response to PRELOGIN: buffered, parsed as PRELOGIN
	tok      tokenStream
}

// tokenStream is the incremental token decoder of one response message.
type tokenStream struct {
	ctx       TokenContext
	pending   []byte
	stopped   bool
	err       error
	skipped   int
	count     int
	rows      int64
	doneRows  int64
	doneCount bool
	doneError bool
	attnAck   bool
	loginAck  *LoginAck
	errors    []ServerMessage
	infos     int
	names     []string
	lastName  string
	repeat    int
	rowValues [][]any
}

// session holds request/response matching state of one SMP session (or
// the whole connection without MARS).
type session struct {
	id          int
	pending     *request
	lastRespEnd tcpstate.Position
	hasLastResp bool
}

type request struct {
	Request
	start     tcpstate.Position
	firstResp tcpstate.Position
	gotResp   bool
	attnAt    tcpstate.Position
	login     bool
	prelogin  bool
}

// NewConn returns the decoder for one connection: a tcpstate.StreamHandler
// that frames and decodes both directions, hands TLS to cfg.TLS, matches
// requests with responses and reports events through ctx. When the first
// packet shows that ctx's client and server are the wrong way round (a
// connection picked up mid-stream), it decodes with the directions
// exchanged. Zero fields of cfg take the defaults of DefaultConfig.
func NewConn(ctx *tcpstate.StreamContext, cfg Config) *Conn {
	if cfg.SlowQuery == 0 {
		cfg.SlowQuery = time.Second
	}
	c := &Conn{ctx: ctx, cfg: cfg, lim: cfg.Limits.withDefaults(), sessions: map[int]*session{}}
	c.want = ctx.Reporter != nil && ctx.Reporter.WantMessages()
	c.stats.Client, c.stats.Server, c.stats.Flow = ctx.Client, ctx.Server, ctx.Flow
	return c
}

// Stats returns the statistics gathered so far. The value is owned by the
// Conn and changes as it decodes.
func (c *Conn) Stats() *Stats {
	c.stats.RTT = c.ctx.RTT
	return &c.stats
}

// Feed implements tcpstate.StreamHandler.
func (c *Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	if dir > 1 || len(data) == 0 {
		return
	}
	if !c.dirKnown {
		c.decideDir(dir, data)
	}
	if c.swapped {
		dir = dir.Other()
	}
	h := &c.half[dir]
	if h.dead || c.closed {
		h.ignored += int64(len(data))
		return
	}
	// Raw TLS record bytes pass straight through.
	if h.tlsRemain > 0 {
		n := min(h.tlsRemain, len(data))
		c.feedTLS(dir, data[:n], at)
		h.tlsRemain -= n
		data = data[n:]
		if len(data) == 0 {
			return
		}
	}
	buf := data
	if len(h.buf) > 0 {
		h.buf = append(h.buf, data...)
		buf = h.buf
	} else {
		h.start = at
	}
	off := c.drain(dir, h, buf, at)
	rest := buf[off:]
	if len(rest) > 0 && len(rest) <= len(data) && off > 0 {
		h.start = at
	}
	if h.dead {
		h.ignored += int64(len(rest))
		h.buf = h.buf[:0]
		return
	}
	h.buf = keepTail(h.buf, buf, off)
}

// keepTail keeps buf[off:] in store for the next delivery. buf is either
// store itself (then the tail is moved down, and nothing moves when
// nothing was consumed) or the caller's data (then it is copied).
func keepTail(store, buf []byte, off int) []byte {
	if len(store) > 0 && len(buf) > 0 && &store[0] == &buf[0] {
		if off == 0 {
			return store
		}
		n := copy(store, store[off:])
		return store[:n]
	}
	return append(store[:0], buf[off:]...)
}

// decideDir looks at the first packet header of the connection: a
// connection picked up mid-stream may have its client and server guessed
// wrong (the tracker then takes the higher port as the client). A response
// packet from the "client", or a request packet other than PRELOGIN from
// the "server", means the ends are swapped; the Conn then decodes with the
// directions exchanged.
func (c *Conn) decideDir(dir tcpstate.Dir, data []byte) {
	if len(data) < HeaderLen {
		return // decide on a later, longer delivery
	}
	c.dirKnown = true
	if !plausibleHeader(dir, data, false) && plausibleHeader(dir.Other(), data, false) {
		c.swapped = true
		c.stats.Client, c.stats.Server = c.stats.Server, c.stats.Client
	}
}

// drain frames units (TDS packets, SMP packets, raw TLS records) from buf
// and returns the bytes consumed. The first unit starts at h.start, later
// ones in the current Feed (at): units never complete before a Feed ends.
func (c *Conn) drain(dir tcpstate.Dir, h *half, buf []byte, at tcpstate.Position) int {
	off := 0
	start := h.start
	for off < len(buf) {
		b := buf[off:]
		if h.resync {
			// While a candidate waits for its bytes, rescan only when it can
			// be decided or 1 KiB more arrived: 1-byte deliveries must not
			// make resynchronisation quadratic.
			if h.waitLen > 0 && len(b) < h.waitLen && len(b)-h.lastScan < 1024 {
				return off
			}
			i, wait, need := c.scan(dir, b)
			h.scans++
			h.waitLen, h.lastScan = 0, 0
			if wait {
				h.waitLen, h.lastScan = need-i, len(b)-i
			}
			if i < 0 {
				keep := min(len(b), HeaderLen-1)
				skip := len(b) - keep
				h.ignored += int64(skip)
				h.scanned += skip
				off += skip
				if h.scanned > c.lim.ResyncScan {
					h.dead = true
				}
				return off
			}
			h.ignored += int64(i)
			h.scanned += i
			off += i
			if wait {
				return off
			}
			h.resync, h.scanned = false, 0
			start = at
			continue
		}
		switch {
		case isTLSRecord(b) && (c.tlsStarted || c.encryptTLS || !c.sawTDS):
			if len(b) < 5 {
				return off
			}
			n := tlsRecordLen(b)
			if n > maxTLSRecord {
				c.bad(dir, at, malformed("tls record", fmt.Sprintf("length %d", n)))
				continue
			}
			k := min(n, len(b))
			c.feedTLS(dir, b[:k], at)
			if dir == tcpstate.ServerToClient {
				c.serverSpoke = true
			}
			h.tlsRemain = n - k
			off += k
			if h.tlsRemain > 0 {
				// The rest of the record arrives in later Feeds; nothing
				// else can be in buf.
				return len(buf)
			}
		case b[0] == smpID:
			hdr, payload, _, err := ParseSMP(b)
			if errors.Is(err, ErrTruncated) {
				return off
			}
			if err != nil {
				c.bad(dir, at, err)
				continue
			}
			c.sawTDS = true
			c.smpPacket(dir, h, hdr, payload, start, at)
			off += int(hdr.Length)
		default:
			p, _, err := ParsePacket(b)
			if errors.Is(err, ErrTruncated) {
				return off
			}
			if err != nil {
				c.bad(dir, at, err)
				continue
			}
			c.sawTDS = true
			c.packet(dir, noSession, &h.top, p, start, at)
			off += int(p.Length)
		}
		start = at
	}
	return off
}

// scan returns the offset of the first verified unit start in b: a
// plausible packet header whose packet is complete and followed by the end
// of b or by another plausible header (or, once TLS was seen, a TLS record
// header). Without one, it returns the first candidate that needs more bytes
// to be verified, with wait set and need the length of b that decides it,
// or -1 when b holds no candidate.
func (c *Conn) scan(dir tcpstate.Dir, b []byte) (int, bool, int) {
	firstWait, need := -1, 0
	wait := func(i, n int) {
		if firstWait < 0 {
			firstWait, need = i, i+n
		}
	}
	for i := 0; i < len(b); i++ {
		rest := b[i:]
		if c.half[dir].smp != nil && len(rest) > 0 && rest[0] == smpID {
			_, _, _, err := ParseSMP(rest)
			if err == nil {
				return i, false, 0
			}
			var pe *ParseError
			if errors.As(err, &pe) && errors.Is(err, ErrTruncated) {
				wait(i, pe.Need+1)
			}
			continue
		}
		if c.tlsStarted && isTLSRecord(rest) {
			if len(rest) < 5 {
				wait(i, 5)
				continue
			}
			if tlsRecordLen(rest) <= maxTLSRecord {
				return i, false, 0
			}
			continue
		}
		if len(rest) < HeaderLen {
			if partialHeader(dir, rest) {
				wait(i, HeaderLen)
			}
			continue
		}
		if !plausibleHeader(dir, rest, false) {
			continue
		}
		_, after, err := ParsePacket(rest)
		switch {
		case err != nil: // truncated: the header is plausible, the packet incomplete
			n := HeaderLen + 1
			var pe *ParseError
			if errors.As(err, &pe) && pe.Need > 0 {
				n = pe.Need + 1
			}
			wait(i, n)
		case len(after) == 0:
			return i, false, 0
		case len(after) < HeaderLen:
			if partialHeader(dir, after) {
				return i, false, 0
			}
		case plausibleHeader(dir, after, false):
			return i, false, 0
		}
	}
	if firstWait >= 0 {
		return firstWait, true, need
	}
	return -1, false, 0
}

// partialHeader reports whether b (shorter than a header) may start one.
func partialHeader(dir tcpstate.Dir, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	t := PacketType(b[0])
	if dir == tcpstate.ClientToServer && !t.fromClient() || dir == tcpstate.ServerToClient && !t.fromServer() {
		return false
	}
	return len(b) < 2 || Status(b[1])&^statusKnown == 0
}

// bad reports malformed framing once per direction and starts a resync.
func (c *Conn) bad(dir tcpstate.Dir, at tcpstate.Position, err error) {
	h := &c.half[dir]
	var pe *ParseError
	if errors.As(err, &pe) {
		pe.Frame = at.Frame
	}
	if h.firstErr == nil {
		h.firstErr = err
		c.emitMalformed(dir, at, err)
	}
	h.resync, h.scanned, h.waitLen, h.lastScan = true, 0, 0, 0
	h.top = msgState{}
}

func (c *Conn) emitMalformed(dir tcpstate.Dir, at tcpstate.Position, err error) {
	if c.malformed[dir] {
		return
	}
	c.malformed[dir] = true
	c.event(health.Event{Kind: health.TDSMalformed, Severity: health.Warning, Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("unparseable TDS from the %s: %v", dir, err),
		Evidence: map[string]any{"error": err.Error(), "dir": dir.String()}})
}

// Gap implements tcpstate.StreamHandler: the partial unit and message are
// dropped and the direction resynchronises on the next packet header.
func (c *Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	if dir > 1 || c.closed {
		return
	}
	if c.swapped {
		dir = dir.Other()
	}
	h := &c.half[dir]
	if h.tlsRemain > 0 && c.tlsH != nil {
		c.tlsH.Gap(dir, n, at)
	}
	h.tlsRemain = 0
	h.buf = h.buf[:0]
	h.top = msgState{}
	for _, f := range h.smp {
		f.buf, f.msg = f.buf[:0], msgState{}
	}
	h.resync, h.scanned, h.waitLen, h.lastScan = true, 0, 0, 0
	h.ignored += int64(n)
}

// Close implements tcpstate.StreamHandler.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	if c.closed {
		return
	}
	c.closed = true
	if c.preloginSent && !c.serverSpoke {
		waited := at.Time.Sub(c.preloginAt.Time)
		c.event(health.Event{Kind: health.TDSPreloginStalled, Severity: health.Error, Time: at.Time, Frame: c.preloginAt.Frame,
			Message: fmt.Sprintf("PRELOGIN (frame %d) never answered: the server accepted the TCP connection but sent no TDS bytes in %.1f s before the connection ended (%s) — the client's \"timeout during ConsumePreLoginHandshake\"",
				c.preloginAt.Frame, waited.Seconds(), reason),
			Evidence: map[string]any{"waited_ms": millis(waited), "prelogin_frame": c.preloginAt.Frame, "close": reason.String()}})
	}
	for _, s := range c.sortedSessions() {
		if s.pending != nil && !s.pending.gotResp {
			c.stats.Unanswered++
			c.keepRequest(&s.pending.Request)
			s.pending = nil
		}
	}
	c.latencySplit(at)
	if c.tlsH != nil {
		c.tlsH.Close(reason, at)
	}
	if c.cfg.OnClose != nil {
		c.cfg.OnClose(c.ctx, c.Stats())
	}
}

func (c *Conn) sortedSessions() []*session {
	out := make([]*session, 0, len(c.sessions))
	for _, s := range c.sessions {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (c *Conn) feedTLS(dir tcpstate.Dir, b []byte, at tcpstate.Position) {
	c.tlsStarted = true
	c.stats.TLSBytes[dir] += int64(len(b))
	if !c.tlsMade {
		c.tlsMade = true
		if c.cfg.TLS != nil {
			c.tlsH = c.cfg.TLS(c.ctx)
		}
	}
	if c.tlsH != nil {
		c.tlsH.Feed(dir, b, at)
	}
}

// smpPacket handles one SMP packet: DATA payloads feed the session's TDS
// framer; SYN/ACK/FIN only open, acknowledge and close sessions.
func (c *Conn) smpPacket(dir tcpstate.Dir, h *half, hdr SMPHeader, payload []byte, start, at tcpstate.Position) {
	sid := int(hdr.SID)
	if c.want {
		c.ctx.Reporter.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "tds",
			Fields: map[string]any{"dir": dir.String(), "smp": hdr.Flags.String(), "smp_sid": hdr.SID,
				"smp_seqnum": hdr.SeqNum, "smp_window": hdr.Window, "length": hdr.Length}})
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
	buf := payload
	if len(f.buf) > 0 {
		f.buf = append(f.buf, payload...)
		buf = f.buf
	} else {
		f.start = start
	}
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
	whole := payload
	if len(f.buf) > 0 {
		whole = f.buf
	}
	f.buf = keepTail(f.buf, whole, len(whole)-len(buf))
}

func (c *Conn) session(sid int) *session {
	s := c.sessions[sid]
	if s == nil {
		if len(c.sessions) > c.lim.MaxSessions {
			// Too many SMP sessions: share one state rather than grow.
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

// packet handles one TDS packet of a session. start is the position of the
// packet's first byte, at the position of its last.
func (c *Conn) packet(dir tcpstate.Dir, sid int, ms *msgState, p Packet, start, at tcpstate.Position) {
	if c.onPacket != nil {
		c.onPacket(dir, p.Header, at)
	}
	c.stats.Packets[dir]++
	if (dir == tcpstate.ClientToServer) != p.Type.fromClient() {
		// A response type from the client or a request type from the
		// server (other than PRELOGIN): count it, decode nothing.
		if !(dir == tcpstate.ServerToClient && p.Type == TypePrelogin) {
			// Framing is intact: report once and skip the packet.
			c.emitMalformed(dir, at, withFrame(malformed("packet", fmt.Sprintf("%s packet from the %s", p.Type, dir)), at.Frame))
			return
		}
	}
	if ms.active && ms.first.Type != p.Type {
		*ms = msgState{} // a new message began without the previous EOM
	}
	sess := c.session(sid)
	if !ms.active {
		// Reuse the buffers of the previous message of this direction.
		payload, pending, cols, row := ms.payload[:0], ms.tok.pending[:0], ms.tok.ctx.Columns[:0], ms.tok.ctx.row[:0]
		*ms = msgState{active: true, first: p.Header, start: start, payload: payload,
			tok: tokenStream{pending: pending, ctx: TokenContext{Version: c.version, MaxColumns: c.lim.MaxColumns, Columns: cols, row: row}}}
		ms.tls = (p.Type == TypePrelogin || p.Type == TypeResponse && c.encryptTLS && !c.loggedIn) && isTLSRecord(p.Payload)
		if dir == tcpstate.ServerToClient {
			c.serverSpoke = true
			if ms.tls {
				// The server's TLS handshake answers the client's.
			} else if sess.pending != nil && !sess.pending.gotResp {
				sess.pending.gotResp = true
				sess.pending.firstResp = start
			}
			ms.prelogin = !ms.tls && sess.pending != nil && sess.pending.prelogin
		}
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
		if room := c.lim.MaxMessage - len(ms.payload); room > 0 {
			ms.payload = append(ms.payload, p.Payload[:min(room, len(p.Payload))]...)
			if room < len(p.Payload) {
				ms.capped = true
			}
		} else if len(p.Payload) > 0 {
			ms.capped = true
		}
	}
	if p.EOM() {
		c.stats.Messages[dir]++
		if dir == tcpstate.ClientToServer {
			c.clientMessage(sess, ms, at)
		} else {
			c.serverMessage(sess, ms, at)
		}
		ms.active = false
	}
}

// baseFields returns the header fields of a message.
func (c *Conn) baseFields(dir tcpstate.Dir, sid int, ms *msgState) map[string]any {
	f := map[string]any{
		"dir":       dir.String(),
		"type":      ms.first.Type.String(),
		"type_code": uint8(ms.first.Type),
		"status":    uint8(ms.last.Status),
		"length":    ms.length,
		"spid":      ms.last.SPID,
		"packet_id": ms.last.PacketID,
		"packets":   ms.packets,
	}
	if sid != noSession {
		f["smp_sid"] = sid
	}
	if ms.capped {
		f["capped"] = true
	}
	return f
}

func (c *Conn) message(fields map[string]any, at tcpstate.Position) {
	c.ctx.Reporter.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "tds", Fields: fields})
}

// clientMessage handles a complete client message.
func (c *Conn) clientMessage(sess *session, ms *msgState, at tcpstate.Position) {
	var f map[string]any
	if c.want {
		f = c.baseFields(tcpstate.ClientToServer, sess.id, ms)
	}
	req := &request{start: ms.start}
	req.Frame, req.Time, req.Type, req.Session = at.Frame, at.Time, ms.first.Type, sess.id
	req.Database = c.stats.Database
	isRequest := true
	if ms.tls {
		if f != nil {
			f["tls"] = true
			c.message(f, at)
		}
		return
	}
	var perr error
	switch ms.first.Type {
	case TypePrelogin:
		pl, _, err := ParsePrelogin(ms.payload)
		if err != nil {
			perr = err
			break
		}
		c.clientPL = &pl
		if pl.HasInstance {
			c.stats.Instance = pl.Instance
		}
		req.prelogin = true
		if !c.preloginSent {
			c.preloginSent, c.preloginAt = true, at
		}
		if f != nil {
			f["prelogin"] = pl.fields()
		}
	case TypeLogin7:
		l, _, err := ParseLogin7(ms.payload)
		if err != nil {
			perr = err
			req.login = true
			break
		}
		req.login = true
		if c.version == 0 {
			c.version = l.TDSVersion
		}
		c.stats.User, c.stats.App, c.stats.Host = l.UserName, l.AppName, l.HostName
		if l.Database != "" {
			c.stats.Database = l.Database
		}
		req.Text = "LOGIN " + l.UserName
		if f != nil {
			f["login"] = l.fields()
		}
	case TypeSQLBatch:
		q, _, err := ParseSQLBatch(ms.payload, c.lim.MaxSQLText)
		if err != nil {
			perr = err
			break
		}
		req.Text = q.SQL
		if f != nil {
			f["sql"] = q.SQL
			if q.Truncated || ms.capped {
				f["sql_truncated"] = true
			}
			if q.Headers.HasTransaction {
				f["transaction_descriptor"] = q.Headers.TransactionDescriptor
				f["outstanding_requests"] = q.Headers.OutstandingRequestCount
			}
		}
	case TypeRPC:
		r, _, err := ParseRPC(ms.payload, c.lim.MaxParams, c.lim.MaxSQLText)
		if err != nil {
			perr = err
			break
		}
		req.Proc = r.ProcName
		req.Text = r.ProcName
		if r.Statement != "" {
			req.Text = r.Statement
		}
		if f != nil {
			f["rpc_proc"] = r.ProcName
			if r.ProcID != 0 {
				f["rpc_proc_id"] = uint16(r.ProcID)
			}
			if r.Statement != "" {
				f["sql"] = r.Statement
			}
			ps := make([]map[string]any, 0, len(r.Params))
			for _, p := range r.Params {
				pm := map[string]any{"name": p.Name, "type": p.Type.String()}
				if p.Status&0x01 != 0 {
					pm["output"] = true
				}
				ps = append(ps, pm)
			}
			f["rpc_params"] = ps
			if r.Partial || ms.capped {
				f["rpc_partial"] = true
			}
		}
	case TypeAttention:
		isRequest = false
		c.stats.Attentions++
		if p := sess.pending; p != nil {
			p.Attention = true
			p.attnAt = at
			after := at.Time.Sub(p.Time)
			if f != nil {
				f["attention_after_ms"] = millis(after)
			}
			c.limitedEvent(health.Event{Kind: health.TDSAttention, Severity: health.Notice, Time: at.Time, Frame: at.Frame,
				Message: fmt.Sprintf("client cancelled its %s (frame %d) after %.0f ms (attention) — often a client-side query timeout",
					p.Type, p.Frame, after.Seconds()*1000),
				Evidence: map[string]any{"after_ms": millis(after), "request_frame": p.Frame, "sql": p.Text, "answered": p.gotResp}})
		}
	case TypeTransactionManager:
		t, _, err := ParseTMRequest(ms.payload)
		if err != nil {
			perr = err
			break
		}
		req.Text = t.RequestName()
		if f != nil {
			f["tm_request"] = t.RequestName()
		}
	case TypeBulkLoad:
		req.Text = "BULK LOAD"
		if f != nil {
			f["bulk_load_bytes"] = ms.length - ms.packets*HeaderLen
		}
	case TypeSSPI, TypeFedAuthToken:
		req.login = true
		req.Text = ms.first.Type.String()
		if f != nil {
			f["auth_bytes"] = ms.length - ms.packets*HeaderLen
		}
	default:
		req.Text = ms.first.Type.String()
	}
	if perr != nil {
		c.emitMalformed(tcpstate.ClientToServer, at, perr)
		if f != nil {
			f["error"] = perr.Error()
		}
	}
	if f != nil {
		c.message(f, at)
	}
	if !isRequest {
		return
	}
	if ms.first.Status&StatusIgnore != 0 {
		return // the client told the server to ignore it
	}
	if p := sess.pending; p != nil && !p.gotResp {
		c.stats.Unanswered++
		c.keepRequest(&p.Request)
	}
	if sess.hasLastResp {
		c.thinkTimes = appendCapped(c.thinkTimes, ms.start.Time.Sub(sess.lastRespEnd.Time), c.lim.MaxRequests)
	}
	sess.pending = req
	c.stats.RequestCount++
}

// serverMessage handles a complete server message: the response to the
// session's pending request.
func (c *Conn) serverMessage(sess *session, ms *msgState, at tcpstate.Position) {
	var f map[string]any
	if c.want {
		f = c.baseFields(tcpstate.ServerToClient, sess.id, ms)
	}
	if ms.tls {
		if f != nil {
			f["tls"] = true
			c.message(f, at)
		}
		return
	}
	req := sess.pending
	if ms.prelogin {
		pl, _, err := ParsePrelogin(ms.payload)
		if err != nil {
			c.emitMalformed(tcpstate.ServerToClient, at, err)
			if f != nil {
				f["error"] = err.Error()
			}
		} else {
			c.preloginResponse(&pl, at)
			if f != nil {
				f["prelogin"] = pl.fields()
			}
		}
	} else {
		c.endTokens(ms, at)
		c.applyTokens(req, ms, at)
		if f != nil {
			ts := &ms.tok
			c.flushName(ts)
			f["tokens"] = ts.names
			f["rows"] = ts.rows
			if len(ts.errors) > 0 {
				nums := make([]int32, len(ts.errors))
				for i, e := range ts.errors {
					nums[i] = e.Number
				}
				f["errors"] = nums
			}
			if ts.loginAck != nil {
				f["loginack"] = map[string]any{"interface": ts.loginAck.Interface, "tds_version": ts.loginAck.TDSVersion.String(),
					"server": ts.loginAck.ProgName, "server_version": ts.loginAck.ServerVersion()}
			}
			if len(ts.rowValues) > 0 {
				f["row_values"] = ts.rowValues
			}
			if ts.err != nil {
				f["error"] = ts.err.Error()
			}
			if ts.skipped > 0 {
				f["undecoded_bytes"] = ts.skipped
			}
		}
	}
	if req != nil && req.gotResp {
		req.Answered = true
		req.ResponseFrame = at.Frame
		req.ServerTime = max(0, req.firstResp.Time.Sub(req.Time))
		req.TransferTime = max(0, at.Time.Sub(req.firstResp.Time))
		if f != nil {
			f["request_frame"] = req.Frame
			f["server_ms"] = millis(req.ServerTime)
			f["transfer_ms"] = millis(req.TransferTime)
		}
		c.serverTimes = appendCapped(c.serverTimes, req.ServerTime, c.lim.MaxRequests)
		if c.cfg.SlowQuery > 0 && req.ServerTime > c.cfg.SlowQuery && !req.prelogin {
			c.limitedEvent(health.Event{Kind: health.TDSSlowQuery, Severity: health.Notice, Time: at.Time, Frame: req.Frame,
				Message: fmt.Sprintf("%s (frame %d) took %.0f ms of server time before the first response byte (frame %d); threshold %.0f ms",
					req.Type, req.Frame, req.ServerTime.Seconds()*1000, at.Frame, c.cfg.SlowQuery.Seconds()*1000),
				Evidence: map[string]any{"server_ms": millis(req.ServerTime), "sql": req.Text, "response_frame": at.Frame, "rows": req.Rows}})
		}
		c.keepRequest(&req.Request)
		sess.pending = nil
	}
	sess.lastRespEnd, sess.hasLastResp = at, true
	if f != nil {
		c.message(f, at)
	}
}

func appendCapped(s []time.Duration, d time.Duration, n int) []time.Duration {
	if len(s) >= n {
		return s
	}
	return append(s, d)
}

func (c *Conn) keepRequest(r *Request) {
	if len(c.stats.Requests) < c.lim.MaxRequests {
		c.stats.Requests = append(c.stats.Requests, *r)
	}
}

// preloginResponse checks the server's PRELOGIN against the client's.
func (c *Conn) preloginResponse(srv *Prelogin, at tcpstate.Position) {
	if c.clientPL == nil || !c.clientPL.HasEncryption || !srv.HasEncryption {
		if srv.HasEncryption && srv.Encryption&^EncryptClientCert != EncryptNotSup {
			c.encryptTLS = true
		}
		return
	}
	cl, sv := c.clientPL.Encryption&^EncryptClientCert, srv.Encryption&^EncryptClientCert
	mismatch := cl == EncryptNotSup && sv == EncryptReq || (cl == EncryptOn || cl == EncryptReq) && sv == EncryptNotSup
	switch {
	case mismatch:
		c.stats.Encryption = "mismatch"
		who := "the server requires encryption but the client does not support it: the server closes the connection"
		if sv == EncryptNotSup {
			who = "the client requires encryption but the server does not support it: the client closes the connection"
		}
		c.event(health.Event{Kind: health.TDSEncryptionMismatch, Severity: health.Error, Time: at.Time, Frame: at.Frame,
			Message:  fmt.Sprintf("PRELOGIN encryption mismatch: client %s, server %s — %s", c.clientPL.Encryption, srv.Encryption, who),
			Evidence: map[string]any{"client": c.clientPL.Encryption.String(), "server": srv.Encryption.String()}})
	case cl == EncryptNotSup || sv == EncryptNotSup:
		c.stats.Encryption = "off"
	case cl == EncryptOff && sv == EncryptOff:
		c.stats.Encryption = "login only"
		c.encryptTLS = true
	default:
		c.stats.Encryption = "on"
		c.encryptTLS = true
	}
}

// feedTokens decodes the tokens of one response packet payload. A token may
// span packets: its start is kept (up to Limits.MaxToken) until complete.
func (c *Conn) feedTokens(ms *msgState, payload []byte, at tcpstate.Position) {
	ts := &ms.tok
	if ts.stopped {
		ts.skipped += len(payload)
		return
	}
	b := payload
	if len(ts.pending) > 0 {
		ts.pending = append(ts.pending, payload...)
		b = ts.pending
	}
	for len(b) > 0 {
		if ts.count >= c.lim.MaxTokensPerMessage {
			ts.stopped = true
			ts.skipped += len(b)
			b = nil
			break
		}
		tok, rest, err := ParseToken(b, &ts.ctx)
		if errors.Is(err, ErrTruncated) {
			break
		}
		if err != nil {
			ts.err = err
			ts.stopped = true
			ts.skipped += len(b)
			b = nil
			break
		}
		ts.count++
		c.token(ts, &tok, at)
		b = rest
	}
	if len(b) > c.lim.MaxToken {
		ts.stopped = true
		ts.skipped += len(b)
		b = nil
	}
	whole := payload
	if len(ts.pending) > 0 {
		whole = ts.pending
	}
	ts.pending = keepTail(ts.pending, whole, len(whole)-len(b))
}

// endTokens finishes a response's token stream at EOM.
func (c *Conn) endTokens(ms *msgState, at tcpstate.Position) {
	ts := &ms.tok
	if len(ts.pending) > 0 && c.version == 0 && ts.ctx.Version == 0 && !ts.stopped {
		// Unknown version (picked up mid-stream): a TDS 7.0/7.1 server's
		// 9-byte DONE tokens leave bytes over under the 7.2 layout. Retry
		// the rest with the 7.1 layout and keep it when it parses whole.
		ctx := ts.ctx
		ctx.Version = TDS71
		b := ts.pending
		var toks []Token
		for len(b) > 0 {
			tok, rest, err := ParseToken(b, &ctx)
			if err != nil || (tok.Type != TokenDone && tok.Type != TokenDoneProc && tok.Type != TokenDoneInProc && tok.Type != TokenReturnStatus) {
				break
			}
			toks = append(toks, tok)
			b = rest
		}
		if len(b) == 0 {
			c.version = TDS71
			for i := range toks {
				c.token(ts, &toks[i], at)
			}
			ts.pending = ts.pending[:0]
		}
	}
	if len(ts.pending) > 0 {
		ts.skipped += len(ts.pending)
		if ts.err == nil {
			ts.err = truncated("token stream", 0)
			ts.err.(*ParseError).Detail = fmt.Sprintf("%d bytes at the end of the response do not form a token", len(ts.pending))
		}
		ts.pending = ts.pending[:0]
		// With the version known from the login, a complete response must
		// end on a token boundary: bytes over are a broken token stream.
		// Picked up mid-stream (version unknown) they may be a layout we
		// guessed wrong, so they are only counted.
		if c.version != 0 && !ts.stopped {
			c.emitMalformed(tcpstate.ServerToClient, at, ts.err)
		}
	}
	if ts.err != nil && errors.Is(ts.err, ErrMalformed) {
		c.emitMalformed(tcpstate.ServerToClient, at, ts.err)
	}
}

func (c *Conn) addName(ts *tokenStream, name string) {
	if name == ts.lastName && (name == "ROW" || name == "NBCROW") {
		ts.repeat++
		return
	}
	c.flushName(ts)
	ts.lastName, ts.repeat = name, 1
}

func (c *Conn) flushName(ts *tokenStream) {
	if ts.lastName == "" || !c.want {
		ts.lastName = ""
		return
	}
	n := ts.lastName
	if ts.repeat > 1 {
		n = fmt.Sprintf("%s×%d", n, ts.repeat)
	}
	if len(ts.names) < 64 {
		ts.names = append(ts.names, n)
	} else if len(ts.names) == 64 {
		ts.names = append(ts.names, "…")
	}
	ts.lastName, ts.repeat = "", 0
}

// token records one token of a response.
func (c *Conn) token(ts *tokenStream, t *Token, at tcpstate.Position) {
	name := t.Type.String()
	switch t.Type {
	case TokenRow, TokenNBCRow:
		ts.rows++
		if c.want && len(ts.rowValues) < c.lim.MaxRowValues {
			vals := make([]any, len(t.Row))
			for i := range t.Row {
				vals[i] = t.Row[i].Interface(ts.ctx.Columns[i].Type, 64)
			}
			ts.rowValues = append(ts.rowValues, vals)
		}
	case TokenColMetadata:
		if c.want {
			cols := make([]string, 0, len(ts.ctx.Columns))
			for _, col := range ts.ctx.Columns {
				cols = append(cols, col.Name+" "+col.Type.String())
			}
			name = fmt.Sprintf("COLMETADATA(%s)", strings.Join(cols, ", "))
		}
	case TokenDone, TokenDoneProc, TokenDoneInProc:
		d := t.Done
		if d.Status&DoneCount != 0 {
			ts.doneRows += int64(d.RowCount)
			ts.doneCount = true
		}
		if d.Status&DoneError != 0 || d.Status&DoneSrvError != 0 {
			ts.doneError = true
		}
		if d.Status&DoneAttn != 0 {
			ts.attnAck = true
		}
		if c.want {
			name = fmt.Sprintf("%s(status=0x%x", name, d.Status)
			if d.Status&DoneCount != 0 {
				name += fmt.Sprintf(",rows=%d", d.RowCount)
			}
			if d.Status&DoneAttn != 0 {
				name += ",attn"
			}
			name += ")"
		}
	case TokenError:
		m := t.Info
		if len(ts.errors) < 16 {
			ts.errors = append(ts.errors, ServerMessage{Number: m.Number, State: m.State, Class: m.Class, Message: m.Message})
		}
		if c.want {
			name = fmt.Sprintf("ERROR(%d,class=%d,state=%d)", m.Number, m.Class, m.State)
		}
	case TokenInfo:
		ts.infos++
		if c.want {
			name = fmt.Sprintf("INFO(%d)", t.Info.Number)
		}
	case TokenLoginAck:
		la := t.LoginAck
		ts.loginAck = &la
		ts.ctx.Version = la.TDSVersion // the rest of this response uses it
	case TokenEnvChange:
		e := t.Env
		switch e.Type {
		case EnvDatabase:
			c.stats.Database = e.New
		case EnvPacketSize:
		case EnvRouting:
			c.event(health.Event{Kind: health.TDSRouting, Severity: health.Info, Time: at.Time, Frame: at.Frame,
				Message:  fmt.Sprintf("server routes the client to %s port %d (ENVCHANGE routing)", e.Server, e.Port),
				Evidence: map[string]any{"server": e.Server, "port": e.Port}})
		}
		if c.want {
			name = fmt.Sprintf("ENVCHANGE(%s=%s)", e.Name(), e.New)
		}
	case TokenReturnStatus:
		if c.want {
			name = fmt.Sprintf("RETURNSTATUS(%d)", t.ReturnStatus)
		}
	case TokenReturnValue:
		if c.want {
			name = fmt.Sprintf("RETURNVALUE(%s %s)", t.ReturnValue.Name, t.ReturnValue.Type)
		}
	case TokenFeatureExtAck:
		if c.want {
			fs := make([]string, len(t.Features))
			for i, f := range t.Features {
				fs[i] = f.ID.String()
			}
			name = fmt.Sprintf("FEATUREEXTACK(%s)", strings.Join(fs, ","))
		}
	}
	c.addName(ts, name)
}

// applyTokens applies a response's results to its request and raises the
// login, error and routing events.
func (c *Conn) applyTokens(req *request, ms *msgState, at tcpstate.Position) {
	ts := &ms.tok
	rows := ts.rows
	if rows == 0 && ts.doneCount {
		rows = ts.doneRows
	}
	if ts.loginAck != nil {
		c.version = ts.loginAck.TDSVersion
		c.stats.TDSVersion = ts.loginAck.TDSVersion
		c.stats.ServerName = ts.loginAck.ProgName
		c.stats.ServerVersion = ts.loginAck.ServerVersion()
		c.stats.LoginsOK++
		c.loggedIn = true
	} else if c.stats.TDSVersion == 0 {
		c.stats.TDSVersion = c.version
	}
	isLogin := req != nil && req.login
	loginFailed := false
	for i := range ts.errors {
		e := &ts.errors[i]
		e.Frame = at.Frame
		if (isLogin && ts.loginAck == nil) || (!c.loggedIn && loginFailureNumbers[e.Number]) {
			loginFailed = true
			if len(c.stats.LoginErrors) < 16 {
				c.stats.LoginErrors = append(c.stats.LoginErrors, *e)
			}
			c.event(health.Event{Kind: health.TDSLoginFailed, Severity: health.Error, Time: at.Time, Frame: at.Frame,
				Message:  fmt.Sprintf("login failed: error %d state %d class %d: %q (user %q)", e.Number, e.State, e.Class, e.Message, c.stats.User),
				Evidence: map[string]any{"number": e.Number, "state": e.State, "class": e.Class, "message": e.Message, "user": c.stats.User}})
			continue
		}
		if e.Class >= 11 {
			c.stats.Errors++
			if req != nil {
				req.Errors = append(req.Errors, e.Number)
			}
			sql := ""
			rf := int64(0)
			if req != nil {
				sql, rf = req.Text, req.Frame
			}
			c.limitedEvent(health.Event{Kind: health.TDSError, Severity: health.Warning, Time: at.Time, Frame: at.Frame,
				Message:  fmt.Sprintf("SQL Server error %d (class %d, state %d): %s", e.Number, e.Class, e.State, e.Message),
				Evidence: map[string]any{"number": e.Number, "class": e.Class, "state": e.State, "message": e.Message, "sql": sql, "request_frame": rf}})
		}
	}
	if loginFailed {
		c.stats.LoginsFailed++
	}
	if req != nil {
		req.Rows = rows
	}
}

// event reports e on this connection.
func (c *Conn) event(e health.Event) {
	if c.ctx.Reporter == nil {
		return
	}
	c.ctx.Event(e)
}

// limitedEvent reports e unless its kind reached Limits.MaxEvents.
func (c *Conn) limitedEvent(e health.Event) {
	if c.evCount == nil {
		c.evCount = map[health.Kind]int{}
	}
	c.evCount[e.Kind]++
	if c.evCount[e.Kind] > c.lim.MaxEvents {
		return
	}
	c.event(e)
}

// latencySplit reports, per connection, network round trip vs server time
// vs client think time (C15).
func (c *Conn) latencySplit(at tcpstate.Position) {
	if len(c.serverTimes) == 0 {
		return
	}
	st := append([]time.Duration(nil), c.serverTimes...)
	sort.Slice(st, func(i, j int) bool { return st[i] < st[j] })
	med, lo, hi := st[len(st)/2], st[0], st[len(st)-1]
	var think time.Duration
	if len(c.thinkTimes) > 0 {
		tt := append([]time.Duration(nil), c.thinkTimes...)
		sort.Slice(tt, func(i, j int) bool { return tt[i] < tt[j] })
		think = tt[len(tt)/2]
	}
	rtt := c.ctx.RTT
	ev := map[string]any{"requests": len(st), "server_ms_median": millis(med), "server_ms_min": millis(lo),
		"server_ms_max": millis(hi), "rtt_ms": millis(rtt), "think_ms_median": millis(think)}
	for k, n := range c.evCount {
		if n > c.lim.MaxEvents {
			ev["suppressed_"+strings.ReplaceAll(string(k), ".", "_")] = n - c.lim.MaxEvents
		}
	}
	var msg string
	switch {
	case rtt > 0 && med >= rtt/2:
		// Seen near the client: each server time includes a round trip.
		net := rtt
		slo, shi := max(0, lo-rtt), max(0, hi-rtt)
		ev["vantage"] = "client"
		ev["network_ms"] = millis(net)
		ev["server_est_ms_min"], ev["server_est_ms_max"] = millis(slo), millis(shi)
		msg = fmt.Sprintf("requests wait ~%.0f ms of network round trip (handshake RTT %.1f ms); the server answers in %.1f–%.1f ms (response time %.1f–%.1f ms minus the RTT) over %d requests",
			rtt.Seconds()*1000, rtt.Seconds()*1000, slo.Seconds()*1000, shi.Seconds()*1000, lo.Seconds()*1000, hi.Seconds()*1000, len(st))
	case rtt > 0:
		ev["vantage"] = "server"
		ev["network_ms"] = millis(rtt)
		msg = fmt.Sprintf("the server answers in %.1f–%.1f ms; the client's next request comes a median %.1f ms after each response, with a %.1f ms network round trip (handshake): the delay is in the network or the client, not the server (%d requests)",
			lo.Seconds()*1000, hi.Seconds()*1000, think.Seconds()*1000, rtt.Seconds()*1000, len(st))
	default:
		ev["vantage"] = "unknown"
		msg = fmt.Sprintf("server time %.1f–%.1f ms (median %.1f ms) over %d requests; client think time median %.1f ms; handshake RTT unknown",
			lo.Seconds()*1000, hi.Seconds()*1000, med.Seconds()*1000, len(st), think.Seconds()*1000)
	}
	frame := int64(0)
	if len(c.stats.Requests) > 0 {
		frame = c.stats.Requests[0].Frame
	}
	if frame == 0 {
		frame = at.Frame
	}
	c.event(health.Event{Kind: health.TDSLatencySplit, Severity: health.Info, Time: at.Time, Frame: frame, Message: msg, Evidence: ev})
}

// millis converts a duration to milliseconds with microsecond precision.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
