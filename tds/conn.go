package tds

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// noSession is the session key of a connection without SMP (MARS).
const noSession = -1

// The methods of Conn are split by message family: this file holds the
// state and the framing (Feed, Gap, Close: TDS packets, SMP packets and raw
// TLS records); conn_resync.go finds the framing again after a gap or a
// malformed unit; conn_smp.go demultiplexes MARS sessions; conn_message.go
// reassembles messages from packets; conn_login.go handles PRELOGIN, the
// TLS hand-off, LOGIN7, SSPI and LOGINACK; conn_request.go handles SQL
// batch, RPC and the other requests and pairs them with their responses;
// conn_attention.go handles ATTENTION; conn_tokens.go decodes the server's
// token stream; conn_events.go holds the event helpers and the latency
// split reported at Close.

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
	gaveUp       bool // not decoded any more (Sybase TDS 5.0, pre-TDS 7 login)
	sawMSTDS     bool // a PRELOGIN, LOGIN7 or TDS 7+ request framed: not Sybase
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
	reason    resyncReason // why the current resync started
	losses    int          // gaps and resyncs: bytes of this direction not decoded
	units     int          // units framed (TDS packets, SMP packets, TLS records)
	scanned   int
	waitLen   int // resync: bytes the waiting candidate needs (from buf[0])
	lastScan  int // resync: len(buf) at the last scan
	scans     int // resync scans done (tests check they stay few)
	dead      bool
	ignored   int64
	firstErr  error
	cut       incomplete // messages that never ended (decode.incomplete)
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
	notes     []ServerNote // ERROR and INFO tokens with their text, for the decoded message
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
	if len(h.buf) == 0 {
		h.start = at
	}
	buf := join(&h.buf, data)
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

// join returns the bytes to decode: data itself when nothing is pending
// (no copy), else *pending with data appended.
func join(pending *[]byte, data []byte) []byte {
	if len(*pending) == 0 {
		return data
	}
	*pending = append(*pending, data...)
	return *pending
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
// A unit that needs more bytes ends the drain; a malformed one starts a
// resync.
func (c *Conn) drain(dir tcpstate.Dir, h *half, buf []byte, at tcpstate.Position) int {
	off := 0
	start := h.start
	for off < len(buf) {
		if h.resync {
			n, found := c.resync(dir, h, buf[off:], at)
			off += n
			if !found {
				return off
			}
			start = at
			continue
		}
		n, err := c.unit(dir, h, buf[off:], start, at)
		if errors.Is(err, ErrTruncated) {
			return off
		}
		if err == nil && c.gaveUp {
			return off + n
		}
		if err != nil {
			if c.sybaseHeader(dir, buf[off:], at) {
				return off
			}
			c.bad(dir, at, err)
			continue
		}
		h.units++
		off += n
		start = at
	}
	return off
}

// unit decodes the unit at the front of b and returns its length: a raw
// TLS record (once TLS began, PRELOGIN negotiated it, or before any TDS),
// an SMP packet ([MC-SMP] 2.2) or a TDS packet ([MS-TDS] 2.2.3).
func (c *Conn) unit(dir tcpstate.Dir, h *half, b []byte, start, at tcpstate.Position) (int, error) {
	switch {
	case isTLSRecord(b) && (c.tlsStarted || c.encryptTLS || !c.sawTDS):
		return c.tlsRecord(dir, h, b, at)
	case b[0] == smpID:
		hdr, payload, _, err := ParseSMP(b)
		if err != nil {
			return 0, err
		}
		c.sawTDS = true
		c.smpPacket(dir, h, hdr, payload, start, at)
		return int(hdr.Length), nil
	default:
		p, _, err := ParsePacket(b)
		if err != nil {
			return 0, err
		}
		c.sawTDS = true
		c.packet(dir, noSession, &h.top, p, start, at)
		return int(p.Length), nil
	}
}

// tlsRecord forwards the raw TLS record at the front of b (RFC 5246,
// 6.2.1) to the TLS handler. A record that runs past b is forwarded as far
// as it goes; Feed forwards the rest of it (h.tlsRemain) as it arrives.
func (c *Conn) tlsRecord(dir tcpstate.Dir, h *half, b []byte, at tcpstate.Position) (int, error) {
	if len(b) < 5 {
		return 0, truncated("tls record", 5)
	}
	n := tlsRecordLen(b)
	if n > maxTLSRecord {
		return 0, malformed("tls record", fmt.Sprintf("length %d", n))
	}
	k := min(n, len(b))
	c.feedTLS(dir, b[:k], at)
	if dir == tcpstate.ServerToClient {
		c.serverSpoke = true
	}
	h.tlsRemain = n - k
	return k, nil
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
	for _, f := range h.smp {
		f.buf, f.msg = f.buf[:0], msgState{}
	}
	if h.resync {
		// Already looking for a unit start: keep the reason and the count
		// of bytes skipped; a candidate waiting in the dropped bytes is gone.
		h.losses++
		h.waitLen, h.lastScan = 0, 0
	} else {
		h.startResync(resyncGap)
	}
	h.ignored += int64(n)
}

// Close implements tcpstate.StreamHandler.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	if c.closed {
		return
	}
	c.closed = true
	for d := range c.half {
		if h := &c.half[d]; h.resync && !h.dead && !c.gaveUp && h.scanned > 0 && h.reason != resyncBad {
			c.resyncGaveUp(tcpstate.Dir(d), fmt.Sprintf("the stream ended before the next TDS packet header (%d bytes skipped %s)", h.scanned, describeResync(h.reason)), at)
		}
	}
	for d := range c.half {
		c.reportIncomplete(tcpstate.Dir(d), reason, at)
	}
	c.preloginStalled(reason, at)
	for _, s := range c.sortedSessions() {
		if c.unanswered(s) {
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

// sortedSessions returns the sessions by id, for a stable order at Close.
func (c *Conn) sortedSessions() []*session {
	out := make([]*session, 0, len(c.sessions))
	for _, s := range c.sessions {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Finished implements tcpstate.Finisher: "" while a request is outstanding
// (no response yet, or a response still arriving), a packet or message is
// partial, or the connection is not (or no longer) decoded; else that every
// request was answered. While the session runs inside TLS (encryption on,
// or TDS 8.0's TLS first) the TDS is not visible: the TLS decoder's ending
// is used when it reports one.
func (c *Conn) Finished() string {
	if c.tlsStarted && (c.stats.Encryption == "on" || !c.sawTDS) {
		if f, ok := c.tlsH.(tcpstate.Finisher); ok {
			return f.Finished()
		}
		return ""
	}
	if c.gaveUp || c.stats.RequestCount == 0 {
		return ""
	}
	for _, s := range c.sessions {
		if s.pending != nil {
			return ""
		}
	}
	for d := range c.half {
		h := &c.half[d]
		if len(h.buf) > 0 || h.tlsRemain > 0 || h.resync || h.dead || h.top.active {
			return ""
		}
		for _, f := range h.smp {
			if len(f.buf) > 0 || f.msg.active {
				return ""
			}
		}
	}
	return "every TDS request was answered"
}
