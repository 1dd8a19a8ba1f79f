package rpc

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Endpoint is one endpoint advertised by an endpoint-mapper reply (one
// tower of ept_map or ept_lookup).
type Endpoint struct {
	// IP is the address the tower names; when the tower names none (or
	// 0.0.0.0) it is the EPM server's own address.
	IP netip.Addr
	// Port is the TCP, UDP or HTTP port (0 for pipes and local endpoints).
	Port uint16
	// Protocol is the transport: "tcp", "udp", "http", "pipe" (SMB named
	// pipe), "lrpc", "netbios" or "".
	Protocol string
	// Protseq is the protocol sequence ("ncacn_ip_tcp", "ncacn_np", …).
	Protseq string
	// Pipe is the named pipe or local endpoint name, when the tower has one.
	Pipe string
	// Interface is the interface UUID of the tower's first floor, with its
	// short name from the table ("" when unknown) and version.
	Interface     UUID
	InterfaceName string
	Version       uint16
	VersionMinor  uint16
	// Annotation is the ept_lookup annotation ("" for ept_map).
	Annotation string
	// Server is the address the EPM request was sent to (the connection's
	// server side).
	Server netip.AddrPort
	// AddressDiffers reports that the tower names an IP other than
	// Server's: a load balancer or NAT sits in front of the server
	// (casebook C4). Clients then connect to Server.Addr():Port.
	AddressDiffers bool
	// Frame is the frame that completed the EPM reply.
	Frame int64
}

// Addrs returns the addresses a later connection to this endpoint may
// use: IP:Port, and, when AddressDiffers, also Server's IP with Port (a
// client behind a VIP connects to the address it asked). It returns nil for
// endpoints without a port.
func (e Endpoint) Addrs() []netip.AddrPort {
	if e.Port == 0 || !e.IP.IsValid() {
		return nil
	}
	out := []netip.AddrPort{netip.AddrPortFrom(e.IP, e.Port)}
	if e.AddressDiffers && e.Server.IsValid() {
		out = append(out, netip.AddrPortFrom(e.Server.Addr(), e.Port))
	}
	return out
}

// Config configures a Conn. The zero value works; DefaultConfig documents
// the defaults.
type Config struct {
	// Learned, when set, is called for each endpoint an EPM reply
	// advertises (every tower: TCP/UDP/HTTP ports, named pipes, local
	// endpoints), in reply order. The Analyzer uses it to dissect later
	// connections to Endpoint.Addrs() as DCE/RPC. It is called from Feed and
	// must not block.
	Learned func(Endpoint)
	// Interface, when not zero, is the interface assumed for requests
	// whose presentation context was never seen bound (a connection to a
	// learned port picked up after its bind).
	Interface UUID
	// Stubs, when set, receive the reassembled request and response stubs
	// of calls to the interfaces they are keyed by: the extension point
	// for decoding more interfaces with NDR. The endpoint mapper is decoded
	// by the package itself.
	Stubs map[UUID]StubFunc
	// Limits bound memory and work; zero fields take DefaultLimits.
	Limits Limits
}

// CallInfo describes the call a stub belongs to.
type CallInfo struct {
	CallID       uint32
	ContextID    uint16
	Opnum        uint16
	Interface    UUID
	Request      bool     // the request's stub (false: the response's)
	DataRep      DataRep  // decode the stub with NewNDREncoding(stub, DataRep, Encoding, …)
	Encoding     Encoding // the transfer syntax the context negotiated (NDR20 when not seen)
	Frame        int64    // frame of the last fragment
	RequestFrame int64    // frame of the request's last fragment
	Activity     UUID     // connectionless calls: the activity (CallID is then the sequence number)
}

// StubFunc receives a reassembled stub (all fragments joined, auth padding
// removed). stub is valid only during the call.
type StubFunc func(call CallInfo, stub []byte)

// DefaultConfig returns a Config with DefaultLimits and no callback.
func DefaultConfig() Config { return Config{Limits: DefaultLimits()} }

// Stats are a connection's DCE/RPC counters.
type Stats struct {
	PDUs, Requests, Responses, Faults, BindNaks int
	Calls                                       int           // calls answered by a response or fault
	Unanswered                                  int           // calls reported as rpc.no_response
	NotShown                                    int           // calls open at Close whose answer the capture could not show (see Close)
	LatencyTotal                                time.Duration // sum over answered calls: first response byte − last request byte
	LatencyMax                                  time.Duration
	Towers                                      int   // EPM towers decoded
	Malformed                                   int   // rpc.malformed: PDUs nettrace could not decode
	Resyncs                                     int   // decode.resync: resynchronisations after a gap or a mid-stream start
	GaveUp                                      int   // decode.gave_up: directions (or the connection) no longer decoded
	BytesIgnored                                int64 // bytes skipped while resynchronising or after giving up
	EventsCapped                                int   // events not emitted because of Limits.MaxEvents
}

type half struct {
	buf      []byte
	marks    []mark // positions of buf's bytes (see keep)
	resync   bool
	reason   resyncReason // why the current resync started
	dead     bool
	skipped  int   // bytes skipped in the current resync
	pending  error // error that started the current resync, reported when it ends
	pendPos  tcpstate.Position
	firstErr error
	pdus     int // PDUs framed
	losses   int // gaps and resynchronisations: bytes of this direction not decoded
}

type call struct {
	id       uint32
	isBind   bool
	bindCtx  []uint16
	opnum    uint16
	ctxID    uint16
	iface    UUID
	hasIface bool
	reqStart tcpstate.Position
	reqEnd   tcpstate.Position
	reqDone  bool
	// firstSeen: the request's first fragment was seen (the capture did not
	// start inside the call); srvLosses: the server direction's losses when
	// the request was complete (a later gap may hide the answer).
	firstSeen bool
	srvLosses int
	enc       Encoding // the presentation context's transfer syntax
	encKnown  bool     // the context was seen negotiated (else enc is a guess)
	seq       uint64   // creation order, for eviction
	epm       bool     // an EPM call whose stubs this package decodes
	hook      StubFunc // Config.Stubs entry for the interface
	reasm     bool     // stubs are reassembled (epm or hook)
	stub      []byte
	stubLost  bool
	respSeen  bool
	respAt    tcpstate.Position
}

type learnKey struct {
	ip    netip.Addr
	port  uint16
	iface UUID
	proto string
}

// Conn decodes one connection-oriented DCE/RPC byte stream — a TCP
// connection (port 135 or a learned port) or an SMB named pipe whose writes
// arrive as ClientToServer and reads as ServerToClient — and reports
// events and messages to its StreamContext. It implements
// tcpstate.StreamHandler. It is not safe for concurrent use.
type Conn struct {
	ctx      *tcpstate.StreamContext
	cfg      Config
	lim      Limits
	half     [2]half
	contexts map[uint16]presContext
	calls    map[uint32]*call
	seq      uint64
	learned  map[learnKey]struct{}
	mismatch map[learnKey]struct{}
	pdu      PDU
	queued   []health.Message
	stats    Stats
	nMalf    int
	nResync  int
	nLearned int
	decoded  int  // PDUs framed in both directions
	gaveUp   bool // the bytes are not DCE/RPC: nothing is decoded any more
	closed   bool
}

// presContext is a presentation context: the interface it binds and the
// transfer syntax the server accepted for it (C706 12.6.3.1).
type presContext struct {
	abstract SyntaxID
	enc      Encoding
	encKnown bool // a bind_ack accepted a transfer syntax for it
}

// NewConn returns the decoder for one stream. ctx must not be nil; its
// Reporter receives events, and messages when WantMessages reports true.
func NewConn(ctx *tcpstate.StreamContext, cfg Config) *Conn {
	return &Conn{
		ctx:      ctx,
		cfg:      cfg,
		lim:      cfg.Limits.withDefaults(),
		contexts: make(map[uint16]presContext),
		calls:    make(map[uint32]*call),
	}
}

// NewHandler returns a tcpstate.NewHandler that builds a Conn with cfg, for
// the Analyzer's routing and for the SMB named-pipe hand-off.
func NewHandler(cfg Config) tcpstate.NewHandler {
	return func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler { return NewConn(ctx, cfg) }
}

// Stats returns the counters so far.
func (c *Conn) Stats() Stats { return c.stats }

// Feed consumes bytes of one direction. PDUs may span Feeds and one Feed may
// hold several PDUs; the result does not depend on how the stream is cut.
func (c *Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	if c.closed || dir > tcpstate.ServerToClient || len(data) == 0 {
		return
	}
	h := &c.half[dir]
	if h.dead {
		c.stats.BytesIgnored += int64(len(data))
		return
	}
	f := h.join(data, at)
	off, ok := c.pdus(dir, h, &f)
	if !ok {
		return
	}
	h.keep(&f, off)
}

// feedBytes is what one Feed parses: old bytes carried over from earlier
// Feeds, whose positions marks gives, followed by the new bytes, at at.
type feedBytes struct {
	b     []byte
	old   int
	marks []mark
	at    tcpstate.Position
}

// mark is where the bytes of one Feed begin in a half's buffer.
type mark struct {
	off int
	pos tcpstate.Position
}

// maxMarks bounds the marks a half keeps. A PDU starts in carried-over
// bytes only at their front, or, while resynchronising, within the last
// HeaderLen-1 bytes kept for the next scan: few Feeds, at most one mark
// each. Beyond the bound positions are approximate, never unbounded.
const maxMarks = 2 * HeaderLen

// posOf returns the stream position of the byte at b[off].
func (f *feedBytes) posOf(off int) tcpstate.Position {
	if off >= f.old || len(f.marks) == 0 {
		return f.at
	}
	p := f.marks[0].pos
	for _, m := range f.marks {
		if m.off > off {
			break
		}
		p = m.pos
	}
	return p
}

// join returns data appended to the carried-over bytes, or data itself
// (no copy) when nothing is carried over.
func (h *half) join(data []byte, at tcpstate.Position) feedBytes {
	f := feedBytes{b: data, old: len(h.buf), at: at}
	if f.old > 0 {
		h.buf = append(h.buf, data...)
		f.b, f.marks = h.buf, h.marks
	}
	return f
}

// keep carries the unparsed tail f.b[off:] (at most one PDU, or the bytes
// a resynchronisation keeps) over to the next Feed, with the positions of
// its bytes.
func (h *half) keep(f *feedBytes, off int) {
	rest := f.b[off:]
	first := f.posOf(off)
	if f.old > 0 {
		if off > 0 { // nothing consumed: the pending bytes stay where they are
			k := copy(h.buf, rest)
			h.buf = h.buf[:k]
		}
	} else {
		h.buf = append(h.buf[:0], rest...)
	}
	// Re-base the marks in place: those after off move down by off (the
	// write index never passes the read index), then the new Feed's.
	ms := h.marks[:0]
	if len(rest) > 0 {
		ms = append(ms, mark{0, first})
		if off < f.old {
			for _, m := range f.marks {
				if m.off > off && len(ms) < maxMarks {
					ms = append(ms, mark{m.off - off, m.pos})
				}
			}
			if len(rest) > f.old-off && len(ms) < maxMarks {
				ms = append(ms, mark{f.old - off, f.at})
			}
		}
	}
	h.marks = ms
	if len(h.buf) == 0 && cap(h.buf) > 1<<17 {
		h.buf = nil // do not pin a large buffer between PDUs
	}
}

func (c *Conn) noResponse(cl *call, sev health.Severity, why, reason string) {
	c.stats.Unanswered++
	what := c.callName(cl)
	ev := map[string]any{"call_id": cl.id, "request_frame": cl.reqEnd.Frame, "close": reason}
	if cl.isBind {
		ev["pkt_type"] = "bind"
	} else {
		ev["opnum"] = cl.opnum
		if cl.hasIface {
			ev["interface"] = c.ifaceLabel(cl.iface)
		}
	}
	c.ctx.Event(health.Event{Kind: health.RPCNoResponse, Severity: sev, Time: cl.reqEnd.Time,
		Frame: cl.reqEnd.Frame, Evidence: ev,
		Message: fmt.Sprintf("%s (call_id %d, frame %d) %s", what, cl.id, cl.reqEnd.Frame, why)})
}

func (c *Conn) callName(cl *call) string {
	if cl.isBind {
		return "bind"
	}
	s := fmt.Sprintf("opnum %d", cl.opnum)
	if cl.hasIface {
		if op := OpName(cl.iface, cl.opnum); op != "" {
			s = op + " (" + s + ")"
		}
		s = c.ifaceLabel(cl.iface) + " " + s
	}
	return s
}

func (c *Conn) ifaceLabel(u UUID) string {
	if n := InterfaceName(u); n != "" {
		return n
	}
	return u.String()
}

func dirName(d tcpstate.Dir) string {
	if d == tcpstate.ClientToServer {
		return "client"
	}
	return "server"
}

// handle processes one complete PDU b that started at start and ended at end.
func (c *Conn) handle(dir tcpstate.Dir, b []byte, start, end tcpstate.Position) {
	c.stats.PDUs++
	p := &c.pdu
	if err := p.Decode(b); err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			pe.Frame = start.Frame
		}
		c.malformedEvent(start, fmt.Sprintf("%s: %v", dirName(dir), err),
			map[string]any{"dir": dirName(dir), "error": err.Error(), "pkt_type": p.Header.Type.String()})
		return
	}
	var m *Message
	if c.ctx.Reporter.WantMessages() {
		m = c.newMessage(p, end)
	}
	switch p.Header.Type {
	case PTBind, PTAlterContext:
		c.bind(p, start, end, m)
	case PTBindAck, PTAlterContextResp:
		c.bindAck(p, end, m)
	case PTBindNak:
		c.bindNak(p, end, m)
	case PTRequest:
		c.request(p, start, end, m)
	case PTResponse:
		c.response(p, start, end, m)
	case PTFault:
		c.fault(p, start, end, m)
	case PTOrphaned, PTCoCancel:
		if p.Header.Type == PTOrphaned {
			delete(c.calls, p.Header.CallID)
		}
	}
	if m != nil {
		c.ctx.Reporter.Message(health.Message{Frame: m.Frame, Time: m.Time, Flow: m.Flow, Proto: "dcerpc", Value: m})
	}
	// Messages about the PDU's stub (epm) follow the PDU's own.
	for i := range c.queued {
		c.ctx.Reporter.Message(c.queued[i])
		c.queued[i] = health.Message{}
	}
	c.queued = c.queued[:0]
}

