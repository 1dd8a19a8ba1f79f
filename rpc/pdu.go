package rpc

import (
	"github.com/nettrace/nettrace/internal/wire"
)

// secTrailerLen is the size of sec_trailer, which precedes auth_value
// (C706 13.2.6.1, [MS-RPCE] 2.2.2.11).
const secTrailerLen = 8

// AuthVerifier is the sec_trailer of a PDU with auth_length > 0. The
// credentials (auth_value: NTLMSSP/Kerberos tokens, signatures) are
// deliberately not kept; only their length is.
type AuthVerifier struct {
	Type      AuthType
	Level     AuthLevel
	PadLength uint8  // auth_pad_length: stub padding before the trailer
	ContextID uint32 // auth_context_id
	Length    int    // auth_length: bytes of auth_value (not kept)
}

// SyntaxID is a p_syntax_id_t: an interface or transfer syntax UUID and its
// version (C706 12.6.3.1). Version holds the major number, VersionMinor the
// minor one.
type SyntaxID struct {
	UUID         UUID
	Version      uint16
	VersionMinor uint16
}

// Context is one presentation context proposed in bind or alter_context
// (p_cont_elem_t, C706 12.6.3.1).
type Context struct {
	ID        uint16
	Abstract  SyntaxID   // the interface
	Transfers []SyntaxID // proposed transfer syntaxes, in order
}

// ContextResult is one entry of a bind_ack result list (p_result_t).
// For NegotiateAck results, Reason holds the bind time feature bitmask.
type ContextResult struct {
	Result   Result
	Reason   uint16
	Transfer SyntaxID
}

// Bind is the body of bind and alter_context PDUs (C706 12.6.4.3, 12.6.4.1).
type Bind struct {
	MaxXmitFrag  uint16
	MaxRecvFrag  uint16
	AssocGroupID uint32
	Contexts     []Context
}

// BindAck is the body of bind_ack and alter_context_resp PDUs
// (C706 12.6.4.4, 12.6.4.2). SecAddr (the secondary address: a port or
// pipe name) is a copy without the trailing NUL.
type BindAck struct {
	MaxXmitFrag  uint16
	MaxRecvFrag  uint16
	AssocGroupID uint32
	SecAddr      string
	Results      []ContextResult
}

// BindNak is the body of bind_nak (C706 12.6.4.5).
type BindNak struct {
	Reason   RejectReason
	Versions [][2]uint8 // supported protocol versions (major, minor)
}

// Request is the fixed part of a request PDU (C706 12.6.4.9).
type Request struct {
	AllocHint uint32
	ContextID uint16
	Opnum     uint16
	Object    UUID // only when the header has FlagObjectUUID
	HasObject bool
}

// Response is the fixed part of a response PDU (C706 12.6.4.10).
type Response struct {
	AllocHint   uint32
	ContextID   uint16
	CancelCount uint8
}

// Fault is the fixed part of a fault PDU (C706 12.6.4.7, [MS-RPCE] 2.2.2.9).
type Fault struct {
	AllocHint   uint32
	ContextID   uint16
	CancelCount uint8
	Flags       uint8 // [MS-RPCE]: 0x01 extended error information present
	Status      Status
}

// PDU is one connection-oriented DCE/RPC PDU. Exactly one of the body
// fields is meaningful, as Header.Type says: Bind (bind, alter_context),
// BindAck (bind_ack, alter_context_resp), BindNak, Request, Response, Fault;
// auth3, shutdown, co_cancel, orphaned and rts have no decoded body.
//
// Stub aliases the input: the stub data of request, response and fault
// PDUs, without auth padding and verifier.
type PDU struct {
	Header   Header
	Auth     AuthVerifier // Auth.Length == 0 when the PDU has none
	Stub     []byte
	Bind     Bind
	BindAck  BindAck
	BindNak  BindNak
	Request  Request
	Response Response
	Fault    Fault
}

// ParsePDU parses the connection-oriented PDU at the front of b (common
// header, body, sec_trailer) and returns it with the bytes after it. It
// needs the whole PDU (frag_length bytes): with fewer it returns a
// *ParseError wrapping ErrTruncated whose Need is frag_length. A PDU that can
// never be valid gives ErrMalformed. On error b is returned unchanged.
// Stub aliases b.
func ParsePDU(b []byte) (PDU, []byte, error) {
	var p PDU
	if err := p.Decode(b); err != nil {
		return PDU{}, b, err
	}
	return p, b[p.Header.FragLength:], nil
}

