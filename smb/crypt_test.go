package smb

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/ccm"
	"github.com/nettrace/nettrace/tcpstate"
)

// newTestConn returns a Conn whose events and messages go to a collector.
func newTestConn(cfg Config) (*Conn, *health.Collector) {
	col := &health.Collector{KeepMessages: true}
	ctx := &tcpstate.StreamContext{Flow: "10.0.0.1:50000->10.0.0.2:445/tcp", Reporter: col}
	return NewConn(ctx, cfg), col
}

// feedPDUs feeds SMB messages, each in its own NBSS packet and frame
// (frames 1, 2, ...), in the given directions, and closes the Conn.
func feedPDUs(c *Conn, split splitter, pdus ...struct {
	dir tcpstate.Dir
	msg []byte
}) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var at tcpstate.Position
	for i, p := range pdus {
		at = tcpstate.Position{Frame: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond)}
		for _, ch := range split(nbssWrap(p.msg)) {
			c.Feed(p.dir, ch, at)
		}
	}
	c.Close(tcpstate.CloseEndOfCapture, at)
}

type pdu = struct {
	dir tcpstate.Dir
	msg []byte
}

// blogVectors are the encrypted WRITE and READ exchanges of Microsoft's
// "SMB 3.1.1 Encryption in Windows 10" (A.1 AES-128-GCM, A.2 AES-128-CCM;
// the client-to-server and server-to-client keys) and "Encryption in SMB
// 3.0: a protocol perspective" (AES-128-CCM; the session key). Each
// writes, then reads back, "Smb3 encryption testing".
func blogVectors(t *testing.T) []struct {
	name    string
	session uint64
	keys    SessionKeys
	pdus    []pdu
} {
	h := func(s ...string) []byte { return mustHex(t, strings.Join(s, "")) }
	return []struct {
		name    string
		session uint64
		keys    SessionKeys
		pdus    []pdu
	}{
		{"3.1.1 AES-128-GCM", 0x100000000025, SessionKeys{ClientToServer: h("a2f5e80e5d59103034f32e52f698e5ec"), ServerToClient: h("748c50868c90f302962a5c35f5f9a8bf")}, []pdu{
			{c2s, h("FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000",
				"0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02",
				"D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4",
				"4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9",
				"1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8")},
			{s2c, h("FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000",
				"00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8",
				"F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B",
				"82E03C9E18A050FF0EA1C967")},
			{c2s, h("FD534D426DAC0B6FD85A3ED42BB917DA38FE0386D7AA8C6D36859243B715E0A60000000071000000",
				"00000100250000000010000088A47BF09CA3C3141CDD7306BE9D9475AB24FCCB833D77461C041F8F",
				"B983D0C188F0729272B31D9D3D0DC6B687C069EEE0CC8EACA2C536D019ACC9E185D1EB630E0FCB79",
				"3EEECEB06D82A1D77706E700DBEBFB4FEB54D7AD2D97E7288804F90757FE4D08D6A84A3FF433E745",
				"1E768E4699")},
			{s2c, h("FD534D427F714B3B9D8FA1198584E71C2BAA1CB6E16831DD2E8EB7B4000000000000000067000000",
				"000001002500000000100000FECEDF4D03BB11A6CC5D8A53BE33D6D8701986342B4197D306E16F9C",
				"BB218E92F7F8281F51CE68BB85A20D87DE90EBBF80538066D1C37513C0A58D70936D537B624F5500",
				"202A612B6CD30D448A82791A0B2E049ED512AFAEFB06E98AB3D6F931D7D50DB2DBD36A")},
		}},
		{"3.1.1 AES-128-CCM", 0x100000000021, SessionKeys{ClientToServer: h("dfaaa31aae40a2485d47ac4df09fda1d"), ServerToClient: h("95c544aef6072680da1ce49a68a97fa6")}, []pdu{
			{c2s, h("FD534D42E89551D666DAB8993488F5A97103116C9F6F1EAAD7E9F24AACD38F000000000087000000",
				"00000100210000000010000056A74778199A9D2B6E9C3A376FD88D27680694FED253A313BEB07381",
				"AE8689F973ACDB8D716E4477803BCE53A92E1B81FA3E965AD9AF2C89C08CE66A344664453B8FC881",
				"18EDC9814CF58E92AA465E6EFB09958A9FDAD96FBD55B36A710C30D5E7C64AD7B9449F9F17EDD024",
				"FE8BA79154F340A82740D1D5180C69B0A2DE6A4BA893BD55D3210E")},
			{s2c, h("FD534D42DD33EC41A927DD51476FE887C2D3C136D96831DD2E8EB7B4000000000000000050000000",
				"000001002100000000100000F783157E0F6F1C055D746753CA16D20C21088E2A67564E056C2F68A7",
				"F14F226C3BD809B7A2D52E5FE4ECF49821BC6001733430CF174E2764B3CCB213AAD8BB9FBAF6C15E",
				"13D9120965390E004A96A3F7")},
			{c2s, h("FD534D4235BF9600C841F0CDA9BD1BC3727B7E36A0F92E964EDC3049B86E19000000000071000000",
				"000001002100000000100000C4CCD3EB483A0638E69C99E391E7F64BCC10D6BEE46FEEA258C4BCAF",
				"792CB5A6E69283924081806DAB64827E9D14A5345D5221AB6DAFCB0E89FC2606B63D92163F4F6C93",
				"D1213D86ABF123B93EAD3AEF9A3471EFD68A423A00A6E0064D9AE3C842EFFFAD236A3BF25D37F4CD",
				"054C97DE18")},
			{s2c, h("FD534D42E241A13C7E1EE42ECF1FD69F3B8668C6DA6831DD2E8EB7B4000000000000000067000000",
				"00000100210000000010000015D67234FC8358D7BA1BF037ABC8EFD41A0A8F9BB04B16DEB1E85606",
				"BD8C2770823FE6239A286CB3E3D5762ABBD53FD8DE11ED491FE905E146A8FFCE09414AB741103D63",
				"7E28B19C6BA759B399DCC21FAE24CF2A455A13B215FC2857ABB513927F9F271D1C208B")},
		}},
		{"3.0 AES-128-CCM from the session key", 0x8e40014000011, SessionKeys{SessionKey: h("b4546771b515f766a86735532dd6c4f0")}, []pdu{
			{c2s, h("FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A",
				"744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5",
				"2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4",
				"4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5",
				"AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6",
				"C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB")},
			{s2c, h("FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014",
				"00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079",
				"E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787",
				"1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1",
				"77309E5B")},
			{s2c, h("FD534D42ABD518B68C2F04D7879F482B689EB83F870000000000000011000014",
				"00E4080067000000000001001100001400E40800493D6FE2BDBEB435CF5F5469",
				"70C7BB57BF20E713C75A3D045507E0D68E5C0346659D6FFB8AC1504A786CA2BB",
				"89C9E7FE4F313E910A04180D2D0EA7DF636329E5A3285984500EF86FE9D55DA4",
				"FAB9531CFDD4C551D47F3C73124BB4590A45052B694048B991CCF5")},
		}},
	}
}

