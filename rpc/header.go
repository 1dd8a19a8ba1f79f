package rpc

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
	"github.com/nettrace/nettrace/tcpstate"
)

// PacketType is the connection-oriented PTYPE (C706 12.6.4, Table 12-1;
// [MS-RPCE] 2.2.2.1 adds rts).
type PacketType uint8

// Packet types.
const (
	PTRequest          PacketType = 0
	PTPing             PacketType = 1 // connectionless only
	PTResponse         PacketType = 2
	PTFault            PacketType = 3
	PTWorking          PacketType = 4 // connectionless only
	PTNoCall           PacketType = 5
	PTReject           PacketType = 6
	PTAck              PacketType = 7
	PTClCancel         PacketType = 8
	PTFack             PacketType = 9
	PTCancelAck        PacketType = 10
	PTBind             PacketType = 11
	PTBindAck          PacketType = 12
	PTBindNak          PacketType = 13
	PTAlterContext     PacketType = 14
	PTAlterContextResp PacketType = 15
	PTAuth3            PacketType = 16
	PTShutdown         PacketType = 17
	PTCoCancel         PacketType = 18
	PTOrphaned         PacketType = 19
	PTRTS              PacketType = 20 // RPC over HTTP ([MS-RPCH] 2.2.3.6)
)

var packetTypeNames = [...]string{"request", "ping", "response", "fault", "working", "nocall", "reject",
	"ack", "cl_cancel", "fack", "cancel_ack", "bind", "bind_ack", "bind_nak", "alter_context",
	"alter_context_resp", "auth3", "shutdown", "co_cancel", "orphaned", "rts"}

// String returns the C706 name ("bind_ack") or PacketType(n).
func (t PacketType) String() string {
	if int(t) < len(packetTypeNames) {
		return packetTypeNames[t]
	}
	return fmt.Sprintf("PacketType(%d)", uint8(t))
}

// connectionOriented reports whether t may appear on a connection-oriented
// transport (C706 12.6.4).
func (t PacketType) connectionOriented() bool {
	switch t {
	case PTRequest, PTResponse, PTFault, PTBind, PTBindAck, PTBindNak, PTAlterContext,
		PTAlterContextResp, PTAuth3, PTShutdown, PTCoCancel, PTOrphaned, PTRTS:
		return true
	}
	return false
}

// Flags are the pfc_flags (C706 12.6.3.1).
type Flags uint8

// Flag bits.
const (
	FlagFirstFrag         Flags = 0x01 // PFC_FIRST_FRAG
	FlagLastFrag          Flags = 0x02 // PFC_LAST_FRAG
	FlagPendingCancel     Flags = 0x04 // PFC_PENDING_CANCEL; in bind: PFC_SUPPORT_HEADER_SIGN
	FlagConcMpx           Flags = 0x10 // PFC_CONC_MPX
	FlagDidNotExecute     Flags = 0x20 // PFC_DID_NOT_EXECUTE
	FlagMaybe             Flags = 0x40 // PFC_MAYBE
	FlagObjectUUID        Flags = 0x80 // PFC_OBJECT_UUID
	flagsFirstAndLastFrag       = FlagFirstFrag | FlagLastFrag
)

// DataRep is the 4-byte data representation label (C706 14.1, Figure 14-1):
// byte 0 holds the integer (high nibble) and character (low nibble)
// formats, byte 1 the floating-point format.
type DataRep [4]byte

// LittleEndian is the data representation of x86 senders: little-endian
// integers, ASCII, IEEE floats.
var LittleEndian = DataRep{0x10, 0, 0, 0}

// BigEndian reports whether integers are big-endian (integer format 0).
func (d DataRep) BigEndian() bool { return d[0]&0xf0 == 0 }

// EBCDIC reports whether characters are EBCDIC (character format 1).
func (d DataRep) EBCDIC() bool { return d[0]&0x0f == 1 }

// Float returns the floating-point format: 0 IEEE, 1 VAX, 2 Cray, 3 IBM.
func (d DataRep) Float() uint8 { return d[1] }

// valid reports whether d names formats C706 defines.
func (d DataRep) valid() bool {
	return d[0]&0xee == 0 && d[1] <= 3
}

