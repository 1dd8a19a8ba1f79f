package tds

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// Tests of the rules that keep findings true on captures made elsewhere:
// one side only, started mid-stream, Sybase rather than SQL Server. A
// finding is a claim about the network; nettrace not understanding bytes is
// a notice about its own coverage.

// eventKinds returns the events' kinds and severities, in order.
func eventKinds(rep *health.Collector) []string {
	var out []string
	for _, e := range rep.Events {
		if e.Kind != health.TDSLatencySplit {
			out = append(out, string(e.Kind)+"/"+e.Severity.String())
		}
	}
	return out
}

// feedSide feeds the segments of s that vis says were captured to a new
// Conn, sets vis as the tracker would before Close, and closes.
func feedSide(t *testing.T, s *testcap.Stream, client, server bool, vis tcpstate.Visibility, chunk chunker) (*health.Collector, *Conn) {
	t.Helper()
	rep := &health.Collector{KeepMessages: true}
	ctx := &tcpstate.StreamContext{Client: s.Client, Server: s.Server, Flow: "test", Reporter: rep}
	c := NewConn(ctx, DefaultConfig())
	var last tcpstate.Position
	for _, seg := range s.Segments {
		if seg.ClientToServer && !client || !seg.ClientToServer && !server {
			continue
		}
		d := tcpstate.ServerToClient
		if seg.ClientToServer {
			d = tcpstate.ClientToServer
		}
		last = tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
		for _, piece := range chunk(seg.Data) {
			c.Feed(d, piece, last)
		}
	}
	ctx.Visibility = vis
	c.Close(tcpstate.CloseEndOfCapture, tcpstate.Position{Frame: last.Frame + 1, Time: last.Time.Add(time.Second)})
	return rep, c
}

