package rpc

import (
	"fmt"
	"math/bits"
	"net/netip"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/defaults"
	"github.com/nettrace/nettrace/tcpstate"
)

// This file follows connectionless DCE/RPC (ncadg_ip_udp, C706 chapter 12)
// over a whole capture. A call is named by its activity UUID and sequence
// number, not by addresses: a server may answer from another port than the
// one the request went to. Each datagram carries one PDU (or one fragment
// of one) and gets one message; a call's fragments are counted per
// direction, and reassembled only for the stubs a StubFunc asks for.

// CLLimits bound the memory and work of a Datagrams tracker. Zero fields
// take the defaults of DefaultCLLimits.
type CLLimits struct {
	// MaxCalls caps the calls remembered (default 1024). At the cap the
	// oldest is forgotten; one still unanswered is reported as
	// rpc.no_response (Notice, reason "evicted").
	MaxCalls int
	// MaxFragments caps the fragment number followed per call and
	// direction (default 1024). A fragment beyond it is reported once as
	// rpc.malformed and the PDU is not reassembled.
	MaxFragments int
	// MaxStub caps a reassembled stub (default 1 MiB); beyond it the stub
	// is dropped with an rpc.malformed event.
	MaxStub int
	// MaxEvents caps rpc.malformed events (default 64); more are counted in
	// CLStats.EventsCapped.
	MaxEvents int
	// ReplyWindow is how long after a request's last datagram its answer
	// may come before the call counts as unanswered at the end of the
	// capture (default 5 s): a request this close to the end is reported
	// as a notice, not a warning.
	ReplyWindow time.Duration
}

// DefaultCLLimits returns the documented defaults.
func DefaultCLLimits() CLLimits {
	return CLLimits{MaxCalls: 1024, MaxFragments: 1024, MaxStub: 1 << 20, MaxEvents: 64, ReplyWindow: 5 * time.Second}
}

// CLConfig configures a Datagrams tracker. The zero value works.
type CLConfig struct {
	// Stubs receive the reassembled request and response stubs of calls to
	// the interfaces they are keyed by (CallInfo.CallID is the sequence
	// number, CallInfo.Activity the activity).
	Stubs  map[UUID]StubFunc
	Limits CLLimits
}

// CLStats are the counters of a Datagrams tracker.
type CLStats struct {
	PDUs, Requests, Responses, Faults, Rejects int
	Calls                                      int // calls answered (response complete, fault or reject)
	Unanswered                                 int // calls reported as rpc.no_response
	Retransmissions                            int // datagrams repeating a fragment already seen
	Malformed                                  int
	EventsCapped                               int
}

// Datagrams decodes connectionless DCE/RPC datagrams and follows their calls
// across a capture: it pairs responses, faults and rejects with requests by
// activity and sequence number, counts fragments and retransmissions,
// reports faults, rejects and calls never answered. It is not safe for
// concurrent use.
type Datagrams struct {
	rep   health.Reporter
	cfg   CLConfig
	lim   CLLimits
	calls map[clKey]*clCall
	order []clKey // insertion order, for eviction
	seen  map[netip.AddrPort]bool
	stats CLStats
	nMalf int
	last  tcpstate.Position
}

type clKey struct {
	act UUID
	seq uint32
}

// clCall is one call (activity, sequence number).
type clCall struct {
	key            clKey
	iface          UUID
	opnum          uint16
	client, server netip.AddrPort
	maybe          bool // maybe or broadcast semantics: no reply expected
	reqFirst       tcpstate.Position
	reqEnd         tcpstate.Position
	req, resp      fragments
	answered       bool
	answer         PacketType
	pings, working int
	hook           StubFunc
}

// fragments counts the fragments of one direction of a call.
type fragments struct {
	seen     []uint64 // bitset of fragment numbers, allocated on the first fragment
	count    int
	last     int // number of the last fragment, -1 until seen
	frames   int
	complete bool
	over     bool // a fragment number beyond MaxFragments: not followed
	stub     map[uint16][]byte
	stubLen  int
	stubLost bool
}

// NewDatagrams returns a tracker reporting to rep (messages only when rep
// wants them).
func NewDatagrams(rep health.Reporter, cfg CLConfig) *Datagrams {
	defaults.Fill(&cfg.Limits, DefaultCLLimits())
	if rep == nil {
		rep = health.Discard
	}
	return &Datagrams{rep: rep, cfg: cfg, lim: cfg.Limits, calls: map[clKey]*clCall{}, seen: map[netip.AddrPort]bool{}}
}

