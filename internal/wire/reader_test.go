package wire

import (
	"math"
	"testing"
)

func TestReadsAreLittleEndianAndBounded(t *testing.T) {
	r := Reader{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}
	var u8 uint8
	var u16, be16 uint16
	var u32 uint32
	var u64 uint64
	if !r.ReadUint8(&u8) || !r.ReadUint16(&u16) || !r.ReadUint16BE(&be16) || !r.ReadUint32(&u32) {
		t.Fatal("reads within the input failed")
	}
	if u8 != 0x01 || u16 != 0x0302 || be16 != 0x0405 || u32 != 0x09080706 {
		t.Errorf("got %#x %#x %#x %#x", u8, u16, be16, u32)
	}
	if r.ReadUint64(&u64) {
		t.Error("ReadUint64 with 6 bytes left succeeded")
	}
	if r.Len() != 6 {
		t.Errorf("a failed read consumed input: %d bytes left, want 6", r.Len())
	}
	var b []byte
	if r.ReadBytes(&b, -1) || r.ReadBytes(&b, 7) {
		t.Error("ReadBytes accepted a negative or too large length")
	}
	if !r.ReadBytes(&b, 6) || !r.Empty() || b[0] != 0x0a {
		t.Errorf("ReadBytes(6) = %x, empty %v", b, r.Empty())
	}
}

func TestChildReaderCannotRunPastItsField(t *testing.T) {
	r := Reader{1, 2, 3, 4, 5}
	var child Reader
	if !r.ReadReader(&child, 2) {
		t.Fatal("ReadReader(2) failed")
	}
	var v uint32
	if child.ReadUint32(&v) {
		t.Error("child read past its 2 bytes")
	}
	if r.Len() != 3 {
		t.Errorf("parent has %d bytes left, want 3", r.Len())
	}
}

func TestFieldRejectsOutOfRangeWithoutOverflow(t *testing.T) {
	base := make([]byte, 10)
	for _, tc := range []struct {
		off, n int
		ok     bool
	}{
		{0, 10, true}, {10, 0, true}, {4, 6, true},
		{4, 7, false}, {11, 0, false}, {-1, 1, false}, {1, -1, false},
		{math.MaxInt, 1, false}, {1, math.MaxInt, false}, {math.MaxInt - 1, math.MaxInt - 1, false},
	} {
		got, ok := Field(base, tc.off, tc.n)
		if ok != tc.ok || (ok && len(got) != tc.n) {
			t.Errorf("Field(len 10, %d, %d) = len %d, %v; want ok=%v", tc.off, tc.n, len(got), ok, tc.ok)
		}
	}
}

func TestAlignSkipsPaddingFromTheStructureStart(t *testing.T) {
	base := Reader{1, 0, 0, 0, 5, 6, 7, 8}
	r := base
	var b uint8
	r.ReadUint8(&b)
	if !r.Align(base, 4) || r.Len() != 4 {
		t.Errorf("Align(4) after 1 byte left %d bytes, want 4", r.Len())
	}
	if !r.Align(base, 4) || r.Len() != 4 {
		t.Error("Align on a boundary skipped bytes")
	}
	short := Reader{1, 2}
	s := short
	s.ReadUint8(&b)
	if s.Align(short, 4) {
		t.Error("Align succeeded without the padding bytes")
	}
}

func TestPeekHelpers(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5}
	if v, ok := Uint16At(b, 3); !ok || v != 0x0504 {
		t.Errorf("Uint16At(3) = %#x, %v", v, ok)
	}
	if _, ok := Uint16At(b, 4); ok {
		t.Error("Uint16At past the end succeeded")
	}
	if _, ok := Uint32At(b, -1); ok {
		t.Error("Uint32At(-1) succeeded")
	}
	if v, ok := Uint32At(b, 1); !ok || v != 0x05040302 {
		t.Errorf("Uint32At(1) = %#x, %v", v, ok)
	}
}