// Decode is ParsePDU into a caller-owned PDU, reusing its slices. After an
// error p's fields must not be trusted.
func (p *PDU) Decode(b []byte) error {
	ctxs, res := p.Bind.Contexts[:0], p.BindAck.Results[:0]
	*p = PDU{}
	p.Bind.Contexts, p.BindAck.Results = ctxs, res
	if err := p.Header.Decode(b); err != nil {
		return err
	}
	n := int(p.Header.FragLength)
	if len(b) < n {
		return truncated(p.Header.Type.String(), n)
	}
	body := b[HeaderLen:n]
	if p.Header.AuthLength > 0 {
		// C706 13.2.6.1: the sec_trailer sits auth_length+8 bytes from the
		// end; padding before it is counted by auth_pad_length.
		al := int(p.Header.AuthLength)
		t := wire.Reader(body[len(body)-al-secTrailerLen:])
		var at, lvl uint8
		var reserved uint8
		ok := t.ReadUint8(&at) && t.ReadUint8(&lvl) && t.ReadUint8(&p.Auth.PadLength) && t.ReadUint8(&reserved)
		if p.Header.DataRep.BigEndian() {
			ok = ok && t.ReadUint32BE(&p.Auth.ContextID)
		} else {
			ok = ok && t.ReadUint32(&p.Auth.ContextID)
		}
		if !ok {
			return malformed("sec_trailer", "cannot read")
		}
		p.Auth.Type, p.Auth.Level, p.Auth.Length = AuthType(at), AuthLevel(lvl), al
		body = body[:len(body)-al-secTrailerLen]
	}
	be := p.Header.DataRep.BigEndian()
	var err error
	switch p.Header.Type {
	case PTBind, PTAlterContext:
		err = p.Bind.decode(body, be)
	case PTBindAck, PTAlterContextResp:
		err = p.BindAck.decode(body, be)
	case PTBindNak:
		err = p.BindNak.decode(body, be)
	case PTRequest:
		err = p.decodeRequest(body, be)
	case PTResponse:
		err = p.decodeResponse(body, be)
	case PTFault:
		err = p.decodeFault(body, be)
	}
	return err
}

// stubAfterPad removes auth padding from the end of a stub.
func (p *PDU) stubAfterPad(stub []byte, what string) ([]byte, error) {
	if p.Header.AuthLength > 0 {
		pad := int(p.Auth.PadLength)
		if pad > len(stub) {
			return nil, malformed(what, "auth_pad_length %d exceeds stub of %d bytes", pad, len(stub))
		}
		stub = stub[:len(stub)-pad]
	}
	return stub, nil
}

// setStub sets p.Stub to the stub data at r, without auth padding.
func (p *PDU) setStub(r []byte, what string) error {
	stub, err := p.stubAfterPad(r, what)
	p.Stub = stub
	return err
}

func read16(r *wire.Reader, be bool, out *uint16) bool {
	if be {
		return r.ReadUint16BE(out)
	}
	return r.ReadUint16(out)
}

func read32(r *wire.Reader, be bool, out *uint32) bool {
	if be {
		return r.ReadUint32BE(out)
	}
	return r.ReadUint32(out)
}

// readSyntax reads a p_syntax_id_t (20 bytes): UUID, then the version as a
// 32-bit value whose low 16 bits are the major number.
func readSyntax(r *wire.Reader, be bool, out *SyntaxID) bool {
	var v uint32
	if !readUUID(r, be, &out.UUID) || !read32(r, be, &v) {
		return false
	}
	out.Version, out.VersionMinor = uint16(v), uint16(v>>16)
	return true
}

// decodeRequest parses C706 12.6.4.9 rpcconn_request_hdr_t after the
// common header.
func (p *PDU) decodeRequest(body []byte, be bool) error {
	r := wire.Reader(body)
	q := &p.Request
	if !read32(&r, be, &q.AllocHint) || !read16(&r, be, &q.ContextID) || !read16(&r, be, &q.Opnum) {
		return malformed("request", "body of %d bytes is shorter than 8", len(body))
	}
	if p.Header.Flags&FlagObjectUUID != 0 {
		if !readUUID(&r, be, &q.Object) {
			return malformed("request", "object uuid flagged but body has only %d bytes", len(body))
		}
		q.HasObject = true
	}
	return p.setStub(r, "request")
}

// decodeResponse parses C706 12.6.4.10 rpcconn_response_hdr_t.
func (p *PDU) decodeResponse(body []byte, be bool) error {
	r := wire.Reader(body)
	q := &p.Response
	var reserved uint8
	if !readResponseHeader(&r, be, &q.AllocHint, &q.ContextID, &q.CancelCount, &reserved) {
		return malformed("response", "body of %d bytes is shorter than 8", len(body))
	}
	return p.setStub(r, "response")
}

// decodeFault parses C706 12.6.4.7 rpcconn_fault_hdr_t.
func (p *PDU) decodeFault(body []byte, be bool) error {
	r := wire.Reader(body)
	q := &p.Fault
	var st, reserved uint32
	if !readResponseHeader(&r, be, &q.AllocHint, &q.ContextID, &q.CancelCount, &q.Flags) || !read32(&r, be, &st) {
		return malformed("fault", "body of %d bytes is shorter than 12", len(body))
	}
	q.Status = Status(st)
	// The reserved word is absent from some implementations' short faults.
	if !read32(&r, be, &reserved) {
		return nil
	}
	return p.setStub(r, "fault")
}

