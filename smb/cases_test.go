package smb

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/internal/wire"
	"github.com/nettrace/nettrace/tcpstate"
)

func synthCtx(col *health.Collector, rtt time.Duration) *tcpstate.StreamContext {
	return &tcpstate.StreamContext{
		Client: netip.MustParseAddrPort("10.1.1.1:50000"), Server: netip.MustParseAddrPort("10.2.2.2:445"),
		Flow: "10.1.1.1:50000->10.2.2.2:445/tcp", Reporter: col, RTT: rtt}
}

const (
	c2s = tcpstate.ClientToServer
	s2c = tcpstate.ServerToClient
)

// c8Script is casebook C8's agent: 64 KiB SMB2 READs, two outstanding,
// 5-80 ms idle between pairs, 20 ms RTT.
func c8Script() *script {
	s := &script{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	fid := FileID{7, 9}
	ms := time.Millisecond
	s.send(c2s, nbssWrap(msg2(SMB2TreeConnect, 1, false, 0, 0, treeConnectReq2(`\\fs1\dist`))), 0, 0)
	s.send(s2c, nbssWrap(msg2(SMB2TreeConnect, 1, true, 0, 5, treeConnectResp2(1))), 20*ms, 0)
	s.send(c2s, nbssWrap(msg2(SMB2Create, 2, false, 0, 5, createReq2(`agent\package.msi`))), 21*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Create, 2, true, 0, 5, createResp2(fid, 64*65536))), 41*ms, 0)
	now := 45 * ms
	data := bytes.Repeat([]byte{0xa5}, 65536)
	id := uint64(3)
	for k := 0; k < 32; k++ {
		off := uint64(2*k) * 65536
		// Two READs in one segment: several SMB messages per segment.
		two := append(nbssWrap(msg2(SMB2Read, id, false, 0, 5, readReq2(fid, off, 65536))),
			nbssWrap(msg2(SMB2Read, id+1, false, 0, 5, readReq2(fid, off+65536, 65536)))...)
		s.send(c2s, two, now, 0)
		end := s.send(s2c, nbssWrap(msg2(SMB2Read, id, true, 0, 5, readResp2(data))), now+20*ms, 20*time.Microsecond)
		end = s.send(s2c, nbssWrap(msg2(SMB2Read, id+1, true, 0, 5, readResp2(data))), end+20*time.Microsecond, 20*time.Microsecond)
		id += 2
		now = end + time.Duration(5+(k*37)%76)*ms
	}
	s.send(c2s, nbssWrap(msg2(SMB2Close, id, false, 0, 5, closeReq2(fid))), now, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Close, id, true, 0, 5, closeResp2())), now+20*ms, 0)
	return s
}

// TestCaseC8_AppLimitedReadsSynthetic builds C8's read pattern byte by
// byte (two 64 KiB READs in flight, idle between pairs) and checks the
// per-file analysis and the smb.app_limited event, for several chunkings.
func TestCaseC8_AppLimitedReadsSynthetic(t *testing.T) {
	var first []health.Event
	for name, split := range map[string]splitter{"whole": whole, "random": randomSplit(7), "bytewise": bytewise} {
		t.Run(name, func(t *testing.T) {
			col := &health.Collector{}
			c := NewConn(synthCtx(col, 20*time.Millisecond), DefaultConfig())
			c8Script().run(c, split)
			fs := c.Files()
			if len(fs) != 1 {
				t.Fatalf("%d files, want 1", len(fs))
			}
			f := fs[0]
			if f.Name != `agent\package.msi` || f.Share != `\\fs1\dist` || f.Reads != 64 || f.ReadSize != 65536 ||
				f.MaxInFlight != 2 || f.BytesRead != 64*65536 || f.IdleGaps != 31 || f.Limit != "application-limited" {
				t.Errorf("file stats %+v", f)
			}
			if f.MeanInFlight < 0.4 || f.MeanInFlight > 1.2 { // busy ~22 ms per pair, idle 5-80 ms
				t.Errorf("mean in flight %.2f, want 0.4-1.2", f.MeanInFlight)
			}
			ev := col.OfKind(health.SMBAppLimited)
			if len(ev) != 1 {
				t.Fatalf("%d app_limited events, want 1: %+v", len(ev), col.Events)
			}
			if !strings.Contains(ev[0].Message, "only 2 reads of 64 KiB in flight") || ev[0].Evidence["max_in_flight"] != 2 {
				t.Errorf("event %+v", ev[0])
			}
			t.Logf("%s", ev[0].Message)
			if first == nil {
				first = col.Events
			} else if diff := cmp.Diff(first, col.Events); diff != "" {
				t.Errorf("chunking changed the events (-first +this):\n%s", diff)
			}
		})
	}
}

