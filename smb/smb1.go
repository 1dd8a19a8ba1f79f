package smb

import (
	"github.com/nettrace/nettrace/internal/wire"
)

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
			if nextPos == 0 && h.IsResponse() && (next == 0 || h.Failed()) {
				return h, out, nil // error responses leave the AndX block zeroed
			}
			// Any other offset at or before this block (the header, itself,
			// an earlier block) would loop: the chain is malformed and ends.
			return h, out, malformed("smb1 andx chain", "offset %d after block at %d in %d bytes", nextPos, pos, len(msg))
		}
		cmd, pos = next, nextPos
	}
}

// parseBlock1 decodes the command block of cmd at msg[pos:] and returns
// the next AndX command and its offset.
func parseBlock1(h Header1, cmd Command1, msg []byte, pos int) (b Body1, next Command1, nextPos int, err error) {
	b = Body1{Command: cmd, DialectIndex: -1, RAPOpcode: -1}
	k := block1{h: h, cmd: cmd, msg: msg}
	if err := k.read(pos); err != nil {
		return b, SMB1NoAndX, 0, err
	}
	b.WordCount = k.wc
	if h.IsResponse() && k.wc == 0 && k.bc == 0 && h.Failed() {
		b.ErrorResponse = true
		return b, SMB1NoAndX, 0, nil
	}
	next = SMB1NoAndX
	if cmd.isAndX() && k.wc >= 2 {
		next, nextPos = k.readAndX()
	}
	parse := block1Parsers[cmd].request
	if h.IsResponse() {
		parse = block1Parsers[cmd].response
	}
	if parse == nil {
		return b, next, nextPos, nil
	}
	if b, err = parse(k, b); err != nil {
		return b, next, 0, err
	}
	return b, next, nextPos, nil
}

// block1 is one SMB1 command block ([MS-CIFS] 2.2.3.2, 2.2.3.3) being
// decoded: its parameter words (after the AndX header of an AndX command)
// and its byte block, with what is needed to read them.
type block1 struct {
	h        Header1
	cmd      Command1
	msg      []byte // the whole message: SMB1 offsets count from its header
	wc       uint8  // WordCount
	words    wire.Reader
	bc       uint16      // ByteCount as declared; bytes may be shorter
	bytes    wire.Reader // the byte block
	bytesOff int         // offset of the byte block in msg
}

// read frames the block at msg[pos:]: WordCount, the words, ByteCount and
// the bytes. A short byte block is tolerated (large READ/WRITE data kept
// only partly): bytes is then what is present.
func (k *block1) read(pos int) error {
	r, ok := wire.Field(k.msg, pos, len(k.msg)-pos)
	if !ok {
		return truncated(k.what(), pos)
	}
	if !r.ReadUint8(&k.wc) || !r.ReadReader(&k.words, 2*int(k.wc)) {
		return truncated(k.what()+" words", 0)
	}
	if !r.ReadUint16(&k.bc) {
		return truncated(k.what()+" byte count", 0)
	}
	k.bytesOff = pos + 1 + 2*int(k.wc) + 2
	if !r.ReadReader(&k.bytes, int(k.bc)) {
		k.bytes = r
	}
	return nil
}

// readAndX reads the AndX header at the front of the words ([MS-CIFS]
// 2.2.3.4): the next command and its offset.
func (k *block1) readAndX() (Command1, int) {
	var c, off uint16
	k.words.ReadUint16(&c) // AndXCommand, AndXReserved
	k.words.ReadUint16(&off)
	return Command1(c & 0xff), int(off)
}

// block1Parsers holds the readers of each command's request and response
// block, by command code. Each is given the block, with its words after
// the AndX header, and the body with Command, WordCount and the -1
// defaults set, and returns the body. A command without a reader is
// decoded no further than its name.
var block1Parsers = [256]struct {
	request, response func(block1, Body1) (Body1, error)
}{
	SMB1Negotiate:    {parseNegotiateRequest1, parseNegotiateResponse1},
	SMB1SessionSetup: {parseSessionSetupRequest1, parseSessionSetupResponse1},
	SMB1TreeConnect:  {parseTreeConnectRequest1, parseTreeConnectResponse1},
	SMB1NTCreateAndX: {parseNTCreateRequest1, parseNTCreateResponse1},
	SMB1Close:        {parseCloseRequest1, nil},
	SMB1ReadAndX:     {parseReadRequest1, parseReadResponse1},
	SMB1WriteAndX:    {parseWriteRequest1, parseWriteResponse1},
	SMB1Echo:         {parseEchoRequest1, nil},
	SMB1Trans:        {parseTrans1, parseTrans1},
	SMB1Trans2:       {parseTrans1, parseTrans1},
	SMB1NTTransact:   {parseNTTransactRequest1, nil},
}

// what names the block in errors.
func (k *block1) what() string { return "smb1 " + k.cmd.String() }

// str reads a NUL-terminated string from the byte block: UTF-16LE aligned
// to an even offset from the header when the header says Unicode, OEM
// otherwise. A string that runs past the block reads as "".
func (k *block1) str() string {
	if k.h.Unicode() {
		at := k.bytesOff + (int(k.bc) - k.bytes.Len())
		if at%2 == 1 {
			k.bytes.Skip(1)
		}
		s, _ := readUTF16Z(&k.bytes)
		return s
	}
	s, _ := readOEMZ(&k.bytes)
	return s
}

// clip returns the n bytes at off in the message, clipped to what is
// present (SMB1 data and parameter offsets count from the header).
func (k *block1) clip(off, n int) []byte {
	if n <= 0 || off < 0 || off >= len(k.msg) {
		return nil
	}
	if n > len(k.msg)-off {
		n = len(k.msg) - off
	}
	return k.msg[off : off+n]
}

// parseEchoRequest1 reads an SMB1 ECHO request ([MS-CIFS] 2.2.4.39.1): the
// echo count. The response only repeats the data.
func parseEchoRequest1(k block1, b Body1) (Body1, error) {
	if k.wc >= 1 {
		k.words.ReadUint16(&b.EchoCount)
	}
	return b, nil
}
