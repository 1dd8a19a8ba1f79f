package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// SMP (Session Multiplex Protocol, [MC-SMP] 2.2) carries MARS sessions:
// every SMP packet starts with this 16-byte little-endian header.
const (
	smpID        = 0x53
	smpHeaderLen = 16
	// maxSMPPacket bounds an SMP packet: a TDS packet (at most 65535
	// bytes) plus the header.
	maxSMPPacket = smpHeaderLen + 65535
)

// SMPFlags is the SMP header's flags byte ([MC-SMP] 2.2.1).
type SMPFlags uint8

// SMP flags: exactly one is set per packet.
const (
	SMPSyn  SMPFlags = 0x01
	SMPAck  SMPFlags = 0x02
	SMPFin  SMPFlags = 0x04
	SMPData SMPFlags = 0x08
)

var smpFlagNames = map[SMPFlags]string{SMPSyn: "SYN", SMPAck: "ACK", SMPFin: "FIN", SMPData: "DATA"}

// String returns "SYN", "ACK", "FIN", "DATA" or SMPFlags(0xNN).
func (f SMPFlags) String() string {
	return enumName(smpFlagNames, "SMPFlags", f)
}

// SMPHeader is the SMP packet header. Length counts the header.
type SMPHeader struct {
	Flags  SMPFlags
	SID    uint16
	Length uint32
	SeqNum uint32
	Window uint32
}

// ParseSMP parses one SMP packet at the front of b and returns its header,
// its payload (aliasing b; only DATA packets have one) and the bytes after
// it. On error b is returned unchanged.
func ParseSMP(b []byte) (SMPHeader, []byte, []byte, error) {
	r := wire.Reader(b)
	var id, fl uint8
	var h SMPHeader
	if !r.ReadUint8(&id) || !r.ReadUint8(&fl) || !r.ReadUint16(&h.SID) || !r.ReadUint32(&h.Length) ||
		!r.ReadUint32(&h.SeqNum) || !r.ReadUint32(&h.Window) {
		return SMPHeader{}, nil, b, truncated("smp header", smpHeaderLen)
	}
	h.Flags = SMPFlags(fl)
	if id != smpID {
		return SMPHeader{}, nil, b, malformed("smp header", fmt.Sprintf("id 0x%02x is not 0x53", id))
	}
	switch h.Flags {
	case SMPSyn, SMPAck, SMPFin:
		if h.Length != smpHeaderLen {
			return SMPHeader{}, nil, b, malformed("smp header", fmt.Sprintf("%s with length %d", h.Flags, h.Length))
		}
	case SMPData:
		if h.Length < smpHeaderLen || h.Length > maxSMPPacket {
			return SMPHeader{}, nil, b, malformed("smp header", fmt.Sprintf("data length %d", h.Length))
		}
	default:
		return SMPHeader{}, nil, b, malformed("smp header", fmt.Sprintf("flags 0x%02x", fl))
	}
	var payload []byte
	if !r.ReadBytes(&payload, int(h.Length)-smpHeaderLen) {
		return SMPHeader{}, nil, b, truncated("smp packet", int(h.Length))
	}
	return h, payload, []byte(r), nil
}