// later queues a message to be reported after the current PDU's.
func (c *Conn) later(m health.Message) { c.queued = append(c.queued, m) }

func (c *Conn) newCall(id uint32) *call {
	if old, ok := c.calls[id]; ok {
		return old
	}
	if len(c.calls) >= c.lim.MaxCalls {
		var oldest *call
		for _, cl := range c.calls {
			if oldest == nil || cl.seq < oldest.seq {
				oldest = cl
			}
		}
		delete(c.calls, oldest.id)
		if oldest.reqDone && !oldest.respSeen {
			// Evicted before the connection ended: whether it was answered
			// later is not known, so this is a notice about a limit.
			c.noResponse(oldest, health.Notice, fmt.Sprintf("was evicted unanswered after %d newer calls (limit MaxCalls); whether it was answered later is not known", c.lim.MaxCalls), "evicted")
		}
	}
	c.seq++
	cl := &call{id: id, seq: c.seq}
	c.calls[id] = cl
	return cl
}

func (c *Conn) bind(p *PDU, start, end tcpstate.Position, m *Message) {
	cl := c.newCall(p.Header.CallID)
	*cl = call{id: cl.id, seq: cl.seq, isBind: true, reqStart: start, reqEnd: end, reqDone: true,
		firstSeen: true, srvLosses: c.half[tcpstate.ServerToClient].losses}
	for _, ctx := range p.Bind.Contexts {
		if _, ok := c.contexts[ctx.ID]; ok || len(c.contexts) < c.lim.MaxContexts {
			c.contexts[ctx.ID] = presContext{abstract: ctx.Abstract}
		}
		cl.bindCtx = append(cl.bindCtx, ctx.ID)
	}
	if m == nil {
		return
	}
	if len(p.Bind.Contexts) > 0 {
		m.setContext(p.Bind.Contexts[0].ID)
		m.setIface(p.Bind.Contexts[0].Abstract.UUID)
	}
	m.Bind = copyBind(&p.Bind)
}

