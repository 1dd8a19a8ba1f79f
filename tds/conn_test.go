package tds

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// recTLS is a fake TLS handler that records what it is fed.
type recTLS struct {
	got    [2][]byte
	frames [2][]int64
	gaps   int
	closed bool
}

func (r *recTLS) Feed(dir tcpstate.Dir, b []byte, at tcpstate.Position) {
	r.got[dir] = append(r.got[dir], b...)
	r.frames[dir] = append(r.frames[dir], at.Frame)
}
func (r *recTLS) Gap(tcpstate.Dir, int, tcpstate.Position)      { r.gaps++ }
func (r *recTLS) Close(tcpstate.CloseReason, tcpstate.Position) { r.closed = true }

// TestTLSInsidePreloginIsHandedOff: with encryption negotiated, the TLS
// records inside PRELOGIN packets and the raw TLS records after them go to
// Config.TLS's handler unchanged; with ENCRYPT_OFF (login only) the stream
// returns to plain TDS after the encrypted LOGIN7.
func TestTLSInsidePreloginIsHandedOff(t *testing.T) {
	for _, tc := range []struct {
		name      string
		enc       Encryption
		wantBatch bool
	}{{"login only", EncryptOff, true}, {"all", EncryptOn, false}} {
		t.Run(tc.name, func(t *testing.T) {
			tls := &recTLS{}
			cfg := DefaultConfig()
			cfg.TLS = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return tls }
			f := newFeeder(cfg)
			f.send(cli, 0, pkt(TypePrelogin, StatusEOM, preloginPayload(tc.enc)))
			f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, preloginPayload(tc.enc)))
			hello := []byte{0x16, 0x03, 0x01, 0x00, 0x04, 1, 2, 3, 4}
			// The ClientHello spans two PRELOGIN packets.
			f.send(cli, time.Millisecond, cat(pkt(TypePrelogin, 0, hello[:6]), pkt(TypePrelogin, StatusEOM, hello[6:])))
			shello := []byte{0x16, 0x03, 0x03, 0x00, 0x02, 0xAA, 0xBB}
			f.send(srv, time.Millisecond, pkt(TypePrelogin, StatusEOM, shello))
			finished := []byte{0x14, 0x03, 0x03, 0x00, 0x01, 0x01}
			f.send(cli, time.Millisecond, pkt(TypePrelogin, StatusEOM, finished))
			// Raw TLS: an encrypted LOGIN7, split across segments.
			login := []byte{0x17, 0x03, 0x03, 0x00, 0x05, 9, 9, 9, 9, 9}
			f.send(cli, time.Millisecond, login[:3])
			f.send(cli, 0, login[3:7])
			f.send(cli, 0, login[7:])
			var srvNext []byte
			if tc.enc == EncryptOff {
				srvNext = pkt(TypeResponse, StatusEOM, doneTok(0, 0, 0))
			} else {
				srvNext = []byte{0x17, 0x03, 0x03, 0x00, 0x01, 0x42}
			}
			f.send(srv, time.Millisecond, srvNext)
			batch := pkt(TypeSQLBatch, StatusEOM, batchPayload("select 1"))
			if tc.enc != EncryptOff {
				batch = []byte{0x17, 0x03, 0x03, 0x00, 0x02, 7, 7}
			}
			f.send(cli, time.Millisecond, batch)
			f.close()

			wantCli := cat(hello, finished, login)
			wantSrv := append([]byte(nil), shello...)
			if tc.enc != EncryptOff {
				wantSrv = append(wantSrv, srvNext...)
				wantCli = append(wantCli, batch...)
			}
			if !bytes.Equal(tls.got[cli], wantCli) {
				t.Errorf("client TLS bytes\n got %x\nwant %x", tls.got[cli], wantCli)
			}
			if !bytes.Equal(tls.got[srv], wantSrv) {
				t.Errorf("server TLS bytes\n got %x\nwant %x", tls.got[srv], wantSrv)
			}
			if !tls.closed {
				t.Error("TLS handler not closed")
			}
			sawBatch := false
			for _, m := range f.rep.Messages {
				if m.Fields["sql"] == "select 1" {
					sawBatch = true
				}
			}
			if sawBatch != tc.wantBatch {
				t.Errorf("plain SQL batch decoded = %v, want %v", sawBatch, tc.wantBatch)
			}
			st := f.c.Stats()
			if st.TLSBytes[cli] == 0 || st.TLSBytes[srv] == 0 {
				t.Errorf("TLS bytes not counted: %v", st.TLSBytes)
			}
		})
	}
}

