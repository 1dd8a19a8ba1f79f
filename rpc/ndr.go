package rpc

import (
	"unicode/utf16"

	"github.com/nettrace/nettrace/internal/wire"
)

// NDRLimits bound what an NDR decoder will walk.
type NDRLimits struct {
	// MaxDepth caps nested constructed types (Enter/Leave). Default 16.
	MaxDepth int
	// MaxElements caps the element count of any one array. Default 65536.
	MaxElements int
}

// DefaultNDRLimits returns the documented defaults.
func DefaultNDRLimits() NDRLimits { return NDRLimits{MaxDepth: 16, MaxElements: 65536} }

// Encoding is the transfer syntax a presentation context negotiated, which
// says how its stubs are encoded: NDR 2.0 (C706 14) or NDR64 ([MS-RPCE]
// 2.2.5), which widens pointers and array counts to 8 bytes.
type Encoding uint8

// Encodings.
const (
	NDR20 Encoding = iota // 8a885d04-1ceb-11c9-9fe8-08002b104860 v2
	NDR64                 // 71710533-beba-4937-8319-b5dbef9ccc36 v1
)

// String returns "NDR" or "NDR64".
func (e Encoding) String() string {
	if e == NDR64 {
		return "NDR64"
	}
	return "NDR"
}

// EncodingOf returns the encoding of a transfer syntax UUID: NDR64 for
// NDR64Syntax, NDR20 for anything else.
func EncodingOf(transfer UUID) Encoding {
	if transfer == NDR64Syntax {
		return NDR64
	}
	return NDR20
}

// NDR decodes NDR 2.0 (C706 14) or NDR64 ([MS-RPCE] 2.2.5) from a stub, in
// the integer byte order of its data representation. Alignment is relative
// to the start of the stub, as C706 14.2.2 requires. Every method reports
// whether it succeeded and, like cryptobyte, leaves the decoder in an
// unspecified position after a failure; callers stop at the first false.
//
// The two encodings differ where the methods say so: NDR64 pointers
// (referent ids) and array counts (maximum count, offset, actual count) are
// 8-byte aligned unsigned hypers instead of 4-byte longs ([MS-RPCE]
// 2.2.5.3.3, 2.2.5.3.4). The rest — integers, UUIDs, context handles,
// characters — is the same.
//
// Counts read from the wire are checked against the bytes that remain before
// anything is sized from them, so a decoder never allocates from a count.
// Use one NDR per stub; it is not safe for concurrent use.
type NDR struct {
	r     wire.Reader
	base  wire.Reader
	be    bool
	ndr64 bool
	depth int
	lim   NDRLimits
	full  map[uint32]struct{} // referent ids of full pointers seen
}

// NewNDR returns an NDR 2.0 decoder over stub. Zero fields of lim take the
// defaults.
func NewNDR(stub []byte, drep DataRep, lim NDRLimits) NDR {
	d := DefaultNDRLimits()
	if lim.MaxDepth > 0 {
		d.MaxDepth = lim.MaxDepth
	}
	if lim.MaxElements > 0 {
		d.MaxElements = lim.MaxElements
	}
	return NDR{r: wire.Reader(stub), base: wire.Reader(stub), be: drep.BigEndian(), lim: d}
}

// NewNDR64 returns an NDR64 decoder over stub ([MS-RPCE] 2.2.5). Zero
// fields of lim take the defaults.
func NewNDR64(stub []byte, drep DataRep, lim NDRLimits) NDR {
	n := NewNDR(stub, drep, lim)
	n.ndr64 = true
	return n
}

// NewNDREncoding returns the decoder of encoding e over stub: NewNDR or
// NewNDR64.
func NewNDREncoding(stub []byte, drep DataRep, e Encoding, lim NDRLimits) NDR {
	if e == NDR64 {
		return NewNDR64(stub, drep, lim)
	}
	return NewNDR(stub, drep, lim)
}

// Encoding returns the encoding the decoder reads.
func (n *NDR) Encoding() Encoding {
	if n.ndr64 {
		return NDR64
	}
	return NDR20
}

