package layers

import (
	"errors"
	"fmt"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"golang.org/x/crypto/cryptobyte"

	"github.com/nettrace/nettrace/internal/wire"
)

// gopacket LayerTypes for the application protocols nettrace decodes, in
// gopacket's application range (1000–1999). They give gopacket users a
// header-level decode of single-segment PDUs (a TCP payload that holds whole
// PDUs); the stream decoders of the smb, rpc, tds and tls packages handle
// PDUs split across segments.
var (
	LayerTypeNBSS   = gopacket.RegisterLayerType(1000, gopacket.LayerTypeMetadata{Name: "NBSS", Decoder: gopacket.DecodeFunc(decodeNBSS)})
	LayerTypeSMB    = gopacket.RegisterLayerType(1001, gopacket.LayerTypeMetadata{Name: "SMB", Decoder: gopacket.DecodeFunc(decodeSMB)})
	LayerTypeSMB2   = gopacket.RegisterLayerType(1002, gopacket.LayerTypeMetadata{Name: "SMB2", Decoder: gopacket.DecodeFunc(decodeSMB2)})
	LayerTypeDCERPC = gopacket.RegisterLayerType(1003, gopacket.LayerTypeMetadata{Name: "DCERPC", Decoder: gopacket.DecodeFunc(decodeDCERPC)})
	LayerTypeTDS    = gopacket.RegisterLayerType(1004, gopacket.LayerTypeMetadata{Name: "TDS", Decoder: gopacket.DecodeFunc(decodeTDS)})
	LayerTypeTLS    = gopacket.RegisterLayerType(1005, gopacket.LayerTypeMetadata{Name: "TLS", Decoder: gopacket.DecodeFunc(decodeTLS)})
)

// decodeWith is the gopacket.Decoder shape shared by the types below.
func decodeWith(l interface {
	gopacket.DecodingLayer
	gopacket.Layer
}, data []byte, p gopacket.PacketBuilder) error {
	if err := l.DecodeFromBytes(data, p); err != nil {
		return err
	}
	p.AddLayer(l)
	return p.NextDecoder(l.NextLayerType())
}

func decodeNBSS(data []byte, p gopacket.PacketBuilder) error   { return decodeWith(&NBSS{}, data, p) }
func decodeSMB(data []byte, p gopacket.PacketBuilder) error    { return decodeWith(&SMB{}, data, p) }
func decodeSMB2(data []byte, p gopacket.PacketBuilder) error   { return decodeWith(&SMB2{}, data, p) }
func decodeDCERPC(data []byte, p gopacket.PacketBuilder) error { return decodeWith(&DCERPC{}, data, p) }
func decodeTDS(data []byte, p gopacket.PacketBuilder) error    { return decodeWith(&TDS{}, data, p) }
func decodeTLS(data []byte, p gopacket.PacketBuilder) error    { return decodeWith(&TLSRecord{}, data, p) }

// cut sets the base layer to data[:n] + payload up to length bytes; when
// fewer bytes exist it reports truncation and keeps what is there.
func cut(b *glayers.BaseLayer, data []byte, hdr, length int, df gopacket.DecodeFeedback) {
	end := hdr + length
	if end > len(data) {
		df.SetTruncated()
		end = len(data)
	}
	*b = glayers.BaseLayer{Contents: data[:hdr], Payload: data[hdr:end]}
}

// NBSS is a NetBIOS Session Service header (RFC 1002, 4.3.1; [MS-SMB2] 2.1
// "Direct TCP transport" uses the same 4 bytes with a 24-bit length).
type NBSS struct {
	glayers.BaseLayer
	Type   uint8  // 0x00 session message, 0x81 request, 0x82 positive response, 0x85 keep-alive ...
	Length uint32 // 24-bit length of the payload
}

// LayerType returns LayerTypeNBSS.
func (n *NBSS) LayerType() gopacket.LayerType { return LayerTypeNBSS }

// CanDecode returns LayerTypeNBSS.
func (n *NBSS) CanDecode() gopacket.LayerClass { return LayerTypeNBSS }

// NextLayerType returns LayerTypeSMB or LayerTypeSMB2 for a session message
// that starts with their magic, else gopacket.LayerTypePayload.
func (n *NBSS) NextLayerType() gopacket.LayerType {
	if n.Type == 0 && len(n.Payload) >= 4 {
		switch string(n.Payload[:4]) {
		case "\xffSMB":
			return LayerTypeSMB
		case "\xfeSMB":
			return LayerTypeSMB2
		}
	}
	return gopacket.LayerTypePayload
}