// TestTDS8StrictStartsWithTLS: a connection that starts with a TLS record
// (TDS 8.0) is handed to the TLS handler from the first byte.
func TestTDS8StrictStartsWithTLS(t *testing.T) {
	tls := &recTLS{}
	cfg := DefaultConfig()
	cfg.TLS = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return tls }
	f := newFeeder(cfg)
	rec := []byte{0x16, 0x03, 0x01, 0x00, 0x02, 0x01, 0x00}
	f.send(cli, 0, rec)
	f.close()
	if !bytes.Equal(tls.got[cli], rec) {
		t.Errorf("got %x", tls.got[cli])
	}
}

func TestEncryptionMismatch(t *testing.T) {
	f := newFeeder(DefaultConfig())
	f.send(cli, 0, pkt(TypePrelogin, StatusEOM, preloginPayload(EncryptReq)))
	f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, preloginPayload(EncryptNotSup)))
	f.close()
	ev := f.rep.OfKind(health.TDSEncryptionMismatch)
	if len(ev) != 1 || ev[0].Evidence["client"] != "ENCRYPT_REQ" || ev[0].Evidence["server"] != "ENCRYPT_NOT_SUP" {
		t.Fatalf("events: %+v", f.rep.Events)
	}
	if n := len(f.rep.OfKind(health.TDSPreloginStalled)); n != 0 {
		t.Errorf("prelogin answered but %d stalled events", n)
	}
}

// TestAttentionSlowQueryAndErrors: a batch cancelled after 2 s (attention),
// answered with DONE(ATTN) after 3 s (slow), then a batch failing with a
// class-16 error.
func TestAttentionSlowQueryAndErrors(t *testing.T) {
	f := newFeeder(DefaultConfig())
	f.send(cli, 0, pkt(TypeSQLBatch, StatusEOM, batchPayload("waitfor delay '00:01'")))
	f.send(cli, 2*time.Second, pkt(TypeAttention, StatusEOM, nil))
	f.send(srv, time.Second, pkt(TypeResponse, StatusEOM, doneTok(DoneAttn, 0xC1, 0)))
	f.send(cli, time.Second, pkt(TypeSQLBatch, StatusEOM, batchPayload("select * from nosuch")))
	f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, cat(errorTok(208, 1, 16, "Invalid object name 'nosuch'."), doneTok(DoneError, 0xC1, 0))))
	f.close()
	att := f.rep.OfKind(health.TDSAttention)
	if len(att) != 1 || att[0].Evidence["after_ms"] != 2000.0 || att[0].Frame != 2 {
		t.Errorf("attention: %+v", att)
	}
	slow := f.rep.OfKind(health.TDSSlowQuery)
	if len(slow) != 1 || slow[0].Evidence["server_ms"] != 3000.0 || slow[0].Evidence["sql"] != "waitfor delay '00:01'" {
		t.Errorf("slow: %+v", slow)
	}
	errs := f.rep.OfKind(health.TDSError)
	if len(errs) != 1 || errs[0].Evidence["number"] != int32(208) || errs[0].Evidence["class"] != uint8(16) {
		t.Errorf("errors: %+v", errs)
	}
	st := f.c.Stats()
	want := []Request{
		{Frame: 1, Type: TypeSQLBatch, Text: "waitfor delay '00:01'", Session: -1, Answered: true, ResponseFrame: 3, ServerTime: 3 * time.Second, Attention: true},
		{Frame: 4, Type: TypeSQLBatch, Text: "select * from nosuch", Session: -1, Answered: true, ResponseFrame: 5, ServerTime: time.Millisecond, Errors: []int32{208}},
	}
	for i := range st.Requests {
		st.Requests[i].Time = time.Time{}
	}
	if diff := cmp.Diff(want, st.Requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if st.Attentions != 1 || st.Errors != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestRoutingEnvChange(t *testing.T) {
	f := newFeeder(DefaultConfig())
	server := ucs2enc("node2.example")
	rd := cat([]byte{0}, u16le(11433), u16le(uint16(len(server)/2)), server)
	body := cat([]byte{EnvRouting}, u16le(uint16(len(rd))), rd, u16le(0))
	f.send(cli, 0, pkt(TypeSQLBatch, StatusEOM, batchPayload("x")))
	f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, cat([]byte{byte(TokenEnvChange)}, u16le(uint16(len(body))), body, doneTok(0, 0, 0))))
	f.close()
	ev := f.rep.OfKind(health.TDSRouting)
	if len(ev) != 1 || ev[0].Evidence["server"] != "node2.example" || ev[0].Evidence["port"] != uint16(11433) || ev[0].Frame != 2 {
		t.Fatalf("routing: %+v", ev)
	}
}

