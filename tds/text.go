package tds

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/nettrace/nettrace/internal/wire"
)

// ucs2 decodes little-endian UTF-16 text (TDS "UNICODESTREAM", US_VARCHAR,
// B_VARCHAR …), keeping at most max characters (max ≤ 0: all). It returns
// the text and whether it was cut. An odd trailing byte is dropped.
func ucs2(b []byte, max int) (string, bool) {
	n := len(b) / 2
	cut := false
	if max > 0 && n > max {
		n, cut = max, true
	}
	r := wire.Reader(b)
	u := make([]uint16, 0, min(n, 4096))
	for i := 0; i < n; i++ {
		var v uint16
		if !r.ReadUint16(&v) {
			break
		}
		u = append(u, v)
	}
	// Fast path for ASCII.
	ascii := true
	for _, v := range u {
		if v >= utf8.RuneSelf || v < 0x20 && v != '\t' && v != '\n' && v != '\r' {
			ascii = false
			break
		}
	}
	if ascii {
		buf := make([]byte, len(u))
		for i, v := range u {
			buf[i] = byte(v)
		}
		return string(buf), cut
	}
	rs := utf16.Decode(u)
	for i, c := range rs {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			rs[i] = '.'
		}
	}
	return string(rs), cut
}

// readBVarchar reads a B_VARCHAR (1-byte character count, UCS-2).
func readBVarchar(r *wire.Reader) (string, bool) {
	var n uint8
	var b []byte
	if !r.ReadUint8(&n) || !r.ReadBytes(&b, 2*int(n)) {
		return "", false
	}
	s, _ := ucs2(trimNUL(b), 0)
	return s, true
}

// trimNUL drops trailing UCS-2 NUL characters (LOGINACK pads its program
// name with them).
func trimNUL(b []byte) []byte {
	for len(b) >= 2 && b[len(b)-1] == 0 && b[len(b)-2] == 0 {
		b = b[:len(b)-2]
	}
	return b
}

// readUSVarchar reads a US_VARCHAR (2-byte character count, UCS-2).
func readUSVarchar(r *wire.Reader) (string, bool) {
	var n uint16
	var b []byte
	if !r.ReadUint16(&n) || !r.ReadBytes(&b, 2*int(n)) {
		return "", false
	}
	s, _ := ucs2(b, 0)
	return s, true
}

// skipBVarchar skips a B_VARCHAR.
func skipBVarchar(r *wire.Reader) bool {
	var n uint8
	return r.ReadUint8(&n) && r.Skip(2*int(n))
}

// skipUSVarchar skips a US_VARCHAR.
func skipUSVarchar(r *wire.Reader) bool {
	var n uint16
	return r.ReadUint16(&n) && r.Skip(2*int(n))
}

// enumName returns the spec's name of the wire value v, or typ(0xNN) for a
// value without one ("TokenType(0x12)").
func enumName[T ~uint8](names map[T]string, typ string, v T) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprintf("%s(0x%02x)", typ, uint8(v))
}
