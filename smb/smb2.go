package smb

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// Dialect is an SMB2 dialect revision ([MS-SMB2] 2.2.3).
type Dialect uint16

// SMB2 dialects.
const (
	Dialect202      Dialect = 0x0202
	Dialect210      Dialect = 0x0210
	Dialect300      Dialect = 0x0300
	Dialect302      Dialect = 0x0302
	Dialect311      Dialect = 0x0311
	DialectWildcard Dialect = 0x02ff
)

// String returns "SMB 3.1.1", "SMB 2.???" for the wildcard, or the hex value.
func (d Dialect) String() string {
	switch d {
	case Dialect202:
		return "SMB 2.0.2"
	case Dialect210:
		return "SMB 2.1"
	case Dialect300:
		return "SMB 3.0"
	case Dialect302:
		return "SMB 3.0.2"
	case Dialect311:
		return "SMB 3.1.1"
	case DialectWildcard:
		return "SMB 2.???"
	}
	return fmt.Sprintf("Dialect(0x%04x)", uint16(d))
}

// FileID is an SMB2_FILEID ([MS-SMB2] 2.2.14.1).
type FileID struct{ Persistent, Volatile uint64 }

// String returns the two halves in hex.
func (f FileID) String() string { return fmt.Sprintf("%016x:%016x", f.Persistent, f.Volatile) }

// FSCTL codes named by the decoder ([MS-FSCC] 2.3).
const (
	FSCTLPipeTransceive    = 0x0011c017
	FSCTLPipeWait          = 0x00110018
	FSCTLPipePeek          = 0x0011400c
	FSCTLDFSGetReferrals   = 0x00060194
	FSCTLValidateNegotiate = 0x00140204
)

// Body2 holds the main fields of one SMB2 command body, request or
// response. Which fields are set depends on the command (see each field).
// SecurityBlob, Data, Input and Output alias the input; strings are copies.
type Body2 struct {
	// ErrorResponse is set when a response carries the SMB2 ERROR body
	// ([MS-SMB2] 2.2.2) instead of the command's own (also for the
	// STATUS_PENDING interim response).
	ErrorResponse bool

	// NEGOTIATE ([MS-SMB2] 2.2.3, 2.2.4).
	Dialects          []Dialect // request
	Dialect           Dialect   // response
	SecurityMode      uint16
	Capabilities      uint32
	NegotiateContexts []uint16 // context types, SMB 3.1.1
	MaxReadSize       uint32   // response
	MaxWriteSize      uint32   // response

	// SESSION_SETUP ([MS-SMB2] 2.2.5, 2.2.6); NEGOTIATE response too.
	SecurityBlob []byte
	SessionFlags uint16 // response

	// TREE_CONNECT ([MS-SMB2] 2.2.9, 2.2.10).
	Path       string // request: \\server\share
	ShareType  uint8  // response: 1 disk, 2 pipe, 3 print
	ShareFlags uint32

	// CREATE ([MS-SMB2] 2.2.13, 2.2.14).
	FileName       string   // request (also QUERY_DIRECTORY's pattern is in Pattern)
	DesiredAccess  uint32   // request
	Disposition    uint32   // request
	CreateOptions  uint32   // request
	CreateContexts []string // request and response: context names ("MxAc")
	CreateAction   uint32   // response
	EndOfFile      uint64   // response

	// FileID of CREATE responses and of every request on an open file
	// (CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, QUERY_DIRECTORY,
	// CHANGE_NOTIFY, QUERY_INFO, SET_INFO, OPLOCK_BREAK).
	FileID FileID

	// READ/WRITE ([MS-SMB2] 2.2.19-2.2.22): Offset and Length of the
	// request; in responses Length is the bytes read or written. Data is
	// the READ response or WRITE request payload that is present (may be
	// shorter than Length when only the head of a large PDU was kept).
	Offset uint64
	Length uint32
	Data   []byte

	// IOCTL ([MS-SMB2] 2.2.31, 2.2.32).
	CtlCode uint32
	Input   []byte
	Output  []byte

	// QUERY_INFO / SET_INFO ([MS-SMB2] 2.2.37, 2.2.39); QUERY_DIRECTORY
	// uses InfoClass for FileInformationClass.
	InfoType  uint8
	InfoClass uint8

	// QUERY_DIRECTORY ([MS-SMB2] 2.2.33).
	Pattern string

	// LOCK ([MS-SMB2] 2.2.26).
	LockCount uint16

	// OPLOCK_BREAK ([MS-SMB2] 2.2.23-2.2.25): oplock level, or Lease for a lease break.
	OplockLevel uint8
	Lease       bool

	// CHANGE_NOTIFY ([MS-SMB2] 2.2.35).
	CompletionFilter uint32
}