// smp builds an SMP packet.
func smp(flags SMPFlags, sid uint16, seq uint32, payload []byte) []byte {
	b := []byte{smpID, byte(flags)}
	b = append(b, u16le(sid)...)
	b = append(b, u32le(uint32(smpHeaderLen+len(payload)))...)
	b = append(b, u32le(seq)...)
	b = append(b, u32le(4)...)
	return append(b, payload...)
}

// TestMARSSessions: two SMP sessions interleave requests; each response
// is matched with its own session's request.
func TestMARSSessions(t *testing.T) {
	f := newFeeder(DefaultConfig())
	f.send(cli, 0, cat(smp(SMPSyn, 0, 0, nil), smp(SMPSyn, 1, 0, nil)))
	f.send(cli, time.Millisecond, smp(SMPData, 0, 1, pkt(TypeSQLBatch, StatusEOM, batchPayload("select a"))))
	f.send(cli, time.Millisecond, smp(SMPData, 1, 1, pkt(TypeSQLBatch, StatusEOM, batchPayload("select b"))))
	f.send(srv, 10*time.Millisecond, smp(SMPData, 1, 1, pkt(TypeResponse, StatusEOM, doneTok(DoneCount, 0xC1, 7))))
	f.send(srv, 10*time.Millisecond, smp(SMPData, 0, 1, pkt(TypeResponse, StatusEOM, doneTok(DoneCount, 0xC1, 3))))
	f.send(cli, time.Millisecond, smp(SMPFin, 0, 2, nil))
	f.close()
	st := f.c.Stats()
	got := map[string][2]any{}
	for _, r := range st.Requests {
		got[r.Text] = [2]any{r.Session, r.Rows}
	}
	want := map[string][2]any{"select a": {0, int64(3)}, "select b": {1, int64(7)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests by session (-want +got):\n%s", diff)
	}
	if len(f.rep.OfKind(health.TDSMalformed)) != 0 {
		t.Errorf("malformed: %+v", f.rep.Events)
	}
}

// TestResyncAfterGapAndGarbage: after a gap and after garbage the decoder
// finds the next packet header; the malformed data is reported once.
func TestResyncAfterGapAndGarbage(t *testing.T) {
	f := newFeeder(DefaultConfig())
	b1 := pkt(TypeSQLBatch, StatusEOM, batchPayload("one"))
	f.send(cli, 0, b1[:10])
	f.c.Gap(cli, 100, tcpstate.Position{Frame: 2, Time: f.now})
	f.frame++
	f.send(cli, 0, cat([]byte{1, 2, 3}, pkt(TypeSQLBatch, StatusEOM, batchPayload("two"))))
	f.send(cli, 0, cat([]byte("garbage!"), pkt(TypeSQLBatch, StatusEOM, batchPayload("three"))))
	f.close()
	var sqls []string
	for _, m := range f.rep.Messages {
		if s, ok := m.Fields["sql"].(string); ok {
			sqls = append(sqls, s)
		}
	}
	if diff := cmp.Diff([]string{"two", "three"}, sqls); diff != "" {
		t.Errorf("decoded after resync (-want +got):\n%s", diff)
	}
	if n := len(f.rep.OfKind(health.TDSMalformed)); n != 1 {
		t.Errorf("%d malformed events, want 1", n)
	}
}

// TestRejectOversizedMessageIsCapped: a client message beyond MaxMessage is
// framed and counted, its decode marked truncated, memory stays capped.
func TestRejectOversizedMessageIsCapped(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Limits.MaxMessage = 1024
	cfg.Limits.MaxSQLText = 100
	f := newFeeder(cfg)
	sql := bytes.Repeat([]byte("x"), 5000)
	p := batchPayload(string(sql))
	var stream []byte
	for len(p) > 0 {
		n := min(len(p), 4000)
		st := Status(0)
		if n == len(p) {
			st = StatusEOM
		}
		stream = append(stream, pkt(TypeSQLBatch, st, p[:n])...)
		p = p[n:]
	}
	f.send(cli, 0, stream)
	f.close()
	// Two packets reported on their own (partial), then the message.
	if len(f.rep.Messages) != 3 || f.rep.Messages[0].Fields["partial"] != true || f.rep.Messages[2].Fields["capped"] != true || len(f.rep.Messages[2].Fields["sql"].(string)) != 100 {
		t.Fatalf("messages: %+v", f.rep.Messages)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  tcpstate.Dir
		in   []byte
		want bool
	}{
		{"prelogin", cli, mustHex(t, specPrelogin), true},
		{"login7", cli, mustHex(t, specLogin7), true},
		{"batch", cli, mustHex(t, specBatch), true},
		{"response", srv, mustHex(t, specLoginResponse), true},
		{"response from client (ends swapped)", cli, mustHex(t, specLoginResponse), true},
		{"batch from server (ends swapped)", srv, mustHex(t, specBatch), true},
		{"http", cli, []byte("GET / HTTP/1.1\r\n"), false},
		{"tls", cli, []byte{0x16, 3, 1, 0, 5, 1, 2, 3}, false},
		{"short", cli, []byte{0x12, 1, 0}, false},
		{"bad status", cli, []byte{0x12, 0x41, 0, 8, 0, 0, 1, 0}, false},
		{"bad length", cli, []byte{0x12, 1, 0, 4, 0, 0, 1, 0}, false},
		{"window", cli, []byte{0x12, 1, 0, 8, 0, 0, 1, 7}, false},
		{"bad next", cli, append(pkt(TypeSQLBatch, 0, []byte{1, 2}), 0xEE, 1, 0, 8, 0, 0, 1, 0), false},
	} {
		if got := Detect(tc.dir, tc.in); got != tc.want {
			t.Errorf("%s: Detect = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestSwappedEndsAreDetected: a connection whose ends were guessed wrong
// (the server's bytes delivered as the client's) decodes as if they were
// right.
func TestSwappedEndsAreDetected(t *testing.T) {
	f := newFeeder(DefaultConfig())
	f.send(srv, 0, pkt(TypeSQLBatch, StatusEOM, batchPayload("select 1")))
	f.send(cli, time.Millisecond, pkt(TypeResponse, StatusEOM, doneTok(DoneCount, 0xC1, 1)))
	f.close()
	st := f.c.Stats()
	if len(st.Requests) != 1 || st.Requests[0].Text != "select 1" || !st.Requests[0].Answered || st.Requests[0].Rows != 1 {
		t.Fatalf("requests: %+v", st.Requests)
	}
	if st.Server.Port() != 50000 {
		t.Errorf("stats server %v, want the swapped end", st.Server)
	}
	if n := len(f.rep.OfKind(health.TDSMalformed)); n != 0 {
		t.Errorf("%d malformed events", n)
	}
}

// TestResyncIsNotQuadratic: after a gap, a candidate header that claims
// 65535 bytes, followed by single-byte deliveries, must not be rescanned on
// every byte.
func TestResyncIsNotQuadratic(t *testing.T) {
	f := newFeeder(DefaultConfig())
	f.c.Gap(cli, 10, tcpstate.Position{Frame: 1})
	f.send(cli, 0, []byte{0x01, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x01, 0x00})
	zero := []byte{0}
	for i := 0; i < 70000; i++ {
		f.c.Feed(cli, zero, tcpstate.Position{Frame: 2})
	}
	if n := f.c.half[cli].scans; n > 200 {
		t.Errorf("%d resync scans for 70000 one-byte deliveries", n)
	}
	if n := len(f.c.half[cli].buf); n > 0xFFFF+2*HeaderLen {
		t.Errorf("buffer grew to %d", n)
	}
}

// TestTokenStreamCoverage: a response with every token family the decoder
// names, split over three packets at awkward points.
func TestTokenStreamCoverage(t *testing.T) {
	coll := []byte{9, 4, 0xD0, 0, 0x34}
	meta := cat([]byte{byte(TokenColMetadata)}, u16le(3),
		u32le(0), u16le(1), []byte{byte(TypeIntN), 4}, []byte{2}, ucs2enc("id"),
		u32le(0), u16le(1), []byte{byte(TypeNVarChar)}, u16le(20), coll, []byte{4}, ucs2enc("name"),
		u32le(0), u16le(1), []byte{byte(TypeBigVarChar)}, u16le(0xFFFF), coll, []byte{4}, ucs2enc("note"))
	row := cat([]byte{byte(TokenRow), 4}, u32le(7), u16le(4), ucs2enc("ab"),
		u64le(3), u32le(2), []byte("xy"), u32le(1), []byte("z"), u32le(0))
	nbc := cat([]byte{byte(TokenNBCRow), 0x06}, []byte{4}, u32le(8)) // name and note NULL
	order := cat([]byte{byte(TokenOrder)}, u16le(2), u16le(1))
	rv := cat([]byte{byte(TokenReturnValue)}, u16le(1), []byte{4}, ucs2enc("@out"), []byte{1}, u32le(0), u16le(0),
		[]byte{byte(TypeIntN), 4, 4}, u32le(99))
	begin := cat([]byte{byte(TokenEnvChange)}, u16le(11), []byte{EnvBeginTran, 8}, []byte{1, 2, 3, 4, 5, 6, 7, 8}, []byte{0})
	info := func() []byte {
		body := cat(u32le(5701), []byte{2, 0}, u16le(2), ucs2enc("hi"), []byte{0}, []byte{0}, u32le(0))
		return cat([]byte{byte(TokenInfo)}, u16le(uint16(len(body))), body)
	}()
	feat := cat([]byte{byte(TokenFeatureExtAck)}, []byte{byte(FeatureUTF8Support)}, u32le(1), []byte{1}, []byte{0xFF})
	sspi := cat([]byte{byte(TokenSSPI)}, u16le(3), []byte{1, 2, 3})
	fedauth := cat([]byte{byte(TokenFedAuthInfo)}, u32le(4), u32le(0))
	rs := cat([]byte{byte(TokenReturnStatus)}, u32le(0))
	stream := cat(begin, info, meta, row, nbc, order, doneTok(DoneCount|DoneMore, 0xC1, 2), rv, rs, feat, sspi, fedauth, doneTok(0, 0, 0))

	f := newFeeder(DefaultConfig())
	f.send(cli, 0, pkt(TypeSQLBatch, StatusEOM, batchPayload("select id, name, note from t")))
	a, b := len(stream)/3, 2*len(stream)/3
	f.send(srv, time.Millisecond, cat(pkt(TypeResponse, 0, stream[:a]), pkt(TypeResponse, 0, stream[a:b])))
	f.send(srv, 0, pkt(TypeResponse, StatusEOM, stream[b:]))
	f.close()
	var fields map[string]any
	for _, m := range f.rep.Messages {
		if m.Fields["dir"] == "server" {
			fields = m.Fields
		}
	}
	want := []string{
		"ENVCHANGE(begin_tran=0102030405060708)", "INFO(5701)",
		"COLMETADATA(id int, name nvarchar(10), note varchar(max))", "ROW", "NBCROW", "ORDER",
		"DONE(status=0x11,rows=2)", "RETURNVALUE(@out int)", "RETURNSTATUS(0)", "FEATUREEXTACK(UTF8_SUPPORT)",
		"SSPI", "FEDAUTHINFO", "DONE(status=0x0)",
	}
	if diff := cmp.Diff(want, fields["tokens"]); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	wantRows := [][]any{{int64(7), "ab", "xyz"[:2] + "…"}, {int64(8), nil, nil}}
	if diff := cmp.Diff(wantRows, fields["row_values"]); diff != "" {
		t.Errorf("row values (-want +got):\n%s", diff)
	}
	if fields["rows"] != int64(2) || len(f.rep.OfKind(health.TDSMalformed)) != 0 {
		t.Errorf("rows %v, events %+v", fields["rows"], f.rep.Events)
	}
}

func u64le(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// TestNoMetadataRowsAreNotMalformed: rows sent with NoMetaData (the
// client's fNoMetaData) cannot be decoded but are not an error.
func TestNoMetadataRowsAreNotMalformed(t *testing.T) {
	f := newFeeder(DefaultConfig())
	f.send(cli, 0, pkt(TypeSQLBatch, StatusEOM, batchPayload("x")))
	f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, cat([]byte{byte(TokenColMetadata), 0xFF, 0xFF}, []byte{byte(TokenRow), 1, 2, 3}, doneTok(DoneCount, 0xC1, 1))))
	f.close()
	if n := len(f.rep.OfKind(health.TDSMalformed)); n != 0 {
		t.Errorf("%d malformed events", n)
	}
	if r := f.c.Stats().Requests; len(r) != 1 || !r[0].Answered {
		t.Errorf("requests %+v", r)
	}
}

// TestMARSResyncAfterGap: after a gap in a MARS connection the decoder
// resynchronises on the next SMP header.
func TestMARSResyncAfterGap(t *testing.T) {
	f := newFeeder(DefaultConfig())
	f.send(cli, 0, smp(SMPSyn, 0, 0, nil))
	f.c.Gap(cli, 50, tcpstate.Position{Frame: 2, Time: f.now})
	f.frame++
	f.send(cli, time.Millisecond, cat([]byte{0xde, 0xad}, smp(SMPData, 0, 2, pkt(TypeSQLBatch, StatusEOM, batchPayload("after gap")))))
	f.close()
	st := f.c.Stats()
	if len(st.Requests) != 1 || st.Requests[0].Text != "after gap" || st.Requests[0].Session != 0 {
		t.Fatalf("requests %+v", st.Requests)
	}
}

// TestResponseEndingInsideATokenIsMalformed: once the version is known from
// the login, a complete response whose last token is cut short is a broken
// token stream (tds.malformed); picked up mid-stream, with the version
// unknown, the leftover bytes are only counted.
func TestResponseEndingInsideATokenIsMalformed(t *testing.T) {
	cut := cat(doneTok(0, 0, 1)[:1], []byte{0xff, 0xff}) // a DONE token missing 10 of its 12 bytes
	for _, tc := range []struct {
		name    string
		version TDSVersion
		want    int
	}{{"version known", TDS74, 1}, {"mid-stream", 0, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFeeder(DefaultConfig())
			f.c.version = tc.version
			f.send(cli, 0, pkt(TypeSQLBatch, StatusEOM, batchPayload("select 1")))
			f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, cat(doneTok(0x10, 0xc1, 1), cut)))
			f.close()
			if got := len(f.rep.OfKind(health.TDSMalformed)); got != tc.want {
				t.Errorf("%d tds.malformed events, want %d: %+v", got, tc.want, f.rep.Events)
			}
		})
	}
}

// infoTok builds an INFO token ([MS-TDS] 2.2.7.13) with a procedure name.
func infoTok(number int32, msg, server, proc string, line int32) []byte {
	body := cat(u32le(uint32(number)), []byte{1, 0}, u16le(uint16(len([]rune(msg)))), ucs2enc(msg),
		[]byte{byte(len([]rune(server)))}, ucs2enc(server), []byte{byte(len([]rune(proc)))}, ucs2enc(proc), u32le(uint32(line)))
	return cat([]byte{byte(TokenInfo)}, u16le(uint16(len(body))), body)
}

// TestServerMessagesKeepTheirText: ERROR and INFO tokens are listed in
// the decoded response with their text, server, procedure and line; the
// first error's text is error_message.
func TestServerMessagesKeepTheirText(t *testing.T) {
	f := newFeeder(DefaultConfig())
	f.send(cli, 0, pkt(TypeSQLBatch, StatusEOM, batchPayload("exec dbo.p")))
	f.send(srv, time.Millisecond, pkt(TypeResponse, StatusEOM, cat(infoTok(5701, "Changed database context to 'sales'.", "DB1", "p", 3),
		errorTok(208, 1, 16, "Invalid object name 'nosuch'."), doneTok(DoneError, 0xC1, 0))))
	f.close()
	var resp map[string]any
	for _, m := range f.rep.Messages {
		if m.Fields["dir"] == "server" {
			resp = m.Fields
		}
	}
	want := []map[string]any{
		{"kind": "info", "number": int32(5701), "state": uint8(1), "class": uint8(0), "error_message": "Changed database context to 'sales'.",
			"server": "DB1", "procedure": "p", "line": int32(3)},
		{"kind": "error", "number": int32(208), "state": uint8(1), "class": uint8(16), "error_message": "Invalid object name 'nosuch'.",
			"server": "SRV", "line": int32(1)},
	}
	if diff := cmp.Diff(want, resp["server_messages"]); diff != "" {
		t.Errorf("server_messages (-want +got):\n%s", diff)
	}
	if resp["error_message"] != "Invalid object name 'nosuch'." {
		t.Errorf("error_message %v", resp["error_message"])
	}
}