// Stats returns the counters so far.
func (d *Datagrams) Stats() CLStats { return d.stats }

// Datagram takes one UDP payload from src to dst, at the frame that
// completed the datagram. It reports whether the payload was taken for
// connectionless DCE/RPC (DetectCL with wireLen, the payload length the
// UDP header declares). payload is not kept after the call.
func (d *Datagrams) Datagram(src, dst netip.AddrPort, payload []byte, wireLen int, at tcpstate.Position) bool {
	if !DetectCL(payload, wireLen) {
		return false
	}
	d.last = at
	d.stats.PDUs++
	if len(d.seen) < 4*d.lim.MaxCalls {
		d.seen[src] = true
	}
	h, body, err := ParseCLHeader(payload)
	flow := src.String() + "->" + dst.String() + "/udp"
	if err != nil {
		d.malformed(at, flow, fmt.Sprintf("connectionless header: %v", err), map[string]any{"error": err.Error()})
		return true
	}
	var f map[string]any
	if d.rep.WantMessages() {
		f = clFields(&h, len(body))
	}
	d.pdu(&h, body, src, dst, at, flow, f)
	if f != nil {
		d.rep.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: flow, Proto: "dcerpc", Fields: f})
	}
	return true
}

// clFields are the message fields every connectionless PDU has.
func clFields(h *CLHeader, bodyLen int) map[string]any {
	f := map[string]any{"pkt_type": h.Type.String(), "version": "4", "activity": h.Activity.String(),
		"seqnum": h.SeqNum, "opnum": h.Opnum, "frag_num": h.FragNum, "flags": fmt.Sprintf("0x%02x", h.Flags1),
		"body_len": bodyLen, "interface_uuid": h.Interface.String(), "server_boot": h.ServerBoot}
	if n := InterfaceName(h.Interface); n != "" {
		f["interface"] = n
		if op := OpName(h.Interface, h.Opnum); op != "" {
			f["operation"] = op
		}
	}
	if !h.Object.IsZero() {
		f["object_uuid"] = h.Object.String()
	}
	if h.DataRep != LittleEndian {
		f["drep"] = h.DataRep.String()
	}
	if h.Flags2&CLFlag2CancelPending != 0 {
		f["cancel_pending"] = true
	}
	return f
}

// pdu applies one PDU to its call.
func (d *Datagrams) pdu(h *CLHeader, body []byte, src, dst netip.AddrPort, at tcpstate.Position, flow string, f map[string]any) {
	key := clKey{act: h.Activity, seq: h.SeqNum}
	be := h.DataRep.BigEndian()
	switch h.Type {
	case PTRequest:
		d.request(h, key, body, src, dst, at, flow, f)
	case PTResponse:
		d.response(h, key, body, at, flow, f)
	case PTFault, PTReject:
		d.failure(h, key, body, be, at, flow, f)
	case PTPing:
		if cl := d.calls[key]; cl != nil {
			cl.pings++
		}
	case PTWorking:
		if cl := d.calls[key]; cl != nil {
			cl.working++
		}
	case PTFack, PTNoCall:
		d.fack(h, body, be, at, flow, f)
	}
}

// request records a request fragment.
func (d *Datagrams) request(h *CLHeader, key clKey, body []byte, src, dst netip.AddrPort, at tcpstate.Position, flow string, f map[string]any) {
	cl := d.calls[key]
	if cl == nil {
		d.stats.Requests++
		cl = d.newCall(key)
		cl.iface, cl.opnum, cl.client, cl.server, cl.reqFirst = h.Interface, h.Opnum, src, dst, at
		cl.maybe = h.Flags1&(CLFlagMaybe|CLFlagBroadcast) != 0
		if d.cfg.Stubs != nil {
			cl.hook = d.cfg.Stubs[h.Interface]
		}
	}
	dup, done := d.fragment(&cl.req, h, body, cl.hook != nil, at, flow)
	if dup {
		d.stats.Retransmissions++
		if f != nil {
			f["retransmission"] = true
		}
	}
	if h.Flags1&CLFlagLastFrag != 0 || h.Flags1&CLFlagFrag == 0 {
		cl.reqEnd = at
	}
	fragFields(f, &cl.req, h, done)
	if done && cl.hook != nil {
		d.deliver(cl, &cl.req, true, h.DataRep, at)
	}
}

