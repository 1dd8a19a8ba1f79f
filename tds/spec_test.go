package tds

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The vectors below are the hex dumps of [MS-TDS] section 4, "Protocol
// Examples" (4.1 Pre-Login Request, 4.2 Login Request, 4.4 Login Response,
// 4.6 SQL Batch Client Request, 4.7 SQL Batch Server Response, 4.8 RPC
// Client Request, 4.9 RPC Server Response, 4.10 Attention Request, 4.13
// Transaction Manager Request), decoded field by field.

const (
	specPrelogin = `12 01 00 2F 00 00 01 00 00 00 1A 00 06 01 00 20
		00 01 02 00 21 00 01 03 00 22 00 04 04 00 26 00
		01 FF 09 00 00 00 00 00 01 00 B8 0D 00 00 01`
	// [MS-SSTDS] 4.1 (the same layout, with an instance name).
	specPreloginSSTDS = `12 01 00 34 00 00 01 00 00 00 15 00 06 01 00 1B
		00 01 02 00 1C 00 0C 03 00 28 00 04 FF 08 00 01
		55 00 00 00 4D 53 53 51 4C 53 65 72 76 65 72 00
		80 19 00 00`
	specLogin7 = `10 01 00 90 00 00 01 00 88 00 00 00 02 00 09 72
		00 10 00 00 00 00 00 07 00 01 00 00 00 00 00 00
		E0 03 00 00 00 00 00 00 09 04 00 00 5E 00 08 00
		6E 00 02 00 72 00 00 00 72 00 07 00 80 00 00 00
		80 00 00 00 80 00 04 00 88 00 00 00 88 00 00 00
		00 50 8B E2 B7 8F 88 00 00 00 88 00 00 00 88 00
		00 00 00 00 00 00 73 00 6B 00 6F 00 73 00 74 00
		6F 00 76 00 31 00 73 00 61 00 4F 00 53 00 51 00
		4C 00 2D 00 33 00 32 00 4F 00 44 00 42 00 43 00`
	specLoginResponse = `04 01 01 61 00 00 01 00 E3 1B 00 01 06 6D 00 61
		00 73 00 74 00 65 00 72 00 06 6D 00 61 00 73 00
		74 00 65 00 72 00 AB 58 00 45 16 00 00 02 00 25
		00 43 00 68 00 61 00 6E 00 67 00 65 00 64 00 20
		00 64 00 61 00 74 00 61 00 62 00 61 00 73 00 65
		00 20 00 63 00 6F 00 6E 00 74 00 65 00 78 00 74
		00 20 00 74 00 6F 00 20 00 27 00 6D 00 61 00 73
		00 74 00 65 00 72 00 27 00 2E 00 00 00 00 00 00
		00 E3 08 00 07 05 09 04 D0 00 34 00 E3 17 00 02
		0A 75 00 73 00 5F 00 65 00 6E 00 67 00 6C 00 69
		00 73 00 68 00 00 E3 13 00 04 04 34 00 30 00 39
		00 36 00 04 34 00 30 00 39 00 36 00 AB 5C 00 47
		16 00 00 01 00 27 00 43 00 68 00 61 00 6E 00 67
		00 65 00 64 00 20 00 6C 00 61 00 6E 00 67 00 75
		00 61 00 67 00 65 00 20 00 73 00 65 00 74 00 74
		00 69 00 6E 00 67 00 20 00 74 00 6F 00 20 00 75
		00 73 00 5F 00 65 00 6E 00 67 00 6C 00 69 00 73
		00 68 00 2E 00 00 00 00 00 00 00 AD 36 00 01 72
		09 00 02 16 4D 00 69 00 63 00 72 00 6F 00 73 00
		6F 00 66 00 74 00 20 00 53 00 51 00 4C 00 20 00
		53 00 65 00 72 00 76 00 65 00 72 00 00 00 00 00
		00 00 00 00 FD 00 00 00 00 00 00 00 00 00 00 00
		00`
	specBatch = `01 01 00 5C 00 00 01 00 16 00 00 00 12 00 00 00
		02 00 00 00 00 00 00 00 00 01 00 00 00 00 0A 00
		73 00 65 00 6C 00 65 00 63 00 74 00 20 00 27 00
		66 00 6F 00 6F 00 27 00 20 00 61 00 73 00 20 00
		27 00 62 00 61 00 72 00 27 00 0A 00 20 00 20 00
		20 00 20 00 20 00 20 00 20 00 20 00`
	specBatchResponse = `04 01 00 33 00 00 01 00 81 01 00 00 00 00 00 20
		00 A7 03 00 09 04 D0 00 34 03 62 00 61 00 72 00
		D1 03 00 66 6F 6F FD 10 00 C1 00 01 00 00 00 00
		00 00 00`
	specRPC = `03 01 00 2F 00 00 01 00 16 00 00 00 12 00 00 00
		02 00 00 00 00 00 00 00 00 01 00 00 00 00 04 00
		66 00 6F 00 6F 00 33 00 00 00 00 02 26 02 00`
	specRPCResponse = `04 01 00 27 00 00 01 00 FF 11 00 C1 00 01 00 00
		00 00 00 00 00 79 00 00 00 00 FE 00 00 E0 00 00
		00 00 00 00 00 00 00`
	specAttention = `06 01 00 08 00 00 01 00`
	specTM        = `0E 01 00 20 00 00 01 00 16 00 00 00
		12 00 00 00 02 00 00 00 00 00 00 00
		00 01 00 00 00 00 16 00`
)

