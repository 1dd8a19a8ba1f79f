package smb

import (
	"bytes"
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// NTLMMessageType is the MessageType of an NTLMSSP message ([MS-NLMP] 2.2.1).
type NTLMMessageType uint32

// NTLMSSP message types ([MS-NLMP] 2.2.1.1-3).
const (
	NTLMNegotiate    NTLMMessageType = 1
	NTLMChallenge    NTLMMessageType = 2
	NTLMAuthenticate NTLMMessageType = 3
)

// String returns "NEGOTIATE", "CHALLENGE", "AUTHENTICATE" or the number.
func (t NTLMMessageType) String() string {
	switch t {
	case NTLMNegotiate:
		return "NEGOTIATE"
	case NTLMChallenge:
		return "CHALLENGE"
	case NTLMAuthenticate:
		return "AUTHENTICATE"
	}
	return fmt.Sprintf("NTLMMessageType(%d)", uint32(t))
}

// NTLMSSP negotiate flags used by the parser ([MS-NLMP] 2.2.2.5).
const (
	NTLMFlagUnicode   = 0x00000001
	NTLMFlagOEM       = 0x00000002
	NTLMFlagVersion   = 0x02000000
	NTLMFlagAnonymous = 0x00000800
)

var ntlmSignature = []byte("NTLMSSP\x00")

// NTLMVersion is the VERSION structure ([MS-NLMP] 2.2.2.10).
type NTLMVersion struct {
	Major, Minor uint8
	Build        uint16
	Revision     uint8
}

// String returns "10.0.19041 rev 15".
func (v NTLMVersion) String() string {
	return fmt.Sprintf("%d.%d.%d rev %d", v.Major, v.Minor, v.Build, v.Revision)
}

// NTLM is one decoded NTLMSSP message. It deliberately keeps no challenge,
// no LM/NT response and no session key: only names, flags, the version and
// the length of the NT response (to tell NTLMv1 from NTLMv2). Strings are
// copies, not aliases.
type NTLM struct {
	Type        NTLMMessageType
	Flags       uint32
	Version     NTLMVersion // zero unless the VERSION flag is set
	HasVersion  bool
	Domain      string // NEGOTIATE (if supplied) and AUTHENTICATE
	User        string // AUTHENTICATE
	Workstation string // NEGOTIATE (if supplied) and AUTHENTICATE
	// TargetName and the AV pairs of a CHALLENGE ([MS-NLMP] 2.2.2.1).
	TargetName     string
	NbComputerName string
	NbDomainName   string
	DNSComputer    string
	DNSDomain      string
	DNSTree        string
	// NTResponseLen is the length of the NT challenge response of an
	// AUTHENTICATE: 0 anonymous, 24 NTLMv1, more NTLMv2. The bytes are never kept.
	NTResponseLen int
}

// Anonymous reports whether an AUTHENTICATE is an anonymous logon.
func (m NTLM) Anonymous() bool {
	return m.Type == NTLMAuthenticate && (m.Flags&NTLMFlagAnonymous != 0 || m.User == "" && m.NTResponseLen == 0)
}

// FindNTLM finds the NTLMSSP signature inside a security blob (raw or
// wrapped in SPNEGO/GSS-API) and parses the message there. ok is false
// when the blob holds no NTLMSSP message.
func FindNTLM(blob []byte) (m NTLM, ok bool, err error) {
	i := bytes.Index(blob, ntlmSignature)
	if i < 0 {
		return NTLM{}, false, nil
	}
	m, err = ParseNTLM(blob[i:])
	return m, err == nil, err
}

// ParseNTLM parses an NTLMSSP message starting with its signature. The
// message extends to the end of b (offset fields are relative to its
// start). It returns a *ParseError wrapping ErrTruncated or ErrMalformed.
func ParseNTLM(b []byte) (NTLM, error) {
	r := wire.Reader(b)
	var sig []byte
	var typ uint32
	if !r.ReadBytes(&sig, 8) || !r.ReadUint32(&typ) {
		return NTLM{}, truncated("ntlmssp header", 12)
	}
	if !bytes.Equal(sig, ntlmSignature) {
		return NTLM{}, malformed("ntlmssp header", "bad signature")
	}
	m := NTLM{Type: NTLMMessageType(typ)}
	switch m.Type {
	case NTLMNegotiate:
		var dom, ws field
		if !r.ReadUint32(&m.Flags) || !dom.read(&r) || !ws.read(&r) {
			// Old clients send a NEGOTIATE without the optional fields.
			if m.Flags == 0 {
				return NTLM{}, truncated("ntlmssp negotiate", 16)
			}
			return m, nil
		}
		m.readVersion(&r)
		// Domain and workstation are OEM strings in a NEGOTIATE.
		m.Domain, _ = dom.str(b, false)
		m.Workstation, _ = ws.str(b, false)
	case NTLMChallenge:
		var target, info field
		var challenge []byte
		if !target.read(&r) || !r.ReadUint32(&m.Flags) || !r.ReadBytes(&challenge, 8) || !r.Skip(8) || !info.read(&r) {
			return NTLM{}, truncated("ntlmssp challenge", 48)
		}
		m.readVersion(&r)
		var ok bool
		if m.TargetName, ok = target.str(b, m.Flags&NTLMFlagUnicode != 0); !ok {
			return NTLM{}, malformed("ntlmssp challenge", "target name %d+%d outside %d bytes", target.off, target.len, len(b))
		}
		if info.len > 0 {
			av, ok := wire.Field(b, int(info.off), int(info.len))
			if !ok {
				return NTLM{}, malformed("ntlmssp challenge", "target info %d+%d outside %d bytes", info.off, info.len, len(b))
			}
			m.readAVPairs(av)
		}
	case NTLMAuthenticate:
		var lm, nt, dom, user, ws, key field
		if !lm.read(&r) || !nt.read(&r) || !dom.read(&r) || !user.read(&r) || !ws.read(&r) || !key.read(&r) || !r.ReadUint32(&m.Flags) {
			return NTLM{}, truncated("ntlmssp authenticate", 64)
		}
		m.readVersion(&r)
		uni := m.Flags&NTLMFlagUnicode != 0
		var ok1, ok2, ok3 bool
		m.Domain, ok1 = dom.str(b, uni)
		m.User, ok2 = user.str(b, uni)
		m.Workstation, ok3 = ws.str(b, uni)
		if !ok1 || !ok2 || !ok3 {
			return NTLM{}, malformed("ntlmssp authenticate", "name field outside %d bytes", len(b))
		}
		if _, ok := wire.Field(b, int(nt.off), int(nt.len)); !ok {
			return NTLM{}, malformed("ntlmssp authenticate", "nt response %d+%d outside %d bytes", nt.off, nt.len, len(b))
		}
		m.NTResponseLen = int(nt.len)
	default:
		return NTLM{}, malformed("ntlmssp header", "unknown message type %d", typ)
	}
	return m, nil
}

// field is an NTLMSSP (Len, MaxLen, Offset) field ([MS-NLMP] 2.2.2).
type field struct {
	len, max uint16
	off      uint32
}

func (f *field) read(r *wire.Reader) bool {
	return r.ReadUint16(&f.len) && r.ReadUint16(&f.max) && r.ReadUint32(&f.off)
}

func (f field) str(base []byte, unicode bool) (string, bool) {
	if f.len == 0 {
		return "", true
	}
	if f.off > 1<<24 {
		return "", false
	}
	v, ok := wire.Field(base, int(f.off), int(f.len))
	if !ok {
		return "", false
	}
	if unicode {
		return utf16String(v), true
	}
	return oemString(v), true
}

func (m *NTLM) readVersion(r *wire.Reader) {
	if m.Flags&NTLMFlagVersion == 0 {
		return
	}
	var rev uint8
	if r.ReadUint8(&m.Version.Major) && r.ReadUint8(&m.Version.Minor) && r.ReadUint16(&m.Version.Build) && r.Skip(3) && r.ReadUint8(&rev) {
		m.Version.Revision = rev
		m.HasVersion = true
	} else {
		m.Version = NTLMVersion{}
	}
}

// readAVPairs reads the names from the TargetInfo AV_PAIR list
// ([MS-NLMP] 2.2.2.1); it stops at MsvAvEOL or the first short pair.
func (m *NTLM) readAVPairs(r wire.Reader) {
	for i := 0; i < 64; i++ {
		var id, n uint16
		var v []byte
		if !r.ReadUint16(&id) || !r.ReadUint16(&n) || !r.ReadBytes(&v, int(n)) || id == 0 {
			return
		}
		switch id {
		case 1:
			m.NbComputerName = utf16String(v)
		case 2:
			m.NbDomainName = utf16String(v)
		case 3:
			m.DNSComputer = utf16String(v)
		case 4:
			m.DNSDomain = utf16String(v)
		case 5:
			m.DNSTree = utf16String(v)
		}
	}
}

// Security mechanisms recognised in a session setup blob.
const (
	MechNone     = ""
	MechNTLMSSP  = "ntlmssp"
	MechKerberos = "kerberos"
	MechSPNEGO   = "spnego"
)

// DER-encoded OIDs (with tag and length) of the mechanisms ([RFC 4178],
// [MS-SPNG] 2.1).
var (
	oidKerberos   = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	oidMSKerberos = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}
	oidSPNEGO     = []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}
)

// SecurityMech names the mechanism a session-setup security blob carries:
// MechNTLMSSP when it holds an NTLMSSP message, MechKerberos for a Kerberos
// token (raw AP-REQ or an SPNEGO token naming Kerberos and no NTLMSSP),
// MechSPNEGO for other SPNEGO tokens (e.g. a bare negTokenResp), MechNone
// for an empty blob.
func SecurityMech(blob []byte) string {
	switch {
	case len(blob) == 0:
		return MechNone
	case bytes.Contains(blob, ntlmSignature):
		return MechNTLMSSP
	case bytes.Contains(blob, oidKerberos) || bytes.Contains(blob, oidMSKerberos):
		if bytes.Contains(blob, oidSPNEGO) && len(blob) < 256 {
			return MechSPNEGO // a negTokenInit listing mechanisms, no ticket
		}
		return MechKerberos
	case blob[0] == 0x6e || blob[0] == 0x6f:
		return MechKerberos // raw AP-REQ / AP-REP
	}
	return MechSPNEGO
}
