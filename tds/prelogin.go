package tds

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// PreloginOption is a PRELOGIN option token ([MS-TDS] 2.2.6.5).
type PreloginOption uint8

// PRELOGIN option tokens.
const (
	OptVersion         PreloginOption = 0x00
	OptEncryption      PreloginOption = 0x01
	OptInstOpt         PreloginOption = 0x02
	OptThreadID        PreloginOption = 0x03
	OptMARS            PreloginOption = 0x04
	OptTraceID         PreloginOption = 0x05
	OptFedAuthRequired PreloginOption = 0x06
	OptNonce           PreloginOption = 0x07
	OptTerminator      PreloginOption = 0xFF
)

var preloginOptionNames = map[PreloginOption]string{
	OptVersion: "VERSION", OptEncryption: "ENCRYPTION", OptInstOpt: "INSTOPT", OptThreadID: "THREADID",
	OptMARS: "MARS", OptTraceID: "TRACEID", OptFedAuthRequired: "FEDAUTHREQUIRED", OptNonce: "NONCEOPT",
	OptTerminator: "TERMINATOR",
}

// String returns the spec's name or PreloginOption(0xNN).
func (o PreloginOption) String() string {
	return enumName(preloginOptionNames, "PreloginOption", o)
}

// Encryption is the PRELOGIN ENCRYPTION option value ([MS-TDS] 2.2.6.5).
type Encryption uint8

// Encryption values. EncryptClientCert (0x80) may be or-ed with the others.
const (
	EncryptOff        Encryption = 0x00 // encrypt the login packet only
	EncryptOn         Encryption = 0x01 // encrypt everything
	EncryptNotSup     Encryption = 0x02 // encryption not available
	EncryptReq        Encryption = 0x03 // encryption required
	EncryptClientCert Encryption = 0x80 // client certificate authentication
)

// String returns the spec's name with its meaning, e.g.
// "ENCRYPT_OFF (login only)".
func (e Encryption) String() string {
	var s string
	switch e &^ EncryptClientCert {
	case EncryptOff:
		s = "ENCRYPT_OFF (login only)"
	case EncryptOn:
		s = "ENCRYPT_ON"
	case EncryptNotSup:
		s = "ENCRYPT_NOT_SUP"
	case EncryptReq:
		s = "ENCRYPT_REQ"
	default:
		s = fmt.Sprintf("Encryption(0x%02x)", uint8(e&^EncryptClientCert))
	}
	if e&EncryptClientCert != 0 {
		s += "|CLIENT_CERT"
	}
	return s
}

// PreloginVersion is the VERSION option: major.minor.build and sub-build.
type PreloginVersion struct {
	Major, Minor uint8
	Build        uint16
	SubBuild     uint16
}

// String returns "major.minor.build".
func (v PreloginVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build) }

// Prelogin is a PRELOGIN request or response ([MS-TDS] 2.2.6.5). Absent
// options have their Has field false. The nonce is only recognised.
type Prelogin struct {
	Options         []PreloginOption // in wire order, terminator excluded
	HasVersion      bool
	Version         PreloginVersion
	HasEncryption   bool
	Encryption      Encryption
	HasInstance     bool
	Instance        string
	HasThreadID     bool
	ThreadID        uint32
	HasMARS         bool
	MARS            uint8
	HasTraceID      bool
	ConnectionID    [16]byte
	ActivityID      [16]byte
	ActivitySeq     uint32
	HasFedAuth      bool
	FedAuthRequired uint8
	HasNonce        bool
}

// maxPreloginOptions bounds the option table (8 are defined).
const maxPreloginOptions = 64

