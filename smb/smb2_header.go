package smb

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// Protocol identifiers at the start of an SMB message.
var (
	magicSMB1      = [4]byte{0xff, 'S', 'M', 'B'} // [MS-CIFS] 2.2.3.1
	magicSMB2      = [4]byte{0xfe, 'S', 'M', 'B'} // [MS-SMB2] 2.2.1
	magicTransform = [4]byte{0xfd, 'S', 'M', 'B'} // [MS-SMB2] 2.2.41
	magicCompress  = [4]byte{0xfc, 'S', 'M', 'B'} // [MS-SMB2] 2.2.42
)

// Command2 is an SMB2 command code ([MS-SMB2] 2.2.1.2).
type Command2 uint16

// SMB2 commands ([MS-SMB2] 2.2.1.2).
const (
	SMB2Negotiate Command2 = iota
	SMB2SessionSetup
	SMB2Logoff
	SMB2TreeConnect
	SMB2TreeDisconnect
	SMB2Create
	SMB2Close
	SMB2Flush
	SMB2Read
	SMB2Write
	SMB2Lock
	SMB2Ioctl
	SMB2Cancel
	SMB2Echo
	SMB2QueryDirectory
	SMB2ChangeNotify
	SMB2QueryInfo
	SMB2SetInfo
	SMB2OplockBreak
)

var command2Names = [...]string{"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT",
	"CREATE", "CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL", "ECHO", "QUERY_DIRECTORY",
	"CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO", "OPLOCK_BREAK"}

// String returns the [MS-SMB2] name ("READ") or "Command2(0x0042)".
func (c Command2) String() string {
	if int(c) < len(command2Names) {
		return command2Names[c]
	}
	return fmt.Sprintf("Command2(0x%04x)", uint16(c))
}

// SMB2 header flags ([MS-SMB2] 2.2.1.2).
const (
	Flags2Response   = 0x00000001
	Flags2Async      = 0x00000002
	Flags2Related    = 0x00000004
	Flags2Signed     = 0x00000008
	Flags2DFS        = 0x10000000
	Flags2Replay     = 0x20000000
	header2Len       = 64
	transformHdrLen  = 52
	compressedHdrLen = 16
)

// Header2 is the SMB2 packet header, sync or async ([MS-SMB2] 2.2.1).
type Header2 struct {
	CreditCharge uint16
	Status       Status // ChannelSequence/Reserved in requests of SMB 3.x
	Command      Command2
	Credits      uint16 // CreditRequest in requests, CreditResponse in responses
	Flags        uint32
	NextCommand  uint32
	MessageID    uint64
	AsyncID      uint64 // when Flags2Async is set
	TreeID       uint32 // when Flags2Async is clear
	SessionID    uint64
}

// IsResponse reports whether the SERVER_TO_REDIR flag is set.
func (h Header2) IsResponse() bool { return h.Flags&Flags2Response != 0 }

// IsAsync reports whether the header is the async form.
func (h Header2) IsAsync() bool { return h.Flags&Flags2Async != 0 }

// IsSigned reports whether the SIGNED flag is set.
func (h Header2) IsSigned() bool { return h.Flags&Flags2Signed != 0 }

// ParseHeader2 parses the 64-byte SMB2 header at the front of b and returns
// it with the bytes after it (the command body and any compounded commands).
func ParseHeader2(b []byte) (Header2, []byte, error) {
	r := wire.Reader(b)
	var h Header2
	var magic [4]byte
	var size uint16
	var status uint32
	var cmd uint16
	if !r.CopyBytes(magic[:]) || !r.ReadUint16(&size) || !r.ReadUint16(&h.CreditCharge) || !r.ReadUint32(&status) ||
		!r.ReadUint16(&cmd) || !r.ReadUint16(&h.Credits) || !r.ReadUint32(&h.Flags) || !r.ReadUint32(&h.NextCommand) ||
		!r.ReadUint64(&h.MessageID) {
		return Header2{}, b, truncated("smb2 header", header2Len)
	}
	if magic != magicSMB2 {
		return Header2{}, b, malformed("smb2 header", "protocol id %x", magic)
	}
	if size != header2Len {
		return Header2{}, b, malformed("smb2 header", "structure size %d, want 64", size)
	}
	h.Status, h.Command = Status(status), Command2(cmd)
	if h.IsAsync() {
		if !r.ReadUint64(&h.AsyncID) {
			return Header2{}, b, truncated("smb2 header", header2Len)
		}
	} else if !r.Skip(4) || !r.ReadUint32(&h.TreeID) {
		return Header2{}, b, truncated("smb2 header", header2Len)
	}
	if !r.ReadUint64(&h.SessionID) || !r.Skip(16) {
		return Header2{}, b, truncated("smb2 header", header2Len)
	}
	return h, []byte(r), nil
}

// TransformHeader is the SMB 3.x TRANSFORM_HEADER of an encrypted message
// ([MS-SMB2] 2.2.41). Only the clear-text fields are decoded; the
// signature and nonce are not kept.
type TransformHeader struct {
	OriginalSize uint32
	Flags        uint16 // EncryptionAlgorithm (3.0) or Flags (3.1.1)
	SessionID    uint64
}

// ParseTransformHeader parses the 52-byte transform header and returns it
// with the encrypted message after it.
func ParseTransformHeader(b []byte) (TransformHeader, []byte, error) {
	r := wire.Reader(b)
	var magic [4]byte
	var t TransformHeader
	if !r.CopyBytes(magic[:]) || !r.Skip(16+16) || !r.ReadUint32(&t.OriginalSize) || !r.Skip(2) ||
		!r.ReadUint16(&t.Flags) || !r.ReadUint64(&t.SessionID) {
		return TransformHeader{}, b, truncated("smb2 transform header", transformHdrLen)
	}
	if magic != magicTransform {
		return TransformHeader{}, b, malformed("smb2 transform header", "protocol id %x", magic)
	}
	return t, []byte(r), nil
}

// CompressionHeader is the SMB 3.1.1 COMPRESSION_TRANSFORM_HEADER
// ([MS-SMB2] 2.2.42). The payload is not decompressed.
type CompressionHeader struct {
	OriginalSize uint32
	Algorithm    uint16
	Flags        uint16
	Offset       uint32 // Offset (unchained) or Length (chained)
}

// ParseCompressionHeader parses the 16-byte compression header and returns
// it with the bytes after it.
func ParseCompressionHeader(b []byte) (CompressionHeader, []byte, error) {
	r := wire.Reader(b)
	var magic [4]byte
	var c CompressionHeader
	if !r.CopyBytes(magic[:]) || !r.ReadUint32(&c.OriginalSize) || !r.ReadUint16(&c.Algorithm) ||
		!r.ReadUint16(&c.Flags) || !r.ReadUint32(&c.Offset) {
		return CompressionHeader{}, b, truncated("smb2 compression header", compressedHdrLen)
	}
	if magic != magicCompress {
		return CompressionHeader{}, b, malformed("smb2 compression header", "protocol id %x", magic)
	}
	return c, []byte(r), nil
}
