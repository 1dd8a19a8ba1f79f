package rpc

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Encodings to try for a stub: the one its context negotiated, or, for a
// context never seen bound (a connection picked up mid-stream), NDR and then
// NDR64.
var (
	encNDR20 = []Encoding{NDR20}
	encNDR64 = []Encoding{NDR64}
	encGuess = []Encoding{NDR20, NDR64}
)

// encodings returns the encodings to try for cl's stubs, in order.
func (cl *call) encodings() []Encoding {
	switch {
	case !cl.encKnown:
		return encGuess
	case cl.enc == NDR64:
		return encNDR64
	}
	return encNDR20
}

// epmRequest decodes a complete ept_map / ept_lookup request stub.
func (c *Conn) epmRequest(cl *call, stub []byte, drep DataRep, end tcpstate.Position) {
	var f map[string]any
	switch cl.opnum {
	case EPMOpMap:
		var m MapRequest
		enc, err := tryEncodings(cl, func(e Encoding) (err error) {
			m, err = parseMapRequest(stub, drep, e, c.lim.EPM)
			return err
		})
		if err != nil {
			c.epmMalformed(cl, enc, err, end)
			return
		}
		if !c.ctx.Reporter.WantMessages() {
			return
		}
		f = map[string]any{"opnum": cl.opnum, "operation": "ept_map", "max_towers": m.MaxTowers, "call_id": cl.id}
		if m.HasObject {
			f["object_uuid"] = m.Object.String()
		}
		towers := []map[string]any{}
		if m.HasTower {
			towers = append(towers, towerFields(&m.Tower))
		}
		f["towers"] = towers
	case EPMOpLookup:
		var m LookupRequest
		enc, err := tryEncodings(cl, func(e Encoding) (err error) {
			m, err = parseLookupRequest(stub, drep, e, c.lim.EPM)
			return err
		})
		if err != nil {
			c.epmMalformed(cl, enc, err, end)
			return
		}
		if !c.ctx.Reporter.WantMessages() {
			return
		}
		f = map[string]any{"opnum": cl.opnum, "operation": "ept_lookup", "inquiry_type": m.InquiryType,
			"max_entries": m.MaxEntries, "call_id": cl.id, "towers": []map[string]any{}}
		if m.HasInterface {
			f["interface_uuid"] = m.Interface.String()
		}
	default:
		return
	}
	c.later(health.Message{Frame: end.Frame, Time: end.Time, Flow: c.ctx.Flow, Proto: "epm", Fields: f})
}

// tryEncodings runs parse with each encoding cl's stubs may be in (see
// encodings) and returns the first that decodes; when none does, the first
// encoding and its error.
func tryEncodings(cl *call, parse func(Encoding) error) (Encoding, error) {
	encs := cl.encodings()
	var first error
	for _, e := range encs {
		err := parse(e)
		if err == nil {
			return e, nil
		}
		if first == nil {
			first = err
		}
	}
	return encs[0], first
}

// epmMalformed reports an endpoint-mapper stub that did not decode in
// encoding enc: rpc.malformed, a notice about nettrace's coverage. An NDR64
// stub is only skipped, at Info: nettrace's NDR64 decoding of the endpoint
// mapper follows [MS-RPCE] 2.2.5 without captures from every server.
func (c *Conn) epmMalformed(cl *call, enc Encoding, err error, at tcpstate.Position) {
	ev := map[string]any{"call_id": cl.id, "opnum": cl.opnum, "error": err.Error(), "transfer_syntax": enc.String()}
	if enc == NDR64 {
		c.malformedEventSeverity(at, health.Info, fmt.Sprintf("endpoint mapper call_id %d (NDR64): %v; the stub is not decoded", cl.id, err), ev)
		return
	}
	c.malformedEvent(at, fmt.Sprintf("endpoint mapper call_id %d: %v", cl.id, err), ev)
}

func towerFields(t *Tower) map[string]any {
	m := map[string]any{
		"interface_uuid": t.Interface.String(),
		"version":        fmt.Sprintf("%d.%d", t.InterfaceVersion, t.InterfaceMinor),
		"protocol":       t.Protocol,
		"floors":         len(t.Floors),
	}
	if n := InterfaceName(t.Interface); n != "" {
		m["interface"] = n
	}
	if ps := t.Protseq(); ps != "" {
		m["protseq"] = ps
	}
	if t.HasPort {
		m["port"] = t.Port
	}
	if t.IP.IsValid() {
		m["ip"] = t.IP.String()
	}
	if t.Pipe != "" {
		m["pipe"] = t.Pipe
	}
	if t.NetBIOS != "" {
		m["netbios_name"] = t.NetBIOS
	}
	return m
}

// epmReply is what an ept_map or ept_lookup response says: the operation
// name, the status and the towers, each with its annotation ("" for
// ept_map).
type epmReply struct {
	op     string
	status Status
	towers []*Tower
	ann    []string
}