// String returns e.g. "little-endian/ascii/ieee".
func (d DataRep) String() string {
	s := "little-endian"
	if d.BigEndian() {
		s = "big-endian"
	}
	if d.EBCDIC() {
		s += "/ebcdic"
	} else {
		s += "/ascii"
	}
	switch d[1] {
	case 0:
		s += "/ieee"
	case 1:
		s += "/vax"
	case 2:
		s += "/cray"
	case 3:
		s += "/ibm"
	default:
		s += fmt.Sprintf("/float(%d)", d[1])
	}
	return s
}

// HeaderLen is the size of the common header of every connection-oriented
// PDU (C706 12.6.3.1).
const HeaderLen = 16

// Header is the connection-oriented common header (C706 12.6.3.1).
type Header struct {
	Version      uint8 // rpc_vers, 5
	VersionMinor uint8 // rpc_vers_minor, 0 or 1
	Type         PacketType
	Flags        Flags
	DataRep      DataRep
	FragLength   uint16 // whole PDU, header included
	AuthLength   uint16 // length of the auth_value, without the 8-byte sec_trailer
	CallID       uint32
}

// First reports whether the PDU is the first fragment of its call.
func (h *Header) First() bool { return h.Flags&FlagFirstFrag != 0 }

// Last reports whether the PDU is the last fragment of its call.
func (h *Header) Last() bool { return h.Flags&FlagLastFrag != 0 }

// Decode parses the 16-byte common header at the front of b into h. It
// checks the version, packet type, data representation and that frag_length
// can hold the header and auth_length; it does not need the rest of the PDU.
// On error h is zeroed and the error wraps ErrTruncated or ErrMalformed.
func (h *Header) Decode(b []byte) error {
	*h = Header{}
	r := wire.Reader(b)
	var t, f uint8
	if !r.ReadUint8(&h.Version) || !r.ReadUint8(&h.VersionMinor) || !r.ReadUint8(&t) || !r.ReadUint8(&f) ||
		!r.CopyBytes(h.DataRep[:]) {
		return truncated("pdu header", HeaderLen)
	}
	h.Type, h.Flags = PacketType(t), Flags(f)
	be := h.DataRep.BigEndian()
	var ok bool
	if be {
		ok = r.ReadUint16BE(&h.FragLength) && r.ReadUint16BE(&h.AuthLength) && r.ReadUint32BE(&h.CallID)
	} else {
		ok = r.ReadUint16(&h.FragLength) && r.ReadUint16(&h.AuthLength) && r.ReadUint32(&h.CallID)
	}
	if !ok {
		*h = Header{}
		return truncated("pdu header", HeaderLen)
	}
	if err := h.check(); err != nil {
		*h = Header{}
		return err
	}
	return nil
}

func (h *Header) check() error {
	switch {
	case h.Version != 5 || h.VersionMinor > 1:
		return malformed("pdu header", "version %d.%d is not 5.0 or 5.1", h.Version, h.VersionMinor)
	case !h.Type.connectionOriented():
		return malformed("pdu header", "packet type %d is not a connection-oriented type", uint8(h.Type))
	case !h.DataRep.valid():
		return malformed("pdu header", "data representation %02x%02x%02x%02x is not defined",
			h.DataRep[0], h.DataRep[1], h.DataRep[2], h.DataRep[3])
	case h.FragLength < HeaderLen:
		return malformed("pdu header", "frag_length %d is shorter than the header", h.FragLength)
	case h.AuthLength > 0 && int(h.AuthLength)+8 > int(h.FragLength)-HeaderLen:
		return malformed("pdu header", "auth_length %d does not fit in frag_length %d", h.AuthLength, h.FragLength)
	}
	return nil
}

// Detect reports whether b — the first bytes of one direction of a stream —
// starts a connection-oriented DCE/RPC PDU: version 5.0 or 5.1, a known
// connection-oriented packet type, a defined data representation, a
// frag_length of at least 16 that can hold auth_length. dir is accepted for
// the Analyzer's Decoder.Detect signature; both directions are checked the
// same way. It needs at least 16 bytes.
func Detect(dir tcpstate.Dir, b []byte) bool {
	var h Header
	return len(b) >= HeaderLen && h.Decode(b) == nil
}
