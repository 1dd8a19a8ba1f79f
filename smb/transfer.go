package smb

import (
	"fmt"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// FileStats describes the I/O on one opened file (or named pipe), from its
// CREATE / NT_CREATE_ANDX to its CLOSE or the end of the connection.
type FileStats struct {
	Server string // server address:port
	Share  string // \\server\share
	Name   string // file name as opened (pipe name for pipes); "" when opened before the capture
	FileID string // the SMB2 FileId or SMB1 FID, as hex
	Pipe   bool   // a named pipe on IPC$

	OpenFrame  int64
	CloseFrame int64 // 0 while open / never closed

	Reads, Writes           int           // requests
	BytesRead, BytesWritten uint64        // payload bytes of successful responses/requests
	ReadSize, WriteSize     uint32        // most common request size
	Errors                  int           // I/O responses with an error status
	MaxInFlight             int           // most reads+writes outstanding at once
	MeanInFlight            float64       // time-weighted, first I/O request to last I/O response
	MeanInFlightAtIssue     float64       // mean outstanding count seen by each new request (itself included)
	Duration                time.Duration // first I/O request to last I/O response
	IdleGaps                int           // times nothing was in flight between two requests
	IdleTotal, IdleMax      time.Duration
	MeanLatency             time.Duration // mean request→response time of reads/writes
	Throughput              float64       // (BytesRead+BytesWritten) / Duration, bytes per second
	// Limit classifies the transfer: "application-limited" (never more
	// than Limits.AppLimitedMaxInFlight operations in flight, each costing a
	// round trip), "pipelined" (more in flight), or "" (too few operations).
	Limit string
}

// ioTrack integrates the number of outstanding reads/writes over time.
type ioTrack struct {
	started               bool
	inFlight, maxInFlight int
	last, first, lastResp time.Time
	area                  float64 // count × seconds
	issues, issueSum      int
	idleGaps              int
	idleTotal, idleMax    time.Duration
	latSum                time.Duration
	latN                  int
}

func (t *ioTrack) advance(at time.Time) {
	if t.started && at.After(t.last) {
		t.area += float64(t.inFlight) * at.Sub(t.last).Seconds()
		t.last = at
	}
}

func (t *ioTrack) issue(at time.Time) {
	if !t.started {
		t.started, t.first, t.last = true, at, at
	} else {
		if t.inFlight == 0 && !t.lastResp.IsZero() && at.After(t.lastResp) {
			g := at.Sub(t.lastResp)
			t.idleGaps++
			t.idleTotal += g
			t.idleMax = maxDur(t.idleMax, g)
		}
		t.advance(at)
	}
	t.inFlight++
	t.maxInFlight = max(t.maxInFlight, t.inFlight)
	t.issues++
	t.issueSum += t.inFlight
}

func (t *ioTrack) complete(at time.Time, lat time.Duration) {
	if !t.started {
		return
	}
	t.advance(at)
	if t.inFlight > 0 {
		t.inFlight--
	}
	if at.After(t.lastResp) {
		t.lastResp = at
	}
	t.latSum += lat
	t.latN++
}

// abandon takes a request that will never be matched (evicted) out of
// the in-flight count.
func (t *ioTrack) abandon(at time.Time) {
	if t.started && t.inFlight > 0 {
		t.advance(at)
		t.inFlight--
	}
}

type file struct {
	key      fileKey
	seq      int64
	stats    FileStats
	io       ioTrack
	sizes    map[uint32]int // request sizes (reads), capped
	wsizes   map[uint32]int
	handler  tcpstate.StreamHandler
	pipeName string
	opened   string // the name as the CREATE gave it, for messages (FileStats.Name drops a pipe's "\PIPE\")
	noPipe   bool   // handler creation refused or capped
	// kindUnknown: the file was opened on a tree not seen connected, or
	// before the capture began, so whether it is a named pipe is learned
	// from its traffic (see recognisePipe).
	kindUnknown bool
}

// openFile starts tracking a file opened by req.
func (c *Conn) openFile(k fileKey, req *request, info pduInfo) *file {
	if old := c.files[k]; old != nil {
		c.closeFile(k, info.start, tcpstate.CloseFIN)
	}
	if len(c.files) >= c.lim.MaxFiles {
		keys := c.sortedFileKeys()
		c.closeFile(keys[0], info.start, tcpstate.CloseEvicted)
	}
	c.fileSeq++
	f := &file{key: k, seq: c.fileSeq}
	f.stats = FileStats{Server: c.stats.Server, Share: req.tree, Name: req.name, OpenFrame: info.start.Frame}
	f.opened = req.name
	switch t := c.trees[req.treeKey]; {
	case t == nil:
		f.kindUnknown, c.maybePipes = true, true
	case t.pipe:
		f.makePipe()
	}
	if c.files == nil {
		c.files = make(map[fileKey]*file)
	}
	c.files[k] = f
	return f
}

// adopt starts tracking a file that was opened before the capture began
// (or whose CREATE was lost) on its first read or write, so that its
// transfer is still analysed.
func (c *Conn) adopt(f *file, req *request, info pduInfo) *file {
	if f != nil || !req.hasFile || req.fkey.id == allOnes {
		return f
	}
	f = c.openFile(req.fkey, req, info)
	f.stats.OpenFrame = 0
	return f
}

// sortedFileKeys returns the open files in opening order.
func (c *Conn) sortedFileKeys() []fileKey {
	fs := make([]*file, 0, len(c.files))
	for _, f := range c.files {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].seq < fs[j].seq })
	keys := make([]fileKey, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	return keys
}