// summary lists messages as "cmd resp=bool status length encrypted".
func summary(msgs []health.Message) []string {
	var out []string
	for _, m := range msgs {
		f := m.Fields
		out = append(out, fmt.Sprintf("%d %v resp=%v %v len=%v enc=%v", m.Frame, f["cmd"], f["is_response"], f["status_code"], f["length"], f["encrypted"]))
	}
	return out
}

// TestDecryptPublishedVectors decrypts the encrypted messages of
// Microsoft's SMB 3.0 and 3.1.1 test vectors with keys from a key table
// (derived keys for 3.1.1, the session key for 3.0), and decodes the WRITE
// and READ inside.
func TestDecryptPublishedVectors(t *testing.T) {
	want := map[string][]string{
		"3.1.1 AES-128-GCM": {"1 WRITE resp=false <nil> len=23 enc=true", "2 WRITE resp=true 0x00000000 len=23 enc=true",
			"3 READ resp=false <nil> len=23 enc=true", "4 READ resp=true 0x00000000 len=23 enc=true"},
		"3.0 AES-128-CCM from the session key": {"1 WRITE resp=false <nil> len=23 enc=true", "2 WRITE resp=true 0x00000000 len=23 enc=true",
			"3 READ resp=true 0x00000000 len=23 enc=true"},
	}
	want["3.1.1 AES-128-CCM"] = want["3.1.1 AES-128-GCM"]
	for _, v := range blogVectors(t) {
		for _, split := range []struct {
			name string
			fn   splitter
		}{{"whole", whole}, {"bytewise", bytewise}} {
			t.Run(v.name+"/"+split.name, func(t *testing.T) {
				keys := NewKeys()
				if err := keys.Add(v.session, v.keys); err != nil {
					t.Fatal(err)
				}
				cfg := DefaultConfig()
				cfg.Keys = keys
				c, col := newTestConn(cfg)
				feedPDUs(c, split.fn, v.pdus...)
				if diff := cmp.Diff(want[v.name], summary(col.Messages)); diff != "" {
					t.Errorf("messages (-want +got):\n%s", diff)
				}
				ev := col.OfKind(health.SMBDecrypted)
				if len(ev) != 1 || ev[0].Evidence["messages"] != int64(len(v.pdus)) || ev[0].Frame != 1 {
					t.Fatalf("smb.decrypted events: %+v", ev)
				}
				for _, k := range []health.Kind{health.SMBEncrypted, health.SMBMalformed, health.SMBNoKey, health.SMBDecryptFailed} {
					if n := len(col.OfKind(k)); n != 0 {
						t.Errorf("%d %s events", n, k)
					}
				}
				if st := c.Stats(); st.Decrypted != int64(len(v.pdus)) || st.Encrypted != 0 {
					t.Errorf("stats: decrypted %d, encrypted %d", st.Decrypted, st.Encrypted)
				}
			})
		}
	}
}