// readResponseHeader reads the 8 bytes that rpcconn_response_hdr_t (C706
// 12.6.4.10) and rpcconn_fault_hdr_t (C706 12.6.4.7) start with:
// alloc_hint, p_cont_id, cancel_count, and a byte that is reserved in a
// response and that [MS-RPCE] uses for flags in a fault.
func readResponseHeader(r *wire.Reader, be bool, allocHint *uint32, ctxID *uint16, cancel, b *uint8) bool {
	return read32(r, be, allocHint) && read16(r, be, ctxID) && r.ReadUint8(cancel) && r.ReadUint8(b)
}

// decode parses C706 12.6.4.3 rpcconn_bind_hdr_t after the common header.
func (b *Bind) decode(body []byte, be bool) error {
	r := wire.Reader(body)
	var n, res8 uint8
	var res16 uint16
	if !read16(&r, be, &b.MaxXmitFrag) || !read16(&r, be, &b.MaxRecvFrag) || !read32(&r, be, &b.AssocGroupID) ||
		!r.ReadUint8(&n) || !r.ReadUint8(&res8) || !read16(&r, be, &res16) {
		return malformed("bind", "body of %d bytes is shorter than 12", len(body))
	}
	for i := 0; i < int(n); i++ {
		var c Context
		var nts uint8
		if !read16(&r, be, &c.ID) || !r.ReadUint8(&nts) || !r.ReadUint8(&res8) || !readSyntax(&r, be, &c.Abstract) {
			return malformed("bind", "context %d of %d runs past the body", i, n)
		}
		if int(nts)*20 > r.Len() {
			return malformed("bind", "context %d declares %d transfer syntaxes in %d bytes", c.ID, nts, r.Len())
		}
		c.Transfers = make([]SyntaxID, nts)
		for j := range c.Transfers {
			readSyntax(&r, be, &c.Transfers[j])
		}
		b.Contexts = append(b.Contexts, c)
	}
	return nil
}

// decode parses C706 12.6.4.4 rpcconn_bind_ack_hdr_t: the secondary
// address, 4-byte alignment (relative to the PDU start), then the results.
func (b *BindAck) decode(body []byte, be bool) error {
	r := wire.Reader(body)
	var alen uint16
	if !read16(&r, be, &b.MaxXmitFrag) || !read16(&r, be, &b.MaxRecvFrag) || !read32(&r, be, &b.AssocGroupID) ||
		!read16(&r, be, &alen) {
		return malformed("bind_ack", "body of %d bytes is shorter than 10", len(body))
	}
	var addr []byte
	if !r.ReadBytes(&addr, int(alen)) {
		return malformed("bind_ack", "sec_addr length %d exceeds the %d bytes left", alen, r.Len())
	}
	for len(addr) > 0 && addr[len(addr)-1] == 0 {
		addr = addr[:len(addr)-1]
	}
	b.SecAddr = string(addr)
	// pad to a 4-byte boundary of the PDU: the body starts at offset 16.
	if !r.Align(wire.Reader(body), 4) {
		return malformed("bind_ack", "alignment padding runs past the body")
	}
	var n, res8 uint8
	var res16 uint16
	if !r.ReadUint8(&n) || !r.ReadUint8(&res8) || !read16(&r, be, &res16) {
		// Some servers end the PDU after sec_addr when no result follows.
		return malformed("bind_ack", "result list header missing")
	}
	if int(n)*24 > r.Len() {
		return malformed("bind_ack", "%d results do not fit in %d bytes", n, r.Len())
	}
	for i := 0; i < int(n); i++ {
		var c ContextResult
		var res, reason uint16
		read16(&r, be, &res)
		read16(&r, be, &reason)
		readSyntax(&r, be, &c.Transfer)
		c.Result, c.Reason = Result(res), reason
		b.Results = append(b.Results, c)
	}
	return nil
}

// decode parses C706 12.6.4.5 rpcconn_bind_nak_hdr_t.
func (b *BindNak) decode(body []byte, be bool) error {
	r := wire.Reader(body)
	var reason uint16
	if !read16(&r, be, &reason) {
		return malformed("bind_nak", "body of %d bytes has no reason", len(body))
	}
	b.Reason = RejectReason(reason)
	var n uint8
	if !r.ReadUint8(&n) {
		return nil // C706 allows a bare reason on some stacks
	}
	for i := 0; i < int(n); i++ {
		var v [2]uint8
		if !r.ReadUint8(&v[0]) || !r.ReadUint8(&v[1]) {
			return malformed("bind_nak", "version list of %d runs past the body", n)
		}
		b.Versions = append(b.Versions, v)
	}
	return nil
}
