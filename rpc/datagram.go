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
