package smb

import (
	"github.com/nettrace/nettrace/tcpstate"
)

// smb1PDU decodes an SMB1 message and its AndX chain.
func (c *Conn) smb1PDU(dir tcpstate.Dir, p []byte, info pduInfo) {
	c.stats.Version = 1
	h, blocks, err := ParseSMB1(p, c.lim.MaxAndX)
	if err != nil {
		c.malformed(dir, info.start, err)
		if len(blocks) == 0 {
			if h.Command == 0 && h.MID == 0 && h.Flags == 0 {
				return
			}
			// Header decoded, body not: still account for the message.
			blocks = []Body1{{Command: h.Command, DialectIndex: -1, RAPOpcode: -1}}
		}
	}
	if h.IsResponse() {
		c.smb1Response(h, blocks, info)
	} else {
		c.smb1Request(h, blocks, info)
	}
}

// smb1Fields starts the message of block i of an SMB1 message with its
// header (nil when messages are not wanted).
func (c *Conn) smb1Fields(h Header1, b Body1, i int, info pduInfo) *Message {
	m := c.newMessage(info)
	if m != nil {
		m.Version, m.Command, m.Command1, m.Response, m.MessageID = 1, b.Command.String(), b.Command, h.IsResponse(), uint64(h.MID)
		m.TID, m.UID, m.PID, m.AndXIndex = h.TID, h.UID, h.PID, i
	}
	return m
}

// smb1Request records the requests of an SMB1 AndX chain and keeps the
// chain pending under the first one, unless it is an NT_CANCEL.
func (c *Conn) smb1Request(h Header1, blocks []Body1, info pduInfo) {
	c.loggedOff = false
	if len(blocks) == 0 {
		return
	}
	main := c.request1Block(h, blocks[0], 0, info)
	if len(blocks) > 1 {
		// An AndX chain; a single command (the common case) needs no list.
		main.chain1 = make([]*request, 1, len(blocks))
		main.chain1[0] = main
		for i, b := range blocks[1:] {
			main.chain1 = append(main.chain1, c.request1Block(h, b, i+1, info))
		}
	}
	if blocks[0].Command == SMB1NTCancel {
		return
	}
	c.addPending(reqKey{v1: true, pid: h.PID, id: uint64(h.MID)}, main)
}

// chainAt returns the request of block i of r's AndX chain, or nil.
func (r *request) chainAt(i int) *request {
	switch {
	case r.chain1 != nil && i < len(r.chain1):
		return r.chain1[i]
	case r.chain1 == nil && i == 0:
		return r
	}
	return nil
}

// request1Block records block i of an SMB1 request and emits its message.
func (c *Conn) request1Block(h Header1, b Body1, i int, info pduInfo) *request {
	cmd := b.Command.String()
	c.cmd(cmd).requests++
	req, fl := c.newRequest1(h, b, cmd, info)
	m := c.smb1Fields(h, b, i, info)
	c.request1(req, fl, b, info, m)
	if m != nil {
		c.requestFields(req, m, b.Offset, b.Length)
		if b.HasFID {
			m.FID, m.HasFID = b.FID, true
		}
		c.message(m)
	}
	return req
}

// newRequest1 starts the record of an SMB1 request block: its tree and, for
// a request on an open file, the file and its state (nil when untracked).
func (c *Conn) newRequest1(h Header1, b Body1, cmd string, info pduInfo) (*request, *file) {
	req := &request{v1: true, cmd: cmd, cmd1: b.Command, start: info.start, treeKey: treeKey{v1: true, id: uint32(h.TID)}}
	if t := c.trees[req.treeKey]; t != nil {
		req.tree = t.path
	}
	if !b.HasFID || b.Command == SMB1NTCreateAndX {
		return req, nil
	}
	req.fkey = fileKey{v1: true, id: FileID{Volatile: uint64(b.FID)}}
	req.hasFile = true
	fl := c.files[req.fkey]
	if fl != nil {
		req.name, req.pipeName, req.pipe = fl.opened, fl.pipeName, fl.stats.Pipe
	}
	return req, fl
}

