package smb

import (
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
)

// NBSSType is a NetBIOS session service packet type (RFC 1002, 4.3.1).
type NBSSType uint8

// NetBIOS session packet types (RFC 1002, 4.3.1).
const (
	NBSSMessage          NBSSType = 0x00
	NBSSRequest          NBSSType = 0x81
	NBSSPositiveResponse NBSSType = 0x82
	NBSSNegativeResponse NBSSType = 0x83
	NBSSRetarget         NBSSType = 0x84
	NBSSKeepAlive        NBSSType = 0x85
)

// String returns the RFC 1002 name of t.
func (t NBSSType) String() string {
	switch t {
	case NBSSMessage:
		return "SESSION_MESSAGE"
	case NBSSRequest:
		return "SESSION_REQUEST"
	case NBSSPositiveResponse:
		return "POSITIVE_SESSION_RESPONSE"
	case NBSSNegativeResponse:
		return "NEGATIVE_SESSION_RESPONSE"
	case NBSSRetarget:
		return "RETARGET_SESSION_RESPONSE"
	case NBSSKeepAlive:
		return "SESSION_KEEP_ALIVE"
	}
	return fmt.Sprintf("NBSSType(0x%02x)", uint8(t))
}

func (t NBSSType) known() bool {
	switch t {
	case NBSSMessage, NBSSRequest, NBSSPositiveResponse, NBSSNegativeResponse, NBSSRetarget, NBSSKeepAlive:
		return true
	}
	return false
}

// NBSSHeaderLen is the size of the session service header.
const NBSSHeaderLen = 4

// NBSS is one NetBIOS session service packet (RFC 1002, 4.3), or one
// direct-hosted SMB transport packet on TCP 445 ([MS-SMB2] 2.1), which has
// the same 4-byte header with a 24-bit length. Payload aliases the input.
type NBSS struct {
	Type    NBSSType
	Length  int    // payload length from the header
	Payload []byte // the payload (an SMB message for NBSSMessage)
}

// ParseNBSSHeader reads the 4-byte header at the front of b and returns the
// packet type and payload length. A session message carries a 24-bit length
// (direct TCP; on 139 the top 7 bits are zero); other types a 17-bit length.
// It returns a *ParseError wrapping ErrTruncated when b is shorter than 4
// bytes, ErrMalformed for an unknown type.
func ParseNBSSHeader(b []byte) (NBSSType, int, error) {
	s := cryptobyte.String(b)
	var t, flags uint8
	var n uint16
	if !s.ReadUint8(&t) || !s.ReadUint8(&flags) || !s.ReadUint16(&n) {
		return 0, 0, truncated("nbss header", NBSSHeaderLen)
	}
	typ := NBSSType(t)
	if !typ.known() {
		return 0, 0, malformed("nbss header", "unknown type 0x%02x", t)
	}
	if typ == NBSSMessage {
		return typ, int(flags)<<16 | int(n), nil
	}
	if flags&^1 != 0 {
		return 0, 0, malformed("nbss header", "flags 0x%02x in %s", flags, typ)
	}
	return typ, int(flags&1)<<16 | int(n), nil
}

// ParseNBSS parses one whole session packet at the front of b and returns it
// with the bytes after it. On error it returns b unchanged and a
// *ParseError wrapping ErrTruncated or ErrMalformed.
func ParseNBSS(b []byte) (NBSS, []byte, error) {
	t, n, err := ParseNBSSHeader(b)
	if err != nil {
		return NBSS{}, b, err
	}
	s := cryptobyte.String(b[NBSSHeaderLen:])
	var p []byte
	if !s.ReadBytes(&p, n) {
		return NBSS{}, b, truncated("nbss packet", NBSSHeaderLen+n)
	}
	if t == NBSSKeepAlive && n != 0 || t == NBSSPositiveResponse && n != 0 {
		return NBSS{}, b, malformed("nbss packet", "%s with length %d", t, n)
	}
	return NBSS{Type: t, Length: n, Payload: p}, []byte(s), nil
}

// SessionRequest is the body of a NetBIOS SESSION REQUEST (RFC 1002,
// 4.3.2): the called (server) and calling (client) names, decoded from
// first-level encoding and printed as "NAME<xx>" with the suffix byte in hex.
type SessionRequest struct {
	Called  string
	Calling string
}

// ParseSessionRequest decodes a SESSION REQUEST payload.
func ParseSessionRequest(p []byte) (SessionRequest, error) {
	s := cryptobyte.String(p)
	called, ok1 := readNetBIOSName(&s)
	calling, ok2 := readNetBIOSName(&s)
	if !ok1 || !ok2 {
		return SessionRequest{}, malformed("nbss session request", "bad encoded name in %d bytes", len(p))
	}
	if !s.Empty() {
		return SessionRequest{}, malformed("nbss session request", "%d trailing bytes", len(s))
	}
	return SessionRequest{Called: called, Calling: calling}, nil
}

// readNetBIOSName reads one first-level encoded name (RFC 1001, 14.1)
// with its scope labels.
func readNetBIOSName(s *cryptobyte.String) (string, bool) {
	var enc cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&enc) || len(enc) != 32 {
		return "", false
	}
	var raw [16]byte
	for i := range raw {
		var hi, lo uint8
		if !enc.ReadUint8(&hi) || !enc.ReadUint8(&lo) || hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P' {
			return "", false
		}
		raw[i] = (hi-'A')<<4 | (lo - 'A')
	}
	var scope []string
	for i := 0; ; i++ {
		var label cryptobyte.String
		if i > 64 || !s.ReadUint8LengthPrefixed(&label) {
			return "", false
		}
		if len(label) == 0 {
			break
		}
		scope = append(scope, printable(label))
	}
	name := strings.TrimRight(printable(raw[:15]), " ")
	out := fmt.Sprintf("%s<%02x>", name, raw[15])
	if len(scope) > 0 {
		out += "." + strings.Join(scope, ".")
	}
	return out, true
}

// printable maps bytes outside printable ASCII to '.'.
func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// NegativeResponseError names the error code of a NEGATIVE SESSION RESPONSE
// (RFC 1002, 4.3.4).
func NegativeResponseError(code uint8) string {
	switch code {
	case 0x80:
		return "not listening on called name"
	case 0x81:
		return "not listening for calling name"
	case 0x82:
		return "called name not present"
	case 0x83:
		return "called name present, but insufficient resources"
	case 0x8f:
		return "unspecified error"
	}
	return fmt.Sprintf("error 0x%02x", code)
}
