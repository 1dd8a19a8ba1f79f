package rpc

import (
	"encoding/binary"
	"net/netip"
)

// Builders for synthetic PDUs. They write the data representation given
// (little- or big-endian integers) and are used by tests and fuzz seeds.

type builder struct {
	be bool
	b  []byte
}

func (w *builder) u8(v uint8) *builder { w.b = append(w.b, v); return w }
func (w *builder) u16(v uint16) *builder {
	if w.be {
		w.b = binary.BigEndian.AppendUint16(w.b, v)
	} else {
		w.b = binary.LittleEndian.AppendUint16(w.b, v)
	}
	return w
}
func (w *builder) u32(v uint32) *builder {
	if w.be {
		w.b = binary.BigEndian.AppendUint32(w.b, v)
	} else {
		w.b = binary.LittleEndian.AppendUint32(w.b, v)
	}
	return w
}
func (w *builder) uuid(u UUID) *builder  { w.b = u.AppendWire(w.b, w.be); return w }
func (w *builder) raw(b []byte) *builder { w.b = append(w.b, b...); return w }
func (w *builder) align(n int) *builder {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
	return w
}

// pdu builds a whole PDU around body (and an optional auth trailer of
// authLen zero bytes of type 10 NTLMSSP, level 5).
func pdu(be bool, t PacketType, flags Flags, callID uint32, body []byte, authLen int) []byte {
	drep := LittleEndian
	if be {
		drep = DataRep{0x00, 0, 0, 0}
	}
	n := HeaderLen + len(body)
	if authLen > 0 {
		n += secTrailerLen + authLen
	}
	w := &builder{be: be}
	w.u8(5).u8(0).u8(uint8(t)).u8(uint8(flags)).raw(drep[:]).u16(uint16(n)).u16(uint16(authLen)).u32(callID)
	w.raw(body)
	if authLen > 0 {
		w.u8(uint8(AuthNTLMSSP)).u8(5).u8(0).u8(0).u32(0)
		w.raw(make([]byte, authLen))
	}
	return w.b
}

func bindBody(be bool, ctxID uint16, iface UUID, ver uint16) []byte {
	w := &builder{be: be}
	w.u16(4280).u16(4280).u32(0).u8(1).u8(0).u16(0)
	w.u16(ctxID).u8(1).u8(0).uuid(iface).u32(uint32(ver)).uuid(NDRSyntax).u32(2)
	return w.b
}

func bindAckBody(be bool, secAddr string, result Result, reason uint16) []byte {
	w := &builder{be: be}
	w.u16(4280).u16(4280).u32(0x1234)
	w.u16(uint16(len(secAddr) + 1)).raw([]byte(secAddr)).u8(0)
	w.b = append([]byte(nil), w.b...)
	// align to 4 relative to the PDU start (the body starts at offset 16)
	for (len(w.b))%4 != 0 {
		w.b = append(w.b, 0)
	}
	w.u8(1).u8(0).u16(0)
	w.u16(uint16(result)).u16(reason).uuid(NDRSyntax).u32(2)
	return w.b
}

func requestBody(be bool, ctxID, opnum uint16, stub []byte) []byte {
	w := &builder{be: be}
	w.u32(uint32(len(stub))).u16(ctxID).u16(opnum).raw(stub)
	return w.b
}

func responseBody(be bool, ctxID uint16, stub []byte) []byte {
	w := &builder{be: be}
	w.u32(uint32(len(stub))).u16(ctxID).u8(0).u8(0).raw(stub)
	return w.b
}

func faultBody(be bool, status Status) []byte {
	w := &builder{be: be}
	w.u32(0).u16(0).u8(0).u8(0).u32(uint32(status)).u32(0)
	return w.b
}

// towerBytes builds an ncacn_ip_tcp tower: interface, NDR, CO, TCP port, IP.
func towerBytes(iface UUID, ver uint16, port uint16, ip netip.Addr) []byte {
	w := &builder{}
	w.b = binary.LittleEndian.AppendUint16(w.b, 5)
	floor := func(lhs, rhs []byte) {
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(len(lhs)))
		w.b = append(w.b, lhs...)
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(len(rhs)))
		w.b = append(w.b, rhs...)
	}
	lhs := append([]byte{FloorUUID}, iface.AppendWire(nil, false)...)
	lhs = binary.LittleEndian.AppendUint16(lhs, ver)
	floor(lhs, []byte{0, 0})
	lhs = append([]byte{FloorUUID}, NDRSyntax.AppendWire(nil, false)...)
	lhs = binary.LittleEndian.AppendUint16(lhs, 2)
	floor(lhs, []byte{0, 0})
	floor([]byte{FloorRPCCO}, []byte{0, 0})
	floor([]byte{FloorTCP}, binary.BigEndian.AppendUint16(nil, port))
	a := ip.As4()
	floor([]byte{FloorIP}, a[:])
	return w.b
}

