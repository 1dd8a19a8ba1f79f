package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// TDSVersion is a TDS protocol version as LOGIN7 and LOGINACK carry it,
// e.g. 0x74000004 for TDS 7.4 ([MS-TDS] 2.2.6.4).
type TDSVersion uint32

// Known TDS versions.
const (
	TDS70  TDSVersion = 0x70000000
	TDS71  TDSVersion = 0x71000000
	TDS71r TDSVersion = 0x71000001
	TDS72  TDSVersion = 0x72090002
	TDS73A TDSVersion = 0x730A0003
	TDS73B TDSVersion = 0x730B0003
	TDS74  TDSVersion = 0x74000004
	TDS80  TDSVersion = 0x08000000
)

// String returns "7.4", "7.3B", … or the hex value.
func (v TDSVersion) String() string {
	switch v {
	case TDS70:
		return "7.0"
	case TDS71, TDS71r:
		return "7.1"
	case TDS72:
		return "7.2"
	case TDS73A:
		return "7.3A"
	case TDS73B:
		return "7.3B"
	case TDS74:
		return "7.4"
	case TDS80:
		return "8.0"
	}
	return fmt.Sprintf("0x%08x", uint32(v))
}

// atLeast72 reports whether v uses the TDS 7.2+ layouts (8-byte DONE row
// counts, 4-byte user types, ALL_HEADERS). An unknown (0) version is taken
// as 7.2+, the version of every SQL Server since 2005.
func (v TDSVersion) atLeast72() bool {
	if v == 0 {
		return true
	}
	major := uint32(v) >> 24
	if major == 0x08 || major > 0x72 {
		return true
	}
	return uint32(v) >= uint32(TDS72)
}

// Login7 is a LOGIN7 record ([MS-TDS] 2.2.6.4). The password and the new
// password of a password change are obfuscated on the wire; Login7 records
// only whether they are present and their length in characters — never the
// bytes. Nothing aliases the input.
type Login7 struct {
	Length         uint32
	TDSVersion     TDSVersion
	PacketSize     uint32
	ClientProgVer  uint32
	ClientPID      uint32
	ConnectionID   uint32
	OptionFlags1   uint8
	OptionFlags2   uint8
	TypeFlags      uint8
	OptionFlags3   uint8
	ClientTimeZone int32
	ClientLCID     uint32

	HostName       string
	UserName       string
	PasswordLen    int // characters; the password is never decoded
	AppName        string
	ServerName     string
	LibraryName    string // CltIntName
	Language       string
	Database       string
	ClientID       [6]byte // usually the client's MAC address
	SSPILen        int     // bytes of integrated-auth (SSPI) data; 0 when absent
	AttachDBFile   string
	NewPasswordLen int // password change requested: new password length in characters
	Features       []Feature
}

// HasPassword reports whether the record carries a (SQL authentication)
// password.
func (l *Login7) HasPassword() bool { return l.PasswordLen > 0 }

// IntegratedSecurity reports OptionFlags2.fIntSecurity (Windows auth).
func (l *Login7) IntegratedSecurity() bool { return l.OptionFlags2&0x80 != 0 }

// ReadOnlyIntent reports TypeFlags.fReadOnlyIntent.
func (l *Login7) ReadOnlyIntent() bool { return l.TypeFlags&0x20 != 0 }

// login7 fixed-part sizes.
const (
	login7FixedLen70 = 86 // TDS 7.0/7.1: up to ibAtchDBFile/cchAtchDBFile
	login7FixedLen72 = 94 // TDS 7.2+: + ibChangePassword, cchChangePassword, cbSSPILong
	maxFeatures      = 32
)

// ParseLogin7 parses a LOGIN7 record (the message payload). Every
// offset/length field must lie inside the record. The password is
// recognised by its length only. On error b is returned unchanged.
func ParseLogin7(b []byte) (Login7, []byte, error) {
	rec, err := login7Record(b)
	if err != nil {
		return Login7{}, b, err
	}
	var l Login7
	r := wire.Reader(rec)
	if !l.readFixed(&r) {
		return Login7{}, b, malformed("login7", "short fixed part")
	}
	t := login7Table{rec: rec, r: r}
	ext := l.readOffsets(&t)
	if t.bad != "" {
		return Login7{}, b, malformed("login7", t.bad)
	}
	if l.Length >= login7FixedLen72 && l.TDSVersion.atLeast72() {
		if err := l.readChangePassword(&t); err != nil {
			return Login7{}, b, err
		}
	}
	if err := l.readFeatureExt(rec, ext); err != nil {
		return Login7{}, b, err
	}
	return l, b[len(rec):], nil
}

