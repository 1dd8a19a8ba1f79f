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

// Body1 holds the main fields of one SMB1 command block (one link of an
// AndX chain). Which fields are set depends on Command. SecurityBlob, Data,
// Params and TransData alias the input; strings are copies. Passwords are
// never decoded.
type Body1 struct {
	Command   Command1
	WordCount uint8
	// ErrorResponse: a response with no parameter words and no bytes.
	ErrorResponse bool

	// NEGOTIATE ([MS-CIFS] 2.2.4.52).
	Dialects     []string // request
	DialectIndex int      // response; -1 when none was chosen
	// SESSION_SETUP_ANDX ([MS-SMB] 2.2.4.5, [MS-CIFS] 2.2.4.53).
	SecurityBlob []byte
	Account      string // non-extended security (plain NTLM / LANMAN): account name
	Domain       string // non-extended security: primary domain
	NativeOS     string
	Action       uint16 // response
	// TREE_CONNECT_ANDX ([MS-CIFS] 2.2.4.55).
	Path    string // request
	Service string // request and response
	// NT_CREATE_ANDX ([MS-CIFS] 2.2.4.64); FileName also for TRANS2
	// FIND_FIRST2 / QUERY_PATH_INFORMATION / GET_DFS_REFERRAL.
	FileName      string
	DesiredAccess uint32
	Disposition   uint32 // request CreateDisposition, response CreateAction
	EndOfFile     uint64
	FID           uint16 // NT_CREATE response; READ/WRITE/CLOSE requests; TRANS pipe requests
	HasFID        bool
	// READ_ANDX / WRITE_ANDX ([MS-CIFS] 2.2.4.42, 2.2.4.43).
	Offset uint64
	Length uint32
	Data   []byte
	// TRANS / TRANS2 / NT_TRANSACT ([MS-CIFS] 2.2.4.33, 2.2.4.46, 2.2.4.62).
	SubCommand uint16 // Setup[0] (TRANS2 subcommand, TRANS pipe function) or NT_TRANSACT function
	HasSub     bool
	TransName  string // TRANS request: \PIPE\LANMAN, \PIPE\ ...
	RAPOpcode  int    // TRANS \PIPE\LANMAN request: RAP opcode; -1 otherwise
	Params     []byte
	TransData  []byte
	// ECHO ([MS-CIFS] 2.2.4.39).
	EchoCount uint16
}

// ParseSMB1 parses a whole SMB1 message: the header and every command of
// its AndX chain, following at most maxAndX links (each must move forward).
// A block that cannot be decoded ends the chain with an error; the blocks
// before it are returned.
func ParseSMB1(msg []byte, maxAndX int) (Header1, []Body1, error) {
	h, _, err := ParseHeader1(msg)
	if err != nil {
		return h, nil, err
	}
	var out []Body1
	cmd := h.Command
	pos := header1Len
	for i := 0; ; i++ {
		if i >= maxAndX {
			return h, out, malformed("smb1 andx chain", "more than %d commands", maxAndX)
		}
		b, next, nextPos, err := parseBlock1(h, cmd, msg, pos)
		if err != nil {
			return h, out, err
		}
		out = append(out, b)
		if next == SMB1NoAndX || !cmd.isAndX() {
			return h, out, nil
		}
		if nextPos <= pos || nextPos >= len(msg) {
			if nextPos == 0 && h.IsResponse() {
				return h, out, nil // error responses leave the AndX block zeroed
			}
			return h, out, malformed("smb1 andx chain", "offset %d after block at %d in %d bytes", nextPos, pos, len(msg))
		}
		cmd, pos = next, nextPos
	}
}

