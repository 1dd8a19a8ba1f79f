package tds

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/nettrace/nettrace/tcpstate"
)

// PacketType is the first byte of a TDS packet header ([MS-TDS] 2.2.3.1.1).
type PacketType uint8

// Packet types.
const (
	TypeSQLBatch           PacketType = 0x01 // SQL batch
	TypePreTDS7Login       PacketType = 0x02 // pre-TDS7 login (legacy)
	TypeRPC                PacketType = 0x03 // remote procedure call
	TypeResponse           PacketType = 0x04 // tabular result (server)
	TypeAttention          PacketType = 0x06 // attention signal (cancel)
	TypeBulkLoad           PacketType = 0x07 // bulk load data
	TypeFedAuthToken       PacketType = 0x08 // federated authentication token
	TypeTransactionManager PacketType = 0x0E // transaction manager request
	TypeLogin7             PacketType = 0x10 // TDS7+ login
	TypeSSPI               PacketType = 0x11 // SSPI message
	TypePrelogin           PacketType = 0x12 // pre-login (and TLS handshake inside it)
)

var packetTypeNames = map[PacketType]string{
	TypeSQLBatch: "SQL_BATCH", TypePreTDS7Login: "PRE_TDS7_LOGIN", TypeRPC: "RPC",
	TypeResponse: "RESPONSE", TypeAttention: "ATTENTION", TypeBulkLoad: "BULK_LOAD",
	TypeFedAuthToken: "FEDAUTH_TOKEN", TypeTransactionManager: "TM_REQUEST",
	TypeLogin7: "LOGIN7", TypeSSPI: "SSPI", TypePrelogin: "PRELOGIN",
}

// String returns the spec's name ("SQL_BATCH", "LOGIN7", …) or PacketType(0xNN).
func (t PacketType) String() string {
	return enumName(packetTypeNames, "PacketType", t)
}

// Known reports whether t is a packet type of [MS-TDS] 2.2.3.1.1.
func (t PacketType) Known() bool {
	switch t {
	case TypeSQLBatch, TypePreTDS7Login, TypeRPC, TypeResponse, TypeAttention, TypeBulkLoad,
		TypeFedAuthToken, TypeTransactionManager, TypeLogin7, TypeSSPI, TypePrelogin:
		return true
	}
	return false
}

// fromClient reports whether a client sends packets of type t.
func (t PacketType) fromClient() bool {
	return t.Known() && t != TypeResponse
}

// fromServer reports whether a server sends packets of type t (PRELOGIN
// carries the server's TLS handshake).
func (t PacketType) fromServer() bool { return t == TypeResponse || t == TypePrelogin }

// sentBy reports whether the end that sends in direction dir sends packets
// of type t.
func (t PacketType) sentBy(dir tcpstate.Dir) bool {
	switch dir {
	case tcpstate.ClientToServer:
		return t.fromClient()
	case tcpstate.ServerToClient:
		return t.fromServer()
	}
	return true
}

// Status is the packet header's status bit field ([MS-TDS] 2.2.3.1.2).
type Status uint8

// Status bits.
const (
	StatusEOM                      Status = 0x01 // last packet of the message
	StatusIgnore                   Status = 0x02 // client: ignore this message
	StatusEventNotification        Status = 0x04 // legacy (TDS 4.2/7.0); seen in the wild
	StatusResetConnection          Status = 0x08 // reset the connection before the request
	StatusResetConnectionSkipTrans Status = 0x10 // reset, keeping the transaction
	statusKnown                           = 0x1F
)

// String lists the set bits ("EOM|RESETCONNECTION"), "NORMAL" for 0.
func (s Status) String() string {
	if s == 0 {
		return "NORMAL"
	}
	var parts []string
	names := []struct {
		b Status
		n string
	}{{StatusEOM, "EOM"}, {StatusIgnore, "IGNORE"}, {StatusEventNotification, "EVENT_NOTIFICATION"},
		{StatusResetConnection, "RESETCONNECTION"}, {StatusResetConnectionSkipTrans, "RESETCONNECTIONSKIPTRAN"}}
	for _, n := range names {
		if s&n.b != 0 {
			parts = append(parts, n.n)
		}
	}
	if rest := s &^ statusKnown; rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%02x", uint8(rest)))
	}
	return strings.Join(parts, "|")
}

// HeaderLen is the size of the packet header.
const HeaderLen = 8

// Header is the 8-byte TDS packet header ([MS-TDS] 2.2.3.1). Length and SPID
// are big-endian on the wire; Length counts the header.
type Header struct {
	Type     PacketType
	Status   Status
	Length   uint16
	SPID     uint16
	PacketID uint8
	Window   uint8
}

