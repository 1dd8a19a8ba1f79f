package smb

import (
	"github.com/nettrace/nettrace/tcpstate"
)

// This file holds what the SMB1 and SMB2 handlers of Conn share: the
// message fields common to both versions, the security blob of a session
// setup, and the bookkeeping of a closed tree or file.

// requestFields completes the message of a request: tree and file name
// (see fileFields) and, for a READ or WRITE, offset and length.
func (c *Conn) requestFields(req *request, m *Message, offset uint64, length uint32) {
	c.fileFields(req, m)
	if req.op != opNone {
		m.IO = &IO{Offset: offset, Length: length}
	}
}

// answerFields adds to a response's message the request it answers, the
// latency and the request's tree and file name.
func (c *Conn) answerFields(req *request, info pduInfo, m *Message) {
	m.RequestFrame = req.start.Frame
	m.Latency = info.end.Time.Sub(req.start.Time)
	c.fileFields(req, m)
}

// fileFields adds tree and filename (tracked) to a message, unless the
// command gave them itself.
func (c *Conn) fileFields(req *request, m *Message) {
	if m.Tree == "" && !m.ownTree() {
		if req.path != "" { // TREE_CONNECT: the share being connected
			m.Tree = req.path
		} else if req.tree != "" {
			m.Tree = req.tree
		}
	}
	if m.FileName == "" && !m.ownFileName() {
		name := req.name
		if name == "" && req.hasFile {
			if fl := c.files[req.fkey]; fl != nil {
				name = fl.opened
			}
		}
		m.FileName = name
	}
}

// statusFields sets a response's status, by name and code.
func statusFields(m *Message, name string, st Status) {
	m.StatusName, m.Status = name, st
}

// createFields sets the file name, disposition and access of an SMB2
// CREATE or SMB1 NT_CREATE_ANDX request.
func createFields(m *Message, name string, disposition, access uint32) {
	m.FileName = name
	m.Create = &Create{Disposition: disposition, Access: access}
}

// negotiateContextNames names the SMB 3.1.1 negotiate contexts, if any.
func negotiateContextNames(ts []uint16) []string {
	if len(ts) == 0 {
		return nil
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = NegotiateContextName(t)
	}
	return names
}

// securityBlob decodes the NTLMSSP/SPNEGO token of a session setup.
func (c *Conn) securityBlob(req *request, blob []byte, m *Message) {
	mech := SecurityMech(blob)
	if m != nil {
		m.Session = &SessionSetup{Mech: mech}
	}
	n, found, err := FindNTLM(blob)
	if !found || err != nil {
		return
	}
	if m != nil {
		nn := n
		m.Session.NTLM = &nn
	}
	if n.Type == NTLMAuthenticate {
		if req != nil {
			nn := n
			req.ntlm = &nn
		}
		c.stats.User, c.stats.Domain, c.stats.Workstation = n.User, n.Domain, n.Workstation
	}
}

// treeDisconnected forgets the tree of a TREE_DISCONNECT request (nil when
// the request was not seen).
func (c *Conn) treeDisconnected(req *request) {
	if req != nil {
		delete(c.trees, req.treeKey)
	}
}

// fileClosed finishes the file of a successful CLOSE request (nil when the
// request was not seen).
func (c *Conn) fileClosed(req *request, info pduInfo) {
	if req != nil && req.hasFile {
		c.closeFile(req.fkey, info.start, tcpstate.CloseFIN)
	}
}
