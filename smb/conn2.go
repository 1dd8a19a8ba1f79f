package smb

import (
	"fmt"

	"github.com/nettrace/nettrace/tcpstate"
)

// allOnes is the FileId that related compound requests use to mean "the
// file of the preceding CREATE" ([MS-SMB2] 3.2.4.1.4).
var allOnes = FileID{^uint64(0), ^uint64(0)}

// smb2PDU decodes every command of an SMB2 compound message.
func (c *Conn) smb2PDU(dir tcpstate.Dir, p []byte, info pduInfo) {
	c.stats.Version = 2
	c.lastCreate = nil
	rest := p
	for i := 0; len(rest) > 0; i++ {
		if i >= c.lim.MaxCompound {
			c.malformed(dir, info.start, malformed("smb2 compound", "more than %d commands", c.lim.MaxCompound))
			return
		}
		h, _, err := ParseHeader2(rest)
		if err != nil {
			c.malformed(dir, info.start, err)
			return
		}
		msg := rest
		if h.NextCommand != 0 {
			if h.NextCommand < header2Len || h.NextCommand > uint32(len(rest)) {
				if info.partial {
					h.NextCommand = 0
				} else {
					c.malformed(dir, info.start, malformed("smb2 compound", "next command %d outside %d bytes", h.NextCommand, len(rest)))
					return
				}
			} else {
				msg = rest[:h.NextCommand]
			}
		}
		body, err := ParseBody2(h, msg)
		if err != nil {
			c.malformed(dir, info.start, err)
		}
		c.cryptMessage(h, body, err == nil, msg)
		c.smb2Command(h, body, err == nil, info)
		if h.NextCommand == 0 {
			return
		}
		rest = rest[h.NextCommand:]
	}
}

// smb2Command handles one command of a compound; ok reports whether its
// body decoded (b is zero otherwise).
func (c *Conn) smb2Command(h Header2, b Body2, ok bool, info pduInfo) {
	if h.IsSigned() {
		c.stats.Signed = true
	}
	m := c.newMessage(info)
	if m != nil {
		c.header2Fields(h, m)
	}
	if h.IsResponse() {
		c.smb2Response(h, b, ok, info, m)
	} else {
		c.smb2Request(h, b, ok, info, m)
	}
	c.message(m)
}

