package smb

import (
	"fmt"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Config configures a Conn.
type Config struct {
	// Pipe, when set, builds the handler that receives the bytes of a named
	// pipe opened on IPC$ (pipe is the name without "\PIPE\", e.g.
	// "srvsvc"). Writes and IOCTL/transact input are fed as ClientToServer,
	// reads and IOCTL/transact output as ServerToClient, each with the
	// frame of the SMB message that carried them; the handler is closed when
	// the pipe is closed or the connection ends. It is called lazily, on the
	// pipe's first data. Returning nil, or a nil Pipe, means the pipe
	// traffic is only counted.
	Pipe func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler
	// TreeConnected, when set, is told of every SMB2 tree connected on the
	// connection, and LookupTree is asked for a tree id the connection never
	// saw connected: together they share trees between the connections of
	// one session (a Trees table behind them). Both are called from Feed
	// and must not block.
	TreeConnected func(TreeKey, TreeInfo)
	LookupTree    func(TreeKey) (TreeInfo, bool)
	// Limits bounds memory and work; zero fields take DefaultLimits values.
	Limits Limits
	// Keys, when set, holds SMB 3.x session keys by Session ID: encrypted
	// sessions whose keys it gives are decrypted (see crypt.go, Keys).
	Keys *Keys
	// NTPasswords are user passwords tried on each NTLMv2 authentication
	// seen in the capture: the session key of the first that matches
	// decrypts its session, like Wireshark's ntlmssp.nt_password.
	NTPasswords []string
}

// DefaultConfig returns a Config with no pipe hand-off and DefaultLimits.
func DefaultConfig() Config { return Config{Limits: DefaultLimits()} }

// Conn decodes one SMB connection (direct TCP 445 or NetBIOS session
// service on 139). It implements tcpstate.StreamHandler, pairs requests
// with responses, tracks sessions, trees and open files, hands named-pipe
// traffic to Config.Pipe, analyses file transfers and emits health events
// through the StreamContext. A Conn is not safe for concurrent use.
type Conn struct {
	ctx  *tcpstate.StreamContext
	cfg  Config
	lim  Limits
	half [2]half
	gaps [2]int
	// dropped counts requests forgotten at the MaxPending cap (decode.limit).
	dropped dropCount

	pending  map[reqKey]*request
	pendQ    []reqKey // FIFO for eviction when pending is full
	trees    map[treeKey]*tree
	treeMiss map[uint32]bool // SMB2 tree ids Config.LookupTree did not know
	files    map[fileKey]*file
	fileSeq  int64
	closed   []FileStats
	sessions map[uint64]*session
	cmds     map[string]*cmdStats
	cmds2    [len(command2Names)]*cmdStats // cmds entries of the known SMB2 commands, by code
	errs     map[string]*ErrorCount
	stalls   [2][]stall
	slow     int
	pipes    int
	pipeTree bool // a pipe share (IPC$) was connected: files may be pipes
	// maybePipes: a file of unknown kind was opened (see recognisePipe).
	maybePipes bool
	// last CREATE of the current SMB2 compound (related requests use FileId -1)
	lastCreate *request

	stats        Stats
	encryptedEvt bool
	finished     bool
	errEvents    int
	loggedOff    bool // a LOGOFF was answered and no request followed

	crypt cryptState // SMB 3.x decryption and decompression (crypt.go)
}

type reqKey struct {
	v1  bool
	pid uint32
	id  uint64
}

type treeKey struct {
	v1 bool
	id uint32
}

type fileKey struct {
	v1 bool
	id FileID
}

type tree struct {
	path   string
	pipe   bool // IPC$ (SMB2 share type 2, SMB1 service "IPC")
	shared bool // connected on another connection of the session (Config.LookupTree)
}

type session struct {
	user, domain, workstation string
}

// request is an outstanding request.
type request struct {
	v1        bool
	cmd       string
	cmd1      Command1
	cmd2      Command2
	start     tcpstate.Position
	tree      string
	treeKey   treeKey
	path      string // TREE_CONNECT
	name      string // CREATE file name
	fkey      fileKey
	hasFile   bool
	pipeName  string
	pipe      bool // on a file known to be a named pipe
	op        ioOp
	length    uint32
	ntlm      *NTLM
	sessionID uint64
	async     bool
	ctl       uint32
	sub       uint16
	pattern   string     // QUERY_DIRECTORY search pattern
	infoType  uint8      // QUERY_INFO / SET_INFO
	infoClass uint8      // QUERY_INFO / SET_INFO / QUERY_DIRECTORY
	transPipe bool       // SMB1 TRANS TransactNmPipe
	chain1    []*request // SMB1: the requests of the AndX chain, in order
}

type ioOp uint8

const (
	opNone ioOp = iota
	opRead
	opWrite
)

type stall struct {
	gap   time.Duration
	frame int64
	at    time.Time
}

// NewConn returns a decoder for the connection described by ctx.
func NewConn(ctx *tcpstate.StreamContext, cfg Config) *Conn {
	if ctx.Reporter == nil {
		ctx.Reporter = health.Discard
	}
	c := &Conn{
		ctx:     ctx,
		cfg:     cfg,
		lim:     cfg.Limits.withDefaults(),
		pending: make(map[reqKey]*request),
		cmds:    make(map[string]*cmdStats),
		// trees, files, sessions and errs are made on first use: many
		// connections never need them.
	}
	c.stats.Server = ctx.Server.String()
	return c
}

// Detect reports whether b, the first bytes of a direction, look like SMB:
// an NBSS session message holding an SMB1, SMB2, transform or compression
// header, or (client side) an NBSS session request as sent to port 139.
func Detect(dir tcpstate.Dir, b []byte) bool {
	t, n, err := ParseNBSSHeader(b)
	if err != nil {
		return false
	}
	switch t {
	case NBSSMessage:
		if len(b) < 8 || n < 4 {
			return false
		}
		m := [4]byte(b[4:8])
		return m == magicSMB1 || m == magicSMB2 || m == magicTransform || m == magicCompress
	case NBSSRequest:
		if dir != tcpstate.ClientToServer || n < 68 || len(b) < 6 {
			return false
		}
		return b[4] == 0x20 // first-level encoded name: 32 bytes
	case NBSSPositiveResponse, NBSSNegativeResponse:
		return dir == tcpstate.ServerToClient && n <= 1
	}
	return false
}

// Close implements tcpstate.StreamHandler: it finishes the transfer,
// shaping and latency analyses and closes the pipe handlers.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	if c.finished {
		return
	}
	c.finished = true
	for i := range c.half {
		h := &c.half[i]
		if skipped := h.scan + len(h.buf); h.resync && !h.dead && skipped > 0 && h.reason != resyncBad {
			c.gaveUpEvent(tcpstate.Dir(i), fmt.Sprintf("the stream ended before the next SMB header (%d bytes skipped %s)", skipped, describeResync(h.reason)), int64(skipped), at)
		}
		if !h.resync && !h.dead && (len(h.buf) > 0 || h.skip > 0) {
			c.incompletePDU(tcpstate.Dir(i), reason, at)
		}
		h.release(2 * c.lim.MaxBuffered)
	}
	for _, k := range c.sortedFileKeys() {
		c.closeFile(k, at, reason)
	}
	c.analyseStalls()
	c.analyseSlow()
	c.cryptClose()
	c.pendingDropped(at)
}