// StructureSize of each command's request and normal response
// ([MS-SMB2] 2.2.3-2.2.40), by command code.
var (
	reqSize2  = [...]uint16{36, 25, 4, 9, 4, 57, 24, 24, 49, 49, 48, 57, 4, 4, 33, 32, 41, 33, 24}
	respSize2 = [...]uint16{65, 9, 4, 16, 4, 89, 60, 4, 17, 17, 4, 49, 4, 4, 9, 9, 9, 2, 24}
)

// structSize2 returns the StructureSize a command body must have, or 0
// for unknown commands.
func structSize2(c Command2, resp bool) uint16 {
	if int(c) >= len(reqSize2) {
		return 0
	}
	if resp {
		return respSize2[c]
	}
	return reqSize2[c]
}

// ParseBody2 parses the body of one SMB2 command. msg is the whole message
// from its header (offsets in SMB2 are relative to the header) up to the
// next compounded command or the end of the PDU. It returns a *ParseError
// wrapping ErrTruncated or ErrMalformed when the fixed part or a
// referenced buffer lies outside msg; READ/WRITE/IOCTL payloads are taken
// as far as they are present.
func ParseBody2(h Header2, msg []byte) (Body2, error) {
	var b Body2
	if len(msg) < header2Len {
		return b, truncated("smb2 "+h.Command.String(), header2Len)
	}
	r := wire.Reader(msg[header2Len:])
	var size uint16
	if !r.ReadUint16(&size) {
		return b, truncated("smb2 "+h.Command.String(), header2Len+2)
	}
	resp := h.IsResponse()
	// what names the message in errors; built only on an error path, so
	// that a well-formed message allocates no string.
	what := func() string {
		if resp {
			return "smb2 " + h.Command.String() + " response"
		}
		return "smb2 " + h.Command.String() + " request"
	}
	if resp && size == 9 && isErrorBody(h) {
		b.ErrorResponse = true
		return b, nil
	}
	if want := structSize2(h.Command, resp); want != 0 && size != want &&
		!(h.Command == SMB2OplockBreak && (size == 24 || size == 36 || size == 44)) {
		return b, malformed(what(), "structure size %d, want %d", size, want)
	}
	short := func() (Body2, error) { return Body2{}, truncated(what(), 0) }
	bad := func(format string, args ...any) (Body2, error) { return Body2{}, malformed(what(), format, args...) }
	buffer := func(off uint32, n uint32) (wire.Reader, bool) {
		if n == 0 {
			return nil, true
		}
		if off > 1<<30 || n > 1<<30 {
			return nil, false
		}
		return wire.Field(msg, int(off), int(n))
	}
	// partial returns msg[off:off+n] clipped to what is present.
	partial := func(off, n uint32) []byte {
		if n == 0 || off >= uint32(len(msg)) || off > 1<<30 {
			return nil
		}
		end := uint64(off) + uint64(n)
		if end > uint64(len(msg)) {
			end = uint64(len(msg))
		}
		return msg[off:end]
	}
	readFID := func(f *FileID) bool { return r.ReadUint64(&f.Persistent) && r.ReadUint64(&f.Volatile) }

	switch h.Command {
	case SMB2Negotiate:
		if !resp {
			var count, ctxCount uint16
			var ctxOff uint32
			if !r.ReadUint16(&count) || !r.ReadUint16(&b.SecurityMode) || !r.Skip(2) || !r.ReadUint32(&b.Capabilities) ||
				!r.Skip(16) || !r.ReadUint32(&ctxOff) || !r.ReadUint16(&ctxCount) || !r.Skip(2) {
				return short()
			}
			has311 := false
			for i := 0; i < int(count); i++ {
				var d uint16
				if !r.ReadUint16(&d) {
					return bad("dialect count %d exceeds buffer", count)
				}
				b.Dialects = append(b.Dialects, Dialect(d))
				has311 = has311 || Dialect(d) == Dialect311
			}
			if has311 && ctxCount > 0 {
				b.NegotiateContexts = negotiateContexts(msg, ctxOff, ctxCount)
			}
			return b, nil
		}
		var d, ctxCount, secOff, secLen uint16
		var ctxOff uint32
		if !r.ReadUint16(&b.SecurityMode) || !r.ReadUint16(&d) || !r.ReadUint16(&ctxCount) || !r.Skip(16) ||
			!r.ReadUint32(&b.Capabilities) || !r.Skip(4) || !r.ReadUint32(&b.MaxReadSize) || !r.ReadUint32(&b.MaxWriteSize) ||
			!r.Skip(16) || !r.ReadUint16(&secOff) || !r.ReadUint16(&secLen) || !r.ReadUint32(&ctxOff) {
			return short()
		}
		b.Dialect = Dialect(d)
		sec, ok := buffer(uint32(secOff), uint32(secLen))
		if !ok {
			return bad("security buffer %d+%d outside %d bytes", secOff, secLen, len(msg))
		}
		b.SecurityBlob = sec
		if b.Dialect == Dialect311 && ctxCount > 0 {
			b.NegotiateContexts = negotiateContexts(msg, ctxOff, ctxCount)
		}
	case SMB2SessionSetup:
		var off, n uint16
		if !resp {
			if !r.Skip(1) || !r.Skip(1) || !r.ReadUint32(&b.Capabilities) || !r.Skip(4) || !r.ReadUint16(&off) || !r.ReadUint16(&n) {
				return short()
			}
		} else if !r.ReadUint16(&b.SessionFlags) || !r.ReadUint16(&off) || !r.ReadUint16(&n) {
			return short()
		}
		sec, ok := buffer(uint32(off), uint32(n))
		if !ok {
			return bad("security buffer %d+%d outside %d bytes", off, n, len(msg))
		}
		b.SecurityBlob = sec
	case SMB2TreeConnect:
		if !resp {
			var off, n uint16
			if !r.Skip(2) || !r.ReadUint16(&off) || !r.ReadUint16(&n) {
				return short()
			}
			p, ok := buffer(uint32(off), uint32(n))
			if !ok {
				return bad("path %d+%d outside %d bytes", off, n, len(msg))
			}
			b.Path = utf16String(p)
		} else if !r.ReadUint8(&b.ShareType) || !r.Skip(1) || !r.ReadUint32(&b.ShareFlags) {
			return short()
		}
	case SMB2Create:
		var ctxOff, ctxLen uint32
		if !resp {
			var nameOff, nameLen uint16
			if !r.Skip(1+1+4+8+8) || !r.ReadUint32(&b.DesiredAccess) || !r.Skip(4+4) || !r.ReadUint32(&b.Disposition) ||
				!r.ReadUint32(&b.CreateOptions) || !r.ReadUint16(&nameOff) || !r.ReadUint16(&nameLen) ||
				!r.ReadUint32(&ctxOff) || !r.ReadUint32(&ctxLen) {
				return short()
			}
			name, ok := buffer(uint32(nameOff), uint32(nameLen))
			if !ok {
				return bad("name %d+%d outside %d bytes", nameOff, nameLen, len(msg))
			}
			b.FileName = utf16String(name)
		} else {
			if !r.Skip(1+1) || !r.ReadUint32(&b.CreateAction) || !r.Skip(8*4+8) || !r.ReadUint64(&b.EndOfFile) ||
				!r.Skip(4+4) || !readFID(&b.FileID) || !r.ReadUint32(&ctxOff) || !r.ReadUint32(&ctxLen) {
				return short()
			}
		}
		if ctxLen > 0 {
			cc, ok := buffer(ctxOff, ctxLen)
			if !ok {
				return bad("create contexts %d+%d outside %d bytes", ctxOff, ctxLen, len(msg))
			}
			b.CreateContexts = createContextNames(cc)
		}
	case SMB2Close, SMB2Flush:
		if resp {
			return b, nil
		}
		if !r.Skip(2+4) || !readFID(&b.FileID) {
			return short()
		}
	case SMB2Read:
		if !resp {
			if !r.Skip(1+1) || !r.ReadUint32(&b.Length) || !r.ReadUint64(&b.Offset) || !readFID(&b.FileID) {
				return short()
			}
			return b, nil
		}
		var off uint8
		if !r.ReadUint8(&off) || !r.Skip(1) || !r.ReadUint32(&b.Length) {
			return short()
		}
		b.Data = partial(uint32(off), b.Length)
	case SMB2Write:
		if !resp {
			var off uint16
			if !r.ReadUint16(&off) || !r.ReadUint32(&b.Length) || !r.ReadUint64(&b.Offset) || !readFID(&b.FileID) {
				return short()
			}
			b.Data = partial(uint32(off), b.Length)
			return b, nil
		}
		if !r.Skip(2) || !r.ReadUint32(&b.Length) {
			return short()
		}
	case SMB2Lock:
		if resp {
			return b, nil
		}
		if !r.ReadUint16(&b.LockCount) || !r.Skip(4) || !readFID(&b.FileID) {
			return short()
		}
	case SMB2Ioctl:
		var inOff, inLen, outOff, outLen uint32
		if !r.Skip(2) || !r.ReadUint32(&b.CtlCode) || !readFID(&b.FileID) || !r.ReadUint32(&inOff) || !r.ReadUint32(&inLen) {
			return short()
		}
		if !resp && !r.Skip(4) {
			return short()
		}
		if !r.ReadUint32(&outOff) || !r.ReadUint32(&outLen) {
			return short()
		}
		b.Input = partial(inOff, inLen)
		b.Output = partial(outOff, outLen)
		if !resp {
			b.Output = nil // the request's output buffer is empty by definition
		}
	case SMB2QueryDirectory:
		if resp {
			return b, nil
		}
		var off, n uint16
		if !r.ReadUint8(&b.InfoClass) || !r.Skip(1+4) || !readFID(&b.FileID) || !r.ReadUint16(&off) || !r.ReadUint16(&n) {
			return short()
		}
		p, ok := buffer(uint32(off), uint32(n))
		if !ok {
			return bad("pattern %d+%d outside %d bytes", off, n, len(msg))
		}
		b.Pattern = utf16String(p)
	case SMB2ChangeNotify:
		if resp {
			return b, nil
		}
		if !r.Skip(2+4) || !readFID(&b.FileID) || !r.ReadUint32(&b.CompletionFilter) {
			return short()
		}
	case SMB2QueryInfo:
		if resp {
			return b, nil
		}
		if !r.ReadUint8(&b.InfoType) || !r.ReadUint8(&b.InfoClass) || !r.Skip(4+2+2+4+4+4) || !readFID(&b.FileID) {
			return short()
		}
	case SMB2SetInfo:
		if resp {
			return b, nil
		}
		if !r.ReadUint8(&b.InfoType) || !r.ReadUint8(&b.InfoClass) || !r.Skip(4+2+2+4) || !readFID(&b.FileID) {
			return short()
		}
	case SMB2OplockBreak:
		if size == 24 {
			if !r.ReadUint8(&b.OplockLevel) || !r.Skip(1+4) || !readFID(&b.FileID) {
				return short()
			}
		} else {
			b.Lease = true
		}
	case SMB2Logoff, SMB2TreeDisconnect, SMB2Cancel, SMB2Echo:
		// StructureSize 4, Reserved 2: nothing to decode.
	}
	return b, nil
}