// TestCaseC12_ShapingDelaySynthetic builds casebook C12: SMB1 READ_ANDX of
// 61440 bytes whose last segment always arrives ~0.406 s after the
// previous one.
func TestCaseC12_ShapingDelaySynthetic(t *testing.T) {
	ms := time.Millisecond
	s := &script{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.send(c2s, nbssWrap(msg1(SMB1NTCreateAndX, 1, false, 0, 3, ntCreateReq1(`\setup\image.wim`))), 0, 0)
	s.send(s2c, nbssWrap(msg1(SMB1NTCreateAndX, 1, true, 0, 3, ntCreateResp1(0x4001, 40*61440))), 2*ms, 0)
	now := 5 * ms
	data := bytes.Repeat([]byte{0x5a}, 61440)
	const reads = 12
	for k := 0; k < reads; k++ {
		s.send(c2s, nbssWrap(msg1(SMB1ReadAndX, uint16(10+k), false, 0, 3, readReq1(0x4001, uint32(k*61440), 61440))), now, 0)
		resp := nbssWrap(msg1(SMB1ReadAndX, uint16(10+k), true, 0, 3, readResp1(data)))
		cut := len(resp) - 800
		end := s.send(s2c, resp[:cut], now+2*ms, 50*time.Microsecond)
		delay := 406*ms + time.Duration(k%3-1)*ms
		end = s.send(s2c, resp[cut:], end+delay, 0)
		now = end + ms
	}
	for _, split := range []splitter{whole, randomSplit(3)} {
		col := &health.Collector{}
		c := NewConn(synthCtx(col, time.Millisecond), DefaultConfig())
		s.run(c, split)
		ev := col.OfKind(health.SMBShapingDelay)
		if len(ev) != 1 {
			t.Fatalf("%d shaping events, want 1: %+v", len(ev), col.Events)
		}
		e := ev[0]
		t.Logf("frame %d: %s", e.Frame, e.Message)
		if e.Evidence["occurrences"] != reads || math.Abs(e.Evidence["delay_ms"].(float64)-406) > 2 ||
			math.Abs(e.Evidence["total_ms"].(float64)-reads*406) > 20 || e.Evidence["direction"] != "server" {
			t.Errorf("evidence %v", e.Evidence)
		}
		f := c.Files()[0]
		if f.Reads != reads || f.ReadSize != 61440 || f.BytesRead != reads*61440 {
			t.Errorf("file %+v", f)
		}
	}
}

// TestNoShapingForOneStall: a single long stall is not shaping.
func TestNoShapingForOneStall(t *testing.T) {
	s := c8Script()
	col := &health.Collector{}
	c := NewConn(synthCtx(col, 20*time.Millisecond), DefaultConfig())
	s.run(c, whole)
	if n := len(col.OfKind(health.SMBShapingDelay)); n != 0 {
		t.Errorf("%d shaping events on C8, want 0", n)
	}
}

// pipeRecorder records what a named-pipe handler receives.
type pipeRecorder struct {
	name   string
	bytes  [2]int
	first  [2][]byte
	closed bool
}

func (p *pipeRecorder) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	p.bytes[dir] += len(data)
	if p.first[dir] == nil {
		p.first[dir] = append([]byte(nil), data...)
	}
}
func (p *pipeRecorder) Gap(tcpstate.Dir, int, tcpstate.Position)      {}
func (p *pipeRecorder) Close(tcpstate.CloseReason, tcpstate.Position) { p.closed = true }