// login7Record returns the LOGIN7 record at the front of b: its Length
// counts itself and must cover the fixed part of TDS 7.0.
func login7Record(b []byte) ([]byte, error) {
	r := wire.Reader(b)
	var n uint32
	if !r.ReadUint32(&n) {
		return nil, truncated("login7", 4)
	}
	if n < login7FixedLen70 {
		return nil, malformed("login7", fmt.Sprintf("length %d below fixed part %d", n, login7FixedLen70))
	}
	rec, ok := wire.Field(b, 0, int(n))
	if !ok {
		return nil, truncated("login7", int(min(n, 1<<30)))
	}
	return rec, nil
}

// readFixed reads the fixed fields of LOGIN7 ([MS-TDS] 2.2.6.4), Length to
// ClientLCID, and reports whether they were all there.
func (l *Login7) readFixed(r *wire.Reader) bool {
	var ver, tz uint32
	ok := r.ReadUint32(&l.Length) && r.ReadUint32(&ver) && r.ReadUint32(&l.PacketSize) &&
		r.ReadUint32(&l.ClientProgVer) && r.ReadUint32(&l.ClientPID) && r.ReadUint32(&l.ConnectionID) &&
		r.ReadUint8(&l.OptionFlags1) && r.ReadUint8(&l.OptionFlags2) && r.ReadUint8(&l.TypeFlags) &&
		r.ReadUint8(&l.OptionFlags3) && r.ReadUint32(&tz) && r.ReadUint32(&l.ClientLCID)
	l.TDSVersion, l.ClientTimeZone = TDSVersion(ver), int32(tz)
	return ok
}

// login7Table reads the OffsetLength table of LOGIN7 ([MS-TDS] 2.2.6.4):
// each entry is an offset from the start of the record and a length, and
// its data must lie inside the record. bad keeps the first problem.
type login7Table struct {
	rec []byte
	r   wire.Reader
	bad string
}

// entry reads the offset and length of the entry name.
func (t *login7Table) entry(name string, off, n *uint16) bool {
	if !t.r.ReadUint16(off) || !t.r.ReadUint16(n) {
		t.bad = name
		return false
	}
	return true
}

// field returns the size bytes at off (for an entry of n units, "chars"
// or "") and records a problem when they run past the record.
func (t *login7Table) field(name string, off, n uint16, size int, unit string) (wire.Reader, bool) {
	f, ok := wire.Field(t.rec, int(off), size)
	if !ok && t.bad == "" {
		t.bad = fmt.Sprintf("%s at %d+%d%s exceeds record of %d", name, off, n, unit, len(t.rec))
	}
	return f, ok
}

// text reads the entry name, a UCS-2 field counted in characters, into out.
func (t *login7Table) text(name string, out *string) {
	var off, n uint16
	if !t.entry(name, &off, &n) {
		return
	}
	if f, ok := t.field(name, off, n, 2*int(n), " chars"); ok {
		*out, _ = ucs2(f, 0)
	}
}

// offLen is one entry of the OffsetLength table.
type offLen struct{ off, n uint16 }

// readOffsets reads the OffsetLength table up to ibAtchDBFile/cchAtchDBFile
// and the fields it points to. The password is bounds-checked and counted,
// never decoded. It returns the extension entry, read by readFeatureExt.
func (l *Login7) readOffsets(t *login7Table) offLen {
	var pw, ext, sspi offLen
	t.text("hostname", &l.HostName)
	t.text("username", &l.UserName)
	if t.entry("password", &pw.off, &pw.n) {
		t.field("password", pw.off, pw.n, 2*int(pw.n), " chars")
		l.PasswordLen = int(pw.n)
	}
	t.text("appname", &l.AppName)
	t.text("servername", &l.ServerName)
	t.entry("extension", &ext.off, &ext.n)
	t.text("cltintname", &l.LibraryName)
	t.text("language", &l.Language)
	t.text("database", &l.Database)
	if !t.r.CopyBytes(l.ClientID[:]) {
		t.bad = "clientid"
	}
	if t.entry("sspi", &sspi.off, &sspi.n) {
		t.field("sspi", sspi.off, sspi.n, int(sspi.n), "")
	}
	l.SSPILen = int(sspi.n)
	t.text("atchdbfile", &l.AttachDBFile)
	return ext
}