// parseBlock1 decodes the command block of cmd at msg[pos:] and returns
// the next AndX command and its offset.
func parseBlock1(h Header1, cmd Command1, msg []byte, pos int) (b Body1, next Command1, nextPos int, err error) {
	b = Body1{Command: cmd, DialectIndex: -1, RAPOpcode: -1}
	next = SMB1NoAndX
	what := "smb1 " + cmd.String()
	r, ok := wire.Field(msg, pos, len(msg)-pos)
	if !ok {
		return b, next, 0, truncated(what, pos)
	}
	var wc uint8
	var words, bytes wire.Reader
	var bc uint16
	if !r.ReadUint8(&wc) || !r.ReadReader(&words, 2*int(wc)) {
		return b, next, 0, truncated(what+" words", 0)
	}
	b.WordCount = wc
	if !r.ReadUint16(&bc) {
		return b, next, 0, truncated(what+" byte count", 0)
	}
	bytesOff := pos + 1 + 2*int(wc) + 2
	if !r.ReadReader(&bytes, int(bc)) {
		// Tolerate a short byte block (large READ/WRITE data kept only
		// partly); take what is present.
		bytes = r
	}
	resp := h.IsResponse()
	if resp && wc == 0 && bc == 0 && h.Failed() {
		b.ErrorResponse = true
		return b, next, 0, nil
	}
	uni := h.Unicode()
	// str reads a string from the byte block, aligning UTF-16 to an even
	// offset from the header.
	str := func(br *wire.Reader) string {
		if uni {
			at := bytesOff + (int(bc) - br.Len())
			if at%2 == 1 {
				br.Skip(1)
			}
			s, _ := readUTF16Z(br)
			return s
		}
		s, _ := readOEMZ(br)
		return s
	}
	if cmd.isAndX() && wc >= 2 {
		var c, off uint16
		words.ReadUint16(&c)
		words.ReadUint16(&off)
		next, nextPos = Command1(c&0xff), int(off)
	}
	w := words // words after the AndX block for AndX commands
	clip := func(off, n int) []byte {
		if n <= 0 || off < 0 || off >= len(msg) {
			return nil
		}
		if n > len(msg)-off {
			n = len(msg) - off
		}
		return msg[off : off+n]
	}
	switch cmd {
	case SMB1Negotiate:
		if !resp {
			for i := 0; i < 64 && bytes.Len() > 0; i++ {
				var fmtByte uint8
				if !bytes.ReadUint8(&fmtByte) || fmtByte != 0x02 {
					return b, next, 0, malformed(what, "dialect buffer format 0x%02x", fmtByte)
				}
				d, ok := readOEMZ(&bytes)
				if !ok {
					return b, next, 0, truncated(what+" dialect", 0)
				}
				b.Dialects = append(b.Dialects, d)
			}
		} else if wc >= 1 {
			var idx uint16
			w.ReadUint16(&idx)
			if idx != 0xffff {
				b.DialectIndex = int(idx)
			}
		}
	case SMB1SessionSetup:
		if !resp {
			switch wc {
			case 12: // extended security ([MS-SMB] 2.2.4.6.1)
				var n uint16
				w.Skip(2 + 2 + 2 + 4)
				w.ReadUint16(&n)
				bytes.ReadBytes(&b.SecurityBlob, int(n))
				b.NativeOS = str(&bytes)
			case 13, 10: // NT LM 0.12 / LANMAN: passwords are skipped, never decoded
				var oemLen, uniLen uint16
				w.Skip(2 + 2 + 2 + 4)
				w.ReadUint16(&oemLen)
				if wc == 13 {
					w.ReadUint16(&uniLen)
				}
				if !bytes.Skip(int(oemLen)) || !bytes.Skip(int(uniLen)) {
					return b, next, 0, truncated(what+" passwords", 0)
				}
				b.Account = str(&bytes)
				b.Domain = str(&bytes)
				b.NativeOS = str(&bytes)
			}
		} else if wc >= 3 {
			w.ReadUint16(&b.Action)
			if wc == 4 {
				var n uint16
				w.ReadUint16(&n)
				bytes.ReadBytes(&b.SecurityBlob, int(n))
			}
			b.NativeOS = str(&bytes)
		}
	case SMB1TreeConnect:
		if !resp {
			var pw uint16
			w.Skip(2)
			w.ReadUint16(&pw)
			if !bytes.Skip(int(pw)) {
				return b, next, 0, truncated(what+" password", 0)
			}
			b.Path = str(&bytes)
			b.Service, _ = readOEMZ(&bytes)
		} else {
			b.Service, _ = readOEMZ(&bytes)
		}
	case SMB1NTCreateAndX:
		if !resp {
			if wc < 24 {
				return b, next, 0, malformed(what, "word count %d", wc)
			}
			var nameLen uint16
			w.Skip(1)
			w.ReadUint16(&nameLen)
			w.Skip(4 + 4)
			w.ReadUint32(&b.DesiredAccess)
			w.Skip(8 + 4 + 4)
			w.ReadUint32(&b.Disposition)
			if uni {
				if bytesOff%2 == 1 {
					bytes.Skip(1)
				}
				var name []byte
				if !bytes.ReadBytes(&name, min(int(nameLen), bytes.Len())) {
					return b, next, 0, truncated(what+" name", 0)
				}
				b.FileName = utf16String(name)
			} else {
				b.FileName = str(&bytes)
			}
		} else if wc >= 34 {
			w.Skip(1)
			w.ReadUint16(&b.FID)
			w.ReadUint32(&b.Disposition)
			w.Skip(32 + 4 + 8)
			w.ReadUint64(&b.EndOfFile)
			b.HasFID = true
		}
	case SMB1ReadAndX:
		if !resp {
			if wc != 10 && wc != 12 {
				return b, next, 0, malformed(what, "word count %d", wc)
			}
			var off, high uint32
			var maxCount uint16
			w.ReadUint16(&b.FID)
			w.ReadUint32(&off)
			w.ReadUint16(&maxCount)
			w.Skip(2)
			var maxHigh uint32
			w.ReadUint32(&maxHigh)
			w.Skip(2)
			if wc == 12 {
				w.ReadUint32(&high)
			}
			b.HasFID = true
			b.Offset = uint64(high)<<32 | uint64(off)
			b.Length = uint32(maxCount)
			if maxHigh != 0xffffffff {
				b.Length |= (maxHigh & 0xffff) << 16
			}
		} else if wc >= 12 {
			var n, off, high uint16
			w.Skip(2 + 2 + 2)
			w.ReadUint16(&n)
			w.ReadUint16(&off)
			w.ReadUint16(&high)
			b.Length = uint32(high)<<16 | uint32(n)
			b.Data = clip(int(off), int(b.Length))
		}
	case SMB1WriteAndX:
		if !resp {
			if wc != 12 && wc != 14 {
				return b, next, 0, malformed(what, "word count %d", wc)
			}
			var off, high uint32
			var n, nHigh, dataOff uint16
			w.ReadUint16(&b.FID)
			w.ReadUint32(&off)
			w.Skip(4 + 2 + 2)
			w.ReadUint16(&nHigh)
			w.ReadUint16(&n)
			w.ReadUint16(&dataOff)
			if wc == 14 {
				w.ReadUint32(&high)
			}
			b.HasFID = true
			b.Offset = uint64(high)<<32 | uint64(off)
			b.Length = uint32(nHigh)<<16 | uint32(n)
			b.Data = clip(int(dataOff), int(b.Length))
		} else if wc >= 6 {
			var n, high uint16
			w.ReadUint16(&n)
			w.Skip(2)
			w.ReadUint16(&high)
			b.Length = uint32(high)<<16 | uint32(n)
		}
	case SMB1Close:
		if !resp && wc >= 1 {
			w.ReadUint16(&b.FID)
			b.HasFID = true
		}
	case SMB1Echo:
		if !resp && wc >= 1 {
			w.ReadUint16(&b.EchoCount)
		}
	case SMB1Trans, SMB1Trans2:
		parseTrans1(h, &b, cmd, words, bytes, str, clip)
	case SMB1NTTransact:
		if !resp && wc >= 19 {
			var fn uint16
			words.Skip(36)
			words.ReadUint16(&fn)
			b.SubCommand, b.HasSub = fn, true
		}
	}
	return b, next, nextPos, nil
}

