package smb

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// TestPipesOverSMB2 hands the DCE/RPC traffic of rpcclient's named pipes
// (IOCTL FSCTL_PIPE_TRANSCEIVE, WRITE+READ) to Config.Pipe.
func TestPipesOverSMB2(t *testing.T) {
	path := capturePath(t, "captures/dcerpc", "rpc-over-smb-pipes-rpcclient")
	var pipes []*pipeRecorder
	cfg := DefaultConfig()
	cfg.Pipe = func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler {
		p := &pipeRecorder{name: pipe}
		pipes = append(pipes, p)
		return p
	}
	res := runCapture(t, path, cfg, 0, whole)
	var names []string
	for _, p := range pipes {
		names = append(names, p.name)
		if p.bytes[0] == 0 || p.bytes[1] == 0 || !p.closed || !bytes.HasPrefix(p.first[0], []byte{5, 0, 11}) || !bytes.HasPrefix(p.first[1], []byte{5, 0, 12}) {
			t.Errorf("pipe %s: bytes %v closed %v", p.name, p.bytes, p.closed)
		}
	}
	if got := strings.Join(names, ","); got != "srvsvc,samr,srvsvc" {
		t.Errorf("pipes %s, want srvsvc,samr,srvsvc", got)
	}
	// STATUS_PENDING interim responses are not errors.
	if n := len(res.col.OfKind(health.SMBErrorStatus)); n != 0 {
		t.Errorf("%d error events: %+v", n, res.col.OfKind(health.SMBErrorStatus))
	}
	st := res.conns[0].Stats()
	if st.PipeBytes == 0 || st.Dialect != "SMB 3.1.1" {
		t.Errorf("stats %+v", st)
	}
}

func TestAuthFailedBadPassword(t *testing.T) {
	res := runCapture(t, capturePath(t, "captures/smb", "smb3-bad-password"), DefaultConfig(), 0, whole)
	ev := res.col.OfKind(health.SMBAuthFailed)
	if len(ev) != 1 {
		t.Fatalf("%d auth_failed events, want 1", len(ev))
	}
	e := ev[0]
	if e.Frame != 13 || e.Evidence["status"] != "STATUS_LOGON_FAILURE" || e.Evidence["user"] != "alice" || e.Evidence["domain"] != "STEERING" {
		t.Errorf("event %+v", e)
	}
	t.Logf("frame %d: %s", e.Frame, e.Message)
}

func TestErrorStatusAccessDenied(t *testing.T) {
	res := runCapture(t, capturePath(t, "captures/smb", "smb3-access-denied"), DefaultConfig(), 0, whole)
	var got []string
	for _, e := range res.col.OfKind(health.SMBErrorStatus) {
		got = append(got, e.Message)
	}
	want := []string{
		`TREE_CONNECT \\10.200.3.20\restricted answered STATUS_ACCESS_DENIED (request in frame 20)`,
		`CREATE secret.txt on \\10.200.3.20\data answered STATUS_ACCESS_DENIED`,
		`CREATE policy-new.txt on \\10.200.3.20\readonly answered STATUS_ACCESS_DENIED`,
	}
	if len(got) != len(want) {
		t.Fatalf("events %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("event %d: %q, want prefix %q", i, got[i], want[i])
		}
	}
}

func TestEncryptedOncePerConnection(t *testing.T) {
	res := runCapture(t, capturePath(t, "captures/smb", "smb3_11-encrypted"), DefaultConfig(), 0, whole)
	if n := len(res.col.OfKind(health.SMBEncrypted)); n != 1 {
		t.Errorf("%d encrypted events, want 1", n)
	}
	if n := len(res.col.OfKind(health.SMBMalformed)); n != 0 {
		t.Errorf("%d malformed events, want 0", n)
	}
	// tshark: "ENCRYPTED transform x33".
	if st := res.conns[0].Stats(); st.Encrypted != 33 {
		t.Errorf("encrypted messages %d, want 33", st.Encrypted)
	}
}