// incompletePDU reports decode.incomplete: the connection ended inside an
// NBSS message of dir, which was not decoded. It is a warning when the
// connection ended with FIN and every byte of dir was captured: the sender
// closed in the middle of a message.
func (c *Conn) incompletePDU(dir tcpstate.Dir, reason tcpstate.CloseReason, at tcpstate.Position) {
	h := &c.half[dir]
	got := len(h.buf)
	if h.skip > 0 {
		got = h.need - h.skip
	}
	sev := health.Notice
	why := fmt.Sprintf("the connection ended (%s) before it was complete", reason)
	if reason == tcpstate.CloseFIN && h.losses == 0 && c.ctx.Visibility.Captured(dir) {
		sev = health.Warning
		why = "the connection was closed with FIN before it was complete, every byte of it captured: the sender stopped in the middle of a message"
	}
	ev := map[string]any{"decoder": decoderName, "dir": dir.String(), "what": "nbss message", "bytes": got,
		"start_frame": h.start.Frame, "end": reason.String(), "messages": 1}
	msg := fmt.Sprintf("an NBSS message from the %s starting at frame %d has %d of the %d bytes of its header", dir, h.start.Frame, got, NBSSHeaderLen)
	if h.need > 0 {
		ev["declared"] = h.need
		msg = fmt.Sprintf("an NBSS message from the %s starting at frame %d has %d of the %d bytes its header declared", dir, h.start.Frame, got, h.need)
	}
	c.ctx.Event(health.Event{Kind: health.DecodeIncomplete, Severity: sev, Time: h.start.Time, Frame: h.start.Frame,
		Message: msg + "; " + why + "; it is not decoded", Evidence: ev})
}