// ioIssue records a read or write request on a file.
func (c *Conn) ioIssue(f *file, op ioOp, length uint32, at tcpstate.Position) {
	if f == nil {
		return
	}
	f.io.issue(at.Time)
	m := &f.sizes
	if op == opRead {
		f.stats.Reads++
	} else {
		f.stats.Writes++
		m = &f.wsizes
	}
	if *m == nil {
		*m = make(map[uint32]int) // most files are never read or written
	}
	if _, ok := (*m)[length]; ok || len(*m) < 64 {
		(*m)[length]++
	}
}

// ioDone records the response to a read or write.
func (c *Conn) ioDone(f *file, req *request, n uint64, failed bool, at tcpstate.Position) {
	if f == nil {
		return
	}
	f.io.complete(at.Time, at.Time.Sub(req.start.Time))
	if failed {
		f.stats.Errors++
		return
	}
	if req.op == opRead {
		f.stats.BytesRead += n
	} else {
		f.stats.BytesWritten += n
	}
}

// closeFile finishes a file: computes its statistics, judges the transfer
// and closes its pipe handler.
func (c *Conn) closeFile(k fileKey, at tcpstate.Position, reason tcpstate.CloseReason) {
	f := c.files[k]
	if f == nil {
		return
	}
	delete(c.files, k)
	if reason == tcpstate.CloseFIN && at.Frame > 0 {
		f.stats.CloseFrame = at.Frame
	}
	if f.handler != nil {
		f.handler.Close(reason, at)
		f.handler = nil
		c.pipes--
	}
	s := c.finishStats(f)
	c.judge(s, at)
	if len(c.closed) >= c.lim.MaxFiles {
		copy(c.closed, c.closed[1:])
		c.closed = c.closed[:len(c.closed)-1]
	}
	c.closed = append(c.closed, s)
}

// String formats the file's id as FileStats shows it: the SMB1 FID, or
// the SMB2 FileId.
func (k fileKey) String() string {
	if k.v1 {
		return fmt.Sprintf("0x%04x", k.id.Volatile)
	}
	return k.id.String()
}

func (c *Conn) finishStats(f *file) FileStats {
	s := f.stats
	s.FileID = f.key.String()
	t := f.io
	s.ReadSize, s.WriteSize = mode(f.sizes), mode(f.wsizes)
	s.MaxInFlight = t.maxInFlight
	if t.started && t.lastResp.After(t.first) {
		s.Duration = t.lastResp.Sub(t.first)
		s.MeanInFlight = t.area / s.Duration.Seconds()
		s.Throughput = float64(s.BytesRead+s.BytesWritten) / s.Duration.Seconds()
	}
	if t.issues > 0 {
		s.MeanInFlightAtIssue = float64(t.issueSum) / float64(t.issues)
	}
	if t.latN > 0 {
		s.MeanLatency = t.latSum / time.Duration(t.latN)
	}
	s.IdleGaps, s.IdleTotal, s.IdleMax = t.idleGaps, t.idleTotal, t.idleMax
	if !s.Pipe && s.Reads+s.Writes >= c.lim.AppLimitedMinOps {
		if s.MaxInFlight <= c.lim.AppLimitedMaxInFlight {
			s.Limit = "application-limited"
		} else {
			s.Limit = "pipelined"
		}
	}
	return s
}