// epmResponse decodes a complete ept_map / ept_lookup response stub and
// reports towers, endpoints and problems.
func (c *Conn) epmResponse(cl *call, stub []byte, p *PDU, end tcpstate.Position) {
	var r epmReply
	var reply func([]byte, DataRep, Encoding) (epmReply, error)
	switch cl.opnum {
	case EPMOpMap:
		reply = c.mapReply
	case EPMOpLookup:
		reply = c.lookupReply
	default:
		return
	}
	enc, err := tryEncodings(cl, func(e Encoding) (err error) {
		r, err = reply(stub, p.Header.DataRep, e)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrTruncated) {
			c.shortReply(cl, stub, p, end, err)
		} else {
			c.epmMalformed(cl, enc, err, end)
		}
		return
	}
	c.stats.Towers += len(r.towers)
	var list []map[string]any
	want := c.ctx.Reporter.WantMessages()
	if want {
		list = make([]map[string]any, 0, len(r.towers))
	}
	for i, t := range r.towers {
		c.endpoint(cl, t, r.ann[i], end)
		if want {
			tf := towerFields(t)
			if r.ann[i] != "" {
				tf["annotation"] = r.ann[i]
			}
			list = append(list, tf)
		}
	}
	c.epmStatus(cl, &r, end)
	if want {
		c.later(health.Message{Frame: end.Frame, Time: end.Time, Flow: c.ctx.Flow, Proto: "epm", Fields: map[string]any{
			"opnum": cl.opnum, "operation": r.op, "status": r.status.Hex(), "status_name": r.status.String(), "call_id": cl.id, "towers": list}})
	}
}

// mapReply parses an ept_map response stub (C706 O.2.4).
func (c *Conn) mapReply(stub []byte, drep DataRep, enc Encoding) (epmReply, error) {
	m, err := parseMapResponse(stub, drep, enc, c.lim.EPM)
	if err != nil {
		return epmReply{}, err
	}
	r := epmReply{op: "ept_map", status: m.Status}
	for i := range m.Towers {
		r.towers = append(r.towers, &m.Towers[i])
		r.ann = append(r.ann, "")
	}
	return r, nil
}

// lookupReply parses an ept_lookup response stub (C706 O.2.3);
// entries without a tower are left out.
func (c *Conn) lookupReply(stub []byte, drep DataRep, enc Encoding) (epmReply, error) {
	m, err := parseLookupResponse(stub, drep, enc, c.lim.EPM)
	if err != nil {
		return epmReply{}, err
	}
	r := epmReply{op: "ept_lookup", status: m.Status}
	for i := range m.Entries {
		if m.Entries[i].HasTower {
			r.towers = append(r.towers, &m.Entries[i].Tower)
			r.ann = append(r.ann, m.Entries[i].Annotation)
		}
	}
	return r, nil
}

// epmStatus reports rpc.epm_not_registered for a reply with status
// ept_s_not_registered, or for a successful reply without towers.
func (c *Conn) epmStatus(cl *call, r *epmReply, end tcpstate.Position) {
	op, status := r.op, r.status
	switch {
	case status == StatusNotRegistered:
		sev := health.Warning
		msg := fmt.Sprintf("%s (call_id %d, frame %d) answered %s (%s): the endpoint mapper has no matching endpoint", op, cl.id, cl.reqEnd.Frame, status, status.Hex())
		if cl.opnum == EPMOpLookup {
			sev = health.Notice
			msg = fmt.Sprintf("%s (call_id %d) returned %d towers together with %s (%s, end of the endpoint table); clients that treat a non-zero status as failure (impacket rpcdump) report no endpoints", op, cl.id, len(r.towers), status, status.Hex())
		}
		c.ctx.Event(health.Event{Kind: health.RPCEPMNotRegistered, Severity: sev, Time: end.Time, Frame: end.Frame, Message: msg,
			Evidence: map[string]any{"status": status.Hex(), "status_name": status.String(), "opnum": cl.opnum, "towers": len(r.towers), "request_frame": cl.reqEnd.Frame}})
	case len(r.towers) == 0 && status == StatusOK:
		c.ctx.Event(health.Event{Kind: health.RPCEPMNotRegistered, Severity: health.Warning, Time: end.Time, Frame: end.Frame,
			Message:  fmt.Sprintf("%s (call_id %d, frame %d) succeeded but returned no towers: the interface is not registered", op, cl.id, cl.reqEnd.Frame),
			Evidence: map[string]any{"status": status.Hex(), "status_name": status.String(), "opnum": cl.opnum, "towers": 0, "request_frame": cl.reqEnd.Frame}})
	}
}

// shortReply reports an EPM reply whose stub ends before it could hold a
// tower (casebook C4, client side: a 24-byte reply instead of ~150).
func (c *Conn) shortReply(cl *call, stub []byte, p *PDU, end tcpstate.Position, err error) {
	op := OpName(EPMInterface, cl.opnum)
	c.ctx.Event(health.Event{Kind: health.RPCEPMShortReply, Severity: health.Error, Time: end.Time, Frame: end.Frame,
		Message: fmt.Sprintf("%s reply (call_id %d, frame %d) is only %d bytes (stub %d bytes): too short to hold a tower (a normal ept_map reply is about 150 bytes); something on the path cut or rewrote it",
			op, cl.id, end.Frame, p.Header.FragLength, len(stub)),
		Evidence: map[string]any{"stub_len": len(stub), "frag_len": p.Header.FragLength, "opnum": cl.opnum, "request_frame": cl.reqEnd.Frame, "error": err.Error()}})
	if c.ctx.Reporter.WantMessages() {
		c.later(health.Message{Frame: end.Frame, Time: end.Time, Flow: c.ctx.Flow, Proto: "epm", Fields: map[string]any{
			"opnum": cl.opnum, "operation": op, "call_id": cl.id, "towers": []map[string]any{}, "error": err.Error()}})
	}
}