// specPacket parses a spec example as one whole packet.
func specPacket(t *testing.T, h string) Packet {
	t.Helper()
	p, rest, err := ParsePacket(mustHex(t, h))
	if err != nil || len(rest) != 0 {
		t.Fatalf("ParsePacket: %v, %d bytes left", err, len(rest))
	}
	if !p.EOM() {
		t.Fatal("spec example is not EOM")
	}
	return p
}

func TestSpecPreloginRequest(t *testing.T) {
	p := specPacket(t, specPrelogin)
	if diff := cmp.Diff(Header{Type: TypePrelogin, Status: StatusEOM, Length: 0x2F, SPID: 0, PacketID: 1, Window: 0}, p.Header); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	got, rest, err := ParsePrelogin(p.Payload)
	if err != nil || len(rest) != 0 {
		t.Fatalf("ParsePrelogin: %v, rest %x", err, rest)
	}
	want := Prelogin{
		Options:    []PreloginOption{OptVersion, OptEncryption, OptInstOpt, OptThreadID, OptMARS},
		HasVersion: true, Version: PreloginVersion{Major: 9, Minor: 0, Build: 0, SubBuild: 0},
		HasEncryption: true, Encryption: EncryptOn,
		HasInstance: true, Instance: "",
		HasThreadID: true, ThreadID: 0xB80D0000, // big-endian, as tshark decodes it
		HasMARS: true, MARS: 1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prelogin (-want +got):\n%s", diff)
	}
	if got.Encryption.String() != "ENCRYPT_ON" {
		t.Errorf("encryption = %s", got.Encryption)
	}

	p = specPacket(t, specPreloginSSTDS)
	got, _, err = ParsePrelogin(p.Payload)
	if err != nil {
		t.Fatal(err)
	}
	want = Prelogin{
		Options:    []PreloginOption{OptVersion, OptEncryption, OptInstOpt, OptThreadID},
		HasVersion: true, Version: PreloginVersion{Major: 8, Minor: 0, Build: 0x155, SubBuild: 0},
		HasEncryption: true, Encryption: EncryptOff,
		HasInstance: true, Instance: "MSSQLServer",
		HasThreadID: true, ThreadID: 0x80190000,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sstds prelogin (-want +got):\n%s", diff)
	}
}

