// Package wire provides Reader, a bounds-checked little-endian byte reader
// for the SMB, NDR, TDS-token and LOGIN7 parsers. It follows the contract of
// golang.org/x/crypto/cryptobyte.String: the slice is its own cursor, every
// read returns a bool and writes through a pointer, and one private method,
// read, holds the only bounds check. Big-endian formats use cryptobyte.
//
// This is the only package (besides cryptobyte) that may index or slice by a
// number read from the wire.
package wire

import "encoding/binary"

// Reader is a little-endian input cursor. Reading never allocates.
type Reader []byte

// read advances r by n bytes and returns them, or returns nil (leaving r
// unchanged) when fewer than n remain or n is negative.
func (r *Reader) read(n int) []byte {
	if n < 0 || len(*r) < n {
		return nil
	}
	v := (*r)[:n:n]
	*r = (*r)[n:]
	return v
}

// Empty reports whether no bytes remain.
func (r *Reader) Empty() bool { return len(*r) == 0 }

// Len returns the number of bytes remaining.
func (r *Reader) Len() int { return len(*r) }

// Skip advances n bytes and reports whether they existed.
func (r *Reader) Skip(n int) bool { return r.read(n) != nil }

// ReadUint8 reads one byte into out and reports whether it succeeded.
func (r *Reader) ReadUint8(out *uint8) bool {
	v := r.read(1)
	if v == nil {
		return false
	}
	*out = v[0]
	return true
}

// ReadUint16 reads a little-endian 16-bit value and reports whether it succeeded.
func (r *Reader) ReadUint16(out *uint16) bool {
	v := r.read(2)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint16(v)
	return true
}

// ReadUint16BE reads a big-endian 16-bit value (TDS packet header, SMP,
// PRELOGIN offsets) and reports whether it succeeded.
func (r *Reader) ReadUint16BE(out *uint16) bool {
	v := r.read(2)
	if v == nil {
		return false
	}
	*out = binary.BigEndian.Uint16(v)
	return true
}

// ReadUint32 reads a little-endian 32-bit value and reports whether it succeeded.
func (r *Reader) ReadUint32(out *uint32) bool {
	v := r.read(4)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint32(v)
	return true
}

// ReadUint32BE reads a big-endian 32-bit value and reports whether it succeeded.
func (r *Reader) ReadUint32BE(out *uint32) bool {
	v := r.read(4)
	if v == nil {
		return false
	}
	*out = binary.BigEndian.Uint32(v)
	return true
}

// ReadUint64 reads a little-endian 64-bit value and reports whether it succeeded.
func (r *Reader) ReadUint64(out *uint64) bool {
	v := r.read(8)
	if v == nil {
		return false
	}
	*out = binary.LittleEndian.Uint64(v)
	return true
}

// ReadBytes sets out to the next n bytes, aliasing the input, and reports
// whether they existed.
func (r *Reader) ReadBytes(out *[]byte, n int) bool {
	v := r.read(n)
	if v == nil {
		return false
	}
	*out = v
	return true
}

// CopyBytes fills out from the input and reports whether len(out) bytes existed.
func (r *Reader) CopyBytes(out []byte) bool {
	v := r.read(len(out))
	if v == nil {
		return false
	}
	copy(out, v)
	return true
}

// ReadReader sets out to a child Reader over the next n bytes, so that a
// sub-parser cannot run past its field, and reports whether they existed.
func (r *Reader) ReadReader(out *Reader, n int) bool {
	v := r.read(n)
	if v == nil {
		return false
	}
	*out = Reader(v)
	return true
}

// Align skips padding so that the bytes consumed since base are a multiple
// of n (NDR alignment). base is the Reader as it was at the start of the
// aligned structure. It reports whether the padding existed.
func (r *Reader) Align(base Reader, n int) bool {
	if n <= 1 {
		return true
	}
	consumed := len(base) - len(*r)
	if consumed < 0 {
		return false
	}
	pad := (n - consumed%n) % n
	return r.Skip(pad)
}

// Field returns a child Reader over base[off:off+n] — an offset/length field
// such as an SMB2 buffer or a LOGIN7 variable field — and reports whether
// that range lies inside base. The check subtracts instead of adding, so it
// cannot overflow.
func Field(base []byte, off, n int) (Reader, bool) {
	if off < 0 || n < 0 || off > len(base) || n > len(base)-off {
		return nil, false
	}
	return Reader(base[off : off+n : off+n]), true
}

// Uint16At returns the little-endian 16-bit value at b[off:], and whether it
// exists. It is for peeking at headers before committing to a parse.
func Uint16At(b []byte, off int) (uint16, bool) {
	if off < 0 || off > len(b)-2 {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b[off:]), true
}

// Uint32At returns the little-endian 32-bit value at b[off:], and whether it exists.
func Uint32At(b []byte, off int) (uint32, bool) {
	if off < 0 || off > len(b)-4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[off:]), true
}