// TestPreloginStalledNeedsTheServerSide: tds.prelogin_stalled claims the
// server sent nothing. tds-tsql-prelogin-no-answer.pcap proves it: the
// server's side was captured (its SYN-ACK and ACKs) and holds no byte. The
// client's side of tds-tsql-login7-failed-fakeserver.pcap alone — a
// one-sided capture of a server that did answer — must not produce it, nor
// may a capture that missed server bytes.
func TestPreloginStalledNeedsTheServerSide(t *testing.T) {
	silent, err := testcap.ReadStreams(testdata("tds-tsql-prelogin-no-answer.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	answered, err := testcap.ReadStreams(testdata("tds-tsql-login7-failed-fakeserver.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		s    *testcap.Stream
		vis  tcpstate.Visibility
		want []string
	}{
		{"server captured, silent", silent[0], tcpstate.Visibility{Packets: [2]int64{4, 3}}, []string{"tds.prelogin_stalled/error"}},
		{"one-sided capture (client only)", answered[0], tcpstate.Visibility{Packets: [2]int64{7, 0}, OneSided: true}, nil},
		{"server bytes acknowledged but not captured", answered[0], tcpstate.Visibility{Packets: [2]int64{7, 5}, Unseen: [2]int64{0, 145}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, _ := feedSide(t, tc.s, true, false, tc.vis, whole)
			if d := cmp.Diff(tc.want, eventKinds(rep)); d != "" {
				t.Errorf("events (-want +got):\n%s\n%+v", d, rep.Events)
			}
		})
	}
}

// TestServerSideOnlyIsNotMalformed: the server's side alone of
// tds-tsql-login7-failed-fakeserver.pcap (one-sided capture): its first
// message is the PRELOGIN response (frame 6), recognised as such although
// the request was not captured — not a token stream with an unknown token
// 0x00. The failed login (frame 9) is still reported: the server says so.
func TestServerSideOnlyIsNotMalformed(t *testing.T) {
	streams, err := testcap.ReadStreams(testdata("tds-tsql-login7-failed-fakeserver.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []struct {
		name  string
		chunk chunker
	}{{"segments", whole}, {"bytes", bytewise}, {"random", randomSplit(3)}} {
		t.Run(ch.name, func(t *testing.T) {
			rep, c := feedSide(t, streams[0], false, true, tcpstate.Visibility{Packets: [2]int64{0, 5}, OneSided: true}, ch.chunk)
			if d := cmp.Diff([]string{"tds.login_failed/error"}, eventKinds(rep)); d != "" {
				t.Errorf("events (-want +got):\n%s\n%+v", d, rep.Events)
			}
			var prelogin bool
			for _, m := range rep.Messages {
				prelogin = prelogin || m.Frame == 6 && m.Fields["prelogin"] != nil
			}
			if !prelogin {
				t.Errorf("frame 6 not decoded as a PRELOGIN response")
			}
			if c.Stats().Encryption != "" {
				t.Errorf("encryption %q decided without the client's PRELOGIN", c.Stats().Encryption)
			}
		})
	}
}

// sybaseLogin builds a Sybase TDS 5.0 login as a Sybase client (isql over
// CT-Library) sends it, laid out as the TDS 5.0 LOGINREC: 30-byte names
// with length bytes, the byte-order flags, the remote password block, the
// protocol version 5.0.0.0 at 458, the program version, language, charset
// and packet size, then a TDS_CAPABILITY token. It is cut into packets of
// type 0x02 of the 512-byte default packet size.
func sybaseLogin(version [4]byte) []byte {
	var rec []byte
	name := func(s string, n int) {
		f := make([]byte, n)
		copy(f, s)
		rec = append(rec, f...)
		rec = append(rec, byte(len(s)))
	}
	name("ws01", 30)
	name("sa", 30)
	name("", 30)
	name("37876", 30)
	rec = append(rec, 3, 1, 6, 10, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // lint2 … lspare
	name("isql", 30)
	name("SYBASE", 30)
	rec = append(rec, 0, 0)                 // lrempw: server name length, password length
	rec = append(rec, make([]byte, 253)...) // (no remote password)
	rec = append(rec, 2)                    // lrempwlen
	rec = append(rec, version[:]...)        // ltds_version, offset 458
	name("CT-Library", 10)                  // lprogname
	rec = append(rec, version[0], 0, 0, 0)  // lprogvers
	rec = append(rec, 0, 13, 17)            // lnoshort, lflt4, ldate4
	name("us_english", 30)                  // llanguage
	rec = append(rec, 0, 0, 0, 0)           // lsetlang, loldsecure, lseclogin
	rec = append(rec, make([]byte, 10)...)  // lsecbulk … lhasessionid
	name("iso_1", 30)                       // lcharset
	rec = append(rec, 1)                    // lsetcharset
	name("512", 6)                          // lpacketsize
	rec = append(rec, 0, 0, 0, 0)           // ldummy
	caps := []byte{0x01, 0x07, 0x00, 0x60, 0x81, 0xcf, 0xff, 0xfe, 0x3e, 0x02, 0x07, 0x00, 0x00, 0x00, 0x78, 0xc0, 0x00, 0x0d}
	rec = append(rec, 0xE2, byte(len(caps)), 0) // TDS_CAPABILITY
	rec = append(rec, caps...)
	var out []byte
	for len(rec) > 0 {
		n := min(len(rec), 512-HeaderLen)
		st := Status(0)
		if n == len(rec) {
			st = StatusEOM
		}
		p := pkt(TypePreTDS7Login, st, rec[:n])
		p[6] = 0 // packet number
		out = append(out, p...)
		rec = rec[n:]
	}
	return out
}

// sybaseLoginAck is a Sybase server's answer to the login: TDS_LOGINACK
// (status TDS_LOG_SUCCEED, TDS 5.0, "SQL Server" 15.7), TDS_DONE.
func sybaseLoginAck() []byte {
	ack := cat([]byte{5, 5, 0, 0, 0, 10}, []byte("SQL Server"), []byte{15, 7, 0, 0})
	b := cat([]byte{0xAD}, binary.LittleEndian.AppendUint16(nil, uint16(len(ack))), ack, []byte{0xFD, 0, 0, 0, 0, 0, 0, 0, 0})
	return pkt(TypeResponse, StatusEOM, b)
}

// sybaseLanguage is a Sybase request picked up mid-stream: a TDS_BUF_NORMAL
// packet (type 0x0F) holding a TDS_LANGUAGE token.
func sybaseLanguage(sql string) []byte {
	tok := cat([]byte{0x21}, binary.LittleEndian.AppendUint32(nil, uint32(1+len(sql))), []byte{0}, []byte(sql))
	return pkt(0x0F, StatusEOM, tok)
}

// TestSybaseTDS5IsRecognised: Sybase TDS 5.0 shares the packet header with
// Microsoft TDS but nothing after it. A Sybase login (type 0x02 with the
// TDS 5.0 login record) or a Sybase-only packet type is recognised: one
// decode.gave_up notice, never tds.malformed, however the bytes are cut.
func TestSybaseTDS5IsRecognised(t *testing.T) {
	tests := []struct {
		name       string
		client     []byte
		server     []byte
		wantReason string
	}{
		{"TDS 5.0 login", sybaseLogin([4]byte{5, 0, 0, 0}), sybaseLoginAck(), "Sybase TDS 5.0: not decoded"},
		{"TDS_BUF_NORMAL mid-stream", sybaseLanguage("select @@version"), nil, "Sybase TDS 5.0: not decoded (packet type 0x0f)"},
		{"TDS 4.2 login", sybaseLogin([4]byte{4, 2, 0, 0}), nil, "TDS 4.2 (pre-TDS 7) login: not decoded"},
	}
	for _, tc := range tests {
		for _, ch := range []struct {
			name  string
			chunk chunker
		}{{"whole", whole}, {"bytes", bytewise}, {"random", randomSplit(5)}} {
			t.Run(tc.name+"/"+ch.name, func(t *testing.T) {
				if !Detect(cli, tc.client) && tc.client[0] == byte(TypePreTDS7Login) {
					t.Errorf("Detect does not route the login to TDS")
				}
				f := newFeeder(DefaultConfig())
				for _, piece := range ch.chunk(tc.client) {
					f.c.Feed(cli, piece, tcpstate.Position{Frame: 4, Time: f.now})
				}
				for _, piece := range ch.chunk(tc.server) {
					f.c.Feed(srv, piece, tcpstate.Position{Frame: 6, Time: f.now})
				}
				if got := f.c.Finished(); got != "" {
					t.Errorf("Finished() = %q on an undecoded connection", got)
				}
				f.close()
				if d := cmp.Diff([]string{"decode.gave_up/notice"}, eventKinds(f.rep)); d != "" {
					t.Fatalf("events (-want +got):\n%s\n%+v", d, f.rep.Events)
				}
				e := f.rep.Events[0]
				if e.Evidence["reason"] != tc.wantReason || e.Evidence["decoder"] != "tds" || e.Frame != 4 {
					t.Errorf("event %+v", e)
				}
			})
		}
	}
}

// TestZeroLengthPreloginOption: a PRELOGIN option of length zero (SQL
// Server 2022 sends one) is listed with no value, whatever option it is
// and wherever its offset points; the others decode as usual.
func TestZeroLengthPreloginOption(t *testing.T) {
	// A server PRELOGIN response: VERSION 16.0.1000, ENCRYPTION
	// ENCRYPT_OFF, INSTOPT "", THREADID empty, MARS 0, then the option
	// under test with length 0, terminator.
	build := func(opt PreloginOption, off uint16) []byte {
		table := []byte{0x00, 0, 31, 0, 6, 0x01, 0, 37, 0, 1, 0x02, 0, 38, 0, 1, 0x03, 0, 39, 0, 0, 0x04, 0, 39, 0, 1,
			byte(opt), byte(off >> 8), byte(off), 0, 0, 0xFF}
		return cat(table, []byte{16, 0, 0x03, 0xe8, 0, 0}, []byte{0}, []byte{0}, []byte{0})
	}
	for _, tc := range []struct {
		name string
		opt  PreloginOption
		off  uint16
	}{
		{"FEDAUTHREQUIRED", OptFedAuthRequired, 40},
		{"NONCEOPT", OptNonce, 40},
		{"TRACEID", OptTraceID, 40},
		{"unknown option 0x08", PreloginOption(0x08), 40},
		{"offset past the payload", OptFedAuthRequired, 0xFFFF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := build(tc.opt, tc.off)
			p, rest, err := ParsePrelogin(b)
			if err != nil {
				t.Fatalf("ParsePrelogin: %v", err)
			}
			if len(rest) != 0 {
				t.Errorf("%d bytes left", len(rest))
			}
			want := []PreloginOption{OptVersion, OptEncryption, OptInstOpt, OptThreadID, OptMARS, tc.opt}
			if d := cmp.Diff(want, p.Options); d != "" {
				t.Errorf("options (-want +got):\n%s", d)
			}
			if !p.HasEncryption || p.Encryption != EncryptOff || p.HasFedAuth || p.HasTraceID || p.HasNonce || p.HasThreadID {
				t.Errorf("prelogin %+v", p)
			}
			// Through a Conn: the response decides encryption, nothing is malformed.
			f := newFeeder(DefaultConfig())
			f.send(cli, 0, pkt(TypePrelogin, StatusEOM, preloginPayload(EncryptOff)))
			f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, b))
			f.close()
			if n := len(f.rep.OfKind(health.TDSMalformed)); n != 0 {
				t.Errorf("%d malformed events: %+v", n, f.rep.Events)
			}
			if f.c.Stats().Encryption != "login only" {
				t.Errorf("encryption %q, want login only", f.c.Stats().Encryption)
			}
		})
	}
	// A zero-length option is still an option: twice is a duplicate.
	dup := []byte{0x06, 0, 11, 0, 0, 0x06, 0, 11, 0, 0, 0xFF}
	if _, _, err := ParsePrelogin(dup); err == nil {
		t.Errorf("duplicate zero-length option accepted")
	}
}

