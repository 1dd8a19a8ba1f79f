package rpc

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Real PDUs from testdata/rpc/c04-epm-vip-client.pcap.
const (
	hexBindEPM     = "05000b03100000004800000001000000b810b8100000000001000000000001000883afe11f5dc91191a408002b14a0fa03000000045d888aeb1cc9119fe808002b10486002000000"                                                                                                                                                                         // frame 4
	hexBindAckEPM  = "05000c03100000003c00000001000000b810b810b927000004003133350000000100000000000000045d888aeb1cc9119fe808002b10486002000000"                                                                                                                                                                                                 // frame 6
	hexMapRequest  = "05000003100000009c0000000100000084000000000003000100000000000000000000000000000000000000020000004b0000004b000000050013000d01d08c334422f131aaaa90003800100301000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b0200000001000702000000010009040000000000ab000000000000000000000000000000000000000001000000" // frame 8
	hexMapResponse = "050002031000000098000000010000008000000000000000000000000000000000000000000000000000000001000000010000000000000001000000030000004b0000004b000000050013000d01d08c334422f131aaaa90003800100301000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c00001000904000ac803140000000000"         // frame 10
	hexBindNTLM    = "05000b03100000007000200001000000b810b81000000000010000000000010001d08c334422f131aaaa90003800100301000000045d888aeb1cc9119fe808002b104860020000000a0500007f3501004e544c4d5353500001000000358288e000000000000000000000000000000000"                                                                                         // frame 17
)

func TestParsePDU(t *testing.T) {
	ndr := SyntaxID{UUID: NDRSyntax, Version: 2}
	tests := []struct {
		name     string
		in       string
		want     PDU
		wantRest string
		wantErr  error
	}{
		{name: "bind epm (frame 4)", in: hexBindEPM, want: PDU{
			Header: Header{Version: 5, Type: PTBind, Flags: 3, DataRep: LittleEndian, FragLength: 72, CallID: 1},
			Bind: Bind{MaxXmitFrag: 4280, MaxRecvFrag: 4280, Contexts: []Context{{ID: 0,
				Abstract: SyntaxID{UUID: EPMInterface, Version: 3}, Transfers: []SyntaxID{ndr}}}}}},
		{name: "bind_ack (frame 6)", in: hexBindAckEPM, want: PDU{
			Header:  Header{Version: 5, Type: PTBindAck, Flags: 3, DataRep: LittleEndian, FragLength: 60, CallID: 1},
			BindAck: BindAck{MaxXmitFrag: 4280, MaxRecvFrag: 4280, AssocGroupID: 0x27b9, SecAddr: "135", Results: []ContextResult{{Transfer: ndr}}}}},
		{name: "bind with ntlmssp (frame 17)", in: hexBindNTLM, want: PDU{
			Header: Header{Version: 5, Type: PTBind, Flags: 3, DataRep: LittleEndian, FragLength: 112, AuthLength: 32, CallID: 1},
			Auth:   AuthVerifier{Type: AuthNTLMSSP, Level: 5, ContextID: 0x1357f, Length: 32},
			Bind: Bind{MaxXmitFrag: 4280, MaxRecvFrag: 4280, Contexts: []Context{{ID: 0,
				Abstract: SyntaxID{UUID: winreg, Version: 1}, Transfers: []SyntaxID{ndr}}}}}},
		{name: "trailing bytes", in: hexBindAckEPM + "0500", wantRest: "0500", want: PDU{
			Header:  Header{Version: 5, Type: PTBindAck, Flags: 3, DataRep: LittleEndian, FragLength: 60, CallID: 1},
			BindAck: BindAck{MaxXmitFrag: 4280, MaxRecvFrag: 4280, AssocGroupID: 0x27b9, SecAddr: "135", Results: []ContextResult{{Transfer: ndr}}}}},
		{name: "sec_addr length beyond body", in: hexBindAckEPM[:48] + "ff00" + hexBindAckEPM[52:], wantRest: hexBindAckEPM[:48] + "ff00" + hexBindAckEPM[52:], wantErr: ErrMalformed},
		{name: "bind_ack result count beyond body", in: hexBindAckEPM[:64] + "09" + hexBindAckEPM[66:], wantRest: hexBindAckEPM[:64] + "09" + hexBindAckEPM[66:], wantErr: ErrMalformed},
		{name: "short header", in: "05000b03", wantRest: "05000b03", wantErr: ErrTruncated},
		{name: "frag_length beyond input", in: "05000003100000002000000001000000", wantRest: "05000003100000002000000001000000", wantErr: ErrTruncated},
		{name: "version 4", in: "04000003100000001000000001000000", wantRest: "04000003100000001000000001000000", wantErr: ErrMalformed},
		{name: "frag_length below header", in: "05000003100000000f00000001000000", wantRest: "05000003100000000f00000001000000", wantErr: ErrMalformed},
		{name: "auth_length beyond frag", in: "05000003100000001800080001000000" + "0000000000000000", wantRest: "05000003100000001800080001000000" + "0000000000000000", wantErr: ErrMalformed},
		{name: "connectionless ptype", in: "05000103100000001000000001000000", wantRest: "05000103100000001000000001000000", wantErr: ErrMalformed},
		{name: "bind context count beyond body", in: "05000b03100000001c00000001000000b810b8100000000005000000", wantRest: "05000b03100000001c00000001000000b810b8100000000005000000", wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rest, err := ParsePDU(mustHex(t, tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParsePDU() error = %v, want %v", err, tc.wantErr)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("pdu (-want +got):\n%s", d)
			}
			if d := cmp.Diff(mustHex(t, tc.wantRest), rest, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("rest (-want +got):\n%s", d)
			}
		})
	}
}