// pendingDropped reports decode.limit once: requests forgotten because
// MaxPending requests were awaiting a response.
func (c *Conn) pendingDropped(at tcpstate.Position) {
	d := &c.dropped
	if d.n == 0 {
		return
	}
	c.ctx.Event(health.Event{Kind: health.DecodeLimit, Severity: health.Notice, Time: d.first.Time, Frame: d.first.Frame,
		Message: fmt.Sprintf("%d SMB requests were forgotten unanswered, between frames %d and %d, because %d requests were already awaiting a response (Limits.MaxPending): responses to them are not matched",
			d.n, d.first.Frame, d.last.Frame, c.lim.MaxPending),
		Evidence: map[string]any{"decoder": decoderName, "limit": "MaxPending", "cap": c.lim.MaxPending, "dropped": d.n,
			"first_frame": d.first.Frame, "last_frame": d.last.Frame}})
}

// dropCount counts entries a table dropped at its cap, and where.
type dropCount struct {
	n           int64
	first, last tcpstate.Position
}

func (d *dropCount) add(at tcpstate.Position) {
	if d.n == 0 {
		d.first = at
	}
	d.n++
	d.last = at
}

// Finished implements tcpstate.Finisher: "the SMB session was logged off"
// once a LOGOFF (SMB2 LOGOFF, SMB1 LOGOFF_ANDX) was answered with success
// and no request followed it; "every SMB request was answered" when no
// request is pending and no PDU is partial; "" otherwise — and always when
// the commands are not visible (SMB3 encryption) or a direction is not
// being decoded.
func (c *Conn) Finished() string {
	if c.loggedOff {
		return "the SMB session was logged off"
	}
	if len(c.pending) > 0 || c.stats.Encrypted > 0 || c.stats.Compressed > 0 {
		return ""
	}
	answered := false
	for i := range c.half {
		h := &c.half[i]
		if len(h.buf) > 0 || h.skip > 0 || h.resync || h.dead {
			return ""
		}
		answered = answered || h.good > 0
	}
	if !answered {
		return ""
	}
	return "every SMB request was answered"
}

// logoffAnswered records a LOGOFF answered with success.
func (c *Conn) logoffAnswered() { c.loggedOff = true }

// want reports whether messages are wanted.
func (c *Conn) want() bool { return c.ctx.Reporter.WantMessages() }

// newMessage starts the typed message of a PDU (nil when messages are
// not wanted).
func (c *Conn) newMessage(info pduInfo) *Message {
	if !c.want() {
		return nil
	}
	m := &Message{Origin: health.Origin{Frame: info.start.Frame, Time: info.start.Time, Flow: c.ctx.Flow}}
	if info.end.Frame != info.start.Frame {
		m.EndFrame = info.end.Frame
	}
	return m
}

// message reports m, when messages are wanted (m is not nil).
func (c *Conn) message(m *Message) {
	if m != nil {
		c.ctx.Reporter.Message(health.Message{Frame: m.Frame, Time: m.Time, Flow: m.Flow, Proto: m.Proto(), Value: m})
	}
}

