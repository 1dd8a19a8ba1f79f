package smb

import (
	"unicode/utf16"

	"github.com/nettrace/nettrace/internal/wire"
)

// maxNameBytes caps the bytes decoded into one name string.
const maxNameBytes = 2048

// utf16String decodes little-endian UTF-16 (odd trailing byte dropped,
// trailing NULs trimmed, at most maxNameBytes bytes).
func utf16String(b []byte) string {
	if len(b) > maxNameBytes {
		b = b[:maxNameBytes]
	}
	r := wire.Reader(b)
	u := make([]uint16, 0, len(b)/2)
	var v uint16
	for r.ReadUint16(&v) {
		u = append(u, v)
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}

// oemString decodes an OEM (8-bit) string, trimming trailing NULs.
func oemString(b []byte) string {
	if len(b) > maxNameBytes {
		b = b[:maxNameBytes]
	}
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	rs := make([]rune, 0, len(b))
	for _, c := range b {
		rs = append(rs, rune(c))
	}
	return string(rs)
}

// readUTF16Z reads a NUL-terminated UTF-16LE string from r.
func readUTF16Z(r *wire.Reader) (string, bool) {
	b, ok := readZ(r, 2)
	if !ok {
		return "", false
	}
	return utf16String(b), true
}

// readOEMZ reads a NUL-terminated 8-bit string from r.
func readOEMZ(r *wire.Reader) (string, bool) {
	b, ok := readZ(r, 1)
	if !ok {
		return "", false
	}
	return oemString(b), true
}

// readZ reads units of size bytes from r up to and including the first
// zero unit and returns the bytes before it. Without a terminator it
// reports false, having consumed every whole unit.
func readZ(r *wire.Reader, size int) ([]byte, bool) {
	start := *r
	n := 0
	for {
		var u []byte
		if !r.ReadBytes(&u, size) {
			return nil, false
		}
		if isZero(u) {
			return start[:n], true
		}
		n += size
	}
}

// isZero reports whether every byte of b is zero.
func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// equalFoldASCII reports whether a and b are equal under ASCII case folding.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