// header2Fields starts the message of an SMB2 command with its header.
func (c *Conn) header2Fields(h Header2, m *Message) {
	m.Version, m.Command, m.Command2, m.Response, m.MessageID = 2, h.Command.String(), h.Command, h.IsResponse(), h.MessageID
	m.SessionID, m.Credits, m.CreditCharge, m.Signed = h.SessionID, h.Credits, h.CreditCharge, h.IsSigned()
	if h.IsAsync() {
		m.Async, m.AsyncID = true, h.AsyncID
	} else {
		m.TreeID = h.TreeID
	}
	if s := c.sessions[h.SessionID]; s != nil {
		m.User = s.domain + `\` + s.user
	}
	c.wrapFields(m)
}

// fileFor2 returns the key and state of an SMB2 file id. File ids are
// unique per session on a connection, so the tree id is not part of the key.
func (c *Conn) fileFor2(id FileID) (fileKey, *file) {
	k := fileKey{id: id}
	return k, c.files[k]
}

// smb2Request records an SMB2 request and, unless it is a CANCEL, keeps it
// pending until its response.
func (c *Conn) smb2Request(h Header2, b Body2, ok bool, info pduInfo, m *Message) {
	c.loggedOff = false
	c.cmd2(h.Command).requests++
	req, fl := c.newRequest2(h, b, ok, info)
	fl = c.request2(req, fl, b, info, m)
	if m != nil {
		c.requestFields(req, m, b.Offset, b.Length)
		directoryField(req, m)
	}
	if h.Command == SMB2Cancel {
		return // CANCEL has no response; it names the request it cancels
	}
	if req.name == "" && fl != nil {
		req.name = fl.opened
	}
	c.addPending(reqKey{id: h.MessageID}, req)
}

// newRequest2 starts the record of an SMB2 request: its tree and, for a
// request on an open file, the file and its state (nil when untracked).
func (c *Conn) newRequest2(h Header2, b Body2, ok bool, info pduInfo) (*request, *file) {
	req := &request{cmd: h.Command.String(), cmd2: h.Command, start: info.start, sessionID: h.SessionID, treeKey: treeKey{id: h.TreeID}}
	if t := c.tree2(h); t != nil {
		req.tree = t.path
	}
	if !ok || b.FileID == (FileID{}) || h.Command == SMB2Create {
		return req, nil
	}
	if b.FileID == allOnes && c.lastCreate != nil {
		req.name = c.lastCreate.name
	}
	k, fl := c.fileFor2(b.FileID)
	req.fkey, req.hasFile = k, true
	if fl != nil {
		req.pipeName, req.pipe = fl.pipeName, fl.stats.Pipe
	}
	return req, fl
}

// request2 applies an SMB2 request to the connection state and the
// message. It returns the request's file, which a READ or WRITE adopts
// when the file was opened before the capture began.
func (c *Conn) request2(req *request, fl *file, b Body2, info pduInfo, m *Message) *file {
	switch req.cmd2 {
	case SMB2Negotiate:
		c.negotiateRequest2(b, m)
	case SMB2SessionSetup:
		c.securityBlob(req, b.SecurityBlob, m)
	case SMB2TreeConnect:
		req.path = b.Path
		if m != nil {
			m.Tree, m.TreeConnect = b.Path, &TreeConnect{}
		}
	case SMB2Create:
		req.name = b.FileName
		c.lastCreate = req
		if m != nil {
			createFields(m, b.FileName, b.Disposition, b.DesiredAccess)
			m.Create.Contexts = b.CreateContexts
		}
	case SMB2Read:
		return c.issueIO(req, fl, opRead, b.Length, nil, info)
	case SMB2Write:
		return c.issueIO(req, fl, opWrite, b.Length, b.Data, info)
	case SMB2Ioctl:
		req.ctl = b.CtlCode
		if b.CtlCode == FSCTLPipeTransceive && !info.partial {
			fl = c.adopt(fl, req, info) // a pipe opened before the capture
			c.pipeFeed(fl, tcpstate.ClientToServer, b.Input, info, true)
		}
		if m != nil {
			m.Ioctl = &Ioctl{CtlCode: b.CtlCode}
		}
	case SMB2QueryDirectory:
		req.pattern, req.infoClass = b.Pattern, b.InfoClass
		if m != nil {
			m.Query = &Query{Pattern: b.Pattern, InfoClass: b.InfoClass}
		}
	case SMB2QueryInfo, SMB2SetInfo:
		req.infoType, req.infoClass = b.InfoType, b.InfoClass
		if m != nil {
			m.Query = &Query{InfoType: b.InfoType, InfoClass: b.InfoClass}
		}
	}
	// CLOSE: the file is finished when the response arrives.
	return fl
}

// negotiateRequest2 records the dialects a client offers ([MS-SMB2] 2.2.3).
func (c *Conn) negotiateRequest2(b Body2, m *Message) {
	ds := make([]string, 0, len(b.Dialects))
	for _, d := range b.Dialects {
		ds = append(ds, fmt.Sprintf("0x%04x", uint16(d)))
	}
	if len(c.stats.Dialects) == 0 {
		c.stats.Dialects = ds
	}
	if m != nil {
		m.Negotiate = &Negotiate{Dialects: ds, DialectIndex: -1, Contexts: negotiateContextNames(b.NegotiateContexts)}
	}
}

// smb2Response pairs an SMB2 response with its request and applies it. An
// interim STATUS_PENDING response leaves the request pending and marks it
// asynchronous.
func (c *Conn) smb2Response(h Header2, b Body2, ok bool, info pduInfo, m *Message) {
	st := h.Status
	interim := st == StatusPending && h.IsAsync()
	req := c.pendingFor2(h, interim)
	if m != nil {
		statusFields(m, st.String(), st)
	}
	if interim {
		if req != nil {
			req.async = true
			if m != nil {
				c.fileFields(req, m)
			}
		}
		return
	}
	failed := st.Severity() >= 2 && st != StatusMoreProcessingRequired
	if req != nil && m != nil {
		c.answerFields(req, info, m)
	}
	c.response(req, c.cmd2(h.Command), h.Command.String(), st, st.String(), failed, info, h.SessionID)
	c.response2(h, req, b, ok, failed, info, m)
}

// pendingFor2 returns the request an SMB2 response answers, removing it
// from the pending requests unless keep is set. An SMB2 NEGOTIATE response
// with MessageId 0 may answer a multi-protocol SMB1 NEGOTIATE ([MS-SMB2]
// 3.3.5.3.1).
func (c *Conn) pendingFor2(h Header2, keep bool) *request {
	req := c.takePending(reqKey{id: h.MessageID}, keep)
	if req != nil || h.Command != SMB2Negotiate || h.MessageID != 0 {
		return req
	}
	for k, r := range c.pending {
		if k.v1 && k.id == 0 && r.cmd1 == SMB1Negotiate {
			return c.takePending(k, false)
		}
	}
	return nil
}

// response2 applies an SMB2 response to the connection state and the
// message; req is its request, nil when it was not seen.
func (c *Conn) response2(h Header2, req *request, b Body2, ok, failed bool, info pduInfo, m *Message) {
	success := h.Status == StatusSuccess
	switch h.Command {
	case SMB2Negotiate:
		if ok && !b.ErrorResponse {
			c.negotiateResponse2(b, m)
		}
	case SMB2SessionSetup:
		if ok {
			c.securityBlob(nil, b.SecurityBlob, m)
		}
		if success && req != nil && req.ntlm != nil && len(c.sessions) < 256 {
			if c.sessions == nil {
				c.sessions = make(map[uint64]*session)
			}
			c.sessions[h.SessionID] = &session{user: req.ntlm.User, domain: req.ntlm.Domain, workstation: req.ntlm.Workstation}
		}
	case SMB2TreeConnect:
		if success && req != nil {
			t := &tree{path: req.path, pipe: b.ShareType == 2 || isIPC(req.path)}
			c.addTree(treeKey{id: h.TreeID}, t)
			if c.cfg.TreeConnected != nil {
				c.cfg.TreeConnected(TreeKey{Server: c.ctx.Server.Addr(), Session: h.SessionID, Tree: h.TreeID}, TreeInfo{Path: t.path, Pipe: t.pipe})
			}
		}
		if m != nil && ok && !b.ErrorResponse {
			m.TreeConnect = &TreeConnect{ShareType: b.ShareType}
		}
	case SMB2TreeDisconnect:
		c.treeDisconnected(req)
	case SMB2Logoff:
		if success {
			c.logoffAnswered()
		}
	case SMB2Create:
		if success && ok && !b.ErrorResponse && req != nil {
			c.createResponse2(req, b, info, m)
		}
	case SMB2Close:
		if success {
			c.fileClosed(req, info)
		}
	case SMB2Read, SMB2Write:
		c.ioResponse2(h.Command, req, b, ok, failed, info, m)
	case SMB2Ioctl:
		c.ioctlResponse2(req, b, ok, info, m)
	case SMB2QueryDirectory, SMB2QueryInfo:
		queryResponseFields(req, b, ok, m)
	case SMB2OplockBreak:
		if m != nil && ok {
			m.OplockBreak = &OplockBreak{Lease: b.Lease}
		}
	}
}

// negotiateResponse2 records the dialect the server chose ([MS-SMB2] 2.2.4).
func (c *Conn) negotiateResponse2(b Body2, m *Message) {
	if b.Dialect != DialectWildcard {
		c.stats.Dialect = b.Dialect.String()
	}
	if m != nil {
		m.Negotiate = &Negotiate{Dialect: fmt.Sprintf("0x%04x", uint16(b.Dialect)), DialectIndex: -1,
			Capabilities: b.Capabilities, Contexts: negotiateContextNames(b.NegotiateContexts)}
	}
}

// createResponse2 starts tracking the file a successful CREATE opened
// ([MS-SMB2] 2.2.14).
func (c *Conn) createResponse2(req *request, b Body2, info pduInfo, m *Message) {
	k, _ := c.fileFor2(b.FileID)
	c.openFile(k, req, info)
	if m != nil {
		m.Create = &Create{Action: b.CreateAction, FileID: b.FileID}
	}
}

// ioResponse2 completes a READ or WRITE ([MS-SMB2] 2.2.20, 2.2.22).
func (c *Conn) ioResponse2(cmd Command2, req *request, b Body2, ok, failed bool, info pduInfo, m *Message) {
	n := uint64(0)
	if !failed && ok {
		n = uint64(b.Length)
	}
	if cmd == SMB2Read {
		c.completeIO(req, opRead, n, failed, b.Data, info)
	} else {
		c.completeIO(req, opWrite, n, failed, nil, info)
	}
	if m != nil && ok {
		m.IO = &IO{Length: b.Length}
	}
}

// ioctlResponse2 hands the output of a named-pipe transceive to the pipe
// handler ([MS-SMB2] 2.2.32).
func (c *Conn) ioctlResponse2(req *request, b Body2, ok bool, info pduInfo, m *Message) {
	if req != nil && req.ctl == FSCTLPipeTransceive && ok && !info.partial {
		c.pipeFeed(c.files[req.fkey], tcpstate.ServerToClient, b.Output, info, true)
	}
	if m != nil && ok && !b.ErrorResponse {
		m.Ioctl = &Ioctl{CtlCode: b.CtlCode}
	} else if m != nil && req != nil {
		m.Ioctl = &Ioctl{CtlCode: req.ctl}
	}
}

// maxListedNames caps the file names a directory listing's message lists
// (the count of all of them is given too).
const maxListedNames = 256

// directoryField names the directory a QUERY_DIRECTORY lists "directory",
// not "filename": the names of a listing are those of its response, and
// its request's search pattern is "pattern" (tshark's smb2.find.pattern).
func directoryField(req *request, m *Message) {
	if req == nil || req.cmd2 != SMB2QueryDirectory {
		return
	}
	if m.FileName != "" {
		m.Directory, m.FileName = m.FileName, ""
	}
}

// queryResponseFields adds the file names a QUERY_DIRECTORY response lists
// ("filenames", with "pattern" and "directory" from the request) or the
// name a QUERY_INFO response carries ("filename", as tshark's
// smb2.filename: the path from the share's root).
func queryResponseFields(req *request, b Body2, ok bool, m *Message) {
	if m == nil || req == nil || !ok || b.ErrorResponse {
		return
	}
	if req.cmd2 == SMB2QueryInfo {
		if name, found := InfoFileName(b.Output, req.infoType, req.infoClass); found {
			m.FileName, m.Query = name, &Query{}
		}
		return
	}
	directoryField(req, m)
	names, total, _ := DirectoryNames(b.Output, req.infoClass, maxListedNames)
	m.Query = &Query{Pattern: req.pattern, Names: names, Entries: total}
}

// tree2 returns the tree of an SMB2 request: the connection's own, or one
// connected on another connection of the same session (Config.LookupTree),
// which the connection then keeps. Async messages carry no tree id.
func (c *Conn) tree2(h Header2) *tree {
	if h.IsAsync() || h.TreeID == 0 {
		return nil
	}
	k := treeKey{id: h.TreeID}
	if t := c.trees[k]; t != nil {
		return t
	}
	if c.cfg.LookupTree == nil || c.treeMiss[h.TreeID] {
		return nil
	}
	info, ok := c.cfg.LookupTree(TreeKey{Server: c.ctx.Server.Addr(), Session: h.SessionID, Tree: h.TreeID})
	if !ok {
		// A tree id exists only once its TREE_CONNECT was answered: one not
		// known now stays unknown, and is not looked up again.
		if c.treeMiss == nil {
			c.treeMiss = map[uint32]bool{}
		}
		if len(c.treeMiss) < c.lim.MaxTrees {
			c.treeMiss[h.TreeID] = true
		}
		return nil
	}
	t := &tree{path: info.Path, pipe: info.Pipe, shared: true}
	c.addTree(k, t)
	return t
}
