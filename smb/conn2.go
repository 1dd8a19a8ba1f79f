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
		c.smb2Command(h, body, err == nil, info)
		if h.NextCommand == 0 {
			return
		}
		rest = rest[h.NextCommand:]
	}
}

func (c *Conn) smb2Command(h Header2, b Body2, ok bool, info pduInfo) {
	if h.IsSigned() {
		c.stats.Signed = true
	}
	cmd := h.Command.String()
	var f map[string]any
	if c.want() {
		f = map[string]any{"cmd": cmd, "is_response": h.IsResponse(), "msg_id": h.MessageID,
			"session_id": fmt.Sprintf("0x%016x", h.SessionID), "credits": h.Credits, "signed": h.IsSigned()}
		if h.IsAsync() {
			f["async_id"] = h.AsyncID
		} else {
			f["tree_id"] = h.TreeID
		}
		if h.CreditCharge > 1 {
			f["credit_charge"] = h.CreditCharge
		}
		if s := c.sessions[h.SessionID]; s != nil {
			f["user"] = s.domain + `\` + s.user
		}
	}
	if h.IsResponse() {
		c.smb2Response(h, b, ok, info, f)
	} else {
		c.smb2Request(h, b, ok, info, f)
	}
	if f != nil {
		c.message("smb2", info, f)
	}
}

// fileFor2 returns the key and state of an SMB2 file id. File ids are
// unique per session on a connection, so the tree id is not part of the key.
func (c *Conn) fileFor2(id FileID) (fileKey, *file) {
	k := fileKey{id: id}
	return k, c.files[k]
}

func (c *Conn) smb2Request(h Header2, b Body2, ok bool, info pduInfo, f map[string]any) {
	cmd := h.Command.String()
	c.cmd2(h.Command).requests++
	req := &request{cmd: cmd, cmd2: h.Command, start: info.start, sessionID: h.SessionID, treeKey: treeKey{id: h.TreeID}}
	if t := c.trees[req.treeKey]; t != nil && !h.IsAsync() {
		req.tree = t.path
	}
	var fl *file
	if ok && b.FileID != (FileID{}) && h.Command != SMB2Create {
		id := b.FileID
		if id == allOnes && c.lastCreate != nil {
			req.name = c.lastCreate.name
		}
		req.fkey, fl = c.fileFor2(id)
		req.hasFile = true
		if fl != nil {
			req.pipeName = fl.pipeName
		}
	}
	switch h.Command {
	case SMB2Negotiate:
		ds := make([]string, 0, len(b.Dialects))
		for _, d := range b.Dialects {
			ds = append(ds, fmt.Sprintf("0x%04x", uint16(d)))
		}
		if len(c.stats.Dialects) == 0 {
			c.stats.Dialects = ds
		}
		if f != nil {
			f["dialect"] = ds
			if len(b.NegotiateContexts) > 0 {
				f["negotiate_contexts"] = contextNames(b.NegotiateContexts)
			}
		}
	case SMB2SessionSetup:
		c.securityBlob(req, b.SecurityBlob, f)
	case SMB2TreeConnect:
		req.path = b.Path
		if f != nil {
			f["tree"] = b.Path
		}
	case SMB2Create:
		req.name = b.FileName
		c.lastCreate = req
		if f != nil {
			f["filename"] = b.FileName
			f["disposition"] = b.Disposition
			f["access"] = fmt.Sprintf("0x%08x", b.DesiredAccess)
			if len(b.CreateContexts) > 0 {
				f["create_contexts"] = b.CreateContexts
			}
		}
	case SMB2Read:
		req.op, req.length = opRead, b.Length
		fl = c.adopt(fl, req, info)
		c.ioIssue(fl, opRead, b.Length, info.start)
	case SMB2Write:
		req.op, req.length = opWrite, b.Length
		if fl != nil && fl.stats.Pipe && !info.partial {
			c.pipeFeed(fl, tcpstate.ClientToServer, b.Data, info.start)
		}
		fl = c.adopt(fl, req, info)
		c.ioIssue(fl, opWrite, b.Length, info.start)
	case SMB2Ioctl:
		req.ctl = b.CtlCode
		if b.CtlCode == FSCTLPipeTransceive && fl != nil && !info.partial {
			c.pipeFeed(fl, tcpstate.ClientToServer, b.Input, info.start)
		}
		if f != nil {
			f["ctl_code"] = fmt.Sprintf("0x%08x", b.CtlCode)
		}
	case SMB2QueryDirectory:
		if f != nil {
			f["pattern"] = b.Pattern
			f["info_class"] = b.InfoClass
		}
	case SMB2QueryInfo, SMB2SetInfo:
		if f != nil {
			f["info_type"], f["info_class"] = b.InfoType, b.InfoClass
		}
	case SMB2Close:
		// The file is finished when the response arrives.
	}
	if f != nil {
		c.fileFields(req, f)
		if req.op != opNone {
			f["offset"], f["length"] = b.Offset, b.Length
		}
	}
	if h.Command == SMB2Cancel {
		return // CANCEL has no response; it names the request it cancels
	}
	if req.name == "" && fl != nil {
		req.name = fl.stats.Name
	}
	c.addPending(reqKey{id: h.MessageID}, req)
}

// fileFields adds tree and filename (tracked) to a message.
func (c *Conn) fileFields(req *request, f map[string]any) {
	if _, set := f["tree"]; !set {
		if req.path != "" { // TREE_CONNECT: the share being connected
			f["tree"] = req.path
		} else if req.tree != "" {
			f["tree"] = req.tree
		}
	}
	if _, set := f["filename"]; !set {
		name := req.name
		if name == "" && req.hasFile {
			if fl := c.files[req.fkey]; fl != nil {
				name = fl.stats.Name
			}
		}
		if name != "" {
			f["filename"] = name
		}
	}
}

func contextNames(ts []uint16) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = NegotiateContextName(t)
	}
	return out
}

// securityBlob decodes the NTLMSSP/SPNEGO token of a session setup.
func (c *Conn) securityBlob(req *request, blob []byte, f map[string]any) {
	mech := SecurityMech(blob)
	if f != nil && mech != "" {
		f["mech"] = mech
	}
	m, found, err := FindNTLM(blob)
	if !found || err != nil {
		return
	}
	if f != nil {
		f["ntlm_type"] = m.Type.String()
		f["ntlm_flags"] = fmt.Sprintf("0x%08x", m.Flags)
		if m.HasVersion {
			f["ntlm_version"] = m.Version.String()
		}
	}
	switch m.Type {
	case NTLMAuthenticate:
		if req != nil {
			mm := m
			req.ntlm = &mm
		}
		c.stats.User, c.stats.Domain, c.stats.Workstation = m.User, m.Domain, m.Workstation
		if f != nil {
			f["ntlm_user"], f["ntlm_domain"], f["ntlm_workstation"] = m.User, m.Domain, m.Workstation
			if m.Anonymous() {
				f["ntlm_anonymous"] = true
			}
		}
	case NTLMChallenge:
		if f != nil {
			f["ntlm_target"] = m.TargetName
			if m.NbComputerName != "" {
				f["ntlm_server"] = m.NbComputerName
			}
			if m.NbDomainName != "" {
				f["ntlm_server_domain"] = m.NbDomainName
			}
			if m.DNSComputer != "" {
				f["ntlm_dns_computer"] = m.DNSComputer
			}
			if m.DNSDomain != "" {
				f["ntlm_dns_domain"] = m.DNSDomain
			}
		}
	case NTLMNegotiate:
		if f != nil && m.Domain != "" {
			f["ntlm_domain"] = m.Domain
		}
		if f != nil && m.Workstation != "" {
			f["ntlm_workstation"] = m.Workstation
		}
	}
}

func (c *Conn) smb2Response(h Header2, b Body2, ok bool, info pduInfo, f map[string]any) {
	cmd := h.Command.String()
	st := h.Status
	interim := st == StatusPending && h.IsAsync()
	req := c.takePending(reqKey{id: h.MessageID}, interim)
	if req == nil && h.Command == SMB2Negotiate && h.MessageID == 0 {
		// The answer to a multi-protocol SMB1 NEGOTIATE ([MS-SMB2] 3.3.5.3.1).
		for k, r := range c.pending {
			if k.v1 && k.id == 0 && r.cmd1 == SMB1Negotiate {
				req = c.takePending(k, false)
				break
			}
		}
	}
	if f != nil {
		f["status"] = st.String()
		f["status_code"] = fmt.Sprintf("0x%08x", uint32(st))
	}
	if interim {
		if req != nil {
			req.async = true
		}
		if f != nil && req != nil {
			c.fileFields(req, f)
		}
		return
	}
	failed := st.Severity() >= 2 && st != StatusMoreProcessingRequired
	if req != nil && f != nil {
		f["request_frame"] = req.start.Frame
		f["latency_ms"] = msf(info.end.Time.Sub(req.start.Time))
		c.fileFields(req, f)
	}
	c.response(req, c.cmd2(h.Command), cmd, st, st.String(), failed, info, h.SessionID)
	switch h.Command {
	case SMB2Negotiate:
		if ok && !b.ErrorResponse {
			if b.Dialect != DialectWildcard {
				c.stats.Dialect = b.Dialect.String()
			}
			if f != nil {
				f["dialect"] = fmt.Sprintf("0x%04x", uint16(b.Dialect))
				f["capabilities"] = fmt.Sprintf("0x%08x", b.Capabilities)
				if len(b.NegotiateContexts) > 0 {
					f["negotiate_contexts"] = contextNames(b.NegotiateContexts)
				}
			}
		}
	case SMB2SessionSetup:
		if ok {
			c.securityBlob(nil, b.SecurityBlob, f)
		}
		if st == StatusSuccess && req != nil && req.ntlm != nil && len(c.sessions) < 256 {
			c.sessions[h.SessionID] = &session{user: req.ntlm.User, domain: req.ntlm.Domain, workstation: req.ntlm.Workstation}
		}
	case SMB2TreeConnect:
		if st == StatusSuccess && req != nil {
			c.addTree(treeKey{id: h.TreeID}, &tree{path: req.path, pipe: b.ShareType == 2 || isIPC(req.path)})
		}
		if f != nil && ok && !b.ErrorResponse {
			f["share_type"] = b.ShareType
		}
	case SMB2TreeDisconnect:
		if req != nil {
			delete(c.trees, req.treeKey)
		}
	case SMB2Create:
		if st == StatusSuccess && ok && !b.ErrorResponse && req != nil {
			k, _ := c.fileFor2(b.FileID)
			c.openFile(k, req, info)
			if f != nil {
				f["create_action"] = b.CreateAction
				f["file_id"] = b.FileID.String()
			}
		}
	case SMB2Close:
		if req != nil && req.hasFile && st == StatusSuccess {
			c.closeFile(req.fkey, info.start, tcpstate.CloseFIN)
		}
	case SMB2Read:
		if req != nil && req.op == opRead {
			fl := c.files[req.fkey]
			n := uint64(0)
			if !failed && ok {
				n = uint64(b.Length)
				if fl != nil && fl.stats.Pipe && !info.partial {
					c.pipeFeed(fl, tcpstate.ServerToClient, b.Data, info.start)
				}
			}
			c.ioDone(fl, req, n, failed, info.end)
		}
		if f != nil && ok {
			f["length"] = b.Length
		}
	case SMB2Write:
		if req != nil && req.op == opWrite {
			n := uint64(0)
			if !failed && ok {
				n = uint64(b.Length)
			}
			c.ioDone(c.files[req.fkey], req, n, failed, info.end)
		}
		if f != nil && ok {
			f["length"] = b.Length
		}
	case SMB2Ioctl:
		if req != nil && req.ctl == FSCTLPipeTransceive && ok && !info.partial {
			c.pipeFeed(c.files[req.fkey], tcpstate.ServerToClient, b.Output, info.start)
		}
		if f != nil && ok && !b.ErrorResponse {
			f["ctl_code"] = fmt.Sprintf("0x%08x", b.CtlCode)
		} else if f != nil && req != nil {
			f["ctl_code"] = fmt.Sprintf("0x%08x", req.ctl)
		}
	case SMB2OplockBreak:
		if f != nil && ok {
			f["lease"] = b.Lease
		}
	}
}