// PointerSize returns the size of a referent id: 4 in NDR 2.0, 8 in NDR64.
// It is also the alignment of a structure holding a pointer.
func (n *NDR) PointerSize() int {
	if n.ndr64 {
		return 8
	}
	return 4
}

// wide reads an NDR64 unsigned hyper that must fit 32 bits (a referent id
// is folded to a non-zero 32-bit value when it does not).
func (n *NDR) wide(out *uint32, fold bool) bool {
	var v uint64
	if !n.Uint64(&v) {
		return false
	}
	switch {
	case v <= 0xffffffff:
		*out = uint32(v)
	case fold:
		*out = uint32(v) | uint32(v>>32) // zero only for the null pointer
	default:
		return false
	}
	return true
}

// Len returns the bytes not yet decoded.
func (n *NDR) Len() int { return n.r.Len() }

// Offset returns the bytes decoded so far.
func (n *NDR) Offset() int { return len(n.base) - len(n.r) }

// Align skips padding to a multiple of k bytes from the stub start.
func (n *NDR) Align(k int) bool { return n.r.Align(n.base, k) }

// Enter starts a nested constructed type; it fails beyond MaxDepth.
func (n *NDR) Enter() bool {
	if n.depth >= n.lim.MaxDepth {
		return false
	}
	n.depth++
	return true
}

// Leave ends the type Enter started.
func (n *NDR) Leave() {
	if n.depth > 0 {
		n.depth--
	}
}

// Uint8 reads an unsigned small.
func (n *NDR) Uint8(out *uint8) bool { return n.r.ReadUint8(out) }

// Uint16 reads an aligned unsigned short.
func (n *NDR) Uint16(out *uint16) bool { return n.Align(2) && read16(&n.r, n.be, out) }

// Uint32 reads an aligned unsigned long.
func (n *NDR) Uint32(out *uint32) bool { return n.Align(4) && read32(&n.r, n.be, out) }

// Uint64 reads an aligned unsigned hyper.
func (n *NDR) Uint64(out *uint64) bool {
	var a, b uint32
	if !n.Align(8) || !read32(&n.r, n.be, &a) || !read32(&n.r, n.be, &b) {
		return false
	}
	if n.be {
		*out = uint64(a)<<32 | uint64(b)
	} else {
		*out = uint64(b)<<32 | uint64(a)
	}
	return true
}

// UUID reads a GUID (4-byte aligned: a long, two shorts, eight bytes).
func (n *NDR) UUID(out *UUID) bool { return n.Align(4) && readUUID(&n.r, n.be, out) }

// Bytes sets out to the next k bytes (no alignment), aliasing the stub.
func (n *NDR) Bytes(out *[]byte, k int) bool { return n.r.ReadBytes(out, k) }

// ContextHandle reads a 20-byte policy/context handle (4-byte aligned).
func (n *NDR) ContextHandle(out *[20]byte) bool { return n.Align(4) && n.r.CopyBytes(out[:]) }

// Pointer reads the referent ID of a unique or full pointer (C706 14.3.11;
// 8 bytes in NDR64, [MS-RPCE] 2.2.5.3.3); 0 is the null pointer. The
// referent itself follows inline for a top-level pointer and is deferred for
// an embedded one.
func (n *NDR) Pointer(referent *uint32) bool {
	if n.ndr64 {
		return n.wide(referent, true)
	}
	return n.Uint32(referent)
}

// FullPointer reads the referent ID of a full pointer ([ptr], C706
// 14.3.11.3). first reports whether the referent must be decoded: false for
// the null pointer and for an ID already seen in this stub, whose referent
// was marshalled with its first occurrence. It fails beyond MaxElements
// distinct IDs.
func (n *NDR) FullPointer(referent *uint32, first *bool) bool {
	if !n.Pointer(referent) {
		return false
	}
	*first = false
	if *referent == 0 {
		return true
	}
	if _, seen := n.full[*referent]; seen {
		return true
	}
	if len(n.full) >= n.lim.MaxElements {
		return false
	}
	if n.full == nil {
		n.full = make(map[uint32]struct{})
	}
	n.full[*referent] = struct{}{}
	*first = true
	return true
}

