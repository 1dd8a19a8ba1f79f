package rpc

import (
	"encoding/hex"
	"errors"

	"github.com/nettrace/nettrace/internal/wire"
)

// UUID is a DCE UUID (C706 Appendix A) held in its canonical byte order:
// the order in which its string form is written, so that
// UUID.String() of e1af8308-5d1f-11c9-91a4-08002b14a0fa gives back that text.
// On the wire the first three fields follow the data representation's
// integer byte order; ReadUUID converts.
type UUID [16]byte

// String returns the canonical lower-case form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// IsZero reports whether u is the nil UUID.
func (u UUID) IsZero() bool { return u == UUID{} }

// MarshalText writes the canonical form, so UUIDs print as strings in JSON.
func (u UUID) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// ParseUUID parses the canonical 36-character form (case-insensitive).
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, errors.New("dcerpc: uuid: not in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx")
	}
	parts := [...]struct{ from, to, at int }{{0, 8, 0}, {9, 13, 4}, {14, 18, 6}, {19, 23, 8}, {24, 36, 10}}
	for _, p := range parts {
		if _, err := hex.Decode(u[p.at:], []byte(s[p.from:p.to])); err != nil {
			return UUID{}, errors.New("dcerpc: uuid: bad hex digit")
		}
	}
	return u, nil
}

// MustParseUUID is ParseUUID for constants; it panics on a bad literal and
// must only be used on program text, never on input.
func MustParseUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

// readUUID reads a UUID whose first three fields are in the byte order of
// bigEndian and reports whether 16 bytes existed.
func readUUID(r *wire.Reader, bigEndian bool, out *UUID) bool {
	var b []byte
	if !r.ReadBytes(&b, 16) {
		return false
	}
	*out = uuidFromWire(b, bigEndian)
	return true
}

// uuidFromWire converts 16 wire bytes; b must hold at least 16 bytes.
func uuidFromWire(b []byte, bigEndian bool) UUID {
	var u UUID
	copy(u[:], b[:16])
	if !bigEndian {
		u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
		u[4], u[5] = b[5], b[4]
		u[6], u[7] = b[7], b[6]
	}
	return u
}

// AppendWire appends u in wire order (little-endian data representation
// when bigEndian is false). It is for building test input and requests.
func (u UUID) AppendWire(b []byte, bigEndian bool) []byte {
	if bigEndian {
		return append(b, u[:]...)
	}
	return append(b, u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6],
		u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15])
}