func TestSpecLogin7(t *testing.T) {
	p := specPacket(t, specLogin7)
	got, rest, err := ParseLogin7(p.Payload)
	if err != nil || len(rest) != 0 {
		t.Fatalf("ParseLogin7: %v, rest %d", err, len(rest))
	}
	want := Login7{
		Length: 0x88, TDSVersion: TDS72, PacketSize: 4096, ClientProgVer: 0x07000000, ClientPID: 0x100,
		ConnectionID: 0, OptionFlags1: 0xE0, OptionFlags2: 0x03, TypeFlags: 0, OptionFlags3: 0,
		ClientTimeZone: 0, ClientLCID: 0x409,
		HostName: "skostov1", UserName: "sa", PasswordLen: 0, AppName: "OSQL-32", ServerName: "",
		LibraryName: "ODBC", Language: "", Database: "",
		ClientID: [6]byte{0x00, 0x50, 0x8B, 0xE2, 0xB7, 0x8F},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("login7 (-want +got):\n%s", diff)
	}
	if got.TDSVersion.String() != "7.2" {
		t.Errorf("version %s", got.TDSVersion)
	}
}

// decodeTokens parses a whole token stream.
func decodeTokens(t *testing.T, b []byte) []Token {
	t.Helper()
	var ctx TokenContext
	var out []Token
	for len(b) > 0 {
		tok, rest, err := ParseToken(b, &ctx)
		if err != nil {
			t.Fatalf("ParseToken after %d tokens: %v", len(out), err)
		}
		tok.Row = append([]Value(nil), tok.Row...)
		out = append(out, tok)
		b = rest
	}
	return out
}

var tokenOpts = cmp.Options{cmp.AllowUnexported(TypeInfo{}), cmpopts.EquateEmpty()}

func TestSpecLoginResponse(t *testing.T) {
	p := specPacket(t, specLoginResponse)
	got := decodeTokens(t, p.Payload)
	want := []Token{
		{Type: TokenEnvChange, Length: 0x1B, Env: EnvChange{Type: EnvDatabase, New: "master", Old: "master"}},
		{Type: TokenInfo, Length: 0x58, Info: MessageInfo{Number: 5701, State: 2, Class: 0, Message: "Changed database context to 'master'."}},
		{Type: TokenEnvChange, Length: 8, Env: EnvChange{Type: EnvCollation, New: "0904d00034", Old: ""}},
		{Type: TokenEnvChange, Length: 0x17, Env: EnvChange{Type: EnvLanguage, New: "us_english", Old: ""}},
		{Type: TokenEnvChange, Length: 0x13, Env: EnvChange{Type: EnvPacketSize, New: "4096", Old: "4096"}},
		{Type: TokenInfo, Length: 0x5C, Info: MessageInfo{Number: 5703, State: 1, Class: 0, Message: "Changed language setting to us_english."}},
		{Type: TokenLoginAck, Length: 0x36, LoginAck: LoginAck{Interface: 1, TDSVersion: TDS72, ProgName: "Microsoft SQL Server"}},
		{Type: TokenDone, Done: Done{Status: 0, CurCmd: 0, RowCount: 0}},
	}
	if diff := cmp.Diff(want, got, tokenOpts); diff != "" {
		t.Errorf("login response (-want +got):\n%s", diff)
	}
}

