package smb

import (
	"fmt"

	"github.com/nettrace/nettrace/tcpstate"
)

// This file holds what the SMB1 and SMB2 handlers of Conn share: the
// message fields common to both versions, the security blob of a session
// setup, and the bookkeeping of a closed tree or file.

// requestFields completes the message fields of a request: tree and file
// name (see fileFields) and, for a READ or WRITE, offset and length.
func (c *Conn) requestFields(req *request, f map[string]any, offset uint64, length uint32) {
	c.fileFields(req, f)
	if req.op != opNone {
		f["offset"], f["length"] = offset, length
	}
}

// answerFields adds to a response's message fields the request it answers,
// the latency and the request's tree and file name.
func (c *Conn) answerFields(req *request, info pduInfo, f map[string]any) {
	f["request_frame"] = req.start.Frame
	f["latency_ms"] = msf(info.end.Time.Sub(req.start.Time))
	c.fileFields(req, f)
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
				name = fl.opened
			}
		}
		if name != "" {
			f["filename"] = name
		}
	}
}

// statusFields adds a response's status, by name and code.
func statusFields(f map[string]any, name string, st Status) {
	f["status"] = name
	f["status_code"] = fmt.Sprintf("0x%08x", uint32(st))
}

// createFields adds the file name, disposition and access of an SMB2
// CREATE or SMB1 NT_CREATE_ANDX request.
func createFields(f map[string]any, name string, disposition, access uint32) {
	f["filename"] = name
	f["disposition"] = disposition
	f["access"] = fmt.Sprintf("0x%08x", access)
}

// negotiateContextFields names the SMB 3.1.1 negotiate contexts, if any.
func negotiateContextFields(f map[string]any, ts []uint16) {
	if len(ts) == 0 {
		return
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = NegotiateContextName(t)
	}
	f["negotiate_contexts"] = names
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
			ntlmAuthenticateFields(f, m)
		}
	case NTLMChallenge:
		if f != nil {
			ntlmChallengeFields(f, m)
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

// ntlmAuthenticateFields adds the names of an NTLMSSP AUTHENTICATE.
func ntlmAuthenticateFields(f map[string]any, m NTLM) {
	f["ntlm_user"], f["ntlm_domain"], f["ntlm_workstation"] = m.User, m.Domain, m.Workstation
	if m.Anonymous() {
		f["ntlm_anonymous"] = true
	}
}

// ntlmChallengeFields adds the target and server names of an NTLMSSP
// CHALLENGE.
func ntlmChallengeFields(f map[string]any, m NTLM) {
	f["ntlm_target"] = m.TargetName
	for _, kv := range [...]struct{ key, v string }{
		{"ntlm_server", m.NbComputerName},
		{"ntlm_server_domain", m.NbDomainName},
		{"ntlm_dns_computer", m.DNSComputer},
		{"ntlm_dns_domain", m.DNSDomain},
	} {
		if kv.v != "" {
			f[kv.key] = kv.v
		}
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