// TestParsePDUPrefixesTruncated: every strict prefix of a valid PDU is
// ErrTruncated (framing), never a success.
func TestParsePDUPrefixesTruncated(t *testing.T) {
	for _, h := range []string{hexBindEPM, hexBindAckEPM, hexMapRequest, hexMapResponse, hexBindNTLM} {
		b := mustHex(t, h)
		for i := 0; i < len(b); i++ {
			if _, _, err := ParsePDU(b[:i]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("prefix %d of %d: error %v, want ErrTruncated", i, len(b), err)
			}
		}
	}
}

// TestParsePDUBigEndian: the same request in both integer byte orders
// decodes to the same values, object UUID included (PFC_OBJECT_UUID).
func TestParsePDUBigEndian(t *testing.T) {
	obj := MustParseUUID("01234567-89ab-cdef-0123-456789abcdef")
	var got [2]PDU
	for i, be := range []bool{false, true} {
		w := &builder{be: be}
		w.u32(4).u16(1).u16(7).uuid(obj).raw([]byte{1, 2, 3, 4})
		b := pdu(be, PTRequest, flagsFirstAndLastFrag|FlagObjectUUID, 0x01020304, w.b, 0)
		p, rest, err := ParsePDU(b)
		if err != nil || len(rest) != 0 {
			t.Fatalf("big-endian=%v: %v, %d bytes left", be, err, len(rest))
		}
		if p.Header.DataRep.BigEndian() != be {
			t.Errorf("BigEndian() = %v", !be)
		}
		p.Header.DataRep = DataRep{}
		got[i] = p
	}
	want := Request{AllocHint: 4, ContextID: 1, Opnum: 7, Object: obj, HasObject: true}
	if d := cmp.Diff(want, got[0].Request); d != "" {
		t.Errorf("request (-want +got):\n%s", d)
	}
	if d := cmp.Diff(got[0], got[1]); d != "" {
		t.Errorf("little vs big endian (-le +be):\n%s", d)
	}
}

// TestAuthPaddingSkipped: auth_pad_length bytes are removed from the stub
// and the credentials are not kept.
func TestAuthPaddingSkipped(t *testing.T) {
	stub := []byte{0xaa, 0xbb, 0xcc, 0, 0, 0, 0, 0} // 3 bytes of stub, 5 of padding... pad counted below
	body := requestBody(false, 0, 2, stub)
	b := pdu(false, PTRequest, flagsFirstAndLastFrag, 9, body, 16)
	b[HeaderLen+len(body)+2] = 5 // auth_pad_length
	p, _, err := ParsePDU(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]byte{0xaa, 0xbb, 0xcc}, p.Stub); d != "" {
		t.Errorf("stub (-want +got):\n%s", d)
	}
	if p.Auth.Type != AuthNTLMSSP || p.Auth.Length != 16 {
		t.Errorf("auth = %+v", p.Auth)
	}
	b[HeaderLen+len(body)+2] = 200
	if _, _, err := ParsePDU(b); !errors.Is(err, ErrMalformed) {
		t.Errorf("pad beyond stub: %v, want ErrMalformed", err)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{hexBindEPM[:32], true},
		{hexBindEPM, true},
		{"05010b03100000004800000001000000", true},  // 5.1
		{"05020b03100000004800000001000000", false}, // 5.2
		{"05000b03200000004800000001000000", false}, // drep 0x20
		{"05000b0310000000", false},                 // short
		{"474554202f20485454502f312e310d0a", false}, // "GET / HTTP/1.1"
	} {
		if got := Detect(0, mustHex(t, tc.in)); got != tc.want {
			t.Errorf("Detect(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestUUID(t *testing.T) {
	u, err := ParseUUID("E1AF8308-5D1F-11C9-91A4-08002B14A0FA")
	if err != nil || u != EPMInterface || u.String() != "e1af8308-5d1f-11c9-91a4-08002b14a0fa" {
		t.Fatalf("ParseUUID = %v, %v", u, err)
	}
	for _, bad := range []string{"", "e1af8308-5d1f-11c9-91a4-08002b14a0f", "e1af8308x5d1f-11c9-91a4-08002b14a0fa", "g1af8308-5d1f-11c9-91a4-08002b14a0fa"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) succeeded", bad)
		}
	}
	if InterfaceName(EPMInterface) != "EPM" || OpName(EPMInterface, 3) != "ept_map" || InterfaceName(UUID{1}) != "" {
		t.Error("interface table")
	}
	if m, ok := IsBindTimeFeature(MustParseUUID("6cb71c2c-9812-4540-0300-000000000000")); !ok || m != 3 {
		t.Errorf("bind time feature = %d %v", m, ok)
	}
	if StatusNotRegistered.String() != "ept_s_not_registered" || Status(0x1234).String() != "0x00001234" {
		t.Error("status names")
	}
}

