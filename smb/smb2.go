package smb

import (
	"github.com/nettrace/nettrace/internal/wire"
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

	// IOCTL ([MS-SMB2] 2.2.31, 2.2.32); Output is also the output buffer
	// of QUERY_DIRECTORY and QUERY_INFO responses (2.2.34, 2.2.38).
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
// as far as they are present. On error the Body2 is zero.
func ParseBody2(h Header2, msg []byte) (Body2, error) {
	if len(msg) < header2Len {
		return Body2{}, truncated("smb2 "+h.Command.String(), header2Len)
	}
	p := body2{h: h, msg: msg, r: wire.Reader(msg[header2Len:])}
	if !p.r.ReadUint16(&p.size) {
		return Body2{}, truncated("smb2 "+h.Command.String(), header2Len+2)
	}
	resp := h.IsResponse()
	if resp && p.size == 9 && isErrorBody(h) {
		return Body2{ErrorResponse: true}, nil
	}
	if err := p.checkSize(); err != nil {
		return Body2{}, err
	}
	var parse func(body2) (Body2, error)
	if int(h.Command) < len(body2Parsers) {
		parse = body2Parsers[h.Command].request
		if resp {
			parse = body2Parsers[h.Command].response
		}
	}
	if parse == nil {
		return Body2{}, nil
	}
	b, err := parse(p)
	if err != nil {
		return Body2{}, err
	}
	return b, nil
}

// body2Parsers holds the parsers of each command's request and response
// body, by command code. Each is given the body with its reader after
// StructureSize. A nil parser has nothing to decode: LOGOFF,
// TREE_DISCONNECT, CANCEL and ECHO (StructureSize 4, Reserved 2), and the
// responses whose fields after StructureSize are not used.
var body2Parsers = [...]struct{ request, response func(body2) (Body2, error) }{
	SMB2Negotiate:      {parseNegotiateRequest2, parseNegotiateResponse2},
	SMB2SessionSetup:   {parseSessionSetupRequest2, parseSessionSetupResponse2},
	SMB2TreeConnect:    {parseTreeConnectRequest2, parseTreeConnectResponse2},
	SMB2Create:         {parseCreateRequest2, parseCreateResponse2},
	SMB2Close:          {parseCloseRequest2, nil},
	SMB2Flush:          {parseCloseRequest2, nil},
	SMB2Read:           {parseReadRequest2, parseReadResponse2},
	SMB2Write:          {parseWriteRequest2, parseWriteResponse2},
	SMB2Lock:           {parseLockRequest2, nil},
	SMB2Ioctl:          {parseIoctlRequest2, parseIoctlResponse2},
	SMB2QueryDirectory: {parseQueryDirectoryRequest2, parseQueryResponse2},
	SMB2ChangeNotify:   {parseChangeNotifyRequest2, nil},
	SMB2QueryInfo:      {parseQueryInfoRequest2, parseQueryResponse2},
	SMB2SetInfo:        {parseSetInfoRequest2, nil},
	SMB2OplockBreak:    {parseOplockBreak2, parseOplockBreak2},
}

// body2 is what the SMB2 body parsers share: the header that selects the
// layout, the message from its header (SMB2 offsets count from there), a
// reader at the field after StructureSize, and StructureSize itself.
type body2 struct {
	h    Header2
	msg  []byte
	r    wire.Reader
	size uint16
}

// checkSize rejects a StructureSize that is not the command's. OPLOCK_BREAK
// has three forms: oplock (24) and lease notification/acknowledgment (44,
// 36) ([MS-SMB2] 2.2.23-2.2.25).
func (p *body2) checkSize() error {
	want := structSize2(p.h.Command, p.h.IsResponse())
	if want == 0 || p.size == want {
		return nil
	}
	if p.h.Command == SMB2OplockBreak && (p.size == 24 || p.size == 36 || p.size == 44) {
		return nil
	}
	return malformed(p.what(), "structure size %d, want %d", p.size, want)
}

// what names the message in errors; it is called only on an error path,
// so that a well-formed message allocates no string.
func (p *body2) what() string {
	if p.h.IsResponse() {
		return "smb2 " + p.h.Command.String() + " response"
	}
	return "smb2 " + p.h.Command.String() + " request"
}

// short is the error for a fixed part that runs past the message.
func (p *body2) short() error { return truncated(p.what(), 0) }

// buffer returns the field at off with n bytes ([MS-SMB2] offsets count
// from the start of the header), or an error naming it when it lies
// outside the message. An empty field is nil whatever its offset.
func (p *body2) buffer(name string, off, n uint32) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if off <= 1<<30 && n <= 1<<30 {
		if v, ok := wire.Field(p.msg, int(off), int(n)); ok {
			return v, nil
		}
	}
	return nil, malformed(p.what(), "%s %d+%d outside %d bytes", name, off, n, len(p.msg))
}

// utf16Buffer returns the UTF-16LE string in the buffer at off with n
// bytes (see buffer).
func (p *body2) utf16Buffer(name string, off, n uint16) (string, error) {
	v, err := p.buffer(name, uint32(off), uint32(n))
	if err != nil {
		return "", err
	}
	return utf16String(v), nil
}

// partial returns the field at off with n bytes clipped to what is present:
// the READ, WRITE and IOCTL payloads of a PDU of which only the head was
// kept.
func (p *body2) partial(off, n uint32) []byte {
	if n == 0 || off >= uint32(len(p.msg)) || off > 1<<30 {
		return nil
	}
	end := uint64(off) + uint64(n)
	if end > uint64(len(p.msg)) {
		end = uint64(len(p.msg))
	}
	return p.msg[off:end]
}

// readFileID reads an SMB2_FILEID ([MS-SMB2] 2.2.14.1).
func (p *body2) readFileID(f *FileID) bool {
	return p.r.ReadUint64(&f.Persistent) && p.r.ReadUint64(&f.Volatile)
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