// request1 applies an SMB1 request block to the connection state and the
// message.
func (c *Conn) request1(req *request, fl *file, b Body1, info pduInfo, m *Message) {
	switch b.Command {
	case SMB1Negotiate:
		c.stats.Dialects = append([]string(nil), b.Dialects...)
		if m != nil {
			m.Negotiate = &Negotiate{Dialects: b.Dialects, DialectIndex: -1}
		}
	case SMB1SessionSetup:
		c.sessionSetupRequest1(req, b, m)
	case SMB1TreeConnect:
		req.path = b.Path
		if m != nil {
			m.Tree, m.TreeConnect = b.Path, &TreeConnect{Service: b.Service}
		}
	case SMB1NTCreateAndX:
		req.name = b.FileName
		if m != nil {
			createFields(m, b.FileName, b.Disposition, b.DesiredAccess)
		}
	case SMB1ReadAndX:
		c.issueIO(req, fl, opRead, b.Length, nil, info)
	case SMB1WriteAndX:
		c.issueIO(req, fl, opWrite, b.Length, b.Data, info)
	case SMB1Trans:
		c.transRequest1(req, fl, b, info, m)
	case SMB1Trans2, SMB1NTTransact:
		if b.Command == SMB1Trans2 {
			req.sub = b.SubCommand
		}
		if m != nil {
			m.Trans = &Trans{SubCommand: b.SubCommand, HasSub: b.HasSub}
			if b.Command == SMB1Trans2 {
				m.FileName = b.FileName // FIND_FIRST2, QUERY_PATH_INFORMATION...
			}
		}
	case SMB1Echo:
		if m != nil {
			m.EchoCount = b.EchoCount
		}
	}
}

// sessionSetupRequest1 records the user of an SMB1 SESSION_SETUP_ANDX: from
// the NTLMSSP token with extended security, or from the account and domain
// fields without it.
func (c *Conn) sessionSetupRequest1(req *request, b Body1, m *Message) {
	c.securityBlob(req, b.SecurityBlob, m)
	if len(b.SecurityBlob) == 0 && (b.Account != "" || b.Domain != "") {
		req.ntlm = &NTLM{Type: NTLMAuthenticate, User: b.Account, Domain: b.Domain}
		c.stats.User, c.stats.Domain = b.Account, b.Domain
		if m != nil {
			m.Session.Account, m.Session.Domain = b.Account, b.Domain
		}
	}
	if m != nil {
		m.Session.NativeOS = b.NativeOS
	}
}

// transRequest1 hands the data of a TransactNmPipe ([MS-CIFS] 2.2.5.6) to
// the pipe handler and names the transaction.
func (c *Conn) transRequest1(req *request, fl *file, b Body1, info pduInfo, m *Message) {
	if b.HasSub && b.SubCommand == transactNmPipe1 && b.HasFID {
		req.transPipe = true
		fl = c.adopt(fl, req, info) // a pipe opened before the capture
		c.pipeFeed(fl, tcpstate.ClientToServer, b.TransData, info, true)
	}
	if m == nil {
		return
	}
	m.Trans = &Trans{Name: b.TransName, SubCommand: b.SubCommand, HasSub: b.HasSub}
	if b.RAPOpcode >= 0 {
		m.Trans.RAP = RAPName(b.RAPOpcode)
	}
}

// smb1Response pairs an SMB1 response with its request chain and applies
// each block.
func (c *Conn) smb1Response(h Header1, blocks []Body1, info pduInfo) {
	main := c.takePending(reqKey{v1: true, pid: h.PID, id: uint64(h.MID)}, false)
	failed := h.Failed() && h.Status != StatusMoreProcessingRequired
	for i, b := range blocks {
		c.response1Block(h, main, b, i, failed, info)
	}
}

