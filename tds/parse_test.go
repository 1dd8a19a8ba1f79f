package tds

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParsePacket(t *testing.T) {
	attn := Packet{Header: Header{Type: TypeAttention, Status: StatusEOM, Length: 8, PacketID: 1}}
	tests := []struct {
		name, in, wantRest string
		want               Packet
		wantErr            error
	}{
		{name: "attention", in: "0601000800000100", want: attn},
		{name: "two packets", in: "060100080000010006", wantRest: "06", want: attn},
		{name: "payload", in: "04010009003501000a", want: Packet{Header: Header{Type: TypeResponse, Status: StatusEOM, Length: 9, SPID: 0x35, PacketID: 1}, Payload: []byte{0x0a}}},
		{name: "short header", in: "060100", wantRest: "060100", wantErr: ErrTruncated},
		{name: "short body", in: "0401000a00000100ff", wantRest: "0401000a00000100ff", wantErr: ErrTruncated},
		{name: "length below header", in: "0401000700000100", wantRest: "0401000700000100", wantErr: ErrMalformed},
		{name: "unknown type", in: "0501000800000100", wantRest: "0501000800000100", wantErr: ErrMalformed},
		{name: "unknown status bits", in: "0481000800000100", wantRest: "0481000800000100", wantErr: ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rest, err := ParsePacket(mustHex(t, tc.in))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("ParsePacket() error = %v, want %v", err, tc.wantErr)
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

// TestRejectPreloginOptionBeyondPayload: every option offset/length must lie
// inside the payload; duplicates are malformed; a missing terminator is
// truncated.
func TestRejectPreloginOptionBeyondPayload(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		err  error
	}{
		{"offset beyond", []byte{0x01, 0x00, 0x20, 0x00, 0x01, 0xFF}, ErrMalformed},
		{"length beyond", []byte{0x01, 0x00, 0x06, 0x00, 0x09, 0xFF, 0x00}, ErrMalformed},
		{"duplicate", []byte{0x01, 0x00, 0x0B, 0x00, 0x01, 0x01, 0x00, 0x0B, 0x00, 0x01, 0xFF, 0x00}, ErrMalformed},
		{"no terminator", []byte{0x09, 0x00, 0x05, 0x00, 0x00}, ErrTruncated},
		{"short version", []byte{0x00, 0x00, 0x06, 0x00, 0x02, 0xFF, 0x01, 0x02}, ErrMalformed},
	} {
		if _, _, err := ParsePrelogin(tc.in); !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
		}
	}
}

// TestRejectLogin7FieldBeyondRecord: every offset/length of the LOGIN7
// variable part, the password included, must lie inside the record; every
// strict prefix fails.
func TestRejectLogin7FieldBeyondRecord(t *testing.T) {
	p := specPacket(t, specLogin7)
	rec := append([]byte(nil), p.Payload...)
	for i := 0; i < len(rec); i++ {
		if _, _, err := ParseLogin7(rec[:i]); err == nil {
			t.Fatalf("prefix %d parsed", i)
		}
	}
	// Each offset/length pair (host, user, password, app, server, -, library,
	// language, database) pushed past the record.
	for _, off := range []int{36, 40, 44, 48, 52, 60, 64, 68} {
		b := append([]byte(nil), rec...)
		b[off+2], b[off+3] = 0xFF, 0x00 // 255 characters
		if _, _, err := ParseLogin7(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("length at %d: err %v, want malformed", off, err)
		}
	}
	b := append([]byte(nil), rec...)
	b[0] = 0xFF // Length beyond the bytes
	if _, _, err := ParseLogin7(b); !errors.Is(err, ErrTruncated) {
		t.Errorf("long length: err %v", err)
	}
	// Trailing bytes are returned.
	l, rest, err := ParseLogin7(append(rec, 0xAB))
	if err != nil || len(rest) != 1 || l.UserName != "sa" {
		t.Errorf("trailing: %v %x", err, rest)
	}
}

// TestTokenPrefixesAreTruncated: no strict prefix of a token parses, and
// each reports ErrTruncated (tokens are waited for across packets).
func TestTokenPrefixesAreTruncated(t *testing.T) {
	for _, h := range []string{specLoginResponse, specBatchResponse, specRPCResponse} {
		p := specPacket(t, h)
		b := p.Payload
		var ctx TokenContext
		for len(b) > 0 {
			_, rest, err := ParseToken(b, &ctx)
			if err != nil {
				t.Fatal(err)
			}
			n := len(b) - len(rest)
			for i := 0; i < n; i++ {
				c2 := ctx
				if _, _, err := ParseToken(b[:i], &c2); !errors.Is(err, ErrTruncated) {
					t.Fatalf("token %02x prefix %d/%d: err %v", b[0], i, n, err)
				}
			}
			b = rest
		}
	}
}

// TestRejectTokenInconsistentLength: a length-prefixed token whose fields run
// past its declared length is malformed, not a reason to read on.
func TestRejectTokenInconsistentLength(t *testing.T) {
	// ERROR with a declared length of 8 but a message text longer than that.
	in := cat([]byte{byte(TokenError)}, u16le(8), u32le(1), []byte{1, 1}, u16le(50), make([]byte, 100))
	if _, _, err := ParseToken(in, &TokenContext{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("err %v, want malformed", err)
	}
	// Unknown token of the "variable count" class cannot be skipped.
	if _, _, err := ParseToken([]byte{0x01, 0, 0}, &TokenContext{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown token: err %v", err)
	}
	// ORDER with an odd length.
	if _, _, err := ParseToken([]byte{byte(TokenOrder), 3, 0, 1, 0, 2}, &TokenContext{}); !errors.Is(err, ErrMalformed) {
		t.Errorf("order: err %v", err)
	}
}

func TestParseSSRP(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want SSRPMessage
		err  error
	}{
		{"bcast", []byte{2}, SSRPMessage{Type: SSRPClntBcastEx}, nil},
		{"ucast ex", []byte{3}, SSRPMessage{Type: SSRPClntUcastEx}, nil},
		{"inst", []byte("\x04SQLEXPRESS\x00"), SSRPMessage{Type: SSRPClntUcastInst, Instance: "SQLEXPRESS"}, nil},
		{"dac", []byte("\x0f\x01MSSQLSERVER\x00"), SSRPMessage{Type: SSRPClntUcastDAC, DACVersion: 1, Instance: "MSSQLSERVER"}, nil},
		{"dac resp", []byte{5, 6, 0, 1, 0x39, 0x05, 0, 0, 0}, SSRPMessage{Type: SSRPSvrResp, DACVersion: 1, DACPort: 1337}, nil},
		{"resp", append([]byte{5, 62, 0}, "ServerName;S1;InstanceName;I1;IsClustered;No;Version;1;tcp;1;;"...),
			SSRPMessage{Type: SSRPSvrResp, Raw: "ServerName;S1;InstanceName;I1;IsClustered;No;Version;1;tcp;1;;",
				Instances: []Instance{{ServerName: "S1", InstanceName: "I1", IsClustered: "No", Version: "1", TCPPort: "1"}}}, nil},
		{"ex with extra", []byte{3, 0}, SSRPMessage{}, ErrMalformed},
		{"inst without NUL", []byte("\x04SQL"), SSRPMessage{}, ErrMalformed},
		{"inst too long", append(append([]byte{4}, make([]byte, 40)...)[:1], append([]byte("0123456789012345678901234567890123456789"), 0)...), SSRPMessage{}, ErrMalformed},
		{"resp size beyond", []byte{5, 60, 0, 'a'}, SSRPMessage{}, ErrMalformed},
		{"unknown", []byte{9}, SSRPMessage{}, ErrMalformed},
		{"empty", nil, SSRPMessage{}, ErrTruncated},
	}
	for _, tc := range tests {
		got, _, err := ParseSSRP(tc.in)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestParseSMP(t *testing.T) {
	in := smp(SMPData, 3, 7, []byte{1, 2, 3})
	h, payload, rest, err := ParseSMP(append(in, 0xEE))
	if err != nil || h.SID != 3 || h.SeqNum != 7 || h.Flags != SMPData || len(payload) != 3 || len(rest) != 1 {
		t.Fatalf("%+v %x %x %v", h, payload, rest, err)
	}
	for i := 0; i < len(in); i++ {
		if _, _, _, err := ParseSMP(in[:i]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
	bad := smp(SMPSyn, 0, 0, nil)
	bad[4] = 20 // SYN with a length beyond the header
	if _, _, _, err := ParseSMP(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("syn length: %v", err)
	}
}

func TestStringers(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{TypeLogin7.String(), "LOGIN7"},
		{PacketType(0x55).String(), "PacketType(0x55)"},
		{(StatusEOM | StatusResetConnection).String(), "EOM|RESETCONNECTION"},
		{Status(0).String(), "NORMAL"},
		{EncryptOff.String(), "ENCRYPT_OFF (login only)"},
		{(EncryptReq | EncryptClientCert).String(), "ENCRYPT_REQ|CLIENT_CERT"},
		{TokenLoginAck.String(), "LOGINACK"},
		{TokenType(0x02).String(), "TokenType(0x02)"},
		{ProcExecuteSQL.String(), "sp_executesql"},
		{ProcID(99).String(), "ProcID(99)"},
		{TDS74.String(), "7.4"},
		{FeatureUTF8Support.String(), "UTF8_SUPPORT"},
		{OptNonce.String(), "NONCEOPT"},
		{SSRPClntUcastDAC.String(), "CLNT_UCAST_DAC"},
		{TypeNVarChar.String(), "nvarchar"},
		{SMPFin.String(), "FIN"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