// parseTrans1 decodes TRANS and TRANS2 requests and responses.
func parseTrans1(h Header1, b *Body1, cmd Command1, w, bytes wire.Reader, str func(*wire.Reader) string, clip func(int, int) []byte) {
	var pc, po, dc, do uint16
	var setupCount uint8
	if !h.IsResponse() {
		if b.WordCount < 14 {
			return
		}
		w.Skip(18)
		w.ReadUint16(&pc)
		w.ReadUint16(&po)
		w.ReadUint16(&dc)
		w.ReadUint16(&do)
		w.ReadUint8(&setupCount)
		w.Skip(1)
	} else {
		if b.WordCount < 10 {
			return
		}
		w.Skip(6)
		w.ReadUint16(&pc)
		w.ReadUint16(&po)
		w.Skip(2)
		w.ReadUint16(&dc)
		w.ReadUint16(&do)
		w.Skip(2)
		w.ReadUint8(&setupCount)
		w.Skip(1)
	}
	if setupCount > 0 && w.ReadUint16(&b.SubCommand) {
		b.HasSub = true
		if cmd == SMB1Trans && !h.IsResponse() && setupCount >= 2 {
			if w.ReadUint16(&b.FID) {
				b.HasFID = true
			}
		}
	}
	b.Params = clip(int(po), int(pc))
	b.TransData = clip(int(do), int(dc))
	if h.IsResponse() {
		return
	}
	if cmd == SMB1Trans {
		b.TransName = str(&bytes)
		if equalFoldASCII(b.TransName, `\PIPE\LANMAN`) {
			p := wire.Reader(b.Params)
			var op uint16
			if p.ReadUint16(&op) {
				b.RAPOpcode = int(op)
			}
		}
		return
	}
	// TRANS2 parameters that carry a file name ([MS-CIFS] 2.2.6).
	p := wire.Reader(b.Params)
	skip := -1
	switch b.SubCommand {
	case 0x01: // FIND_FIRST2
		skip = 12
	case 0x05, 0x06: // QUERY/SET_PATH_INFORMATION
		skip = 6
	case 0x10: // GET_DFS_REFERRAL
		skip = 2
	}
	if skip >= 0 && p.Skip(skip) {
		if h.Unicode() || b.SubCommand == 0x10 {
			b.FileName, _ = readUTF16Z(&p)
		} else {
			b.FileName, _ = readOEMZ(&p)
		}
	}
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Trans2Name names a TRANS2 subcommand ([MS-CIFS] 2.2.6).
func Trans2Name(sub uint16) string {
	names := map[uint16]string{0x00: "OPEN2", 0x01: "FIND_FIRST2", 0x02: "FIND_NEXT2", 0x03: "QUERY_FS_INFORMATION",
		0x04: "SET_FS_INFORMATION", 0x05: "QUERY_PATH_INFORMATION", 0x06: "SET_PATH_INFORMATION",
		0x07: "QUERY_FILE_INFORMATION", 0x08: "SET_FILE_INFORMATION", 0x0d: "CREATE_DIRECTORY",
		0x10: "GET_DFS_REFERRAL"}
	if n, ok := names[sub]; ok {
		return n
	}
	return fmt.Sprintf("TRANS2(0x%04x)", sub)
}

// RAPName names a RAP opcode ([MS-RAP] 2.5.1).
func RAPName(op int) string {
	switch op {
	case 0:
		return "NetShareEnum"
	case 13:
		return "NetServerGetInfo"
	case 63:
		return "NetWkstaGetInfo"
	case 104:
		return "NetServerEnum2"
	case 215:
		return "NetServerEnum3"
	}
	return fmt.Sprintf("RAP(%d)", op)
}
