package rpc

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// CLHeaderLen is the size of the connectionless PDU header (C706 12.5.1).
const CLHeaderLen = 80

// CLHeader is the header of a connectionless (datagram, ncadg) DCE/RPC PDU
// (C706 12.5.1), as carried over UDP. Only the header is decoded.
type CLHeader struct {
	Version    uint8 // rpc_vers, 4
	Type       PacketType
	Flags1     uint8
	Flags2     uint8
	DataRep    DataRep // the first 3 bytes are the label; the 4th is serial_hi
	SerialHi   uint8
	Object     UUID
	Interface  UUID
	Activity   UUID
	ServerBoot uint32
	IfVersion  uint32
	SeqNum     uint32
	Opnum      uint16
	IHint      uint16
	AHint      uint16
	BodyLength uint16
	FragNum    uint16
	AuthProto  uint8
	SerialLo   uint8
}

// ParseCLHeader parses the connectionless header at the front of b and
// returns it with the body after it (BodyLength bytes, or what there is
// when the datagram is shorter). On error b is returned unchanged.
func ParseCLHeader(b []byte) (CLHeader, []byte, error) {
	var h CLHeader
	r := wire.Reader(b)
	var t, drep3 uint8
	if !r.ReadUint8(&h.Version) || !r.ReadUint8(&t) || !r.ReadUint8(&h.Flags1) || !r.ReadUint8(&h.Flags2) ||
		!r.CopyBytes(h.DataRep[:3]) || !r.ReadUint8(&drep3) {
		return CLHeader{}, b, truncated("cl header", CLHeaderLen)
	}
	h.Type, h.SerialHi = PacketType(t), drep3
	if h.Version != 4 {
		return CLHeader{}, b, malformed("cl header", "version %d is not 4", h.Version)
	}
	if t > uint8(PTCancelAck) || !h.DataRep.valid() {
		return CLHeader{}, b, malformed("cl header", "packet type %d or data representation %x not valid", t, h.DataRep[:3])
	}
	be := h.DataRep.BigEndian()
	ok := readUUID(&r, be, &h.Object) && readUUID(&r, be, &h.Interface) && readUUID(&r, be, &h.Activity) &&
		read32(&r, be, &h.ServerBoot) && read32(&r, be, &h.IfVersion) && read32(&r, be, &h.SeqNum) &&
		read16(&r, be, &h.Opnum) && read16(&r, be, &h.IHint) && read16(&r, be, &h.AHint) &&
		read16(&r, be, &h.BodyLength) && read16(&r, be, &h.FragNum) && r.ReadUint8(&h.AuthProto) && r.ReadUint8(&h.SerialLo)
	if !ok {
		return CLHeader{}, b, truncated("cl header", CLHeaderLen)
	}
	body := []byte(r)
	if int(h.BodyLength) < len(body) {
		body = body[:h.BodyLength]
	}
	return h, body, nil
}

// String summarises the header: "request opnum 3 EPM seq 1".
func (h CLHeader) String() string {
	s := fmt.Sprintf("%s opnum %d", h.Type, h.Opnum)
	if n := InterfaceName(h.Interface); n != "" {
		s += " " + n
	}
	return s + fmt.Sprintf(" seq %d", h.SeqNum)
}

// Connectionless flags1 bits (C706 12.5.3.1).
const (
	CLFlagLastFrag   uint8 = 0x02 // the last fragment of the PDU
	CLFlagFrag       uint8 = 0x04 // one fragment of a multi-fragment PDU
	CLFlagNoFack     uint8 = 0x08 // the receiver need not acknowledge this fragment
	CLFlagMaybe      uint8 = 0x10 // "maybe" semantics: no response is expected
	CLFlagIdempotent uint8 = 0x20 // the call may be executed more than once
	CLFlagBroadcast  uint8 = 0x40 // sent to every server on the network
)

// CLFlag2CancelPending is the flags2 bit saying a cancel is pending (C706
// 12.5.3.2).
const CLFlag2CancelPending uint8 = 0x02

// DetectCL reports whether b, a UDP payload whose header declares wireLen
// bytes, is a connectionless DCE/RPC PDU: an 80-byte header of version 4
// with a connectionless packet type (0-10), a defined data representation,
// and a body length that accounts for the rest of the datagram exactly (a
// datagram carries one PDU, C706 12.5.2). The exact length makes a
// chance match with another protocol's datagram unlikely.
func DetectCL(b []byte, wireLen int) bool {
	if len(b) < CLHeaderLen || b[0] != 4 || b[1] > uint8(PTCancelAck) {
		return false
	}
	d := DataRep{b[4], b[5], b[6]}
	if !d.valid() {
		return false
	}
	var n int
	if d.BigEndian() {
		n = int(b[74])<<8 | int(b[75])
	} else {
		n = int(b[74]) | int(b[75])<<8
	}
	return CLHeaderLen+n == wireLen
}

// FackBody is the body of a fack PDU, and optionally of a nocall (C706
// 12.5.3.4): the receiver's window and the fragments it has received.
type FackBody struct {
	Version     uint8
	WindowSize  uint16
	MaxTSDU     uint32
	MaxFragSize uint32
	SerialNum   uint16
	SelAckLen   uint16 // number of 32-bit selective-acknowledgement masks
}

// ParseFackBody parses a fack body (C706 12.5.3.4; the selective
// acknowledgement masks are counted, not kept). be is the header's byte
// order. On error b is returned unchanged.
func ParseFackBody(b []byte, be bool) (FackBody, []byte, error) {
	var f FackBody
	r := wire.Reader(b)
	if !r.ReadUint8(&f.Version) || !r.Skip(1) || !read16(&r, be, &f.WindowSize) || !read32(&r, be, &f.MaxTSDU) ||
		!read32(&r, be, &f.MaxFragSize) || !read16(&r, be, &f.SerialNum) || !read16(&r, be, &f.SelAckLen) {
		return FackBody{}, b, truncated("fack body", 16)
	}
	if r.Len() < 4*int(f.SelAckLen) {
		return FackBody{}, b, malformed("fack body", "%d selective-ack masks need %d bytes, %d left", f.SelAckLen, 4*int(f.SelAckLen), r.Len())
	}
	r.Skip(4 * int(f.SelAckLen))
	return f, []byte(r), nil
}

// ParseCLStatus parses the 32-bit status that is the body of a fault or a
// reject PDU (C706 12.5.3.3, 12.5.3.8). be is the header's byte order.
func ParseCLStatus(b []byte, be bool) (Status, []byte, error) {
	r := wire.Reader(b)
	var s uint32
	if !read32(&r, be, &s) {
		return 0, b, truncated("cl status", 4)
	}
	return Status(s), []byte(r), nil
}
