package smb

import (
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseNBSS(t *testing.T) {
	tests := []struct {
		name, in, wantRest string
		want               NBSS
		wantErr            error
	}{
		{name: "keep-alive", in: "85000000", want: NBSS{Type: NBSSKeepAlive}},
		{name: "positive response and more", in: "8200000000", wantRest: "00", want: NBSS{Type: NBSSPositiveResponse}},
		{name: "negative response", in: "830000018f", want: NBSS{Type: NBSSNegativeResponse, Length: 1, Payload: []byte{0x8f}}},
		{name: "message 24-bit length", in: "00000002aabb", want: NBSS{Type: NBSSMessage, Length: 2, Payload: []byte{0xaa, 0xbb}}},
		{name: "short header", in: "000000", wantRest: "000000", wantErr: ErrTruncated},
		{name: "short body", in: "00000003aabb", wantRest: "00000003aabb", wantErr: ErrTruncated},
		{name: "unknown type", in: "42000000", wantRest: "42000000", wantErr: ErrMalformed},
		{name: "keep-alive with body", in: "8500000100", wantRest: "8500000100", wantErr: ErrMalformed},
		{name: "control flags", in: "81020000", wantRest: "81020000", wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rest, err := ParseNBSS(mustHex(t, tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParseNBSS() error = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("packet mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(mustHex(t, tc.wantRest), rest, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("rest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseSessionRequestC17 decodes the session request of C17 (frame 4
// of c17-smb1-periodic-139-server.pcap).
func TestParseSessionRequestC17(t *testing.T) {
	p := mustHex(t, "2044424441434f444344414441434f4444434f444344414341434143414341434100"+
		"204648454c4644434e4544454d454a4546454f464544484341434143414341414100")
	req, err := ParseSessionRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	want := SessionRequest{Called: "10.200.3.20<20>", Calling: "WKS-CLIENT7<00>"}
	if diff := cmp.Diff(want, req); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for i := 0; i < len(p); i++ {
		if _, err := ParseSessionRequest(p[:i]); err == nil {
			t.Errorf("prefix of %d bytes parsed", i)
		}
	}
}

func TestParseHeader2(t *testing.T) {
	read := msg2(SMB2Read, 42, true, StatusEndOfFile, 7, []byte{9, 0})
	h, rest, err := ParseHeader2(read)
	if err != nil {
		t.Fatal(err)
	}
	want := Header2{CreditCharge: 1, Status: StatusEndOfFile, Command: SMB2Read, Credits: 1, Flags: Flags2Response,
		MessageID: 42, TreeID: 7, SessionID: 0x1234}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(rest) != 2 {
		t.Errorf("rest %d bytes, want 2", len(rest))
	}
	for i := 0; i < 64; i++ {
		if _, _, err := ParseHeader2(read[:i]); !errors.Is(err, ErrTruncated) {
			t.Errorf("prefix %d: error %v, want ErrTruncated", i, err)
		}
	}
	bad := append([]byte(nil), read...)
	bad[4] = 65
	if _, _, err := ParseHeader2(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("structure size 65: error %v, want ErrMalformed", err)
	}
	async := append([]byte(nil), read...)
	async[16] |= Flags2Async
	async[32] = 0x77
	h, _, _ = ParseHeader2(async)
	if !h.IsAsync() || h.AsyncID != 0x0000000700000077 || h.TreeID != 0 { // AsyncId spans Reserved+TreeId
		t.Errorf("async header %+v", h)
	}
}

func TestParseBody2(t *testing.T) {
	fid := FileID{3, 4}
	tests := []struct {
		name string
		msg  []byte
		want Body2
	}{
		{"tree connect", msg2(SMB2TreeConnect, 1, false, 0, 0, treeConnectReq2(`\\srv\share`)), Body2{Path: `\\srv\share`}},
		{"tree connect response", msg2(SMB2TreeConnect, 1, true, 0, 0, treeConnectResp2(2)), Body2{ShareType: 2}},
		{"create", msg2(SMB2Create, 2, false, 0, 0, createReq2(`dir\f.txt`)),
			Body2{FileName: `dir\f.txt`, DesiredAccess: 0x00120089, Disposition: 1}},
		{"create response", msg2(SMB2Create, 2, true, 0, 0, createResp2(fid, 9000)), Body2{CreateAction: 1, EndOfFile: 9000, FileID: fid}},
		{"read", msg2(SMB2Read, 3, false, 0, 0, readReq2(fid, 65536, 4096)), Body2{FileID: fid, Offset: 65536, Length: 4096}},
		{"read response", msg2(SMB2Read, 3, true, 0, 0, readResp2([]byte("abc"))), Body2{Length: 3, Data: []byte("abc")}},
		{"close", msg2(SMB2Close, 4, false, 0, 0, closeReq2(fid)), Body2{FileID: fid}},
		{"error response", msg2(SMB2Create, 5, true, StatusAccessDenied, 0, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}), Body2{ErrorResponse: true}},
		{"echo", msg2(SMB2Echo, 6, false, 0, 0, []byte{4, 0, 0, 0}), Body2{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, _, err := ParseHeader2(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseBody2(h, tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			// No strict prefix may panic; offset fields beyond it must fail.
			for i := 64; i < len(tc.msg); i++ {
				ParseBody2(h, tc.msg[:i])
			}
		})
	}
}

// TestRejectCreateNameBeyondBuffer: a name length past the message is malformed.
func TestRejectCreateNameBeyondBuffer(t *testing.T) {
	m := msg2(SMB2Create, 2, false, 0, 0, createReq2("x"))
	le.PutUint16(m[64+46:], 70)
	h, _, _ := ParseHeader2(m)
	if _, err := ParseBody2(h, m); !errors.Is(err, ErrMalformed) {
		t.Errorf("error %v, want ErrMalformed", err)
	}
}

func TestParseSMB1(t *testing.T) {
	m := msg1(SMB1NTCreateAndX, 9, false, 0, 3, ntCreateReq1(`\readme.txt`))
	h, blocks, err := ParseSMB1(m, 16)
	if err != nil {
		t.Fatal(err)
	}
	if h.MID != 9 || h.TID != 3 || h.UID != 100 || h.IsResponse() || len(blocks) != 1 || blocks[0].FileName != `\readme.txt` {
		t.Errorf("header %+v blocks %+v", h, blocks)
	}
	r := msg1(SMB1ReadAndX, 10, true, 0, 3, readResp1([]byte("hello")))
	_, blocks, err = ParseSMB1(r, 16)
	if err != nil || string(blocks[0].Data) != "hello" || blocks[0].Length != 5 {
		t.Errorf("read response %+v %v", blocks, err)
	}
	for i := 0; i < len(m); i++ {
		if _, _, err := ParseSMB1(m[:i], 16); err == nil && i < 32 {
			t.Errorf("prefix %d parsed", i)
		}
	}
}

// TestRejectAndXLoop: an AndX offset pointing back at itself ends the chain.
func TestRejectAndXLoop(t *testing.T) {
	m := msg1(SMB1NTCreateAndX, 9, false, 0, 3, ntCreateReq1(`\a`))
	m[33] = byte(SMB1NTCreateAndX) // AndXCommand
	le.PutUint16(m[35:], 32)       // AndXOffset back to the same block
	_, blocks, err := ParseSMB1(m, 16)
	if !errors.Is(err, ErrMalformed) || len(blocks) != 1 {
		t.Errorf("blocks %d error %v, want 1 and ErrMalformed", len(blocks), err)
	}
}

// ntlmAuth is an NTLMSSP AUTHENTICATE with user "alice", domain
// "STEERING", workstation "VM", a 24-byte dummy NT response.
func ntlmAuth() []byte {
	payload := map[string][]byte{"dom": u16le("STEERING"), "user": u16le("alice"), "ws": u16le("VM"), "nt": make([]byte, 24)}
	b := append([]byte("NTLMSSP\x00"), 3, 0, 0, 0)
	off := uint32(88)
	field := func(v []byte) {
		b = le.AppendUint16(b, uint16(len(v)))
		b = le.AppendUint16(b, uint16(len(v)))
		b = le.AppendUint32(b, off)
		off += uint32(len(v))
	}
	field(nil)
	field(payload["nt"])
	field(payload["dom"])
	field(payload["user"])
	field(payload["ws"])
	field(nil)
	b = le.AppendUint32(b, NTLMFlagUnicode|NTLMFlagVersion)
	b = append(b, 10, 0, 0x61, 0x4a, 0, 0, 0, 15)
	b = append(b, make([]byte, 16)...)
	for _, k := range []string{"nt", "dom", "user", "ws"} {
		b = append(b, payload[k]...)
	}
	return b
}

func TestParseNTLM(t *testing.T) {
	b := ntlmAuth()
	m, err := ParseNTLM(b)
	if err != nil {
		t.Fatal(err)
	}
	want := NTLM{Type: NTLMAuthenticate, Flags: NTLMFlagUnicode | NTLMFlagVersion, User: "alice", Domain: "STEERING",
		Workstation: "VM", Version: NTLMVersion{10, 0, 19041, 15}, HasVersion: true, NTResponseLen: 24}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Inside an SPNEGO wrapper.
	wrapped := append([]byte{0xa1, 0x82, 0x01, 0x00, 0x30}, b...)
	if m2, ok, err := FindNTLM(wrapped); !ok || err != nil || m2.User != "alice" {
		t.Errorf("FindNTLM: %+v %v %v", m2, ok, err)
	}
	for i := 0; i < len(b); i++ {
		if _, err := ParseNTLM(b[:i]); err == nil {
			t.Errorf("prefix %d parsed", i)
		}
	}
	big := append([]byte(nil), b...)
	le.PutUint16(big[36:], 0x4000) // user length far past the end
	if _, err := ParseNTLM(big); !errors.Is(err, ErrMalformed) {
		t.Errorf("error %v, want ErrMalformed", err)
	}
}

// TestRejectAndXLoopToHeaderInResponse: a successful response whose AndX
// offset is 0 (back to the SMB header) with a next command would loop; it
// is malformed. Only a zeroed AndX block (an error response's) ends a
// response's chain at offset 0.
func TestRejectAndXLoopToHeaderInResponse(t *testing.T) {
	loop := msg1(SMB1LogoffAndX, 9, true, 0, 3, []byte{2, byte(SMB1LogoffAndX), 0, 0, 0, 0, 0})
	if _, blocks, err := ParseSMB1(loop, 16); !errors.Is(err, ErrMalformed) || len(blocks) != 1 {
		t.Errorf("loop to the header: blocks %d error %v, want 1 and ErrMalformed", len(blocks), err)
	}
	zeroed := msg1(SMB1LogoffAndX, 9, true, 0, 3, []byte{2, 0, 0, 0, 0, 0, 0})
	if _, blocks, err := ParseSMB1(zeroed, 16); err != nil || len(blocks) != 1 {
		t.Errorf("zeroed AndX block: blocks %d error %v, want 1 and no error", len(blocks), err)
	}
}