// TestNoKeyOncePerSession: with decryption asked for but no key for the
// session, its messages stay encrypted (smb.encrypted, counted) and
// smb.no_key says so once.
func TestNoKeyOncePerSession(t *testing.T) {
	v := blogVectors(t)[0]
	keys := NewKeys()
	keys.Add(1, SessionKeys{SessionKey: make([]byte, 16)}) // another session
	cfg := DefaultConfig()
	cfg.Keys = keys
	c, col := newTestConn(cfg)
	feedPDUs(c, whole, v.pdus...)
	ev := col.OfKind(health.SMBNoKey)
	if len(ev) != 1 || ev[0].Frame != 1 || ev[0].Evidence["reason"] != noKeyUnknown || ev[0].Severity != health.Notice {
		t.Fatalf("smb.no_key: %+v", ev)
	}
	if n := len(col.OfKind(health.SMBEncrypted)); n != 1 {
		t.Errorf("%d smb.encrypted", n)
	}
	if st := c.Stats(); st.Encrypted != 4 || st.Decrypted != 0 {
		t.Errorf("stats %d encrypted, %d decrypted", st.Encrypted, st.Decrypted)
	}
}

// TestDecryptFailedOncePerSession: a key that does not authenticate gives
// one smb.decrypt_failed (Error) for the session, never the key.
func TestDecryptFailedOncePerSession(t *testing.T) {
	v := blogVectors(t)[0]
	bad := bytes.Repeat([]byte{0x42}, 16)
	keys := NewKeys()
	keys.Add(v.session, SessionKeys{ClientToServer: bad, ServerToClient: bad})
	cfg := DefaultConfig()
	cfg.Keys = keys
	c, col := newTestConn(cfg)
	feedPDUs(c, whole, v.pdus...)
	ev := col.OfKind(health.SMBDecryptFailed)
	if len(ev) != 1 || ev[0].Frame != 1 || ev[0].Severity != health.Error {
		t.Fatalf("smb.decrypt_failed: %+v", ev)
	}
	for _, e := range col.Events {
		if strings.Contains(fmt.Sprint(e.Message, e.Evidence), "4242") {
			t.Errorf("event shows the key: %+v", e)
		}
	}
	if st := c.Stats(); st.Encrypted != 4 || st.Decrypted != 0 {
		t.Errorf("stats %d encrypted, %d decrypted", st.Encrypted, st.Decrypted)
	}
}