// isErrorBody reports whether a response with StructureSize 9 is the
// SMB2 ERROR response rather than the command's own 9-byte body.
func isErrorBody(h Header2) bool {
	st := h.Status
	if st == StatusPending {
		return h.IsAsync()
	}
	if st.Severity() < 2 {
		return false
	}
	switch h.Command {
	case SMB2SessionSetup:
		return st != StatusMoreProcessingRequired
	case SMB2QueryDirectory, SMB2ChangeNotify, SMB2QueryInfo, SMB2Read, SMB2Ioctl:
		return st != StatusBufferOverflow
	}
	return int(h.Command) >= len(respSize2) || respSize2[h.Command] != 9
}

// negotiateContexts lists the context types of an SMB 3.1.1 NEGOTIATE
// ([MS-SMB2] 2.2.3.1); contexts are 8-byte aligned from the header. It stops
// at the first context that does not fit.
func negotiateContexts(msg []byte, off uint32, count uint16) []uint16 {
	if off > 1<<30 || int(off) > len(msg) {
		return nil
	}
	var out []uint16
	pos := int(off)
	for i := 0; i < int(count) && i < 64; i++ {
		pos = (pos + 7) &^ 7
		r, ok := wire.Field(msg, pos, 8)
		if !ok {
			break
		}
		var typ, n uint16
		r.ReadUint16(&typ)
		r.ReadUint16(&n)
		if _, ok := wire.Field(msg, pos+8, int(n)); !ok {
			break
		}
		out = append(out, typ)
		pos += 8 + int(n)
	}
	return out
}