// ArrayCount reads one array count — a maximum count, offset or actual
// count: an unsigned long in NDR 2.0, an unsigned hyper in NDR64 ([MS-RPCE]
// 2.2.5.3.4), which must fit 32 bits. It checks nothing else; Count also
// checks the elements fit.
func (n *NDR) ArrayCount(out *uint32) bool {
	if n.ndr64 {
		return n.wide(out, false)
	}
	return n.Uint32(out)
}

// Count reads an array count (maximum count, offset or actual count) and
// checks that count elements of elemSize bytes each could still fit in the
// stub and stay within MaxElements. It does not consume the elements.
func (n *NDR) Count(elemSize int, out *uint32) bool {
	if !n.ArrayCount(out) {
		return false
	}
	return n.fits(*out, elemSize)
}

func (n *NDR) fits(count uint32, elemSize int) bool {
	if elemSize < 1 {
		elemSize = 1
	}
	if uint64(count) > uint64(n.lim.MaxElements) {
		return false
	}
	return uint64(count) <= uint64(n.r.Len())/uint64(elemSize)
}

// Conformant reads the maximum count of a conformant array (C706 14.3.3.2).
func (n *NDR) Conformant(elemSize int, max *uint32) bool { return n.Count(elemSize, max) }

// Varying reads offset and actual count of a varying array (C706 14.3.3.3)
// and checks offset+actual fits when max is not 0.
func (n *NDR) Varying(elemSize int, max uint32, offset, actual *uint32) bool {
	if !n.ArrayCount(offset) || !n.Count(elemSize, actual) {
		return false
	}
	if max != 0 && (uint64(*offset)+uint64(*actual) > uint64(max)) {
		return false
	}
	return true
}

// ConformantVarying reads the three counts of a conformant varying array.
func (n *NDR) ConformantVarying(elemSize int, max, offset, actual *uint32) bool {
	return n.ArrayCount(max) && n.fits(0, elemSize) && n.Varying(elemSize, *max, offset, actual)
}

// VaryingString reads a varying string ([string] char/wchar_t array with a
// fixed bound: offset, actual count, characters) of charSize 1 or 2 and
// returns its characters without the terminating NUL, aliasing the stub.
func (n *NDR) VaryingString(charSize int, out *[]byte) bool {
	var off, act uint32
	if !n.Varying(charSize, 0, &off, &act) {
		return false
	}
	return n.chars(charSize, act, out)
}

// ConformantVaryingString reads a [string] pointer target: maximum count,
// offset, actual count, characters (C706 14.3.4).
func (n *NDR) ConformantVaryingString(charSize int, out *[]byte) bool {
	var max, off, act uint32
	if !n.ConformantVarying(charSize, &max, &off, &act) {
		return false
	}
	return n.chars(charSize, act, out)
}

func (n *NDR) chars(charSize int, count uint32, out *[]byte) bool {
	var b []byte
	if !n.r.ReadBytes(&b, int(count)*charSize) {
		return false
	}
	for len(b) >= charSize {
		z := true
		for _, c := range b[len(b)-charSize:] {
			z = z && c == 0
		}
		if !z {
			break
		}
		b = b[:len(b)-charSize]
	}
	*out = b
	return true
}

// UTF16String decodes UTF-16 code units in the byte order of drep. It
// allocates at most len(b) bytes of output per input byte pair.
func UTF16String(b []byte, drep DataRep) string {
	u := make([]uint16, 0, len(b)/2)
	be := drep.BigEndian()
	for i := 0; i+1 < len(b); i += 2 {
		if be {
			u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
		} else {
			u = append(u, uint16(b[i+1])<<8|uint16(b[i]))
		}
	}
	return string(utf16.Decode(u))
}