// nbssControl handles session request / responses on port 139.
func (c *Conn) nbssControl(dir tcpstate.Dir, typ NBSSType, p []byte, info pduInfo) {
	m := c.newMessage(info)
	if m != nil {
		m.NBSS = &NBSSPacket{Type: typ}
		m.Command = typ.String()
	}
	switch typ {
	case NBSSRequest:
		req, err := ParseSessionRequest(p)
		if err != nil {
			c.malformed(dir, info.start, err)
			return
		}
		c.stats.CalledName, c.stats.CallingName = req.Called, req.Calling
		if m != nil {
			m.NBSS.Called, m.NBSS.Calling = req.Called, req.Calling
		}
	case NBSSNegativeResponse:
		code := uint8(0x8f)
		if len(p) > 0 {
			code = p[0]
		}
		reason := NegativeResponseError(code)
		if m != nil {
			m.NBSS.Error = reason
		}
		c.countError("NBSS", reason)
		c.errorEvent(info.start, health.Warning, fmt.Sprintf("NetBIOS session refused: %s (called name %s)", reason, c.stats.CalledName),
			map[string]any{"status": reason, "command": "NBSS_SESSION_REQUEST"})
	}
	c.message(m)
}

// transformPDU decrypts an SMB3 message when it can (crypt.go), else
// counts it as encrypted.
func (c *Conn) transformPDU(dir tcpstate.Dir, p []byte, info pduInfo) {
	if c.decryptTransform(dir, p, info) {
		return
	}
	t, _, err := ParseTransformHeader(p)
	if err != nil {
		c.malformed(dir, info.start, err)
		return
	}
	c.stats.Encrypted++
	if !c.encryptedEvt {
		c.encryptedEvt = true
		c.ctx.Event(health.Event{Kind: health.SMBEncrypted, Severity: health.Info, Time: info.start.Time, Frame: info.start.Frame,
			Message:  fmt.Sprintf("SMB3 encryption in use from here on (session 0x%x): commands, file names and timings per file are not visible", t.SessionID),
			Evidence: map[string]any{"session_id": fmt.Sprintf("0x%016x", t.SessionID)}})
	}
	if m := c.newMessage(info); m != nil {
		m.Version, m.Command, m.Response, m.SessionID = 2, "ENCRYPTED", dir == tcpstate.ServerToClient, t.SessionID
		m.Wrapper = &Wrapper{OriginalSize: t.OriginalSize}
		c.message(m)
	}
}

// compressedPDU decompresses and decodes a compressed SMB 3.1.1 message
// (crypt.go), or counts it when it does not decompress.
func (c *Conn) compressedPDU(dir tcpstate.Dir, p []byte, info pduInfo) {
	if c.decompressMessage(dir, p, info) {
		return
	}
	h, _, err := ParseCompressionHeader(p)
	if err != nil {
		c.malformed(dir, info.start, err)
		return
	}
	c.stats.Compressed++
	if m := c.newMessage(info); m != nil {
		m.Version, m.Command, m.Response = 2, "COMPRESSED", dir == tcpstate.ServerToClient
		m.Wrapper = &Wrapper{OriginalSize: h.OriginalSize, Algorithm: h.Algorithm}
		c.message(m)
	}
}

// stallSample records a long stall inside one PDU (shaping analysis).
func (c *Conn) stallSample(dir tcpstate.Dir, info pduInfo) {
	if len(c.stalls[dir]) < 4096 {
		c.stalls[dir] = append(c.stalls[dir], stall{gap: info.gap, frame: info.gapAt.Frame, at: info.gapAt.Time})
	}
}

// addPending registers a request, evicting the oldest when full.
func (c *Conn) addPending(k reqKey, r *request) {
	if _, dup := c.pending[k]; dup {
		c.pending[k] = r
		return
	}
	for len(c.pending) >= c.lim.MaxPending && len(c.pendQ) > 0 {
		oldKey := c.pendQ[0]
		c.pendQ = c.pendQ[1:]
		if old, ok := c.pending[oldKey]; ok {
			delete(c.pending, oldKey)
			c.stats.Unanswered++
			c.dropped.add(r.start)
			if f := c.files[old.fkey]; f != nil && old.hasFile && old.op != opNone {
				f.io.abandon(old.start.Time) // no longer counted in flight
			}
		}
	}
	c.pending[k] = r
	c.pendQ = append(c.pendQ, k)
	if len(c.pendQ) > 2*c.lim.MaxPending {
		// Drop the keys of answered requests from the queue.
		q := c.pendQ[:0]
		for _, x := range c.pendQ {
			if _, ok := c.pending[x]; ok {
				q = append(q, x)
			}
		}
		c.pendQ = q
	}
}