// sealTransform encrypts msg for session id with cipher ci and key,
// building the TRANSFORM_HEADER ([MS-SMB2] 2.2.41, 3.1.4.3).
func sealTransform(t *testing.T, ci Cipher, key []byte, id uint64, nonce byte, msg []byte) []byte {
	t.Helper()
	a, err := ci.aead(key)
	if err != nil {
		t.Fatal(err)
	}
	hdr := append([]byte{}, magicTransform[:]...)
	hdr = append(hdr, make([]byte, 16)...) // signature, filled below
	n := make([]byte, 16)
	for i := range ci.nonceLen() {
		n[i] = nonce + byte(i)
	}
	hdr = append(hdr, n...)
	hdr = le.AppendUint32(hdr, uint32(len(msg)))
	hdr = le.AppendUint16(hdr, 0)
	hdr = le.AppendUint16(hdr, 1)
	hdr = le.AppendUint64(hdr, id)
	sealed := a.Seal(nil, n[:ci.nonceLen()], msg, hdr[transformNonceOff:])
	copy(hdr[transformSigOff:], sealed[len(msg):])
	return append(hdr, sealed[:len(msg)]...)
}

// TestDecryptEveryCipher: each of the four ciphers, with keys given as
// derived keys of 16 or 32 bytes, decrypts a CREATE exchange.
func TestDecryptEveryCipher(t *testing.T) {
	for _, ci := range []Cipher{CipherAES128CCM, CipherAES128GCM, CipherAES256CCM, CipherAES256GCM} {
		t.Run(ci.String(), func(t *testing.T) {
			k1, k2 := bytes.Repeat([]byte{1}, ci.keyLen()), bytes.Repeat([]byte{2}, ci.keyLen())
			keys := NewKeys()
			keys.Add(0x1234, SessionKeys{ClientToServer: k1, ServerToClient: k2})
			cfg := DefaultConfig()
			cfg.Keys = keys
			c, col := newTestConn(cfg)
			fid := FileID{1, 2}
			feedPDUs(c, whole,
				pdu{c2s, sealTransform(t, ci, k1, 0x1234, 1, msg2(SMB2Create, 7, false, 0, 1, createReq2(`dir\file.txt`)))},
				pdu{s2c, sealTransform(t, ci, k2, 0x1234, 2, msg2(SMB2Create, 7, true, 0, 1, createResp2(fid, 10)))})
			got := summary(col.Messages)
			if len(got) != 2 || col.Messages[0].Fields["filename"] != `dir\file.txt` || !strings.Contains(got[1], "enc=true") {
				t.Fatalf("messages %q", got)
			}
			ev := col.OfKind(health.SMBDecrypted)
			if len(ev) != 1 || ev[0].Evidence["cipher"] != ci.String() {
				t.Errorf("smb.decrypted %+v", ev)
			}
		})
	}
}