func (c *Conn) bindAck(p *PDU, end tcpstate.Position, m *Message) {
	cl := c.calls[p.Header.CallID]
	if cl != nil && cl.isBind {
		delete(c.calls, cl.id)
		for i, r := range p.BindAck.Results {
			if i >= len(cl.bindCtx) {
				break
			}
			if r.Result != Acceptance {
				delete(c.contexts, cl.bindCtx[i])
			} else if pc, ok := c.contexts[cl.bindCtx[i]]; ok {
				pc.enc, pc.encKnown = EncodingOf(r.Transfer.UUID), true
				c.contexts[cl.bindCtx[i]] = pc
			}
		}
		c.latency(cl, end)
	}
	if m == nil {
		return
	}
	if cl != nil && cl.isBind {
		for i, r := range p.BindAck.Results {
			if r.Result == Acceptance && i < len(cl.bindCtx) {
				m.setContext(cl.bindCtx[i])
				if s, ok := c.contexts[cl.bindCtx[i]]; ok {
					m.setIface(s.abstract.UUID)
				}
				break
			}
		}
		if cl.reqEnd.Time.Before(end.Time) || cl.reqEnd.Time.Equal(end.Time) {
			m.Latency, m.HasLatency = end.Time.Sub(cl.reqEnd.Time), true
		}
	}
	m.BindAck = copyBindAck(&p.BindAck)
}