// takePending removes and returns the request k, or nil.
func (c *Conn) takePending(k reqKey, keep bool) *request {
	r := c.pending[k]
	if r != nil && !keep {
		delete(c.pending, k)
	}
	return r
}

func (c *Conn) addTree(k treeKey, t *tree) {
	if _, ok := c.trees[k]; !ok && len(c.trees) >= c.lim.MaxTrees {
		for old := range c.trees { // evict any one; maps have no order but it is deterministic enough for a cap
			delete(c.trees, old)
			break
		}
	}
	if c.trees == nil {
		c.trees = make(map[treeKey]*tree)
	}
	c.trees[k] = t
	if t.pipe {
		c.pipeTree = true
	}
}

// benign reports statuses that are part of normal operation and do not
// deserve an smb.error_status event.
func benign(cmd string, st Status) bool {
	switch st {
	case StatusSuccess, StatusPending, StatusMoreProcessingRequired, StatusNoMoreFiles, StatusBufferOverflow,
		StatusEndOfFile, StatusNotifyEnumDir, StatusCancelled:
		return true
	case StatusNotFound, StatusFSDriverRequired, StatusInvalidDeviceRequest, StatusNotSupported:
		return cmd == "IOCTL" || cmd == "TRANSACTION2" // DFS referral / validate-negotiate probes
	case StatusNetworkNameDeleted:
		return cmd == "TREE_DISCONNECT"
	}
	return false
}

// serverTime estimates the server's think time for a response: from the
// moment the request could have reached the server (its first byte plus
// the RTT) or the previous response finished arriving, whichever is later,
// to the response's first byte. Responses queued behind earlier ones on
// the same connection therefore get no think time for the queueing.
func (c *Conn) serverTime(req *request, info pduInfo) time.Duration {
	from := req.start.Time.Add(c.ctx.RTT)
	if info.prevEnd.After(from) {
		from = info.prevEnd
	}
	d := sub(info.start.Time, from)
	if d < 0 {
		return 0
	}
	return d
}

// countError adds one error status to the per-status counts.
func (c *Conn) countError(cmd, status string) {
	k := cmd + " " + status
	e := c.errs[k]
	if e == nil {
		if len(c.errs) >= 256 {
			return
		}
		e = &ErrorCount{Command: cmd, Status: status}
		if c.errs == nil {
			c.errs = make(map[string]*ErrorCount)
		}
		c.errs[k] = e
	}
	e.Count++
}

// errorEvent emits smb.error_status (capped).
func (c *Conn) errorEvent(at tcpstate.Position, sev health.Severity, msg string, ev map[string]any) {
	c.errEvents++
	if c.errEvents > c.lim.MaxErrorEvents {
		return
	}
	c.ctx.Event(health.Event{Kind: health.SMBErrorStatus, Severity: sev, Time: at.Time, Frame: at.Frame, Message: msg, Evidence: ev})
}

// response does the bookkeeping shared by SMB1 and SMB2 responses: command
// statistics, latency, error and auth-failure events.
func (c *Conn) response(req *request, cs *cmdStats, cmd string, st Status, stName string, failed bool, info pduInfo, sessionID uint64) {
	cs.responses++
	if failed {
		cs.errors++
	}
	if req != nil && !req.async && cmd != "CHANGE_NOTIFY" && cmd != "OPLOCK_BREAK" && !(req.pipe && req.op == opRead) {
		lat := max(sub(info.end.Time, req.start.Time), 0)
		cs.add(lat, c.serverTime(req, info), info.start.Frame, c.lim.MaxLatencySamples)
	}
	if !failed {
		return
	}
	c.countError(cmd, stName)
	switch {
	case cmd == "SESSION_SETUP" || cmd == "SESSION_SETUP_ANDX":
		if st != StatusMoreProcessingRequired {
			c.authFailed(req, cmd, stName, info)
		}
	case !benign(cmd, st):
		c.statusEvent(req, cmd, st, stName, info)
	}
}