// NegotiateContextName names an SMB 3.1.1 negotiate context type ([MS-SMB2] 2.2.3.1).
func NegotiateContextName(t uint16) string {
	switch t {
	case 1:
		return "PREAUTH_INTEGRITY_CAPABILITIES"
	case 2:
		return "ENCRYPTION_CAPABILITIES"
	case 3:
		return "COMPRESSION_CAPABILITIES"
	case 5:
		return "NETNAME_NEGOTIATE_CONTEXT_ID"
	case 6:
		return "TRANSPORT_CAPABILITIES"
	case 7:
		return "RDMA_TRANSFORM_CAPABILITIES"
	case 8:
		return "SIGNING_CAPABILITIES"
	}
	return fmt.Sprintf("context 0x%04x", t)
}

// createContextNames lists the names of an SMB2 CREATE context chain
// ([MS-SMB2] 2.2.13.2); it stops at a context that does not fit or after 32.
func createContextNames(cc wire.Reader) []string {
	base := []byte(cc)
	pos := 0
	var out []string
	for i := 0; i < 32; i++ {
		r, ok := wire.Field(base, pos, 16)
		if !ok {
			break
		}
		var next uint32
		var nameOff, nameLen uint16
		r.ReadUint32(&next)
		r.ReadUint16(&nameOff)
		r.ReadUint16(&nameLen)
		name, ok := wire.Field(base, pos+int(nameOff), int(nameLen))
		if !ok {
			break
		}
		out = append(out, printable(name))
		if next == 0 || next > uint32(len(base)) {
			break
		}
		pos += int(next)
	}
	return out
}