// response records a response fragment; the call is answered when every
// fragment has been seen.
func (d *Datagrams) response(h *CLHeader, key clKey, body []byte, at tcpstate.Position, flow string, f map[string]any) {
	cl := d.calls[key]
	if cl == nil {
		d.stats.Responses++
		if f != nil {
			f["request_seen"] = false
		}
		return
	}
	first := cl.resp.frames == 0
	if first {
		d.stats.Responses++
	}
	dup, done := d.fragment(&cl.resp, h, body, cl.hook != nil, at, flow)
	if dup {
		d.stats.Retransmissions++
	}
	if f != nil {
		d.answerFields(f, cl, at)
		if dup {
			f["retransmission"] = true
		}
	}
	fragFields(f, &cl.resp, h, done)
	if done && !cl.answered {
		cl.answered, cl.answer = true, PTResponse
		d.stats.Calls++
		if cl.hook != nil {
			d.deliver(cl, &cl.resp, false, h.DataRep, at)
		}
	}
}

// answerFields adds the request an answer belongs to and the time since.
func (d *Datagrams) answerFields(f map[string]any, cl *clCall, at tcpstate.Position) {
	f["request_frame"] = cl.reqEnd.Frame
	if !at.Time.Before(cl.reqEnd.Time) {
		f["latency_ms"] = float64(at.Time.Sub(cl.reqEnd.Time).Microseconds()) / 1000
	}
}

// fragFields adds a fragment's place in its PDU to the message fields.
func fragFields(f map[string]any, fr *fragments, h *CLHeader, done bool) {
	if f == nil || h.Flags1&CLFlagFrag == 0 {
		return
	}
	f["fragment"] = true
	if h.Flags1&CLFlagLastFrag != 0 {
		f["last_fragment"] = true
	}
	if done {
		f["reassembled_fragments"] = fr.count
		if fr.stubLen > 0 {
			f["stub_len"] = fr.stubLen
		}
	}
}

// failure records a fault or a reject: the call is answered with an error
// status (C706 12.5.3.3, 12.5.3.8).
func (d *Datagrams) failure(h *CLHeader, key clKey, body []byte, be bool, at tcpstate.Position, flow string, f map[string]any) {
	st, _, err := ParseCLStatus(body, be)
	if err != nil {
		d.malformed(at, flow, fmt.Sprintf("%s: %v", h.Type, err), map[string]any{"pkt_type": h.Type.String(), "error": err.Error()})
		return
	}
	cl := d.calls[key]
	if f != nil {
		f["status"], f["status_code"] = st.String(), st.Hex()
		if cl != nil {
			d.answerFields(f, cl, at)
		}
	}
	if cl != nil && cl.answered && cl.answer == h.Type {
		d.stats.Retransmissions++
		if f != nil {
			f["retransmission"] = true
		}
		return // the same answer again: already reported
	}
	kind, noun := health.RPCFault, "fault"
	if h.Type == PTReject {
		kind, noun = health.RPCReject, "reject"
		d.stats.Rejects++
	} else {
		d.stats.Faults++
	}
	what := fmt.Sprintf("%s opnum %d", d.ifaceLabel(h.Interface), h.Opnum)
	if op := OpName(h.Interface, h.Opnum); op != "" {
		what = fmt.Sprintf("%s %s (opnum %d)", d.ifaceLabel(h.Interface), op, h.Opnum)
	}
	ev := map[string]any{"status": st.String(), "status_code": st.Hex(), "opnum": h.Opnum,
		"interface": d.ifaceLabel(h.Interface), "activity": h.Activity.String(), "seqnum": h.SeqNum, "pkt_type": h.Type.String()}
	if cl != nil {
		ev["request_frame"] = cl.reqEnd.Frame
		what += fmt.Sprintf(" (seq %d, frame %d)", h.SeqNum, cl.reqEnd.Frame)
		if !cl.answered {
			cl.answered, cl.answer = true, h.Type
			d.stats.Calls++
		}
	}
	d.rep.Event(health.Event{Kind: kind, Severity: health.Warning, Time: at.Time, Frame: at.Frame, Flow: flow, Evidence: ev,
		Message: fmt.Sprintf("%s failed with a connectionless DCE/RPC %s: %s (%s)", what, noun, st, st.Hex())})
}

// fack adds the window a fack (or a nocall that carries one) reports.
func (d *Datagrams) fack(h *CLHeader, body []byte, be bool, at tcpstate.Position, flow string, f map[string]any) {
	if len(body) == 0 {
		return // a nocall without a body, or an empty fack (C706 12.5.3.4 allows both)
	}
	fb, _, err := ParseFackBody(body, be)
	if err != nil {
		d.malformed(at, flow, fmt.Sprintf("%s: %v", h.Type, err), map[string]any{"pkt_type": h.Type.String(), "error": err.Error()})
		return
	}
	if f != nil {
		f["window_size"], f["max_tsdu"], f["max_frag_size"], f["serial_num"] = fb.WindowSize, fb.MaxTSDU, fb.MaxFragSize, fb.SerialNum
		f["selack_len"] = fb.SelAckLen
	}
}