// response1Block applies block i of an SMB1 response and emits its message.
// main is the first request of the chain (nil when it was not seen); the
// block's own request is the chain's request i when the commands agree.
func (c *Conn) response1Block(h Header1, main *request, b Body1, i int, failed bool, info pduInfo) {
	var req *request
	if main != nil {
		if r := main.chainAt(i); r != nil && r.cmd1 == b.Command {
			req = r
		}
	}
	cmd := b.Command.String()
	stName := h.StatusName()
	m := c.smb1Fields(h, b, i, info)
	if m != nil {
		statusFields(m, stName, h.Status)
		if req != nil {
			c.answerFields(req, info, m)
		}
	}
	if i == 0 || req != nil {
		c.response(req, c.cmd(cmd), cmd, h.Status, stName, failed && i == 0, info, uint64(h.UID))
	}
	c.response1(h, main, req, b, failed, info, m)
	c.message(m)
}

// response1 applies an SMB1 response block to the connection state and the
// message.
func (c *Conn) response1(h Header1, main, req *request, b Body1, failed bool, info pduInfo, m *Message) {
	switch b.Command {
	case SMB1Negotiate:
		c.negotiateResponse1(main, b, m)
	case SMB1SessionSetup:
		c.securityBlob(nil, b.SecurityBlob, m)
	case SMB1TreeConnect:
		if !failed && req != nil {
			c.addTree(treeKey{v1: true, id: uint32(h.TID)}, &tree{path: req.path, pipe: b.Service == "IPC" || isIPC(req.path)})
		}
		if m != nil {
			m.TreeConnect = &TreeConnect{Service: b.Service}
		}
	case SMB1TreeDisconnect:
		c.treeDisconnected(req)
	case SMB1LogoffAndX:
		if !failed {
			c.logoffAnswered()
		}
	case SMB1NTCreateAndX:
		if !failed && b.HasFID && req != nil {
			c.ntCreateResponse1(req, b, info, m)
		}
	case SMB1Close:
		if !failed {
			c.fileClosed(req, info)
		}
	case SMB1ReadAndX, SMB1WriteAndX:
		c.ioResponse1(req, b, failed, info, m)
	case SMB1Trans:
		if req != nil && req.transPipe && !failed {
			c.pipeFeed(c.files[req.fkey], tcpstate.ServerToClient, b.TransData, info, true)
		}
	case SMB1Trans2:
		if m != nil && req != nil {
			m.Trans = &Trans{SubCommand: req.sub, HasSub: true}
		}
	}
}

// negotiateResponse1 records the dialect the server chose from those the
// client offered ([MS-CIFS] 2.2.4.52.2).
func (c *Conn) negotiateResponse1(main *request, b Body1, m *Message) {
	if m != nil {
		m.Negotiate = &Negotiate{DialectIndex: b.DialectIndex}
	}
	if main != nil && b.DialectIndex >= 0 && b.DialectIndex < len(c.stats.Dialects) {
		c.stats.Dialect = c.stats.Dialects[b.DialectIndex]
		if m != nil {
			m.Negotiate.Dialect = c.stats.Dialect
		}
	}
}

// ntCreateResponse1 starts tracking the file an NT_CREATE_ANDX opened
// ([MS-CIFS] 2.2.4.64.2).
func (c *Conn) ntCreateResponse1(req *request, b Body1, info pduInfo, m *Message) {
	c.openFile(fileKey{v1: true, id: FileID{Volatile: uint64(b.FID)}}, req, info)
	if m != nil {
		m.FID, m.HasFID = b.FID, true
		m.Create = &Create{Action: b.Disposition}
	}
}

// ioResponse1 completes a READ_ANDX or WRITE_ANDX ([MS-CIFS] 2.2.4.42.2,
// 2.2.4.43.2).
func (c *Conn) ioResponse1(req *request, b Body1, failed bool, info pduInfo, m *Message) {
	if b.Command == SMB1ReadAndX {
		c.completeIO(req, opRead, uint64(b.Length), failed, b.Data, info)
	} else {
		c.completeIO(req, opWrite, uint64(b.Length), failed, nil, info)
	}
	if m != nil {
		m.IO = &IO{Length: b.Length}
	}
}