// DecodeFromBytes decodes the 4-byte header; Payload aliases data.
func (n *NBSS) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	s := cryptobyte.String(data)
	var l uint32
	if !s.ReadUint8(&n.Type) || !s.ReadUint24(&l) {
		df.SetTruncated()
		return errors.New("nbss: header needs 4 bytes")
	}
	n.Length = l
	cut(&n.BaseLayer, data, 4, int(l), df)
	return nil
}

// SMB is an SMB1 header ([MS-CIFS] 2.2.3.1), 32 bytes after "\xffSMB".
type SMB struct {
	glayers.BaseLayer
	Command uint8
	Status  uint32 // NT status (little-endian on the wire)
	Flags   uint8
	Flags2  uint16
	TID     uint16
	PID     uint16 // low 16 bits
	UID     uint16
	MID     uint16
}

// LayerType returns LayerTypeSMB.
func (s *SMB) LayerType() gopacket.LayerType { return LayerTypeSMB }

// CanDecode returns LayerTypeSMB.
func (s *SMB) CanDecode() gopacket.LayerClass { return LayerTypeSMB }

// NextLayerType returns gopacket.LayerTypePayload.
func (s *SMB) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// DecodeFromBytes decodes the header; Payload (parameters and data) aliases data.
func (s *SMB) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	r := wire.Reader(data)
	var magic []byte
	var pidHigh uint16
	if !r.ReadBytes(&magic, 4) || !r.ReadUint8(&s.Command) || !r.ReadUint32(&s.Status) || !r.ReadUint8(&s.Flags) ||
		!r.ReadUint16(&s.Flags2) || !r.ReadUint16(&pidHigh) || !r.Skip(8+2) || !r.ReadUint16(&s.TID) ||
		!r.ReadUint16(&s.PID) || !r.ReadUint16(&s.UID) || !r.ReadUint16(&s.MID) {
		df.SetTruncated()
		return errors.New("smb: header needs 32 bytes")
	}
	if string(magic) != "\xffSMB" {
		return fmt.Errorf("smb: bad magic %x", magic)
	}
	s.BaseLayer = glayers.BaseLayer{Contents: data[:32], Payload: data[32:]}
	return nil
}

// SMB2 is an SMB2/3 header ([MS-SMB2] 2.2.1), 64 bytes after "\xfeSMB".
type SMB2 struct {
	glayers.BaseLayer
	CreditCharge uint16
	Status       uint32
	Command      uint16
	Credits      uint16 // request or response credits
	Flags        uint32
	NextCommand  uint32 // offset of the next compounded command, 0 if none
	MessageID    uint64
	SessionID    uint64
}

// LayerType returns LayerTypeSMB2.
func (s *SMB2) LayerType() gopacket.LayerType { return LayerTypeSMB2 }

// CanDecode returns LayerTypeSMB2.
func (s *SMB2) CanDecode() gopacket.LayerClass { return LayerTypeSMB2 }

// NextLayerType returns gopacket.LayerTypePayload.
func (s *SMB2) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// DecodeFromBytes decodes the header; Payload (this command's body and any
// compounded commands) aliases data.
func (s *SMB2) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	r := wire.Reader(data)
	var magic []byte
	var size uint16
	if !r.ReadBytes(&magic, 4) || !r.ReadUint16(&size) || !r.ReadUint16(&s.CreditCharge) || !r.ReadUint32(&s.Status) ||
		!r.ReadUint16(&s.Command) || !r.ReadUint16(&s.Credits) || !r.ReadUint32(&s.Flags) || !r.ReadUint32(&s.NextCommand) ||
		!r.ReadUint64(&s.MessageID) || !r.Skip(8) || !r.ReadUint64(&s.SessionID) || !r.Skip(16) {
		df.SetTruncated()
		return errors.New("smb2: header needs 64 bytes")
	}
	if string(magic) != "\xfeSMB" || size != 64 {
		return fmt.Errorf("smb2: bad magic %x or structure size %d", magic, size)
	}
	s.BaseLayer = glayers.BaseLayer{Contents: data[:64], Payload: data[64:]}
	return nil
}

// DCERPC is a connection-oriented DCE/RPC common header (C706 12.6.3.1),
// 16 bytes.
type DCERPC struct {
	glayers.BaseLayer
	Major, Minor uint8 // 5, 0 or 1
	PacketType   uint8 // 0 request, 2 response, 3 fault, 11 bind, 12 bind_ack ...
	Flags        uint8 // PFC_* flags
	DataRep      [4]byte
	FragLength   uint16
	AuthLength   uint16
	CallID       uint32
}

// LayerType returns LayerTypeDCERPC.
func (d *DCERPC) LayerType() gopacket.LayerType { return LayerTypeDCERPC }