// authFailed emits smb.auth_failed for a failed session setup, naming the
// user of its NTLMSSP AUTHENTICATE when known.
func (c *Conn) authFailed(req *request, cmd, stName string, info pduInfo) {
	ev := map[string]any{"status": stName, "command": cmd}
	who := ""
	if req != nil && req.ntlm != nil {
		ev["user"], ev["domain"] = req.ntlm.User, req.ntlm.Domain
		if req.ntlm.Workstation != "" {
			ev["workstation"] = req.ntlm.Workstation
		}
		who = fmt.Sprintf(" for %s\\%s", req.ntlm.Domain, req.ntlm.User)
		if req.ntlm.Workstation != "" {
			who += " from " + req.ntlm.Workstation
		}
	}
	if req != nil {
		ev["request_frame"] = req.start.Frame
	}
	c.stats.AuthFailures++
	c.ctx.Event(health.Event{Kind: health.SMBAuthFailed, Severity: health.Error, Time: info.start.Time, Frame: info.start.Frame,
		Message: fmt.Sprintf("SMB session setup failed%s: %s", who, stName), Evidence: ev})
}

// statusEvent emits smb.error_status for a response with an error or
// warning status, naming the file or share of its request when known.
func (c *Conn) statusEvent(req *request, cmd string, st Status, stName string, info pduInfo) {
	ev := map[string]any{"status": stName, "command": cmd}
	what := cmd
	if req != nil {
		ev["request_frame"] = req.start.Frame
		what += c.statusObject(req, ev)
	}
	sev := health.Notice
	if st.IsError() {
		sev = health.Warning
	}
	msg := fmt.Sprintf("%s answered %s", what, stName)
	if req != nil {
		msg += fmt.Sprintf(" (request in frame %d)", req.start.Frame)
	}
	c.errorEvent(info.start, sev, msg, ev)
}

// statusObject adds the file and share of a failed request to the event
// evidence ev and returns them as they follow the command in the message.
func (c *Conn) statusObject(req *request, ev map[string]any) string {
	what := ""
	if req.name != "" {
		ev["file"] = req.name
		what += " " + req.name
	} else if req.path != "" {
		ev["share"] = req.path
		what += " " + req.path
	} else if req.hasFile {
		if f := c.files[req.fkey]; f != nil && f.stats.Name != "" {
			ev["file"] = f.stats.Name
			what += " " + f.stats.Name
		}
	}
	if req.tree != "" {
		ev["share"] = req.tree
		if req.path == "" {
			what += " on " + req.tree
		}
	}
	return what
}

// maxCommandNames caps the per-command statistics (SMB2 has 19 commands,
// SMB1 about 60; unknown codes beyond the cap are counted as "OTHER").
const maxCommandNames = 128

func (c *Conn) cmd(name string) *cmdStats {
	cs := c.cmds[name]
	if cs == nil && len(c.cmds) >= maxCommandNames {
		name = "OTHER" // unknown command codes share one entry
		cs = c.cmds[name]
	}
	if cs == nil {
		cs = &cmdStats{name: name}
		c.cmds[name] = cs
	}
	return cs
}

// cmd2 is cmd(code.String()) for SMB2, remembering the entry of each known
// command so that a message needs no map lookup.
func (c *Conn) cmd2(code Command2) *cmdStats {
	if int(code) >= len(c.cmds2) {
		return c.cmd(code.String())
	}
	cs := c.cmds2[code]
	if cs == nil {
		cs = c.cmd(code.String())
		c.cmds2[code] = cs
	}
	return cs
}

// pipeName normalises a pipe file name: "\PIPE\srvsvc" or "\srvsvc" -> "srvsvc".
func pipeName(name string) string {
	name = strings.TrimLeft(name, `\`)
	if len(name) >= 5 && equalFoldASCII(name[:5], `PIPE\`) {
		name = name[5:]
	}
	return name
}

// isIPC reports whether a share path names IPC$.
func isIPC(path string) bool {
	return len(path) >= 4 && equalFoldASCII(path[len(path)-4:], "IPC$")
}