// ParsePrelogin parses the payload of a PRELOGIN message (the bytes after
// the packet header). Offsets are relative to the payload. Each option's
// data must lie within b; an unknown option is skipped; a duplicate option
// is malformed. An option of length zero (SQL Server 2022 sends one) is
// listed in Options with no value: its Has field stays false, and its
// offset, which points at no data, is not checked. The returned bytes are
// those after the last option data (the payload is one structure, so
// normally empty). Nothing aliases b.
func ParsePrelogin(b []byte) (Prelogin, []byte, error) {
	s := cryptobyte.String(b)
	var p Prelogin
	var seen [256]bool
	end := 0
	for i := 0; ; i++ {
		if i > maxPreloginOptions {
			return Prelogin{}, b, malformed("prelogin", "more than 64 options")
		}
		var tok uint8
		if !s.ReadUint8(&tok) {
			return Prelogin{}, b, truncated("prelogin", len(b)+1)
		}
		if PreloginOption(tok) == OptTerminator {
			break
		}
		var off, n uint16
		if !s.ReadUint16(&off) || !s.ReadUint16(&n) {
			return Prelogin{}, b, truncated("prelogin option table", len(b)+4)
		}
		opt := PreloginOption(tok)
		if seen[opt] {
			return Prelogin{}, b, malformed("prelogin", "duplicate option "+opt.String())
		}
		seen[opt] = true
		if n == 0 {
			p.Options = append(p.Options, opt) // present, no value
			continue
		}
		if int(off) > len(b) || int(n) > len(b)-int(off) {
			return Prelogin{}, b, malformed("prelogin", fmt.Sprintf("option %s at %d+%d exceeds payload of %d", opt, off, n, len(b)))
		}
		if int(off)+int(n) > end {
			end = int(off) + int(n)
		}
		data := cryptobyte.String(b[off : int(off)+int(n)])
		p.Options = append(p.Options, opt)
		if err := p.option(opt, data); err != nil {
			return Prelogin{}, b, err
		}
	}
	tableEnd := len(b) - len(s)
	if end < tableEnd {
		end = tableEnd
	}
	return p, b[end:], nil
}

func (p *Prelogin) option(opt PreloginOption, d cryptobyte.String) error {
	bad := func() error {
		return malformed("prelogin", fmt.Sprintf("option %s has %d bytes", opt, len(d)))
	}
	switch opt {
	case OptVersion:
		var v uint32
		if !d.ReadUint32(&v) {
			return bad()
		}
		p.HasVersion = true
		p.Version = PreloginVersion{Major: uint8(v >> 24), Minor: uint8(v >> 16), Build: uint16(v)}
		d.ReadUint16(&p.Version.SubBuild) // optional in practice
	case OptEncryption:
		if !d.ReadUint8((*uint8)(&p.Encryption)) {
			return bad()
		}
		p.HasEncryption = true
	case OptInstOpt:
		p.HasInstance = true
		p.Instance = cString(d)
	case OptThreadID:
		// Servers send it empty; clients send 4 bytes (big-endian, as tshark).
		p.HasThreadID = d.ReadUint32(&p.ThreadID)
	case OptMARS:
		if !d.ReadUint8(&p.MARS) {
			return bad()
		}
		p.HasMARS = true
	case OptTraceID:
		var conn, act []byte
		if !d.ReadBytes(&conn, 16) || !d.ReadBytes(&act, 16) {
			return bad()
		}
		p.HasTraceID = true
		copy(p.ConnectionID[:], conn)
		copy(p.ActivityID[:], act)
		var seq []byte
		if d.ReadBytes(&seq, 4) {
			p.ActivitySeq = uint32(seq[0]) | uint32(seq[1])<<8 | uint32(seq[2])<<16 | uint32(seq[3])<<24
		}
	case OptFedAuthRequired:
		if !d.ReadUint8(&p.FedAuthRequired) {
			return bad()
		}
		p.HasFedAuth = true
	case OptNonce:
		if len(d) != 32 {
			return bad()
		}
		p.HasNonce = true
	}
	return nil
}

// cString returns the bytes of d up to the first NUL as a string, with
// non-printable bytes replaced.
func cString(d []byte) string {
	for i, c := range d {
		if c == 0 {
			d = d[:i]
			break
		}
	}
	return printable(d)
}

// printable converts single-byte text to a string, replacing control bytes
// with '.' and interpreting bytes ≥ 0x80 as Latin-1.
func printable(b []byte) string {
	r := make([]rune, 0, len(b))
	for _, c := range b {
		if c < 0x20 || c == 0x7f {
			r = append(r, '.')
			continue
		}
		r = append(r, rune(c))
	}
	return string(r)
}

// fields returns the options for a decoded message.
func (p *Prelogin) fields() map[string]any {
	m := map[string]any{}
	if p.HasVersion {
		m["version"] = p.Version.String()
		m["subbuild"] = p.Version.SubBuild
	}
	if p.HasEncryption {
		m["encryption"] = p.Encryption.String()
	}
	if p.HasInstance {
		m["instance"] = p.Instance
	}
	if p.HasThreadID {
		m["threadid"] = p.ThreadID
	}
	if p.HasMARS {
		m["mars"] = p.MARS
	}
	if p.HasTraceID {
		m["traceid"] = fmt.Sprintf("%x", p.ActivityID)
	}
	if p.HasFedAuth {
		m["fedauthrequired"] = p.FedAuthRequired
	}
	if p.HasNonce {
		m["nonce"] = true
	}
	return m
}