// readChangePassword reads the TDS 7.2 entries after ibAtchDBFile:
// ibChangePassword/cchChangePassword (counted, never decoded) and
// cbSSPILong, the SSPI length when cbSSPI is 0xFFFF.
func (l *Login7) readChangePassword(t *login7Table) error {
	var cpOff, cpLen uint16
	var sspiLong uint32
	if !t.r.ReadUint16(&cpOff) || !t.r.ReadUint16(&cpLen) || !t.r.ReadUint32(&sspiLong) {
		return nil
	}
	if _, ok := wire.Field(t.rec, int(cpOff), 2*int(cpLen)); !ok {
		return malformed("login7", fmt.Sprintf("change password at %d+%d exceeds record", cpOff, cpLen))
	}
	l.NewPasswordLen = int(cpLen)
	if l.SSPILen == 0xFFFF && sspiLong > 0 {
		l.SSPILen = int(min(sspiLong, 1<<30))
	}
	return nil
}

// readFeatureExt reads the FeatureExt block ([MS-TDS] 2.2.6.4): when
// OptionFlags3.fExtension is set, ibExtension points to a DWORD holding the
// block's offset; the block lists FeatureId, FeatureDataLen and
// FeatureData up to the terminator, at most maxFeatures.
func (l *Login7) readFeatureExt(rec []byte, ext offLen) error {
	if l.OptionFlags3&0x10 == 0 || ext.n < 4 {
		return nil
	}
	f, ok := wire.Field(rec, int(ext.off), 4)
	if !ok {
		return nil
	}
	var fo uint32
	f.ReadUint32(&fo)
	if fo >= uint32(len(rec)) {
		return malformed("login7", fmt.Sprintf("feature extension offset %d beyond record of %d", fo, len(rec)))
	}
	fr, _ := wire.Field(rec, int(fo), len(rec)-int(fo))
	for i := 0; ; i++ {
		var id uint8
		if !fr.ReadUint8(&id) {
			return malformed("login7", "feature extension without terminator")
		}
		if FeatureID(id) == FeatureTerminator {
			return nil
		}
		var n uint32
		if i >= maxFeatures || !fr.ReadUint32(&n) || !fr.Skip(int(min(n, 1<<30))) {
			return malformed("login7", fmt.Sprintf("feature %s length exceeds record", FeatureID(id)))
		}
		l.Features = append(l.Features, Feature{ID: FeatureID(id), Length: int(n)})
	}
}

// fields returns the login fields for a decoded message — never the password.
func (l *Login7) fields() map[string]any {
	m := map[string]any{
		"tds_version":     l.TDSVersion.String(),
		"packet_size":     l.PacketSize,
		"client_prog_ver": fmt.Sprintf("0x%08x", l.ClientProgVer),
		"client_pid":      l.ClientPID,
		"connection_id":   l.ConnectionID,
		"option_flags1":   l.OptionFlags1,
		"option_flags2":   l.OptionFlags2,
		"type_flags":      l.TypeFlags,
		"option_flags3":   l.OptionFlags3,
		"client_timezone": l.ClientTimeZone,
		"client_lcid":     l.ClientLCID,
		"hostname":        l.HostName,
		"username":        l.UserName,
		"password":        fmt.Sprintf("<%d chars, obfuscated, not shown>", l.PasswordLen),
		"appname":         l.AppName,
		"servername":      l.ServerName,
		"library":         l.LibraryName,
		"language":        l.Language,
		"database":        l.Database,
		"client_id":       fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", l.ClientID[0], l.ClientID[1], l.ClientID[2], l.ClientID[3], l.ClientID[4], l.ClientID[5]),
		"integrated_auth": l.IntegratedSecurity(),
		"sspi_len":        l.SSPILen,
	}
	if l.PasswordLen == 0 {
		m["password"] = "<none>"
	}
	if l.AttachDBFile != "" {
		m["attach_db_file"] = l.AttachDBFile
	}
	if l.NewPasswordLen > 0 {
		m["change_password"] = true
	}
	if len(l.Features) > 0 {
		m["features"] = featureList(l.Features)
	}
	return m
}