// mode returns the most common key (smallest on ties).
func mode(m map[uint32]int) uint32 {
	var best uint32
	n := -1
	for k, v := range m {
		if v > n || v == n && k < best {
			best, n = k, v
		}
	}
	return best
}

// judge emits smb.app_limited for an application-limited transfer.
func (c *Conn) judge(s FileStats, at tcpstate.Position) {
	if s.Limit != "application-limited" || s.Duration <= 0 || s.BytesRead+s.BytesWritten < 256<<10 {
		return
	}
	op, n, size := "read", s.Reads, s.ReadSize
	if s.Writes > s.Reads {
		op, n, size = "write", s.Writes, s.WriteSize
	}
	kibs := s.Throughput / 1024
	est := 0.0
	if s.MeanLatency > 0 {
		est = 16 * float64(size) / s.MeanLatency.Seconds() / 1024
	}
	rtt := ""
	if c.ctx.RTT > 0 {
		rtt = fmt.Sprintf(", RTT %s", ms(c.ctx.RTT))
	}
	frame := at.Frame
	if s.CloseFrame > 0 {
		frame = s.CloseFrame
	}
	name := s.Name
	if name == "" {
		name = "file id " + s.FileID + " (opened before the capture)"
	}
	if s.Share != "" {
		name = s.Share + `\` + s.Name
	}
	c.ctx.Event(health.Event{Kind: health.SMBAppLimited, Severity: health.Warning, Time: at.Time, Frame: frame,
		Message: fmt.Sprintf("application limited: only %d %s of %s in flight on %s; %d %ss, %s in %s = %.0f KiB/s; each %s waits a full round trip (%s per %s%s); with 16 in flight ~%.0f KiB/s",
			s.MaxInFlight, pluralOp(op, s.MaxInFlight), kib(size), name, n, op, kib(uint32(min(s.BytesRead+s.BytesWritten, 1<<32-1))), ms(s.Duration), kibs,
			op, ms(s.MeanLatency), op, rtt, est),
		Evidence: map[string]any{"file": name, "op": op, "op_size": size, "ops": n, "max_in_flight": s.MaxInFlight,
			"mean_in_flight": float64(int(s.MeanInFlight*10+0.5)) / 10, "throughput_kib_s": float64(int(kibs + 0.5)),
			"idle_ms": msf(s.IdleTotal), "open_frame": s.OpenFrame, "latency_ms": msf(s.MeanLatency), "rtt_ms": msf(c.ctx.RTT)}})
}

func pluralOp(op string, n int) string {
	if n == 1 {
		return op
	}
	return op + "s"
}

// kib formats a byte count: "64 KiB", "1536 KiB", "2000 B".
func kib(n uint32) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	if n >= 1024 {
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%d B", n)
}

// Files returns the statistics of every file seen: closed ones first (in
// closing order), then those still open (in opening order).
func (c *Conn) Files() []FileStats {
	out := append([]FileStats(nil), c.closed...)
	for _, k := range c.sortedFileKeys() {
		out = append(out, c.finishStats(c.files[k]))
	}
	return out
}

// issueIO records a READ or WRITE request of length bytes on req and on its
// file, adopting a file opened before the capture began. A write's data
// (when the whole PDU was kept) goes first to the file's pipe handler. It
// returns the file, nil when it is not tracked.
func (c *Conn) issueIO(req *request, f *file, op ioOp, length uint32, data []byte, info pduInfo) *file {
	req.op, req.length = op, length
	f = c.adopt(f, req, info)
	if op == opWrite && !info.partial {
		c.pipeFeed(f, tcpstate.ClientToServer, data, info, false)
	}
	c.ioIssue(f, op, length, info.start)
	return f
}

// completeIO records the response to req when req is a READ or WRITE as op
// says: n bytes done, or failed. A successful read's data (when the whole
// PDU was kept) goes to the file's pipe handler.
func (c *Conn) completeIO(req *request, op ioOp, n uint64, failed bool, data []byte, info pduInfo) {
	if req == nil || req.op != op {
		return
	}
	f := c.files[req.fkey]
	if op == opRead && !failed && !info.partial {
		c.pipeFeed(f, tcpstate.ServerToClient, data, info, false)
	}
	c.ioDone(f, req, n, failed, info.end)
}