// TestResyncAfterGap: bytes lost in the middle of a small PDU drop it; the
// decoder finds the next SMB header and goes on. A gap inside the data of
// a large (skipped) READ response loses nothing.
func TestResyncAfterGap(t *testing.T) {
	col := &health.Collector{KeepMessages: true}
	c := NewConn(synthCtx(col, 0), DefaultConfig())
	pos := func(f int64) tcpstate.Position { return tcpstate.Position{Frame: f} }
	fid := FileID{1, 1}
	req := nbssWrap(msg2(SMB2Read, 1, false, 0, 0, readReq2(fid, 0, 100)))
	c.Feed(c2s, req[:30], pos(1))
	c.Gap(c2s, 40, pos(2))
	c.Feed(c2s, []byte("garbage after the gap"), pos(2))
	c.Feed(c2s, nbssWrap(msg2(SMB2Echo, 2, false, 0, 0, []byte{4, 0, 0, 0})), pos(3))
	big := nbssWrap(msg2(SMB2Read, 3, true, 0, 0, readResp2(make([]byte, 600<<10))))
	c.Feed(s2c, big[:5000], pos(4))
	c.Gap(s2c, 100000, pos(5))
	c.Feed(s2c, big[105000:], pos(6))
	c.Feed(s2c, nbssWrap(msg2(SMB2Echo, 2, true, 0, 0, []byte{4, 0, 0, 0})), pos(7))
	var got []string
	for _, m := range col.Messages {
		got = append(got, m.Fields["cmd"].(string))
	}
	if strings.Join(got, ",") != "ECHO,READ,ECHO" {
		t.Errorf("messages %v, want ECHO,READ,ECHO", got)
	}
	if st := c.Stats(); st.IgnoredBytes == 0 {
		t.Errorf("no ignored bytes counted")
	}
}

// TestMalformedProtocolIDResyncs: a session message that is not SMB, after
// SMB that framed, is reported once (smb.malformed, a notice), before its
// (long) body is awaited, and the decoder resynchronises on the next SMB
// header. The same bytes first in the direction are a capture that started
// inside a PDU: decode.resync (Info) once the next header is found.
func TestMalformedProtocolIDResyncs(t *testing.T) {
	echo := func(id uint64) []byte { return nbssWrap(msg2(SMB2Echo, id, false, 0, 0, []byte{4, 0, 0, 0})) }
	bad := []byte{0, 0xff, 0xff, 0xff, 'x', 'S', 'M', 'B', 1, 2, 3}
	for _, tc := range []struct {
		name       string
		feeds      [][]byte
		want       health.Kind
		wantFrames []int64
	}{
		{"after SMB", [][]byte{echo(1), bad, echo(2)}, health.SMBMalformed, []int64{1, 3}},
		{"first bytes", [][]byte{bad, echo(2)}, health.DecodeResync, []int64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := &health.Collector{KeepMessages: true}
			c := NewConn(synthCtx(col, 0), DefaultConfig())
			for i, b := range tc.feeds {
				c.Feed(c2s, b, tcpstate.Position{Frame: int64(i + 1)})
			}
			if len(col.Events) != 1 || col.Events[0].Kind != tc.want || col.Events[0].Severity >= health.Warning {
				t.Errorf("events %+v, want one %s below warning", col.Events, tc.want)
			}
			var frames []int64
			for _, m := range col.Messages {
				frames = append(frames, m.Frame)
			}
			if !slices.Equal(frames, tc.wantFrames) {
				t.Errorf("messages at frames %v, want %v", frames, tc.wantFrames)
			}
		})
	}
}

// TestSlowResponseOutlier: one READ ten times slower than the rest.
func TestSlowResponseOutlier(t *testing.T) {
	s := &script{t0: time.Unix(1000, 0)}
	fid := FileID{1, 2}
	ms := time.Millisecond
	now := time.Duration(0)
	for i := uint64(1); i <= 12; i++ {
		s.send(c2s, nbssWrap(msg2(SMB2Read, i, false, 0, 0, readReq2(fid, 0, 10))), now, 0)
		lat := 2 * ms
		if i == 7 {
			lat = 900 * ms
		}
		now = s.send(s2c, nbssWrap(msg2(SMB2Read, i, true, 0, 0, readResp2([]byte("0123456789")))), now+lat, 0) + ms
	}
	col := &health.Collector{}
	c := NewConn(synthCtx(col, ms), DefaultConfig())
	s.run(c, whole)
	ev := col.OfKind(health.SMBSlowResponse)
	if len(ev) != 1 || ev[0].Frame != 14 || ev[0].Evidence["command"] != "READ" {
		t.Fatalf("slow events %+v", ev)
	}
	t.Log(ev[0].Message)
}