func TestSpecSQLBatch(t *testing.T) {
	p := specPacket(t, specBatch)
	got, _, err := ParseSQLBatch(p.Payload, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := SQLBatch{
		Headers: AllHeaders{Present: true, HasTransaction: true, TransactionDescriptor: 0x0100000000000000, OutstandingRequestCount: 0},
		SQL:     "\nselect 'foo' as 'bar'\n        ", SQLLen: 31,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch (-want +got):\n%s", diff)
	}
}

func TestSpecSQLBatchResponse(t *testing.T) {
	p := specPacket(t, specBatchResponse)
	var ctx TokenContext
	b := p.Payload
	tok, b, err := ParseToken(b, &ctx)
	if err != nil || tok.Type != TokenColMetadata || tok.Columns != 1 {
		t.Fatalf("COLMETADATA: %+v %v", tok, err)
	}
	wantCols := []Column{{Name: "bar", UserType: 0, Flags: 0x20, Type: TypeInfo{Type: TypeBigVarChar, MaxLen: 3, lenKind: lenUShort}}}
	if diff := cmp.Diff(wantCols, ctx.Columns, tokenOpts); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	tok, b, err = ParseToken(b, &ctx)
	if err != nil || tok.Type != TokenRow || len(tok.Row) != 1 {
		t.Fatalf("ROW: %+v %v", tok, err)
	}
	if v := tok.Row[0].Interface(ctx.Columns[0].Type, 0); v != "foo" {
		t.Errorf("row value %v, want foo", v)
	}
	tok, b, err = ParseToken(b, &ctx)
	if err != nil || len(b) != 0 {
		t.Fatalf("DONE: %v, rest %x", err, b)
	}
	if diff := cmp.Diff(Token{Type: TokenDone, Done: Done{Status: DoneCount, CurCmd: 0xC1, RowCount: 1}}, tok, tokenOpts); diff != "" {
		t.Errorf("done (-want +got):\n%s", diff)
	}
}

func TestSpecRPC(t *testing.T) {
	p := specPacket(t, specRPC)
	got, _, err := ParseRPC(p.Payload, 64, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := RPC{
		Headers:  AllHeaders{Present: true, HasTransaction: true, TransactionDescriptor: 0x0100000000000000},
		ProcName: "foo3", Calls: 1,
		Params: []Param{{Name: "", Status: 0x02, Type: TypeInfo{Type: TypeIntN, MaxLen: 2, lenKind: lenByte}, Value: nil}},
	}
	if diff := cmp.Diff(want, got, tokenOpts); diff != "" {
		t.Errorf("rpc (-want +got):\n%s", diff)
	}
	if s := got.Params[0].Type.String(); s != "smallint" {
		t.Errorf("param type %s", s)
	}
}

func TestSpecRPCResponse(t *testing.T) {
	p := specPacket(t, specRPCResponse)
	got := decodeTokens(t, p.Payload)
	want := []Token{
		{Type: TokenDoneInProc, Done: Done{Status: DoneCount | DoneMore, CurCmd: 0xC1, RowCount: 1}},
		{Type: TokenReturnStatus, ReturnStatus: 0},
		{Type: TokenDoneProc, Done: Done{Status: 0, CurCmd: 0xE0, RowCount: 0}},
	}
	if diff := cmp.Diff(want, got, tokenOpts); diff != "" {
		t.Errorf("rpc response (-want +got):\n%s", diff)
	}
}

func TestSpecAttentionAndTM(t *testing.T) {
	p := specPacket(t, specAttention)
	if p.Type != TypeAttention || len(p.Payload) != 0 {
		t.Errorf("attention: %+v", p)
	}
	p = specPacket(t, specTM)
	tm, _, err := ParseTMRequest(p.Payload)
	if err != nil {
		t.Fatal(err)
	}
	want := TMRequest{Headers: AllHeaders{Present: true, HasTransaction: true, TransactionDescriptor: 0x0100000000000000}, RequestType: 0x16}
	if diff := cmp.Diff(want, tm); diff != "" {
		t.Errorf("tm (-want +got):\n%s", diff)
	}
}

// TestSpecPrefixesNeverSucceed feeds every strict prefix of every spec
// packet to ParsePacket: all must be ErrTruncated.
func TestSpecPrefixesNeverSucceed(t *testing.T) {
	for _, h := range []string{specPrelogin, specLogin7, specLoginResponse, specBatch, specBatchResponse, specRPC, specRPCResponse, specAttention, specTM} {
		b := mustHex(t, h)
		for i := 0; i < len(b); i++ {
			if _, rest, err := ParsePacket(b[:i]); !errors.Is(err, ErrTruncated) || len(rest) != i {
				t.Fatalf("prefix %d of %x: err %v", i, b[:8], err)
			}
		}
	}
}