func (c *Conn) bindNak(p *PDU, end tcpstate.Position, m *Message) {
	c.stats.BindNaks++
	cl := c.calls[p.Header.CallID]
	ev := map[string]any{"reason": p.BindNak.Reason.String(), "reason_code": uint16(p.BindNak.Reason), "call_id": p.Header.CallID}
	what := "bind"
	if cl != nil && cl.isBind {
		delete(c.calls, cl.id)
		for _, id := range cl.bindCtx {
			if s, ok := c.contexts[id]; ok {
				ev["interface"] = c.ifaceLabel(s.abstract.UUID)
				what = "bind to " + c.ifaceLabel(s.abstract.UUID)
				break
			}
		}
		for _, id := range cl.bindCtx {
			delete(c.contexts, id)
		}
		ev["request_frame"] = cl.reqEnd.Frame
	}
	c.ctx.Event(health.Event{Kind: health.RPCBindNak, Severity: health.Warning, Time: end.Time, Frame: end.Frame,
		Evidence: ev, Message: fmt.Sprintf("%s rejected by the server: %s (bind_nak, call_id %d)", what, p.BindNak.Reason, p.Header.CallID)})
	if m != nil {
		nak := p.BindNak
		nak.Versions = append([][2]uint8(nil), nak.Versions...)
		m.BindNak = &nak
	}
}