// TestTransferFactsSMB311 checks the smb README's transfer facts for
// smb3_11-alice-ls-get-put.pcap (1.3 MB, ../shared only): READ 16 x 64 KiB
// of report-1m.bin with 16 in flight (plus plan.txt); 4 WRITEs of 64 KiB,
// max 3 in flight.
func TestTransferFactsSMB311(t *testing.T) {
	res := runCapture(t, capturePath(t, "captures/smb", "smb3_11-alice-ls-get-put"), DefaultConfig(), 0, whole)
	r := fileNamed(t, res.conns, "report-1m.bin")
	w := fileNamed(t, res.conns, "upload-200k.bin")
	p := fileNamed(t, res.conns, "plan.txt")
	if r.Reads != 16 || r.ReadSize != 65536 || r.MaxInFlight != 16 || r.BytesRead != 1<<20 || r.Limit != "pipelined" {
		t.Errorf("report-1m.bin %+v", r)
	}
	if w.Writes != 4 || w.WriteSize != 65536 || w.MaxInFlight != 3 || w.BytesWritten != 204800 {
		t.Errorf("upload-200k.bin %+v", w)
	}
	// README: 17 READs, mean 8.1 in flight at issue time (over both files).
	mean := (r.MeanInFlightAtIssue*float64(r.Reads) + p.MeanInFlightAtIssue*float64(p.Reads)) / float64(r.Reads+p.Reads)
	if r.Reads+p.Reads != 17 || mean < 8.0 || mean > 8.15 {
		t.Errorf("reads %d mean at issue %.2f, want 17 and 8.1", r.Reads+p.Reads, mean)
	}
}