func TestParseEPMMapFromCapture(t *testing.T) {
	req, _, err := ParsePDU(mustHex(t, hexMapRequest))
	if err != nil {
		t.Fatal(err)
	}
	mr, err := ParseMapRequest(req.Stub, req.Header.DataRep, DefaultEPMLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !mr.HasObject || !mr.HasTower || mr.MaxTowers != 1 || mr.Tower.Interface != winreg || mr.Tower.Port != 0 ||
		mr.Tower.IP != netip.MustParseAddr("0.0.0.0") || mr.Tower.Protseq() != "ncacn_ip_tcp" || len(mr.Tower.Floors) != 5 {
		t.Errorf("map request = %+v", mr)
	}
	resp, _, err := ParsePDU(mustHex(t, hexMapResponse))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseMapResponse(resp.Stub, resp.Header.DataRep, DefaultEPMLimits())
	if err != nil {
		t.Fatal(err)
	}
	if m.NumTowers != 1 || m.Status != 0 || len(m.Towers) != 1 {
		t.Fatalf("map response = %+v", m)
	}
	tw := m.Towers[0]
	if got := tw.String(); got != "ncacn_ip_tcp:10.200.3.20[49152]" {
		t.Errorf("tower = %s", got)
	}
	if tw.Transfer != NDRSyntax || tw.TransferVersion != 2 || tw.InterfaceVersion != 1 {
		t.Errorf("tower syntaxes = %+v", tw)
	}
	// No strict prefix of either stub decodes.
	for i := 0; i < len(resp.Stub); i++ {
		if _, err := ParseMapResponse(resp.Stub[:i], resp.Header.DataRep, DefaultEPMLimits()); err == nil {
			t.Fatalf("response stub prefix %d decoded", i)
		}
	}
	for i := 0; i < len(req.Stub); i++ {
		if _, err := ParseMapRequest(req.Stub[:i], req.Header.DataRep, DefaultEPMLimits()); err == nil {
			t.Fatalf("request stub prefix %d decoded", i)
		}
	}
}

// TestRejectTowerCountBeyondStub: a num_towers/actual count larger than the
// stub can hold is malformed before anything is sized from it.
func TestRejectTowerCountBeyondStub(t *testing.T) {
	w := &builder{}
	w.raw(make([]byte, 20)).u32(0x7fffffff).u32(0x7fffffff).u32(0).u32(0x7fffffff).u32(1)
	if _, err := ParseMapResponse(w.b, LittleEndian, DefaultEPMLimits()); !errors.Is(err, ErrMalformed) {
		t.Errorf("err = %v, want ErrMalformed", err)
	}
	if _, err := ParseLookupResponse(w.b, LittleEndian, DefaultEPMLimits()); !errors.Is(err, ErrMalformed) {
		t.Errorf("lookup err = %v, want ErrMalformed", err)
	}
}

func TestParseTower(t *testing.T) {
	tw := towerBytes(mapi, 0, 41376, netip.MustParseAddr("10.11.2.7"))
	got, err := ParseTower(tw)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != "ncacn_ip_tcp:10.11.2.7[41376]" || got.Interface != mapi {
		t.Errorf("tower = %s %v", got.String(), got.Interface)
	}
	for i := 0; i < len(tw); i++ {
		if _, err := ParseTower(tw[:i]); err == nil {
			t.Fatalf("prefix %d decoded", i)
		}
	}
	if _, err := ParseTower(append(tw, 0)); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte: %v, want ErrMalformed", err)
	}
	big := append([]byte(nil), tw...)
	big[2] = 0xff // first floor lhs length
	if _, err := ParseTower(big); err == nil {
		t.Error("lhs length too large decoded")
	}
}
