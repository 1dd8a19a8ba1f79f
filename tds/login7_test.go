package tds

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// buildLogin7 lays out a TDS 7.4 LOGIN7 record with every variable field,
// SSPI data, a password change and a FeatureExt block.
func buildLogin7(t *testing.T) []byte {
	t.Helper()
	type field struct {
		data  []byte
		bytes bool // length in bytes (SSPI), not characters
	}
	obf := func(s string) []byte { // obfuscated like a client does
		b := ucs2enc(s)
		for i, c := range b {
			c = c<<4 | c>>4
			b[i] = c ^ 0xA5
		}
		return b
	}
	feat := cat([]byte{byte(FeatureSessionRecovery)}, u32le(0), []byte{byte(FeatureFedAuth)}, u32le(2), []byte{0x02, 0x01},
		[]byte{byte(FeatureUTF8Support)}, u32le(0), []byte{0xFF})
	fields := []field{
		{data: ucs2enc("WKS-7")},             // host
		{data: ucs2enc("alice")},             // user
		{data: obf("S3cret!pass")},           // password
		{data: ucs2enc("sqlcmd")},            // app
		{data: ucs2enc("db1,1433")},          // server
		{data: nil},                          // extension (filled below)
		{data: ucs2enc("ODBC")},              // library
		{data: ucs2enc("us_english")},        // language
		{data: ucs2enc("sales")},             // database
		{data: []byte{1, 2, 3}, bytes: true}, // SSPI
		{data: ucs2enc("C:\\x.mdf")},         // attach db file
		{data: obf("N3wpass")},               // change password
	}
	const fixed = 94
	var varPart []byte
	offs := make([]int, len(fields))
	for i, f := range fields {
		offs[i] = fixed + len(varPart)
		if i == 5 {
			varPart = append(varPart, 0, 0, 0, 0) // DWORD offset of FeatureExt
			continue
		}
		varPart = append(varPart, f.data...)
	}
	featOff := fixed + len(varPart)
	binary.LittleEndian.PutUint32(varPart[offs[5]-fixed:], uint32(featOff))
	total := featOff + len(feat)
	rec := cat(u32le(uint32(total)), u32le(uint32(TDS74)), u32le(4096), u32le(0x07000000), u32le(1234), u32le(0),
		[]byte{0xE0, 0x83, 0x20, 0x11}, u32le(uint32(0xFFFFFF88)), u32le(0x409))
	ol := func(i int) []byte {
		n := len(fields[i].data)
		if !fields[i].bytes {
			n /= 2
		}
		if i == 5 {
			n = 4
		}
		return cat(u16le(uint16(offs[i])), u16le(uint16(n)))
	}
	for i := 0; i <= 8; i++ {
		rec = append(rec, ol(i)...)
	}
	rec = append(rec, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF)
	rec = append(rec, ol(9)...)
	rec = append(rec, ol(10)...)
	rec = append(rec, ol(11)...)
	rec = append(rec, u32le(0)...)
	if len(rec) != fixed {
		t.Fatalf("fixed part %d", len(rec))
	}
	return cat(rec, varPart, feat)
}

func TestParseLogin7AllFields(t *testing.T) {
	rec := buildLogin7(t)
	got, rest, err := ParseLogin7(rec)
	if err != nil || len(rest) != 0 {
		t.Fatalf("ParseLogin7: %v rest %d", err, len(rest))
	}
	want := Login7{
		Length: uint32(len(rec)), TDSVersion: TDS74, PacketSize: 4096, ClientProgVer: 0x07000000, ClientPID: 1234,
		OptionFlags1: 0xE0, OptionFlags2: 0x83, TypeFlags: 0x20, OptionFlags3: 0x11, ClientTimeZone: -120, ClientLCID: 0x409,
		HostName: "WKS-7", UserName: "alice", PasswordLen: 11, AppName: "sqlcmd", ServerName: "db1,1433",
		LibraryName: "ODBC", Language: "us_english", Database: "sales", ClientID: [6]byte{0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF},
		SSPILen: 3, AttachDBFile: "C:\\x.mdf", NewPasswordLen: 7,
		Features: []Feature{{ID: FeatureSessionRecovery}, {ID: FeatureFedAuth, Length: 2}, {ID: FeatureUTF8Support}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("login7 (-want +got):\n%s", diff)
	}
	if !got.IntegratedSecurity() || !got.ReadOnlyIntent() || !got.HasPassword() {
		t.Error("flag helpers")
	}
	// The fields for messages carry neither password.
	f := got.fields()
	all := strings.ToLower(strings.Join(func() []string {
		var s []string
		for k, v := range f {
			s = append(s, k, strings.ToLower(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(v), "\x00", ""), " ", ""))))
		}
		return s
	}(), " "))
	for _, secret := range []string{"s3cret!pass", "n3wpass"} {
		if strings.Contains(all, secret) {
			t.Fatalf("fields contain a password")
		}
	}
	if f["change_password"] != true || f["attach_db_file"] != "C:\\x.mdf" {
		t.Errorf("fields: %v", f)
	}
}

func fmtAny(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []string:
		return strings.Join(x, ",")
	}
	return ""
}