// TestCaseC17_SMB1NetBIOSNTLMSSP decodes casebook C17's four SMB1 sessions
// over the NetBIOS session service (testdata copy of
// captures/cases/c17-smb1-periodic-139-server.pcap) and checks what the
// cases README lists.
func TestCaseC17_SMB1NetBIOSNTLMSSP(t *testing.T) {
	path := capturePath(t, "captures/cases", "c17-smb1-periodic-139-server")
	var pipes []*pipeRecorder
	cfg := DefaultConfig()
	cfg.Pipe = func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler {
		p := &pipeRecorder{name: pipe}
		pipes = append(pipes, p)
		return p
	}
	res := runCapture(t, path, cfg, 0, whole)
	if len(res.conns) != 4 {
		t.Fatalf("%d SMB connections, want 4", len(res.conns))
	}
	for i, c := range res.conns {
		st := c.Stats()
		got := fmt.Sprintf("called=%s calling=%s dialects=%q dialect=%s user=%s\\%s ws=%s version=%d",
			st.CalledName, st.CallingName, st.Dialects, st.Dialect, st.Domain, st.User, st.Workstation, st.Version)
		// Samba answers dialect index 0, "NT LANMAN 1.0" (its alias of NT1), as in tshark.
		want := `called=10.200.3.20<20> calling=WKS-CLIENT7<00> dialects=["NT LANMAN 1.0" "NT LM 0.12"] dialect=NT LANMAN 1.0 user=STEERING\alice ws=WKS-CLIENT7 version=1`
		if got != want {
			t.Errorf("connection %d:\n got %s\nwant %s", i, got, want)
		}
	}
	var trees, raps, ntlm, nbss int
	for _, m := range res.col.Messages {
		f := m.Fields
		if m.Proto == "nbss" && f["type"] == "SESSION_REQUEST" {
			nbss++
		}
		if f["cmd"] == "TREE_CONNECT_ANDX" && f["is_response"] == false && f["tree"] == `\\10.200.3.20\IPC$` {
			trees++
		}
		if f["rap"] == "NetServerEnum2" {
			raps++
		}
		if f["ntlm_type"] != nil {
			ntlm++
		}
	}
	if nbss != 4 || trees != 4 || raps != 8 || ntlm != 12 {
		t.Errorf("session requests %d, IPC$ tree connects %d, NetServerEnum2 %d, NTLMSSP messages %d; want 4, 4, 8, 12", nbss, trees, raps, ntlm)
	}
	// srvsvc NetShareEnumAll goes through the pipe hand-off as DCE/RPC.
	if len(pipes) != 4 {
		t.Fatalf("%d pipe handlers, want 4", len(pipes))
	}
	for _, p := range pipes {
		if p.name != "srvsvc" || p.bytes[0] == 0 || p.bytes[1] == 0 || !p.closed ||
			!bytes.HasPrefix(p.first[0], []byte{5, 0, 11}) || !bytes.HasPrefix(p.first[1], []byte{5, 0, 12}) {
			t.Errorf("pipe %s: bytes %v closed %v first %x / %x", p.name, p.bytes, p.closed, p.first[0][:min(4, len(p.first[0]))], p.first[1][:min(4, len(p.first[1]))])
		}
	}
}

// TestNTLMCredentialsFromSamba checks the NTLM user/domain/workstation of
// every Samba capture against the credentials the captures README names
// (alice in domain STEERING; smbclient sends workstation "VM" except in
// C17, where it is WKS-CLIENT7).
func TestNTLMCredentialsFromSamba(t *testing.T) {
	for _, c := range []struct{ sub, name, ws string }{
		{"captures/smb", "smb1-nt1-alice-ls-get", "VM"},
		{"captures/smb", "smb2_10-alice-ls-get", "VM"},
		{"captures/smb", "smb3-access-denied", "VM"},
		{"captures/smb", "smb3-bad-password", "VM"},
		{"captures/smb", "smb3_11-encrypted", "VM"},
		{"captures/smb", "smb3_11-alice-ls-get-put", "VM"},
		{"captures/cases", "c17-smb1-periodic-139-server", "WKS-CLIENT7"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := runCapture(t, capturePath(t, c.sub, c.name), DefaultConfig(), 0, whole)
			n := 0
			for _, m := range res.col.Messages {
				if m.Fields["ntlm_user"] == nil {
					continue
				}
				n++
				got := fmt.Sprintf("%v\\%v@%v", m.Fields["ntlm_domain"], m.Fields["ntlm_user"], m.Fields["ntlm_workstation"])
				if want := `STEERING\alice@` + c.ws; got != want {
					t.Errorf("frame %d: %s, want %s", m.Frame, got, want)
				}
			}
			if n == 0 {
				t.Errorf("no NTLM AUTHENTICATE decoded")
			}
			t.Logf("%d AUTHENTICATE messages: STEERING\\alice from %s", n, c.ws)
		})
	}
}