// EOM reports whether the packet ends its message.
func (h Header) EOM() bool { return h.Status&StatusEOM != 0 }

// Packet is one TDS packet. Payload aliases the input.
type Packet struct {
	Header
	Payload []byte
}

// ParseHeader parses a packet header at the front of b and returns it with
// the bytes after the header. A length below 8, an unknown type or unknown
// status bits are ErrMalformed; fewer than 8 bytes is ErrTruncated. On error
// b is returned unchanged.
func ParseHeader(b []byte) (Header, []byte, error) {
	s := cryptobyte.String(b)
	var h Header
	var t, st uint8
	if !s.ReadUint8(&t) || !s.ReadUint8(&st) || !s.ReadUint16(&h.Length) ||
		!s.ReadUint16(&h.SPID) || !s.ReadUint8(&h.PacketID) || !s.ReadUint8(&h.Window) {
		return Header{}, b, truncated("packet header", HeaderLen)
	}
	h.Type, h.Status = PacketType(t), Status(st)
	if !h.Type.Known() {
		return Header{}, b, malformed("packet header", fmt.Sprintf("unknown packet type 0x%02x", t))
	}
	if h.Status&^statusKnown != 0 {
		return Header{}, b, malformed("packet header", fmt.Sprintf("status 0x%02x has unknown bits", st))
	}
	if h.Length < HeaderLen {
		return Header{}, b, malformed("packet header", fmt.Sprintf("length %d below header size 8", h.Length))
	}
	return h, []byte(s), nil
}

// ParsePacket parses one whole packet at the front of b and returns it with
// the bytes after it. Payload aliases b. On error b is returned unchanged;
// a packet not yet complete is ErrTruncated with Need set to its length.
func ParsePacket(b []byte) (Packet, []byte, error) {
	h, rest, err := ParseHeader(b)
	if err != nil {
		return Packet{}, b, err
	}
	s := cryptobyte.String(rest)
	var p Packet
	if !s.ReadBytes(&p.Payload, int(h.Length)-HeaderLen) {
		return Packet{}, b, truncated("packet", int(h.Length))
	}
	p.Header = h
	return p, []byte(s), nil
}

// Detect reports whether b, the first bytes a direction of a connection
// carries, plausibly starts a TDS packet: a known packet type (0x12
// PRELOGIN, 0x10 LOGIN7, 0x01 batch, 0x03 RPC, 0x06 attention, 0x07 bulk,
// 0x0E TM, 0x11 SSPI, 0x08 FEDAUTH token from the client; 0x04 response or
// 0x12 from the server), no unknown status bits, a length of at least 8 and
// a zero window byte. When b holds the whole packet and more, the next
// packet header must be plausible too. A type of the other direction is
// accepted as well, because a connection picked up mid-stream may have its
// ends guessed wrong; the Conn then swaps them (see NewConn).
func Detect(dir tcpstate.Dir, b []byte) bool {
	return plausibleHeader(dir, b, true) || plausibleHeader(dir.Other(), b, true)
}

func plausibleHeader(dir tcpstate.Dir, b []byte, checkNext bool) bool {
	if len(b) < HeaderLen {
		return false
	}
	h := Header{Type: PacketType(b[0]), Status: Status(b[1]), Length: uint16(b[2])<<8 | uint16(b[3]), Window: b[7]}
	if !h.Type.Known() || h.Status&^statusKnown != 0 || h.Length < HeaderLen || h.Window != 0 {
		return false
	}
	if !h.Type.sentBy(dir) {
		return false
	}
	if h.Type == TypeAttention && h.Length != HeaderLen {
		return false
	}
	if checkNext && len(b) > int(h.Length)+1 {
		return plausibleHeader(dir, b[h.Length:], false)
	}
	return true
}

// isTLSRecord reports whether b starts with a TLS record header (content
// type 20..23, version 3.x) — TLS inside PRELOGIN, or raw TLS after it.
func isTLSRecord(b []byte) bool {
	return len(b) >= 3 && b[0] >= 20 && b[0] <= 23 && b[1] == 3 && b[2] <= 4
}

// tlsRecordLen returns the length of the TLS record at b[0:] including its
// 5-byte header, or 0 when the header is incomplete.
func tlsRecordLen(b []byte) int {
	s := cryptobyte.String(b)
	var hdr []byte
	var n uint16
	if !s.ReadBytes(&hdr, 3) || !s.ReadUint16(&n) {
		return 0
	}
	return 5 + int(n)
}

// maxTLSRecord bounds a TLS record (RFC 5246, 6.2.3).
const maxTLSRecord = 5 + 1<<14 + 2048
