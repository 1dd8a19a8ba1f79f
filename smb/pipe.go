package smb

import "github.com/nettrace/nettrace/tcpstate"

// This file decides which files are named pipes and hands their bytes to
// Config.Pipe. A file opened on an IPC$ tree seen connected is a pipe from
// its CREATE on. A file whose tree was never seen connected (the session
// began before the capture, or on another connection not captured), or one
// first seen in a READ, WRITE or transaction, is of unknown kind until its
// traffic tells: a TransactNmPipe or FSCTL_PIPE_TRANSCEIVE exists only on
// pipes, and data that starts with a DCE/RPC header is taken for a pipe,
// as tshark's heuristic dissectors take it.

// makePipe marks f as a named pipe.
func (f *file) makePipe() {
	f.stats.Pipe, f.kindUnknown = true, false
	f.pipeName = pipeName(f.opened)
	f.stats.Name = f.pipeName
}

// recognisePipe reports whether f is a named pipe, deciding it for a file of
// unknown kind: sure is set for the operations that exist only on pipes,
// otherwise data must start with a DCE/RPC header.
func recognisePipe(f *file, data []byte, sure bool) bool {
	switch {
	case f == nil:
		return false
	case f.stats.Pipe:
		return true
	case !f.kindUnknown:
		return false
	case sure || looksLikeDCERPC(data):
		f.makePipe()
		return true
	}
	return false
}

// looksLikeDCERPC reports whether b starts with a connection-oriented
// DCE/RPC common header (C706 12.6.3.1): version 5.0 or 5.1, a
// connection-oriented packet type, a defined data representation (integer
// and character formats 0 or 1, floating point 0-3) and a frag_length at
// least the header's 16 bytes.
func looksLikeDCERPC(b []byte) bool {
	if len(b) < 16 || b[0] != 5 || b[1] > 1 {
		return false
	}
	switch b[2] { // PTYPE: request, response, fault, bind … rts (C706 12.6.4, [MS-RPCE] 2.2.2.13)
	case 0, 2, 3, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20:
	default:
		return false
	}
	if b[4]&0xee != 0 || b[5] > 3 {
		return false
	}
	var n int
	if b[4]&0x10 != 0 { // little-endian integers
		n = int(b[8]) | int(b[9])<<8
	} else {
		n = int(b[8])<<8 | int(b[9])
	}
	return n >= 16
}

// pipeFeed hands named-pipe bytes to the configured handler, at the frame
// that completed the SMB message (where tshark shows the DCE/RPC PDU). sure
// says that the operation exists only on named pipes (see recognisePipe).
func (c *Conn) pipeFeed(f *file, dir tcpstate.Dir, data []byte, info pduInfo, sure bool) {
	if len(data) == 0 || !recognisePipe(f, data, sure) {
		return
	}
	c.stats.PipeBytes += int64(len(data))
	if f.handler == nil && !f.noPipe {
		if c.cfg.Pipe == nil || c.pipes >= c.lim.MaxPipes {
			f.noPipe = true
			return
		}
		f.handler = c.cfg.Pipe(c.ctx, f.pipeName)
		if f.handler == nil {
			f.noPipe = true
			return
		}
		c.pipes++
	}
	if f.handler != nil {
		f.handler.Feed(dir, data, info.end)
	}
}

// pipesGap tells every pipe handler that n bytes of dir were never
// captured: any of them may have lost data, so that none takes a reply
// lost with them for one never sent.
func (c *Conn) pipesGap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	if c.pipes == 0 {
		return
	}
	for _, k := range c.sortedFileKeys() {
		if f := c.files[k]; f.handler != nil {
			f.handler.Gap(dir, n, at)
		}
	}
}