func (d *Datagrams) ifaceLabel(u UUID) string {
	if n := InterfaceName(u); n != "" {
		return n
	}
	return u.String()
}

// newCall remembers a call, forgetting the oldest at MaxCalls.
func (d *Datagrams) newCall(key clKey) *clCall {
	for len(d.calls) >= d.lim.MaxCalls && len(d.order) > 0 {
		old := d.order[0]
		d.order = d.order[1:]
		if cl := d.calls[old]; cl != nil {
			delete(d.calls, old)
			if !cl.answered && !cl.maybe {
				d.noResponse(cl, health.Notice, fmt.Sprintf("was forgotten unanswered after %d newer calls (limit MaxCalls); whether it was answered later is not known", d.lim.MaxCalls), "evicted")
			}
		}
	}
	cl := &clCall{key: key, req: fragments{last: -1}, resp: fragments{last: -1}}
	d.calls[key] = cl
	d.order = append(d.order, key)
	return cl
}

// fragment records one fragment of a direction of a call and reports
// whether it repeats one already seen and whether it completed the PDU.
// keep says whether to keep the stub bytes for reassembly.
func (d *Datagrams) fragment(fr *fragments, h *CLHeader, body []byte, keep bool, at tcpstate.Position, flow string) (dup, done bool) {
	fr.frames++
	if h.Flags1&CLFlagFrag == 0 { // an unfragmented PDU
		dup = fr.complete
		if !fr.complete {
			fr.count, fr.last, fr.complete = 1, 0, true
			d.keepStub(fr, 0, body, keep, at, flow)
		}
		return dup, !dup
	}
	n := int(h.FragNum)
	if n >= d.lim.MaxFragments {
		if !fr.over {
			fr.over = true
			d.malformed(at, flow, fmt.Sprintf("fragment %d beyond the limit of %d fragments per PDU: the PDU is not reassembled", n, d.lim.MaxFragments),
				map[string]any{"frag_num": n, "limit": d.lim.MaxFragments})
		}
		return false, false
	}
	if fr.seen == nil {
		fr.seen = make([]uint64, (d.lim.MaxFragments+63)/64)
	}
	if fr.seen[n/64]&(1<<(n%64)) != 0 {
		return true, false
	}
	fr.seen[n/64] |= 1 << (n % 64)
	fr.count++
	if h.Flags1&CLFlagLastFrag != 0 {
		fr.last = n
	}
	d.keepStub(fr, uint16(n), body, keep, at, flow)
	if !fr.complete && !fr.over && fr.last >= 0 && fr.count == fr.last+1 && fr.allBelow(fr.last+1) {
		fr.complete = true
		return false, true
	}
	return false, false
}

// allBelow reports whether every fragment number below n has been seen.
func (fr *fragments) allBelow(n int) bool {
	c := 0
	for i := 0; i < len(fr.seen) && i*64 < n; i++ {
		w := fr.seen[i]
		if rest := n - i*64; rest < 64 {
			w &= 1<<rest - 1
		}
		c += bits.OnesCount64(w)
	}
	return c == n
}

// keepStub keeps a fragment's stub for reassembly, within MaxStub.
func (d *Datagrams) keepStub(fr *fragments, n uint16, body []byte, keep bool, at tcpstate.Position, flow string) {
	if !keep || fr.stubLost {
		return
	}
	if fr.stubLen+len(body) > d.lim.MaxStub {
		fr.stub, fr.stubLost = nil, true
		d.malformed(at, flow, fmt.Sprintf("stub exceeds %d bytes; not decoded", d.lim.MaxStub), map[string]any{"limit": d.lim.MaxStub})
		return
	}
	if fr.stub == nil {
		fr.stub = map[uint16][]byte{}
	}
	fr.stub[n] = append([]byte(nil), body...)
	fr.stubLen += len(body)
}