// TestDecryptedAndCompressed: a compressed message inside an encrypted one
// (compress, then encrypt: [MS-SMB2] 3.1.4.3) is decoded with both marks;
// the file transfer counts the READ as a clear one would.
func TestDecryptedAndCompressed(t *testing.T) {
	k := bytes.Repeat([]byte{7}, 16)
	keys := NewKeys()
	keys.Add(0x1234, SessionKeys{ClientToServer: k, ServerToClient: k})
	cfg := DefaultConfig()
	cfg.Keys = keys
	c, col := newTestConn(cfg)
	fid := FileID{5, 6}
	data := bytes.Repeat([]byte{'x'}, 3000)
	resp := msg2(SMB2Read, 3, true, 0, 1, readResp2(nil))
	le.PutUint32(resp[64+4:], uint32(len(data))) // DataLength
	comp := chainedMsg(len(resp)+len(data),
		chainedPayload(CompressNone, true, 0, resp),
		chainedPayload(CompressPatternV1, false, 0, []byte{'x', 0, 0, 0, 0xb8, 0x0b, 0, 0}))
	feedPDUs(c, whole,
		pdu{c2s, sealTransform(t, CipherAES128GCM, k, 0x1234, 1, msg2(SMB2Create, 2, false, 0, 1, createReq2("big.bin")))},
		pdu{s2c, sealTransform(t, CipherAES128GCM, k, 0x1234, 2, msg2(SMB2Create, 2, true, 0, 1, createResp2(fid, 3000)))},
		pdu{c2s, sealTransform(t, CipherAES128GCM, k, 0x1234, 3, msg2(SMB2Read, 3, false, 0, 1, readReq2(fid, 0, 3000)))},
		pdu{s2c, sealTransform(t, CipherAES128GCM, k, 0x1234, 4, comp)})
	last := col.Messages[len(col.Messages)-1]
	if last.Fields["cmd"] != "READ" || last.Fields["length"] != uint32(3000) || last.Fields["encrypted"] != true || last.Fields["compressed"] != true {
		t.Fatalf("READ response %+v", last.Fields)
	}
	st := c.Stats()
	if st.Decrypted != 4 || st.Decompressed != 1 || st.Compressed != 0 {
		t.Errorf("stats %+v", st)
	}
	if files := c.Files(); len(files) != 1 || files[0].Name != "big.bin" || files[0].BytesRead != 3000 {
		t.Errorf("files %+v", files)
	}
}