func (c *Conn) latency(cl *call, end tcpstate.Position) {
	c.stats.Calls++
	if cl.reqEnd.Time.IsZero() || end.Time.Before(cl.reqEnd.Time) {
		return
	}
	d := end.Time.Sub(cl.reqEnd.Time)
	c.stats.LatencyTotal += d
	if d > c.stats.LatencyMax {
		c.stats.LatencyMax = d
	}
}

func (c *Conn) request(p *PDU, start, end tcpstate.Position, m *Message) {
	q := &p.Request
	cl := c.calls[p.Header.CallID]
	if cl == nil || cl.isBind || p.Header.First() || cl.reqDone {
		c.stats.Requests++
		cl = c.newCall(p.Header.CallID)
		*cl = call{id: cl.id, seq: cl.seq, opnum: q.Opnum, ctxID: q.ContextID, reqStart: start, firstSeen: p.Header.First()}
		if s, ok := c.contexts[q.ContextID]; ok {
			cl.iface, cl.hasIface = s.abstract.UUID, true
			cl.enc, cl.encKnown = s.enc, s.encKnown
		} else if !c.cfg.Interface.IsZero() {
			cl.iface, cl.hasIface = c.cfg.Interface, true
		}
		cl.epm = cl.hasIface && cl.iface == EPMInterface && (q.Opnum == EPMOpMap || q.Opnum == EPMOpLookup)
		if cl.hasIface && c.cfg.Stubs != nil {
			cl.hook = c.cfg.Stubs[cl.iface]
		}
		cl.reasm = cl.epm || cl.hook != nil
		cl.stubLost = !p.Header.First() // the request's first fragment was not seen
	}
	c.collect(cl, p.Stub, "request", start)
	if p.Header.Last() {
		cl.reqDone, cl.reqEnd = true, end
		cl.srvLosses = c.half[tcpstate.ServerToClient].losses
	}
	if m != nil {
		m.setContext(q.ContextID)
		m.setOpnum(q.Opnum)
		m.Object, m.HasObject = q.Object, q.HasObject
		if cl.hasIface {
			m.setIface(cl.iface)
			m.Operation = OpName(cl.iface, q.Opnum)
		}
		req := *q
		m.Request, m.StubLen = &req, len(p.Stub)
	}
	if cl.reasm && p.Header.Last() {
		stub, lost := cl.stub, cl.stubLost
		cl.stub, cl.stubLost = nil, false
		if !lost {
			if cl.epm {
				c.epmRequest(cl, stub, p.Header.DataRep, end)
			}
			if cl.hook != nil {
				cl.hook(c.callInfo(cl, true, p, end), stub)
			}
		}
	}
}