// deliver joins a complete stub in fragment order and hands it to the
// call's StubFunc.
func (d *Datagrams) deliver(cl *clCall, fr *fragments, request bool, drep DataRep, at tcpstate.Position) {
	if fr.stubLost {
		return
	}
	stub := make([]byte, 0, fr.stubLen)
	for i := 0; i <= fr.last; i++ {
		stub = append(stub, fr.stub[uint16(i)]...)
	}
	fr.stub = nil
	cl.hook(CallInfo{CallID: cl.key.seq, Activity: cl.key.act, Opnum: cl.opnum, Interface: cl.iface, Request: request,
		DataRep: drep, Encoding: NDR20, Frame: at.Frame, RequestFrame: cl.reqEnd.Frame}, stub)
}

// malformed emits rpc.malformed, capped by MaxEvents.
func (d *Datagrams) malformed(at tcpstate.Position, flow, msg string, ev map[string]any) {
	d.stats.Malformed++
	if d.nMalf >= d.lim.MaxEvents {
		d.stats.EventsCapped++
		return
	}
	d.nMalf++
	d.rep.Event(health.Event{Kind: health.RPCMalformed, Severity: health.DefaultSeverity(health.RPCMalformed), Time: at.Time,
		Frame: at.Frame, Flow: flow, Message: "connectionless DCE/RPC: " + msg, Evidence: ev})
}

// noResponse reports a call never answered.
func (d *Datagrams) noResponse(cl *clCall, sev health.Severity, why, reason string) {
	d.stats.Unanswered++
	name := fmt.Sprintf("%s opnum %d", d.ifaceLabel(cl.iface), cl.opnum)
	if op := OpName(cl.iface, cl.opnum); op != "" {
		name = fmt.Sprintf("%s %s (opnum %d)", d.ifaceLabel(cl.iface), op, cl.opnum)
	}
	ev := map[string]any{"reason": reason, "opnum": cl.opnum, "interface": d.ifaceLabel(cl.iface),
		"activity": cl.key.act.String(), "seqnum": cl.key.seq, "pings": cl.pings, "working": cl.working}
	if cl.resp.frames > 0 {
		ev["response_fragments"] = cl.resp.count
	}
	d.rep.Event(health.Event{Kind: health.RPCNoResponse, Severity: sev, Time: cl.reqEnd.Time, Frame: cl.reqEnd.Frame,
		Flow: cl.client.String() + "->" + cl.server.String() + "/udp", Evidence: ev,
		Message: fmt.Sprintf("connectionless call %s (seq %d, frame %d) %s", name, cl.key.seq, cl.reqEnd.Frame, why)})
}

// Finish ends the capture at at: every call still unanswered is reported
// as rpc.no_response, a warning when the capture shows traffic from the
// server and went on for ReplyWindow after the request, a notice otherwise
// (the capture cannot show the answer).
func (d *Datagrams) Finish(at tcpstate.Position) {
	if at.Time.IsZero() {
		at = d.last
	}
	open := make([]*clCall, 0, len(d.calls))
	for _, cl := range d.calls {
		if !cl.answered && !cl.maybe && cl.reqEnd.Frame > 0 {
			open = append(open, cl)
		}
	}
	sort.Slice(open, func(i, j int) bool { return open[i].reqEnd.Frame < open[j].reqEnd.Frame })
	for _, cl := range open {
		d.unanswered(cl, at)
	}
	d.calls, d.order = map[clKey]*clCall{}, nil
}

// unanswered reports cl, open at the end of the capture.
func (d *Datagrams) unanswered(cl *clCall, at tcpstate.Position) {
	switch {
	case cl.resp.frames > 0:
		d.noResponse(cl, health.Notice, fmt.Sprintf("has a response of which %d fragment(s) were captured but not all: the rest was lost, or not captured", cl.resp.count), "incomplete")
	case !d.seen[cl.server] && !d.serverSeenAny(cl.server.Addr()):
		d.noResponse(cl, health.Notice, "got no answer in the capture, which shows nothing sent by the server: it may be one-sided", "not_visible")
	case at.Time.Sub(cl.reqEnd.Time) < d.lim.ReplyWindow:
		d.noResponse(cl, health.Notice, "got no answer before the capture ended", "capture_ended")
	default:
		d.noResponse(cl, health.Warning, fmt.Sprintf("got no answer (%d pings, %d working) within %.1f s: the server did not reply, or its reply was lost", cl.pings, cl.working, at.Time.Sub(cl.reqEnd.Time).Seconds()), "no_answer")
	}
}

// serverSeenAny reports whether any DCE/RPC datagram came from addr.
func (d *Datagrams) serverSeenAny(addr netip.Addr) bool {
	for ap := range d.seen {
		if ap.Addr() == addr {
			return true
		}
	}
	return false
}