// TestDecompressFailedEvent: a compressed message that does not decompress
// is an smb.decompress_failed with its frame and algorithm, counted as
// compressed; one declaring more than MaxPDU is refused as a bomb.
func TestDecompressFailedEvent(t *testing.T) {
	c, col := newTestConn(DefaultConfig())
	corrupt := compressedMsg(CompressLZ77, 300, nil, mustHex(t, "ffffffff0000"))
	bomb := chainedMsg(1<<30, chainedPayload(CompressPatternV1, true, 0, []byte{'z', 0, 0, 0, 0, 0, 0, 0x40}))
	feedPDUs(c, whole, pdu{s2c, corrupt}, pdu{s2c, bomb})
	ev := col.OfKind(health.SMBDecompressFailed)
	if len(ev) != 2 || ev[0].Frame != 1 || ev[0].Evidence["algorithm"] != "LZ77" || ev[0].Evidence["reason"] != "corrupt" ||
		ev[1].Frame != 2 || ev[1].Evidence["reason"] != "limit" || ev[0].Severity != health.Warning {
		t.Fatalf("events %+v", ev)
	}
	if st := c.Stats(); st.Compressed != 2 || st.DecompressFailed != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestCompressedClearMessage: a compressed message without encryption
// (unchained LZ77: the SMB2 header sent as is) is decoded.
func TestCompressedClearMessage(t *testing.T) {
	c, col := newTestConn(DefaultConfig())
	hdr := msg2(SMB2Read, 3, true, 0, 1, readResp2(nil))
	le.PutUint32(hdr[64+4:], 300)
	lz := mustHex(t, "ffffff1f61626317000fff2601") // "abc" x 100
	feedPDUs(c, whole, pdu{s2c, compressedMsg(CompressLZ77, 300, hdr, lz)})
	if len(col.Messages) != 1 || col.Messages[0].Fields["cmd"] != "READ" || col.Messages[0].Fields["compressed"] != true ||
		col.Messages[0].Fields["encrypted"] != nil {
		t.Fatalf("messages %+v", col.Messages)
	}
	if st := c.Stats(); st.Decompressed != 1 || st.Compressed != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestLargeEncryptedPDUDecodesItsHead: an encrypted READ response larger
// than MaxBuffered is decoded from its head (decrypted with the key stream,
// without authentication), as a large clear one is.
func TestLargeEncryptedPDUDecodesItsHead(t *testing.T) {
	for _, ci := range []Cipher{CipherAES128GCM, CipherAES128CCM} {
		t.Run(ci.String(), func(t *testing.T) {
			k := bytes.Repeat([]byte{9}, 16)
			keys := NewKeys()
			keys.Add(0x1234, SessionKeys{ClientToServer: k, ServerToClient: k})
			cfg := DefaultConfig()
			cfg.Keys = keys
			cfg.Limits.MaxBuffered = 8192
			c, col := newTestConn(cfg)
			fid := FileID{5, 6}
			data := bytes.Repeat([]byte{'d'}, 100000)
			s := script{t0: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			s.send(c2s, nbssWrap(sealTransform(t, ci, k, 0x1234, 1, msg2(SMB2Create, 2, false, 0, 1, createReq2("big.bin")))), 0, 0)
			s.send(s2c, nbssWrap(sealTransform(t, ci, k, 0x1234, 2, msg2(SMB2Create, 2, true, 0, 1, createResp2(fid, 100000)))), time.Millisecond, 0)
			s.send(c2s, nbssWrap(sealTransform(t, ci, k, 0x1234, 3, msg2(SMB2Read, 3, false, 0, 1, readReq2(fid, 0, 100000)))), 2*time.Millisecond, 0)
			s.send(s2c, nbssWrap(sealTransform(t, ci, k, 0x1234, 4, msg2(SMB2Read, 3, true, 0, 1, readResp2(data)))), 3*time.Millisecond, time.Microsecond)
			s.run(c, whole)
			last := col.Messages[len(col.Messages)-1]
			if last.Fields["cmd"] != "READ" || last.Fields["length"] != uint32(100000) || last.Fields["encrypted"] != true {
				t.Fatalf("READ response %+v", last.Fields)
			}
			if files := c.Files(); len(files) != 1 || files[0].BytesRead != 100000 {
				t.Errorf("files %+v", files)
			}
			if n := len(col.OfKind(health.SMBDecryptFailed)); n != 0 {
				t.Errorf("%d decrypt_failed", n)
			}
		})
	}
}

// TestCounterIVMatchesAEAD: the key stream used for heads is the one the
// AEADs encrypt with.
func TestCounterIVMatchesAEAD(t *testing.T) {
	key := bytes.Repeat([]byte{3}, 16)
	nonce := bytes.Repeat([]byte{4}, 16)
	msg := bytes.Repeat([]byte("0123456789abcdef"), 5)
	for _, ci := range []Cipher{CipherAES128CCM, CipherAES128GCM} {
		a, _ := ci.aead(key)
		sealed := a.Seal(nil, nonce[:ci.nonceLen()], msg, nil)
		b, _ := aes.NewCipher(key)
		iv := ci.ctrIV(nonce)
		got := make([]byte, 40)
		cipher.NewCTR(b, iv[:]).XORKeyStream(got, sealed[:40])
		if !bytes.Equal(got, msg[:40]) {
			t.Errorf("%s: head %q", ci, got)
		}
	}
	_ = ccm.ErrOpen
}

// TestSessionLimitIsSaid: past maxCryptSessions sessions on a connection,
// new sessions are not decrypted, and smb.no_key says so once.
func TestSessionLimitIsSaid(t *testing.T) {
	keys := NewKeys()
	keys.Add(1, SessionKeys{SessionKey: make([]byte, 16)})
	cfg := DefaultConfig()
	cfg.Keys = keys
	c, col := newTestConn(cfg)
	k := make([]byte, 16)
	var pdus []pdu
	for id := range uint64(maxCryptSessions + 3) {
		pdus = append(pdus, pdu{c2s, sealTransform(t, CipherAES128GCM, k, 100+id, 1, msg2(SMB2Echo, id, false, 0, 0, []byte{4, 0, 0, 0}))})
	}
	feedPDUs(c, whole, pdus...)
	var limit []health.Event
	for _, e := range col.OfKind(health.SMBNoKey) {
		if e.Evidence["reason"] == noKeyLimit {
			limit = append(limit, e)
		}
	}
	if len(limit) != 1 || limit[0].Frame != maxCryptSessions+1 {
		t.Fatalf("session_limit events: %+v", limit)
	}
	if len(col.OfKind(health.SMBNoKey)) != maxCryptSessions+1 {
		t.Errorf("%d smb.no_key events", len(col.OfKind(health.SMBNoKey)))
	}
}
