package smb

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// Command1 is an SMB1 command code ([MS-CIFS] 2.2.2.1).
type Command1 uint8

// SMB1 commands decoded beyond their name ([MS-CIFS] 2.2.2.1).
const (
	SMB1Close          Command1 = 0x04
	SMB1Trans          Command1 = 0x25
	SMB1Echo           Command1 = 0x2b
	SMB1ReadAndX       Command1 = 0x2e
	SMB1WriteAndX      Command1 = 0x2f
	SMB1Trans2         Command1 = 0x32
	SMB1TreeDisconnect Command1 = 0x71
	SMB1Negotiate      Command1 = 0x72
	SMB1SessionSetup   Command1 = 0x73
	SMB1LogoffAndX     Command1 = 0x74
	SMB1TreeConnect    Command1 = 0x75
	SMB1NTTransact     Command1 = 0xa0
	SMB1NTCreateAndX   Command1 = 0xa2
	SMB1NTCancel       Command1 = 0xa4
	SMB1NoAndX         Command1 = 0xff
)

var command1Names = map[Command1]string{
	0x00: "CREATE_DIRECTORY", 0x01: "DELETE_DIRECTORY", 0x02: "OPEN", 0x03: "CREATE", 0x04: "CLOSE",
	0x05: "FLUSH", 0x06: "DELETE", 0x07: "RENAME", 0x08: "QUERY_INFORMATION", 0x09: "SET_INFORMATION",
	0x0a: "READ", 0x0b: "WRITE", 0x0c: "LOCK_BYTE_RANGE", 0x0d: "UNLOCK_BYTE_RANGE", 0x10: "CHECK_DIRECTORY",
	0x12: "SEEK", 0x1a: "READ_RAW", 0x1d: "WRITE_RAW", 0x22: "SET_INFORMATION2", 0x23: "QUERY_INFORMATION2",
	0x24: "LOCKING_ANDX", 0x25: "TRANSACTION", 0x26: "TRANSACTION_SECONDARY", 0x27: "IOCTL", 0x2b: "ECHO",
	0x2d: "OPEN_ANDX", 0x2e: "READ_ANDX", 0x2f: "WRITE_ANDX", 0x32: "TRANSACTION2", 0x33: "TRANSACTION2_SECONDARY",
	0x34: "FIND_CLOSE2", 0x70: "TREE_CONNECT", 0x71: "TREE_DISCONNECT", 0x72: "NEGOTIATE",
	0x73: "SESSION_SETUP_ANDX", 0x74: "LOGOFF_ANDX", 0x75: "TREE_CONNECT_ANDX", 0x80: "QUERY_INFORMATION_DISK",
	0x81: "SEARCH", 0x82: "FIND", 0x83: "FIND_UNIQUE", 0x84: "FIND_CLOSE", 0xa0: "NT_TRANSACT",
	0xa1: "NT_TRANSACT_SECONDARY", 0xa2: "NT_CREATE_ANDX", 0xa4: "NT_CANCEL", 0xa5: "NT_RENAME",
	0xc0: "OPEN_PRINT_FILE", 0xff: "NO_ANDX_COMMAND",
}

// command1Table is command1Names indexed by code (no map lookup per message).
var command1Table = func() (t [256]string) {
	for c, n := range command1Names {
		t[c] = n
	}
	return t
}()

// String returns the [MS-CIFS] name without the SMB_COM_ prefix, or "Command1(0x42)".
func (c Command1) String() string {
	if n := command1Table[c]; n != "" {
		return n
	}
	return fmt.Sprintf("Command1(0x%02x)", uint8(c))
}

// isAndX reports whether c's parameter words start with an AndX block.
func (c Command1) isAndX() bool {
	switch c {
	case 0x24, 0x2d, 0x2e, 0x2f, 0x73, 0x74, 0x75, 0xa2:
		return true
	}
	return false
}

// SMB1 header flags ([MS-CIFS] 2.2.3.1).
const (
	Flags1Reply          = 0x80
	Flags2NTStatus       = 0x4000
	Flags2Unicode        = 0x8000
	Flags2ExtendedSecure = 0x0800
	Flags2Signature      = 0x0004
	header1Len           = 32
)

// Header1 is the 32-byte SMB1 header ([MS-CIFS] 2.2.3.1).
type Header1 struct {
	Command Command1
	// Status is the NT status when Flags2NTStatus is set. Otherwise DOS
	// holds the error class and code, and Status holds the raw 32 bits
	// (0 for success) so that it can still be compared and counted.
	Status Status
	DOS    DOSError
	Flags  uint8
	Flags2 uint16
	TID    uint16
	PID    uint32 // PIDHigh<<16 | PIDLow
	UID    uint16
	MID    uint16
}

// IsResponse reports whether the REPLY flag is set.
func (h Header1) IsResponse() bool { return h.Flags&Flags1Reply != 0 }

// Unicode reports whether strings are UTF-16LE.
func (h Header1) Unicode() bool { return h.Flags2&Flags2Unicode != 0 }

// HasDOSError reports whether the header carries a non-zero DOS error.
func (h Header1) HasDOSError() bool { return h.Flags2&Flags2NTStatus == 0 && h.DOS != DOSError{} }

// StatusName names the header's status: the NT status name, or the DOS
// class/code.
func (h Header1) StatusName() string {
	if h.Flags2&Flags2NTStatus == 0 && h.DOS != (DOSError{}) {
		return h.DOS.String()
	}
	return h.Status.String()
}

// Failed reports whether the header carries an error (NT error or warning
// severity, or any DOS error).
func (h Header1) Failed() bool {
	if h.Flags2&Flags2NTStatus == 0 {
		return h.DOS != DOSError{}
	}
	return h.Status.Severity() >= 2
}

// ParseHeader1 parses the SMB1 header at the front of b and returns it with
// the bytes after it.
func ParseHeader1(b []byte) (Header1, []byte, error) {
	r := wire.Reader(b)
	var h Header1
	var magic [4]byte
	var cmd uint8
	var status uint32
	var pidHigh, pidLow uint16
	if !r.CopyBytes(magic[:]) || !r.ReadUint8(&cmd) || !r.ReadUint32(&status) || !r.ReadUint8(&h.Flags) ||
		!r.ReadUint16(&h.Flags2) || !r.ReadUint16(&pidHigh) || !r.Skip(8+2) || !r.ReadUint16(&h.TID) ||
		!r.ReadUint16(&pidLow) || !r.ReadUint16(&h.UID) || !r.ReadUint16(&h.MID) {
		return Header1{}, b, truncated("smb1 header", header1Len)
	}
	if magic != magicSMB1 {
		return Header1{}, b, malformed("smb1 header", "protocol id %x", magic)
	}
	h.Command = Command1(cmd)
	h.PID = uint32(pidHigh)<<16 | uint32(pidLow)
	if h.Flags2&Flags2NTStatus != 0 {
		h.Status = Status(status)
	} else {
		h.DOS = DOSError{Class: uint8(status), Code: uint16(status >> 16)}
		if h.DOS != (DOSError{}) {
			h.Status = Status(status)
		}
	}
	return h, []byte(r), nil
}