// collect appends a fragment's stub to cl's reassembly when cl is decoded.
// at is where the fragment starts: a stub over MaxStub is said there, at
// the fragment that crossed the limit (the request may still be arriving,
// so the call has no request frame yet).
func (c *Conn) collect(cl *call, stub []byte, what string, at tcpstate.Position) {
	if !cl.reasm || cl.stubLost {
		return
	}
	if len(cl.stub)+len(stub) > c.lim.MaxStub {
		c.malformedEvent(at, fmt.Sprintf("%s stub of call_id %d exceeds %d bytes at frame %d (%d bytes collected before it); not decoded",
			what, cl.id, c.lim.MaxStub, at.Frame, len(cl.stub)),
			map[string]any{"call_id": cl.id, "limit": c.lim.MaxStub, "collected": len(cl.stub), "fragment_bytes": len(stub)})
		cl.stub, cl.stubLost = nil, true
		return
	}
	cl.stub = append(cl.stub, stub...)
}

func (c *Conn) response(p *PDU, start, end tcpstate.Position, m *Message) {
	q := &p.Response
	cl := c.calls[p.Header.CallID]
	if cl != nil && cl.isBind {
		cl = nil
	}
	if cl != nil && !cl.respSeen {
		cl.respSeen, cl.respAt = true, start
		// A reply whose first fragment was not seen (lost in a gap, or
		// before the capture) cannot be reassembled.
		cl.stub, cl.stubLost = cl.stub[:0], !p.Header.First()
		c.stats.Responses++
		c.latency(cl, start)
	} else if cl == nil && p.Header.First() {
		c.stats.Responses++
	}
	if cl != nil {
		c.collect(cl, p.Stub, "response", start)
	}
	if m != nil {
		m.setContext(q.ContextID)
		if cl != nil {
			m.setOpnum(cl.opnum)
			if cl.hasIface {
				m.setIface(cl.iface)
				m.Operation = OpName(cl.iface, cl.opnum)
			}
			if !cl.respAt.Time.Before(cl.reqEnd.Time) {
				m.Latency, m.HasLatency = cl.respAt.Time.Sub(cl.reqEnd.Time), true
			}
		}
		resp := *q
		m.Response, m.StubLen = &resp, len(p.Stub)
	}
	if cl != nil && p.Header.Last() {
		delete(c.calls, cl.id)
		if cl.reasm && !cl.stubLost {
			if cl.epm {
				c.epmResponse(cl, cl.stub, p, end)
			}
			if cl.hook != nil {
				cl.hook(c.callInfo(cl, false, p, end), cl.stub)
			}
		}
	}
}