// TestFinishedAfterLastAnswer: tds.Conn is a tcpstate.Finisher: "" while a
// request is outstanding or a message partial, then that every request was
// answered.
func TestFinishedAfterLastAnswer(t *testing.T) {
	var _ tcpstate.Finisher = (*Conn)(nil)
	const done = "every TDS request was answered"
	f := newFeeder(DefaultConfig())
	steps := []struct {
		dir  tcpstate.Dir
		b    []byte
		want string
	}{
		{cli, pkt(TypeSQLBatch, StatusEOM, batchPayload("select 1")), ""},
		{srv, pkt(TypeResponse, 0, doneTok(0x01, 0xc1, 1)), ""}, // first packet, no EOM
		{srv, pkt(TypeResponse, StatusEOM, doneTok(0x10, 0xc1, 1)), done},
		{cli, pkt(TypeSQLBatch, StatusEOM, batchPayload("select 2"))[:12], ""}, // partial packet
	}
	for i, st := range steps {
		f.send(st.dir, time.Millisecond, st.b)
		if got := f.c.Finished(); got != st.want {
			t.Errorf("step %d: Finished() = %q, want %q", i, got, st.want)
		}
	}
}

// TestMidStreamStartResyncs: a capture that starts inside a packet (the
// last 20 bytes of one, then whole packets) is resynchronised and reported
// as decode.resync (Info) with the bytes skipped, not as malformed; the
// packets after it are decoded.
func TestMidStreamStartResyncs(t *testing.T) {
	tail := pkt(TypeSQLBatch, StatusEOM, batchPayload("select name from sys.databases"))
	tail = tail[len(tail)-20:]
	f := newFeeder(DefaultConfig())
	f.send(cli, 0, cat(tail, pkt(TypeSQLBatch, StatusEOM, batchPayload("select 1"))))
	f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, doneTok(0x10, 0xc1, 1)))
	f.close()
	if d := cmp.Diff([]string{"decode.resync/info"}, eventKinds(f.rep)); d != "" {
		t.Fatalf("events (-want +got):\n%s\n%+v", d, f.rep.Events)
	}
	e := f.rep.Events[0]
	if e.Evidence["skipped"] != 20 || e.Evidence["reason"] != "mid_stream" || e.Evidence["dir"] != "client" {
		t.Errorf("resync evidence %+v", e.Evidence)
	}
	if r := f.c.Stats().Requests; len(r) != 1 || r[0].Text != "select 1" || !r[0].Answered {
		t.Errorf("requests %+v", r)
	}
	if !strings.Contains(e.Message, "inside a packet") {
		t.Errorf("message %q", e.Message)
	}
}
