package smb

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// SMB1 TRANSACTION codes named by the decoder.
const (
	transactNmPipe1 = 0x26 // TRANS TransactNmPipe ([MS-CIFS] 2.2.5.6)
	findFirst2      = 0x01 // TRANS2_FIND_FIRST2 ([MS-CIFS] 2.2.6.2)
	queryPathInfo2  = 0x05 // TRANS2_QUERY_PATH_INFORMATION ([MS-CIFS] 2.2.6.6)
	setPathInfo2    = 0x06 // TRANS2_SET_PATH_INFORMATION ([MS-CIFS] 2.2.6.7)
	getDFSReferral2 = 0x10 // TRANS2_GET_DFS_REFERRAL ([MS-CIFS] 2.2.6.16)
)

// parseTrans1 reads an SMB1 TRANSACTION or TRANSACTION2 request or response
// ([MS-CIFS] 2.2.4.33, 2.2.4.46): the setup words, the parameter and data
// bytes, and for requests the transaction name (TRANS, with the RAP opcode
// of \PIPE\LANMAN) or the file name in the parameters (TRANS2).
func parseTrans1(k block1, b Body1) (Body1, error) {
	if !k.transWords(&b) || k.h.IsResponse() {
		return b, nil
	}
	if k.cmd == SMB1Trans {
		k.transName(&b)
		return b, nil
	}
	b.FileName = trans2FileName(b.SubCommand, b.Params, k.h.Unicode())
	return b, nil
}

// transWords reads the counts and offsets of the parameter and data bytes
// and the first setup words (request: 14 words or more; response: 10 or
// more). It reports false when there are too few words.
func (k *block1) transWords(b *Body1) bool {
	w := &k.words
	var pc, po, dc, do uint16
	var setupCount uint8
	if k.h.IsResponse() {
		if k.wc < 10 {
			return false
		}
		w.Skip(6) // TotalParameterCount, TotalDataCount, Reserved1
		w.ReadUint16(&pc)
		w.ReadUint16(&po)
		w.Skip(2) // ParameterDisplacement
		w.ReadUint16(&dc)
		w.ReadUint16(&do)
		w.Skip(2) // DataDisplacement
	} else {
		if k.wc < 14 {
			return false
		}
		w.Skip(18) // totals, maxima, MaxSetupCount, Reserved1, Flags, Timeout, Reserved2
		w.ReadUint16(&pc)
		w.ReadUint16(&po)
		w.ReadUint16(&dc)
		w.ReadUint16(&do)
	}
	w.ReadUint8(&setupCount)
	w.Skip(1) // Reserved
	if setupCount > 0 && w.ReadUint16(&b.SubCommand) {
		b.HasSub = true
		if k.cmd == SMB1Trans && !k.h.IsResponse() && setupCount >= 2 && w.ReadUint16(&b.FID) {
			b.HasFID = true // Setup[1] of a named-pipe transaction
		}
	}
	b.Params = k.clip(int(po), int(pc))
	b.TransData = k.clip(int(do), int(dc))
	return true
}

// transName reads the name of a TRANS request and, for \PIPE\LANMAN, the
// RAP opcode at the front of the parameters ([MS-RAP] 2.5.1).
func (k *block1) transName(b *Body1) {
	b.TransName = k.str()
	if !equalFoldASCII(b.TransName, `\PIPE\LANMAN`) {
		return
	}
	p := wire.Reader(b.Params)
	var op uint16
	if p.ReadUint16(&op) {
		b.RAPOpcode = int(op)
	}
}

// trans2FileName returns the file name in the parameters of the TRANS2
// subcommands that carry one ([MS-CIFS] 2.2.6), or "". GET_DFS_REFERRAL's
// name is always UTF-16.
func trans2FileName(sub uint16, params []byte, unicode bool) string {
	skip := 0
	switch sub {
	case findFirst2:
		skip = 12
	case queryPathInfo2, setPathInfo2:
		skip = 6
	case getDFSReferral2:
		skip = 2
	default:
		return ""
	}
	p := wire.Reader(params)
	if !p.Skip(skip) {
		return ""
	}
	var name string
	if unicode || sub == getDFSReferral2 {
		name, _ = readUTF16Z(&p)
	} else {
		name, _ = readOEMZ(&p)
	}
	return name
}

// ntTransactRequest reads the function of an SMB1 NT_TRANSACT request
// ([MS-CIFS] 2.2.4.62.1), at word 18.
func parseNTTransactRequest1(k block1, b Body1) (Body1, error) {
	if k.wc < 19 {
		return b, nil
	}
	var fn uint16
	k.words.Skip(36)
	k.words.ReadUint16(&fn)
	b.SubCommand, b.HasSub = fn, true
	return b, nil
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