// endpoint reports one advertised tower: the Learned callback, the learned
// event for IP endpoints, and the address mismatch of casebook C4.
func (c *Conn) endpoint(cl *call, t *Tower, annotation string, end tcpstate.Position) {
	server := c.ctx.Server
	ep := Endpoint{
		IP: t.IP, Protocol: t.Protocol, Protseq: t.Protseq(), Pipe: t.Pipe,
		Interface: t.Interface, InterfaceName: InterfaceName(t.Interface),
		Version: t.InterfaceVersion, VersionMinor: t.InterfaceMinor,
		Annotation: annotation, Server: server, Frame: end.Frame,
	}
	if t.HasPort {
		ep.Port = t.Port
	}
	towerIP := t.IP
	if !towerIP.IsValid() || towerIP.IsUnspecified() {
		if server.IsValid() && (t.HasPort || t.Protocol == "pipe") {
			ep.IP = server.Addr()
		} else {
			ep.IP = towerIP
		}
	} else if server.IsValid() && towerIP.Unmap() != server.Addr().Unmap() {
		ep.AddressDiffers = true
	}
	if c.cfg.Learned != nil {
		c.cfg.Learned(ep)
	}
	if ep.Port == 0 || !ep.IP.IsValid() {
		return
	}
	key := learnKey{ip: ep.IP, port: ep.Port, iface: ep.Interface, proto: ep.Protocol}
	label := c.ifaceLabel(ep.Interface)
	if ep.AddressDiffers {
		if c.mismatch == nil {
			c.mismatch = make(map[learnKey]struct{})
		}
		if _, dup := c.mismatch[key]; !dup && len(c.mismatch) < c.lim.MaxEvents {
			c.mismatch[key] = struct{}{}
			c.addressMismatch(cl, &ep, towerIP, label, end)
		}
	}
	if c.learned == nil {
		c.learned = make(map[learnKey]struct{})
	}
	if _, dup := c.learned[key]; dup {
		return
	}
	if c.nLearned >= c.lim.MaxEvents {
		c.stats.EventsCapped++
		return
	}
	c.nLearned++
	c.learned[key] = struct{}{}
	c.ctx.Event(health.Event{Kind: health.RPCEndpointLearned, Severity: health.Info, Time: end.Time, Frame: end.Frame,
		Message:  fmt.Sprintf("endpoint mapper: %s (%s v%d.%d) listens on %s %s:%d", label, ep.Interface, ep.Version, ep.VersionMinor, ep.Protocol, ep.IP, ep.Port),
		Evidence: map[string]any{"interface": label, "interface_uuid": ep.Interface.String(), "ip": ep.IP.String(), "port": ep.Port, "protocol": ep.Protocol}})
}

// rewrittenReason says why a tower address is not compared on a capture
// whose packets were changed after their checksums were computed
// (tcpstate.StreamContext.Altered).
const rewrittenReason = "the capture's addresses look rewritten (checksums do not match): the tower address cannot be compared"

// addressMismatch reports rpc.epm_address_mismatch (casebook C4): the tower
// names an IP other than the one the request was sent to. On a capture
// whose addresses were rewritten (an anonymiser, a NAT tool) the header
// addresses are not the ones the server saw, so the comparison proves
// nothing: the event is a notice that says so.
func (c *Conn) addressMismatch(cl *call, ep *Endpoint, towerIP netip.Addr, label string, end tcpstate.Position) {
	server := c.ctx.Server
	ev := map[string]any{"requested_ip": server.Addr().String(), "tower_ip": towerIP.String(), "port": ep.Port,
		"interface": label, "interface_uuid": ep.Interface.String(), "protocol": ep.Protocol, "request_frame": cl.reqEnd.Frame}
	e := health.Event{Kind: health.RPCEPMAddressMismatch, Severity: health.Warning, Time: end.Time, Frame: end.Frame, Evidence: ev,
		Message: fmt.Sprintf("the endpoint mapper at %s advertised %s (%s) at %s port %d, not at %s, the address the request was sent to: a load balancer or NAT rewrites the destination; RPC filters and clients that check the tower address reject this reply",
			server, label, ep.Interface, towerIP, ep.Port, server.Addr())}
	if c.ctx.Altered {
		e.Severity = health.Notice
		ev["reason"] = rewrittenReason
		e.Message = fmt.Sprintf("the endpoint mapper at %s advertised %s (%s) at %s port %d, not at %s: %s",
			server, label, ep.Interface, towerIP, ep.Port, server.Addr(), rewrittenReason)
	}
	c.ctx.Event(e)
}
