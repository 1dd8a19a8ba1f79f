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

// FeatureID identifies a LOGIN7 feature extension or FEATUREEXTACK entry
// ([MS-TDS] 2.2.6.4, FeatureExt).
type FeatureID uint8

// Feature extensions.
const (
	FeatureSessionRecovery    FeatureID = 0x01
	FeatureFedAuth            FeatureID = 0x02
	FeatureColumnEncryption   FeatureID = 0x04
	FeatureGlobalTransactions FeatureID = 0x05
	FeatureAzureSQLSupport    FeatureID = 0x08
	FeatureDataClassification FeatureID = 0x09
	FeatureUTF8Support        FeatureID = 0x0A
	FeatureAzureSQLDNSCaching FeatureID = 0x0B
	FeatureTerminator         FeatureID = 0xFF
)

var featureNames = map[FeatureID]string{
	FeatureSessionRecovery: "SESSIONRECOVERY", FeatureFedAuth: "FEDAUTH", FeatureColumnEncryption: "COLUMNENCRYPTION",
	FeatureGlobalTransactions: "GLOBALTRANSACTIONS", FeatureAzureSQLSupport: "AZURESQLSUPPORT",
	FeatureDataClassification: "DATACLASSIFICATION", FeatureUTF8Support: "UTF8_SUPPORT",
	FeatureAzureSQLDNSCaching: "AZURESQLDNSCACHING",
}

// String returns the spec's name or FeatureID(0xNN).
func (f FeatureID) String() string {
	return enumName(featureNames, "FeatureID", f)
}

// Feature is one feature extension: its id and data length (the data itself
// can hold tokens, so only its size is kept).
type Feature struct {
	ID     FeatureID
	Length int
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
	r := wire.Reader(b)
	var l Login7
	if !r.ReadUint32(&l.Length) {
		return Login7{}, b, truncated("login7", 4)
	}
	if l.Length < login7FixedLen70 {
		return Login7{}, b, malformed("login7", fmt.Sprintf("length %d below fixed part %d", l.Length, login7FixedLen70))
	}
	if int64(l.Length) > int64(len(b)) {
		return Login7{}, b, truncated("login7", int(min(l.Length, 1<<30)))
	}
	rec := b[:l.Length]
	r = wire.Reader(rec[4:])
	var ver uint32
	if !r.ReadUint32(&ver) || !r.ReadUint32(&l.PacketSize) || !r.ReadUint32(&l.ClientProgVer) ||
		!r.ReadUint32(&l.ClientPID) || !r.ReadUint32(&l.ConnectionID) || !r.ReadUint8(&l.OptionFlags1) ||
		!r.ReadUint8(&l.OptionFlags2) || !r.ReadUint8(&l.TypeFlags) || !r.ReadUint8(&l.OptionFlags3) {
		return Login7{}, b, malformed("login7", "short fixed part")
	}
	l.TDSVersion = TDSVersion(ver)
	var tz uint32
	if !r.ReadUint32(&tz) || !r.ReadUint32(&l.ClientLCID) {
		return Login7{}, b, malformed("login7", "short fixed part")
	}
	l.ClientTimeZone = int32(tz)
	var bad string
	str := func(name string, out *string) {
		var off, n uint16
		if !r.ReadUint16(&off) || !r.ReadUint16(&n) {
			bad = name
			return
		}
		f, ok := wire.Field(rec, int(off), 2*int(n))
		if !ok {
			if bad == "" {
				bad = fmt.Sprintf("%s at %d+%d chars exceeds record of %d", name, off, n, len(rec))
			}
			return
		}
		if out != nil {
			*out, _ = ucs2(f, 0)
		}
	}
	var pwOff, pwLen uint16
	str("hostname", &l.HostName)
	str("username", &l.UserName)
	// Password: check the bounds, keep the length, never decode.
	if r.ReadUint16(&pwOff) && r.ReadUint16(&pwLen) {
		if _, ok := wire.Field(rec, int(pwOff), 2*int(pwLen)); !ok && bad == "" {
			bad = fmt.Sprintf("password at %d+%d chars exceeds record of %d", pwOff, pwLen, len(rec))
		}
		l.PasswordLen = int(pwLen)
	}
	str("appname", &l.AppName)
	str("servername", &l.ServerName)
	var extOff, extLen uint16
	if !r.ReadUint16(&extOff) || !r.ReadUint16(&extLen) {
		bad = "extension"
	}
	str("cltintname", &l.LibraryName)
	str("language", &l.Language)
	str("database", &l.Database)
	if !r.CopyBytes(l.ClientID[:]) {
		bad = "clientid"
	}
	var sspiOff, sspiLen uint16
	if !r.ReadUint16(&sspiOff) || !r.ReadUint16(&sspiLen) {
		bad = "sspi"
	} else if _, ok := wire.Field(rec, int(sspiOff), int(sspiLen)); !ok && bad == "" {
		bad = fmt.Sprintf("sspi at %d+%d exceeds record of %d", sspiOff, sspiLen, len(rec))
	}
	l.SSPILen = int(sspiLen)
	str("atchdbfile", &l.AttachDBFile)
	if bad != "" {
		return Login7{}, b, malformed("login7", bad)
	}
	if l.Length >= login7FixedLen72 && l.TDSVersion.atLeast72() {
		var cpOff, cpLen uint16
		var sspiLong uint32
		if r.ReadUint16(&cpOff) && r.ReadUint16(&cpLen) && r.ReadUint32(&sspiLong) {
			if _, ok := wire.Field(rec, int(cpOff), 2*int(cpLen)); !ok {
				return Login7{}, b, malformed("login7", fmt.Sprintf("change password at %d+%d exceeds record", cpOff, cpLen))
			}
			l.NewPasswordLen = int(cpLen)
			if sspiLen == 0xFFFF && sspiLong > 0 {
				l.SSPILen = int(min(sspiLong, 1<<30))
			}
		}
	}
	// Feature extensions: fExtension in OptionFlags3 makes ibExtension point
	// to a DWORD holding the offset of the FeatureExt block.
	if l.OptionFlags3&0x10 != 0 && extLen >= 4 {
		if f, ok := wire.Field(rec, int(extOff), 4); ok {
			var fo uint32
			f.ReadUint32(&fo)
			if fo >= uint32(len(rec)) {
				return Login7{}, b, malformed("login7", fmt.Sprintf("feature extension offset %d beyond record of %d", fo, len(rec)))
			}
			fr := wire.Reader(rec[fo:])
			for i := 0; ; i++ {
				var id uint8
				if !fr.ReadUint8(&id) {
					return Login7{}, b, malformed("login7", "feature extension without terminator")
				}
				if FeatureID(id) == FeatureTerminator {
					break
				}
				var n uint32
				if i >= maxFeatures || !fr.ReadUint32(&n) || !fr.Skip(int(min(n, 1<<30))) {
					return Login7{}, b, malformed("login7", fmt.Sprintf("feature %s length exceeds record", FeatureID(id)))
				}
				l.Features = append(l.Features, Feature{ID: FeatureID(id), Length: int(n)})
			}
		}
	}
	return l, b[l.Length:], nil
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
		fs := make([]string, len(l.Features))
		for i, f := range l.Features {
			fs[i] = f.ID.String()
		}
		m["features"] = fs
	}
	return m
}