// mapRequestStub builds an ept_map request stub: object, tower, handle,
// max_towers.
func mapRequestStub(be bool, tower []byte, maxTowers uint32) []byte {
	w := &builder{be: be}
	w.u32(1).uuid(UUID{})
	w.u32(2).u32(uint32(len(tower))).u32(uint32(len(tower))).raw(tower).align(4)
	w.raw(make([]byte, 20)).u32(maxTowers)
	return w.b
}

// mapResponseStub builds an ept_map response stub with the towers given.
func mapResponseStub(be bool, towers [][]byte, status Status) []byte {
	w := &builder{be: be}
	w.raw(make([]byte, 20)).u32(uint32(len(towers)))
	w.u32(uint32(len(towers))).u32(0).u32(uint32(len(towers)))
	for i := range towers {
		w.u32(uint32(3 + i))
	}
	for _, t := range towers {
		w.align(4).u32(uint32(len(t))).u32(uint32(len(t))).raw(t)
	}
	w.align(4).u32(uint32(status))
	return w.b
}

// NDR64 builders ([MS-RPCE] 2.2.5): referent ids and array counts are
// 8-byte aligned unsigned hypers; the conformance of a conformant structure
// (twr_t) leads it.

func (w *builder) u64(v uint64) *builder {
	w.b = binary.LittleEndian.AppendUint64(w.b, v)
	return w
}

// bindBody64 builds a bind as 64-bit Windows sends it: context 0 proposes
// NDR, context 1 NDR64.
func bindBody64(iface UUID, ver uint16) []byte {
	w := &builder{}
	w.u16(4280).u16(4280).u32(0).u8(2).u8(0).u16(0)
	w.u16(0).u8(1).u8(0).uuid(iface).u32(uint32(ver)).uuid(NDRSyntax).u32(2)
	w.u16(1).u8(1).u8(0).uuid(iface).u32(uint32(ver)).uuid(NDR64Syntax).u32(1)
	return w.b
}

// bindAckBody64 accepts context 1 (NDR64) and rejects context 0 (provider
// rejection, proposed transfer syntaxes not supported).
func bindAckBody64(secAddr string) []byte {
	w := &builder{}
	w.u16(4280).u16(4280).u32(0x1234)
	w.u16(uint16(len(secAddr) + 1)).raw([]byte(secAddr)).u8(0)
	for len(w.b)%4 != 0 {
		w.b = append(w.b, 0)
	}
	w.u8(2).u8(0).u16(0)
	w.u16(uint16(ProviderRejection)).u16(2).uuid(UUID{}).u32(0)
	w.u16(uint16(Acceptance)).u16(0).uuid(NDR64Syntax).u32(1)
	return w.b
}

// twr64 appends an NDR64 twr_t: conformance (hyper), tower_length, octets.
func (w *builder) twr64(tower []byte) *builder {
	return w.align(8).u64(uint64(len(tower))).u32(uint32(len(tower))).raw(tower)
}

// mapRequestStub64 builds an ept_map request stub in NDR64.
func mapRequestStub64(tower []byte, maxTowers uint32) []byte {
	w := &builder{}
	w.u64(0x20000).uuid(UUID{})
	w.align(8).u64(0x20004).twr64(tower)
	w.align(4).raw(make([]byte, 20)).u32(maxTowers)
	return w.b
}

// mapResponseStub64 builds an ept_map response stub in NDR64.
func mapResponseStub64(towers [][]byte, status Status) []byte {
	w := &builder{}
	n := uint64(len(towers))
	w.raw(make([]byte, 20)).u32(uint32(n))
	w.align(8).u64(n).u64(0).u64(n)
	for i := range towers {
		w.u64(uint64(0x20000 + 4*i))
	}
	for _, t := range towers {
		w.twr64(t)
	}
	w.align(4).u32(uint32(status))
	return w.b
}

// lookupResponseStub64 builds an ept_lookup response stub in NDR64: one
// ept_entry_t per tower, with an annotation, the towers deferred.
func lookupResponseStub64(towers [][]byte, annotation string, status Status) []byte {
	w := &builder{}
	n := uint64(len(towers))
	w.raw(make([]byte, 20)).u32(uint32(n))
	w.align(8).u64(n).u64(0).u64(n)
	for i := range towers {
		ann := append([]byte(annotation), 0)
		w.align(8).uuid(UUID{}).u64(uint64(0x20000 + 4*i)).u64(0).u64(uint64(len(ann))).raw(ann)
	}
	for _, t := range towers {
		w.twr64(t)
	}
	w.align(4).u32(uint32(status))
	return w.b
}