// CanDecode returns LayerTypeDCERPC.
func (d *DCERPC) CanDecode() gopacket.LayerClass { return LayerTypeDCERPC }

// NextLayerType returns gopacket.LayerTypePayload.
func (d *DCERPC) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// DecodeFromBytes decodes the common header; Payload is the rest of the
// fragment (frag_length - 16 bytes, or what is there), aliasing data.
func (d *DCERPC) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	r := wire.Reader(data)
	if !r.ReadUint8(&d.Major) || !r.ReadUint8(&d.Minor) || !r.ReadUint8(&d.PacketType) || !r.ReadUint8(&d.Flags) ||
		!r.CopyBytes(d.DataRep[:]) {
		df.SetTruncated()
		return errors.New("dcerpc: header needs 16 bytes")
	}
	var ok bool
	if d.DataRep[0]&0x10 != 0 { // little-endian integers (C706 14.2.5)
		ok = r.ReadUint16(&d.FragLength) && r.ReadUint16(&d.AuthLength) && r.ReadUint32(&d.CallID)
	} else {
		ok = r.ReadUint16BE(&d.FragLength) && r.ReadUint16BE(&d.AuthLength) && r.ReadUint32BE(&d.CallID)
	}
	if !ok {
		df.SetTruncated()
		return errors.New("dcerpc: header needs 16 bytes")
	}
	if d.Major != 5 || d.FragLength < 16 {
		return fmt.Errorf("dcerpc: version %d.%d, fragment length %d", d.Major, d.Minor, d.FragLength)
	}
	cut(&d.BaseLayer, data, 16, int(d.FragLength)-16, df)
	return nil
}

// TDS is a TDS packet header ([MS-TDS] 2.2.3.1), 8 bytes.
type TDS struct {
	glayers.BaseLayer
	Type     uint8 // 1 SQL batch, 3 RPC, 4 tabular result, 6 attention, 16 LOGIN7, 18 PRELOGIN ...
	Status   uint8 // 0x01 end of message
	Length   uint16
	SPID     uint16
	PacketID uint8
	Window   uint8
}

// LayerType returns LayerTypeTDS.
func (t *TDS) LayerType() gopacket.LayerType { return LayerTypeTDS }

// CanDecode returns LayerTypeTDS.
func (t *TDS) CanDecode() gopacket.LayerClass { return LayerTypeTDS }

// NextLayerType returns gopacket.LayerTypePayload.
func (t *TDS) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// DecodeFromBytes decodes the header; Payload is Length-8 bytes (or what is
// there), aliasing data.
func (t *TDS) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	s := cryptobyte.String(data)
	if !s.ReadUint8(&t.Type) || !s.ReadUint8(&t.Status) || !s.ReadUint16(&t.Length) || !s.ReadUint16(&t.SPID) ||
		!s.ReadUint8(&t.PacketID) || !s.ReadUint8(&t.Window) {
		df.SetTruncated()
		return errors.New("tds: header needs 8 bytes")
	}
	if t.Length < 8 {
		return fmt.Errorf("tds: packet length %d < 8", t.Length)
	}
	cut(&t.BaseLayer, data, 8, int(t.Length)-8, df)
	return nil
}

// TLSRecord is a TLS record header (RFC 8446, 5.1), 5 bytes.
type TLSRecord struct {
	glayers.BaseLayer
	ContentType uint8 // 20 change_cipher_spec, 21 alert, 22 handshake, 23 application_data
	Version     uint16
	Length      uint16
}

// LayerType returns LayerTypeTLS.
func (t *TLSRecord) LayerType() gopacket.LayerType { return LayerTypeTLS }

// CanDecode returns LayerTypeTLS.
func (t *TLSRecord) CanDecode() gopacket.LayerClass { return LayerTypeTLS }

// NextLayerType returns gopacket.LayerTypePayload (the fragment; records
// that follow in the same segment are in Payload's tail, not decoded).
func (t *TLSRecord) NextLayerType() gopacket.LayerType { return gopacket.LayerTypePayload }

// DecodeFromBytes decodes the record header; Payload is the record's
// fragment (or what is there), aliasing data.
func (t *TLSRecord) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	s := cryptobyte.String(data)
	if !s.ReadUint8(&t.ContentType) || !s.ReadUint16(&t.Version) || !s.ReadUint16(&t.Length) {
		df.SetTruncated()
		return errors.New("tls: record header needs 5 bytes")
	}
	if t.ContentType < 20 || t.ContentType > 24 || t.Version>>8 != 3 {
		return fmt.Errorf("tls: record type %d version 0x%04x", t.ContentType, t.Version)
	}
	cut(&t.BaseLayer, data, 5, int(t.Length), df)
	return nil
}
