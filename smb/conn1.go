package smb

import (
	"fmt"

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

func (c *Conn) smb1Fields(h Header1, b Body1, i int) map[string]any {
	f := map[string]any{"cmd": b.Command.String(), "is_response": h.IsResponse(), "msg_id": uint64(h.MID),
		"tid": h.TID, "uid": h.UID, "pid": h.PID}
	if i > 0 {
		f["andx_index"] = i
	}
	return f
}

func (c *Conn) smb1Request(h Header1, blocks []Body1, info pduInfo) {
	var main *request
	var chain []*request
	for i, b := range blocks {
		cmd := b.Command.String()
		c.cmd(cmd).requests++
		req := &request{v1: true, cmd: cmd, cmd1: b.Command, start: info.start, treeKey: treeKey{v1: true, id: uint32(h.TID)}}
		if t := c.trees[req.treeKey]; t != nil {
			req.tree = t.path
		}
		var f map[string]any
		if c.want() {
			f = c.smb1Fields(h, b, i)
		}
		var fl *file
		if b.HasFID && b.Command != SMB1NTCreateAndX {
			req.fkey = fileKey{v1: true, id: FileID{Volatile: uint64(b.FID)}}
			req.hasFile = true
			fl = c.files[req.fkey]
			if fl != nil {
				req.name, req.pipeName = fl.stats.Name, fl.pipeName
			}
		}
		switch b.Command {
		case SMB1Negotiate:
			c.stats.Dialects = append([]string(nil), b.Dialects...)
			if f != nil {
				f["dialect"] = b.Dialects
			}
		case SMB1SessionSetup:
			c.securityBlob(req, b.SecurityBlob, f)
			if len(b.SecurityBlob) == 0 && (b.Account != "" || b.Domain != "") {
				req.ntlm = &NTLM{Type: NTLMAuthenticate, User: b.Account, Domain: b.Domain}
				c.stats.User, c.stats.Domain = b.Account, b.Domain
				if f != nil {
					f["ntlm_user"], f["ntlm_domain"] = b.Account, b.Domain
				}
			}
			if f != nil && b.NativeOS != "" {
				f["native_os"] = b.NativeOS
			}
		case SMB1TreeConnect:
			req.path = b.Path
			if f != nil {
				f["tree"], f["service"] = b.Path, b.Service
			}
		case SMB1NTCreateAndX:
			req.name = b.FileName
			if f != nil {
				f["filename"] = b.FileName
				f["disposition"] = b.Disposition
				f["access"] = fmt.Sprintf("0x%08x", b.DesiredAccess)
			}
		case SMB1ReadAndX:
			req.op, req.length = opRead, b.Length
			fl = c.adopt(fl, req, info)
			c.ioIssue(fl, opRead, b.Length, info.start)
		case SMB1WriteAndX:
			req.op, req.length = opWrite, b.Length
			if !info.partial {
				c.pipeFeed(fl, tcpstate.ClientToServer, b.Data, info.start)
			}
			fl = c.adopt(fl, req, info)
			c.ioIssue(fl, opWrite, b.Length, info.start)
		case SMB1Trans:
			if b.HasSub && b.SubCommand == 0x26 && fl != nil { // TransactNmPipe ([MS-CIFS] 2.2.5.6)
				req.transPipe = true
				c.pipeFeed(fl, tcpstate.ClientToServer, b.TransData, info.start)
			}
			if f != nil {
				f["trans_name"] = b.TransName
				if b.HasSub {
					f["subcommand"] = b.SubCommand
				}
				if b.RAPOpcode >= 0 {
					f["rap"] = RAPName(b.RAPOpcode)
				}
			}
		case SMB1Trans2:
			req.sub = b.SubCommand
			if f != nil && b.HasSub {
				f["subcommand"] = Trans2Name(b.SubCommand)
			}
			if f != nil && b.FileName != "" {
				f["filename"] = b.FileName
			}
		case SMB1NTTransact:
			if f != nil && b.HasSub {
				f["subcommand"] = b.SubCommand
			}
		case SMB1Echo:
			if f != nil {
				f["echo_count"] = b.EchoCount
			}
		}
		if f != nil {
			c.fileFields(req, f)
			if req.op != opNone {
				f["offset"], f["length"] = b.Offset, b.Length
			}
			if b.HasFID {
				f["fid"] = b.FID
			}
			c.message("smb", info, f)
		}
		if main == nil {
			main = req
		}
		chain = append(chain, req)
	}
	if main == nil || blocks[0].Command == SMB1NTCancel {
		return
	}
	main.chain1 = chain
	c.addPending(reqKey{v1: true, pid: h.PID, id: uint64(h.MID)}, main)
}

func (c *Conn) smb1Response(h Header1, blocks []Body1, info pduInfo) {
	main := c.takePending(reqKey{v1: true, pid: h.PID, id: uint64(h.MID)}, false)
	failed := h.Failed() && h.Status != StatusMoreProcessingRequired
	stName := h.StatusName()
	for i, b := range blocks {
		var req *request
		if main != nil && i < len(main.chain1) && main.chain1[i].cmd1 == b.Command {
			req = main.chain1[i]
		}
		cmd := b.Command.String()
		var f map[string]any
		if c.want() {
			f = c.smb1Fields(h, b, i)
			f["status"] = stName
			f["status_code"] = fmt.Sprintf("0x%08x", uint32(h.Status))
			if req != nil {
				f["request_frame"] = req.start.Frame
				f["latency_ms"] = msf(info.end.Time.Sub(req.start.Time))
				c.fileFields(req, f)
			}
		}
		if i == 0 || req != nil {
			c.response(req, c.cmd(cmd), cmd, h.Status, stName, failed && i == 0, info, uint64(h.UID))
		}
		switch b.Command {
		case SMB1Negotiate:
			if main != nil && b.DialectIndex >= 0 && b.DialectIndex < len(c.stats.Dialects) {
				c.stats.Dialect = c.stats.Dialects[b.DialectIndex]
				if f != nil {
					f["dialect"] = c.stats.Dialect
				}
			}
			if f != nil && b.DialectIndex >= 0 {
				f["dialect_index"] = b.DialectIndex
			}
		case SMB1SessionSetup:
			c.securityBlob(nil, b.SecurityBlob, f)
		case SMB1TreeConnect:
			if !failed && req != nil {
				c.addTree(treeKey{v1: true, id: uint32(h.TID)}, &tree{path: req.path, pipe: b.Service == "IPC" || isIPC(req.path)})
			}
			if f != nil && b.Service != "" {
				f["service"] = b.Service
			}
		case SMB1TreeDisconnect:
			if req != nil {
				delete(c.trees, req.treeKey)
			}
		case SMB1NTCreateAndX:
			if !failed && b.HasFID && req != nil {
				k := fileKey{v1: true, id: FileID{Volatile: uint64(b.FID)}}
				c.openFile(k, req, info)
				if f != nil {
					f["fid"] = b.FID
					f["create_action"] = b.Disposition
				}
			}
		case SMB1Close:
			if !failed && req != nil && req.hasFile {
				c.closeFile(req.fkey, info.start, tcpstate.CloseFIN)
			}
		case SMB1ReadAndX:
			if req != nil && req.op == opRead {
				fl := c.files[req.fkey]
				if !failed && !info.partial {
					c.pipeFeed(fl, tcpstate.ServerToClient, b.Data, info.start)
				}
				c.ioDone(fl, req, uint64(b.Length), failed, info.end)
			}
			if f != nil {
				f["length"] = b.Length
			}
		case SMB1WriteAndX:
			if req != nil && req.op == opWrite {
				c.ioDone(c.files[req.fkey], req, uint64(b.Length), failed, info.end)
			}
			if f != nil {
				f["length"] = b.Length
			}
		case SMB1Trans:
			if req != nil && req.transPipe && !failed {
				c.pipeFeed(c.files[req.fkey], tcpstate.ServerToClient, b.TransData, info.start)
			}
		case SMB1Trans2:
			if f != nil && req != nil {
				f["subcommand"] = Trans2Name(req.sub)
			}
		}
		if f != nil {
			c.message("smb", info, f)
		}
	}
}