// TestNBSSNegativeResponse: a refused NetBIOS session is an error status
// naming the reason and the called name.
func TestNBSSNegativeResponse(t *testing.T) {
	col := &health.Collector{KeepMessages: true}
	c := NewConn(synthCtx(col, 0), DefaultConfig())
	req := append([]byte{0x81, 0, 0, 68}, []byte(" EGFDDBCACACACACACACACACACACACACA\x00 FHELFDDHCACACACACACACACACACACAAA\x00")...)
	if !Detect(c2s, req) {
		t.Errorf("Detect(session request) = false")
	}
	c.Feed(c2s, req, tcpstate.Position{Frame: 1})
	c.Feed(s2c, []byte{0x83, 0, 0, 1, 0x82}, tcpstate.Position{Frame: 2})
	c.Feed(c2s, []byte{0x85, 0, 0, 0}, tcpstate.Position{Frame: 3})
	ev := col.OfKind(health.SMBErrorStatus)
	if len(ev) != 1 || ev[0].Frame != 2 || !strings.Contains(ev[0].Message, "called name not present (called name FS1<20>)") {
		t.Errorf("events %+v", col.Events)
	}
	if st := c.Stats(); st.CalledName != "FS1<20>" || st.CallingName != "WKS7<00>" || st.KeepAlives != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestSMB1DOSError: an SMB1 response with a DOS error class/code (no NT
// status flag) is named as such.
func TestSMB1DOSError(t *testing.T) {
	col := &health.Collector{KeepMessages: true}
	c := NewConn(synthCtx(col, 0), DefaultConfig())
	c.Feed(c2s, nbssWrap(msg1(SMB1NTCreateAndX, 5, false, 0, 3, ntCreateReq1(`\x.txt`))), tcpstate.Position{Frame: 1})
	resp := msg1(SMB1NTCreateAndX, 5, true, 0, 3, []byte{0, 0, 0})
	le.PutUint16(resp[10:], Flags2Unicode)       // no NT status flag
	copy(resp[5:9], []byte{0x01, 0, 0x05, 0x00}) // ERRDOS / ERRnoaccess
	c.Feed(s2c, nbssWrap(resp), tcpstate.Position{Frame: 2})
	ev := col.OfKind(health.SMBErrorStatus)
	if len(ev) != 1 || ev[0].Evidence["status"] != "ERRDOS/ERRnoaccess" || ev[0].Evidence["file"] != `\x.txt` {
		t.Errorf("events %+v", col.Events)
	}
}

// TestTinyLimits: small limits still decode (large PDUs by their head).
func TestTinyLimits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits = Limits{MaxBuffered: 1, HeadBytes: 1, MaxFiles: 1}
	col := &health.Collector{}
	c := NewConn(synthCtx(col, 20*time.Millisecond), cfg)
	c8Script().run(c, randomSplit(5))
	if f := c.Files(); len(f) != 1 || f[0].Reads != 64 || f[0].BytesRead != 64*65536 || f[0].MaxInFlight != 2 {
		t.Errorf("files %+v", f)
	}
	// One pending request: the first READ of each pair is evicted by the
	// second, counted as unanswered and no longer in flight.
	cfg.Limits.MaxPending = 1
	c = NewConn(synthCtx(col, 20*time.Millisecond), cfg)
	c8Script().run(c, whole)
	if f, st := c.Files(), c.Stats(); f[0].MaxInFlight != 2 || f[0].BytesRead != 32*65536 || st.Unanswered != 32 {
		t.Errorf("files %+v unanswered %d", f, st.Unanswered)
	}
}

// TestTinyLimitsWithLargePooledBuffer: a PDU still pending at the end of a
// Feed keeps its buffer even when that buffer, taken from the pool shared
// by all Conns, is far larger than this Conn's limits (it was once dropped,
// losing the PDU's header and panicking on the next Feed).
func TestTinyLimitsWithLargePooledBuffer(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits = Limits{MaxBuffered: 1, HeadBytes: 1, MaxFiles: 1}
	for i := 0; i < 4; i++ {
		big := make([]byte, 0, 1<<20)
		pduPool.Put(&big)
	}
	col := &health.Collector{}
	c := NewConn(synthCtx(col, 20*time.Millisecond), cfg)
	c8Script().run(c, randomSplit(5))
	if f := c.Files(); len(f) != 1 || f[0].Reads != 64 {
		t.Errorf("files %+v", f)
	}
}

// TestPipesOpenedBeforeCapture: a capture that starts after the IPC$ tree
// connect and the CREATE of \srvsvc (cut from rpcclient against Samba,
// SMB 3.1.1 and SMB1). The srvsvc pipe is recognised from its traffic
// (FSCTL_PIPE_TRANSCEIVE, TransactNmPipe, or a DCE/RPC header in a WRITE);
// samr, created on the tree never seen connected, too. Their bytes reach
// Config.Pipe from the first DCE/RPC header on.
func TestPipesOpenedBeforeCapture(t *testing.T) {
	for _, c := range []struct{ name, pipes string }{
		{"smb2-pipes-rpcclient-late", ",samr,lsarpc,srvsvc"},
		{"smb1-pipes-rpcclient-late", ",samr"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var pipes []*pipeRecorder
			cfg := DefaultConfig()
			cfg.Pipe = func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler {
				p := &pipeRecorder{name: pipe}
				pipes = append(pipes, p)
				return p
			}
			res := runCapture(t, filepath.Join("..", "testdata", "rpc", c.name+".pcap"), cfg, 0, whole)
			var names []string
			for _, p := range pipes {
				names = append(names, p.name)
				if p.bytes[0] == 0 || p.bytes[1] == 0 || !bytes.HasPrefix(p.first[0], []byte{5, 0}) {
					t.Errorf("pipe %q: bytes %v, first %x", p.name, p.bytes, p.first[0])
				}
			}
			if got := strings.Join(names, ","); got != c.pipes {
				t.Errorf("pipes %q, want %q", got, c.pipes)
			}
			for _, f := range res.conns[0].Files() {
				if !f.Pipe {
					t.Errorf("file %+v not taken for a pipe", f)
				}
			}
		})
	}
}