func (c *Conn) fault(p *PDU, start, end tcpstate.Position, m *Message) {
	c.stats.Faults++
	q := &p.Fault
	cl := c.calls[p.Header.CallID]
	ev := map[string]any{"status": q.Status.String(), "status_code": q.Status.Hex(), "call_id": p.Header.CallID}
	what := fmt.Sprintf("call_id %d", p.Header.CallID)
	if cl != nil {
		delete(c.calls, cl.id)
		if !cl.respSeen {
			cl.respSeen = true
			c.latency(cl, start)
		}
		if !cl.isBind {
			ev["opnum"] = cl.opnum
			what = c.callName(cl) + fmt.Sprintf(" (call_id %d, frame %d)", cl.id, cl.reqEnd.Frame)
		} else {
			what = fmt.Sprintf("bind (call_id %d)", cl.id)
		}
		if cl.hasIface {
			ev["interface"] = c.ifaceLabel(cl.iface)
		}
		ev["request_frame"] = cl.reqEnd.Frame
	}
	if p.Header.Flags&FlagDidNotExecute != 0 {
		ev["did_not_execute"] = true
	}
	c.ctx.Event(health.Event{Kind: health.RPCFault, Severity: health.Warning, Time: end.Time, Frame: end.Frame, Evidence: ev,
		Message: fmt.Sprintf("%s failed with DCE/RPC fault %s (%s)", what, q.Status, q.Status.Hex())})
	if m != nil {
		m.setContext(q.ContextID)
		if cl != nil && !cl.isBind {
			m.setOpnum(cl.opnum)
			if cl.hasIface {
				m.setIface(cl.iface)
			}
		}
		flt := *q
		m.Fault = &flt
	}
}

// sentBy reports whether packet type t travels in direction d (C706 12.6.4:
// clients send bind, alter_context, auth3, request, co_cancel, orphaned;
// servers send the answers). shutdown and rts may go either way.
func sentBy(t PacketType, d tcpstate.Dir) bool {
	switch t {
	case PTBind, PTAlterContext, PTAuth3, PTRequest, PTCoCancel, PTOrphaned:
		return d == tcpstate.ClientToServer
	case PTBindAck, PTBindNak, PTAlterContextResp, PTResponse, PTFault:
		return d == tcpstate.ServerToClient
	}
	return true
}

func (c *Conn) callInfo(cl *call, request bool, p *PDU, end tcpstate.Position) CallInfo {
	return CallInfo{CallID: cl.id, ContextID: cl.ctxID, Opnum: cl.opnum, Interface: cl.iface, Request: request,
		DataRep: p.Header.DataRep, Encoding: cl.enc, Frame: end.Frame, RequestFrame: cl.reqEnd.Frame}
}