// secretsOf extracts, independently of the parser under test, the NT and
// LM responses, the encrypted session key and the MIC of every NTLMSSP
// AUTHENTICATE in a byte stream ([MS-NLMP] 2.2.1.3).
func secretsOf(stream []byte) [][]byte {
	var out [][]byte
	for {
		i := bytes.Index(stream, []byte("NTLMSSP\x00\x03\x00\x00\x00"))
		if i < 0 {
			return out
		}
		m := stream[i:]
		for _, fieldOff := range []int{12, 20, 52} { // LM response, NT response, session key
			n, ok1 := wire.Uint16At(m, fieldOff)
			off, ok2 := wire.Uint32At(m, fieldOff+4)
			if ok1 && ok2 && n >= 16 && int(off)+int(n) <= len(m) {
				out = append(out, m[off:off+16])
				if n > 24 {
					out = append(out, m[int(off)+16 : int(off)+int(n)][:16]) // NTLMv2 blob start after NTProofStr
				}
			}
		}
		if len(m) >= 88 {
			out = append(out, m[72:88]) // MIC (when present)
		}
		stream = m[12:]
	}
}

// TestNoHashesInOutput greps every message, event and error produced from
// the Samba captures for the NTLM response, session key and MIC bytes, raw,
// hex and base64.
func TestNoHashesInOutput(t *testing.T) {
	for _, c := range smbCaptures {
		t.Run(c.name, func(t *testing.T) {
			path := capturePath(t, c.sub, c.name)
			streams, err := testcap.ReadStreams(path)
			if err != nil {
				t.Fatal(err)
			}
			var secrets [][]byte
			for _, s := range streams {
				secrets = append(secrets, secretsOf(s.Bytes(true))...)
			}
			res := runCapture(t, path, DefaultConfig(), 0, whole)
			var out bytes.Buffer
			enc := json.NewEncoder(&out)
			for _, m := range res.col.Messages {
				enc.Encode(m)
			}
			for _, e := range res.col.Events {
				enc.Encode(e)
			}
			for _, cn := range res.conns {
				enc.Encode(cn.Stats())
				fmt.Fprintf(&out, "%+v %v %v", cn.Stats(), cn.half[0].err, cn.half[1].err)
			}
			text := out.String()
			lower := strings.ToLower(text)
			for _, s := range secrets {
				if bytes.Contains(out.Bytes(), s) || strings.Contains(lower, hex.EncodeToString(s)) ||
					strings.Contains(text, base64.StdEncoding.EncodeToString(s)[:20]) {
					t.Errorf("secret bytes %x appear in the output", s)
				}
			}
			t.Logf("%d secret byte strings checked against %d bytes of output", len(secrets), out.Len())
		})
	}
}

// TestChunkingDoesNotChangeResults feeds real captures whole, byte by
// byte and split at random points.
func TestChunkingDoesNotChangeResults(t *testing.T) {
	for _, name := range []string{"smb1-nt1-alice-ls-get", "smb2_10-alice-ls-get", "smb3-access-denied",
		"c17-smb1-periodic-139-server", "zeek-smb-smb2-multiple-pdus", "zeek-smb-raw_ntlm_in_smb", "smb3_11-encrypted"} {
		t.Run(name, func(t *testing.T) {
			path := capturePath(t, "captures/smb", name)
			ref := runCapture(t, path, DefaultConfig(), 0, whole)
			for sname, split := range map[string]splitter{"bytewise": bytewise, "random": randomSplit(11)} {
				got := runCapture(t, path, DefaultConfig(), 0, split)
				if diff := cmp.Diff(ref.col.Messages, got.col.Messages); diff != "" {
					t.Errorf("%s: messages differ (-whole +%s):\n%s", sname, sname, diff)
				}
				if diff := cmp.Diff(ref.col.Events, got.col.Events); diff != "" {
					t.Errorf("%s: events differ (-whole +%s):\n%s", sname, sname, diff)
				}
			}
		})
	}
}

// TestCaseC8_MidStreamCapture: the capture starts after the CREATE; the
// reads are still analysed, under their file id.
func TestCaseC8_MidStreamCapture(t *testing.T) {
	s := c8Script()
	s.out = s.out[4:] // drop TREE_CONNECT and CREATE
	col := &health.Collector{}
	c := NewConn(synthCtx(col, 20*time.Millisecond), DefaultConfig())
	s.run(c, whole)
	ev := col.OfKind(health.SMBAppLimited)
	if len(ev) != 1 || !strings.Contains(ev[0].Message, "file id 0000000000000007:0000000000000009 (opened before the capture)") {
		t.Fatalf("events %+v", col.Events)
	}
	if f := c.Files()[0]; f.Reads != 64 || f.MaxInFlight != 2 || f.OpenFrame != 0 {
		t.Errorf("file %+v", f)
	}
}
