package rpc

import (
	"fmt"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Message is one decoded connection-oriented DCE/RPC PDU, as Conn
// delivers it when its Reporter wants messages (health.Message.Value,
// proto "dcerpc"), at the frame that completes the PDU. The header fields
// are flat, with the call's presentation context, interface and operation
// resolved from the bind (and, for a response or fault, from its request);
// the body is in the part the packet type has (Bind for bind and
// alter_context, BindAck, BindNak, Request, Response, Fault), nil for the
// others.
//
// Fields gives the JSON form ("fields" of a dissect record); it is the
// only place that form is defined. A Message owns its data (the parts are
// copies) and never holds the stub or credentials.
type Message struct {
	health.Origin
	// Common header (C706 12.6.3.1).
	Type         PacketType
	CallID       uint32
	FragLength   uint16
	Flags        Flags
	Version      uint8
	VersionMinor uint8
	DataRep      DataRep
	// HasAuth is set when the PDU has a sec_trailer: AuthType and
	// AuthLevel are its type and level (the credentials are not kept).
	HasAuth   bool
	AuthType  AuthType
	AuthLevel AuthLevel

	// The call: presentation context (HasContextID), interface
	// (HasInterface; InterfaceName "" when not known), operation number
	// (HasOpnum) and name, object UUID (HasObject), and the time from the
	// request (or bind) to this answer (HasLatency).
	ContextID     uint16
	HasContextID  bool
	Interface     UUID
	InterfaceName string
	HasInterface  bool
	Opnum         uint16
	HasOpnum      bool
	Operation     string
	Object        UUID
	HasObject     bool
	Latency       time.Duration
	HasLatency    bool
	// StubLen is the stub bytes of a request or response fragment.
	StubLen int

	Bind     *Bind
	BindAck  *BindAck
	BindNak  *BindNak
	Request  *Request
	Response *Response
	Fault    *Fault
}

// Fields returns the message's JSON form, the "fields" of its dissect
// record (health.Decoded).
func (m *Message) Fields() map[string]any {
	f := map[string]any{
		"pkt_type": m.Type.String(),
		"call_id":  m.CallID,
		"frag_len": m.FragLength,
		"flags":    fmt.Sprintf("0x%02x", uint8(m.Flags)),
		"version":  fmt.Sprintf("%d.%d", m.Version, m.VersionMinor),
	}
	if m.DataRep != LittleEndian {
		f["drep"] = m.DataRep.String()
	}
	if m.HasAuth {
		f["auth_type"] = m.AuthType.String()
		f["auth_level"] = m.AuthLevel.String()
	}
	m.callFields(f)
	switch {
	case m.Bind != nil:
		bindFields(f, m.Bind)
	case m.BindAck != nil:
		bindAckFields(f, m.BindAck)
	case m.BindNak != nil:
		f["reason"] = m.BindNak.Reason.String()
	case m.Request != nil:
		f["alloc_hint"] = m.Request.AllocHint
		f["stub_len"] = m.StubLen
	case m.Response != nil:
		f["alloc_hint"] = m.Response.AllocHint
		f["stub_len"] = m.StubLen
	case m.Fault != nil:
		f["fault_status"] = m.Fault.Status.String()
		f["fault_status_code"] = m.Fault.Status.Hex()
	}
	return f
}

func (m *Message) callFields(f map[string]any) {
	if m.HasContextID {
		f["ctx_id"] = m.ContextID
	}
	if m.HasInterface {
		f["interface_uuid"] = m.Interface.String()
		if m.InterfaceName != "" {
			f["interface"] = m.InterfaceName
		}
	}
	if m.HasOpnum {
		f["opnum"] = m.Opnum
	}
	if m.Operation != "" {
		f["operation"] = m.Operation
	}
	if m.HasObject {
		f["object_uuid"] = m.Object.String()
	}
	if m.HasLatency {
		f["latency_ms"] = float64(m.Latency.Microseconds()) / 1000
	}
}

func bindFields(f map[string]any, b *Bind) {
	if len(b.Contexts) > 0 {
		a := b.Contexts[0].Abstract
		f["interface_version"] = fmt.Sprintf("%d.%d", a.Version, a.VersionMinor)
	}
	list := make([]map[string]any, 0, len(b.Contexts))
	for _, ctx := range b.Contexts {
		ts := make([]string, 0, len(ctx.Transfers))
		for _, t := range ctx.Transfers {
			ts = append(ts, syntaxLabel(t.UUID))
		}
		m := map[string]any{"ctx_id": ctx.ID, "interface_uuid": ctx.Abstract.UUID.String(),
			"version": fmt.Sprintf("%d.%d", ctx.Abstract.Version, ctx.Abstract.VersionMinor), "transfer_syntaxes": ts}
		if n := InterfaceName(ctx.Abstract.UUID); n != "" {
			m["interface"] = n
		}
		list = append(list, m)
	}
	f["contexts"] = list
	f["max_xmit_frag"] = b.MaxXmitFrag
	f["max_recv_frag"] = b.MaxRecvFrag
}

func bindAckFields(f map[string]any, b *BindAck) {
	f["sec_addr"] = b.SecAddr
	res := make([]map[string]any, 0, len(b.Results))
	for _, r := range b.Results {
		m := map[string]any{"result": r.Result.String()}
		switch r.Result {
		case Acceptance:
			m["transfer_syntax"] = syntaxLabel(r.Transfer.UUID)
		case NegotiateAck:
			m["features"] = fmt.Sprintf("0x%04x", r.Reason)
		default:
			m["reason"] = AckReasonName(r.Reason)
		}
		res = append(res, m)
	}
	f["results"] = res
	f["max_xmit_frag"] = b.MaxXmitFrag
	f["max_recv_frag"] = b.MaxRecvFrag
}

// syntaxLabel names a transfer syntax, or gives its UUID.
func syntaxLabel(u UUID) string {
	if n := SyntaxName(u); n != "" {
		return n
	}
	return u.String()
}

// newMessage starts the typed message of PDU p, completed at end.
func (c *Conn) newMessage(p *PDU, end tcpstate.Position) *Message {
	m := &Message{Origin: health.Origin{Frame: end.Frame, Time: end.Time, Flow: c.ctx.Flow},
		Type: p.Header.Type, CallID: p.Header.CallID, FragLength: p.Header.FragLength, Flags: p.Header.Flags,
		Version: p.Header.Version, VersionMinor: p.Header.VersionMinor, DataRep: p.Header.DataRep}
	if p.Auth.Length > 0 {
		m.HasAuth, m.AuthType, m.AuthLevel = true, p.Auth.Type, p.Auth.Level
	}
	return m
}

// setIface sets the interface of a message, and its name when known.
func (m *Message) setIface(u UUID) {
	m.Interface, m.InterfaceName, m.HasInterface = u, InterfaceName(u), true
}

// setContext sets the presentation context of a message.
func (m *Message) setContext(id uint16) { m.ContextID, m.HasContextID = id, true }

// setOpnum sets the operation number of a message.
func (m *Message) setOpnum(op uint16) { m.Opnum, m.HasOpnum = op, true }

// copyBind returns a copy of b that shares nothing with the reused PDU.
func copyBind(b *Bind) *Bind {
	out := *b
	out.Contexts = make([]Context, len(b.Contexts))
	for i, ctx := range b.Contexts {
		ctx.Transfers = append([]SyntaxID(nil), ctx.Transfers...)
		out.Contexts[i] = ctx
	}
	return &out
}

// copyBindAck returns a copy of b that shares nothing with the reused PDU.
func copyBindAck(b *BindAck) *BindAck {
	out := *b
	out.Results = append([]ContextResult(nil), b.Results...)
	return &out
}
