package rpc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNDRAlignmentAndIntegers(t *testing.T) {
	for _, be := range []bool{false, true} {
		w := &builder{be: be}
		w.u8(0x11).align(2).u16(0x2233).u32(0x44556677).align(8)
		if be {
			w.u32(0x01020304).u32(0x05060708)
		} else {
			w.u32(0x05060708).u32(0x01020304)
		}
		drep := LittleEndian
		if be {
			drep = DataRep{}
		}
		n := NewNDR(w.b, drep, NDRLimits{})
		var a uint8
		var b uint16
		var c uint32
		var d uint64
		if !n.Uint8(&a) || !n.Uint16(&b) || !n.Uint32(&c) || !n.Uint64(&d) || n.Len() != 0 {
			t.Fatalf("big-endian=%v: decode failed at offset %d", be, n.Offset())
		}
		if a != 0x11 || b != 0x2233 || c != 0x44556677 || d != 0x0102030405060708 {
			t.Errorf("big-endian=%v: got %x %x %x %x", be, a, b, c, d)
		}
	}
}

func TestNDRStringsAndPointers(t *testing.T) {
	w := &builder{}
	w.u32(0x20000)                                       // unique pointer referent
	w.u32(6).u32(0).u32(6).raw([]byte("pipe\\\x00\x00")) // conformant varying string, NUL trimmed
	w.align(4).u32(0).u32(3).raw([]byte{'a', 0, 0, 0, 0, 0})
	n := NewNDR(w.b, LittleEndian, NDRLimits{})
	var ref uint32
	var s1, s2 []byte
	if !n.Pointer(&ref) || ref != 0x20000 || !n.ConformantVaryingString(1, &s1) || !n.VaryingString(2, &s2) {
		t.Fatalf("decode failed at %d", n.Offset())
	}
	if string(s1) != "pipe\\" || UTF16String(s2, LittleEndian) != "a" {
		t.Errorf("strings %q %q", s1, s2)
	}
}

// TestRejectNDRConformanceBeyondBuffer: a count that cannot fit in the
// bytes left, or above MaxElements, fails before anything is sized from it.
func TestRejectNDRConformanceBeyondBuffer(t *testing.T) {
	w := &builder{}
	w.u32(1000).raw(make([]byte, 100))
	n := NewNDR(w.b, LittleEndian, NDRLimits{})
	var c uint32
	if n.Conformant(1, &c) {
		t.Error("count 1000 accepted with 100 bytes left")
	}
	w2 := &builder{}
	w2.u32(50).raw(make([]byte, 100))
	n = NewNDR(w2.b, LittleEndian, NDRLimits{MaxElements: 10})
	if n.Conformant(1, &c) {
		t.Error("count 50 accepted above MaxElements 10")
	}
	w3 := &builder{}
	w3.u32(10).u32(5).u32(10).raw(make([]byte, 40))
	n = NewNDR(w3.b, LittleEndian, NDRLimits{})
	var max, off, act uint32
	if n.ConformantVarying(1, &max, &off, &act) {
		t.Error("offset+actual beyond the maximum count accepted")
	}
}

func TestNDRDepthCap(t *testing.T) {
	n := NewNDR(nil, LittleEndian, NDRLimits{MaxDepth: 3})
	depth := 0
	for n.Enter() {
		depth++
		if depth > 100 {
			break
		}
	}
	if depth != 3 {
		t.Errorf("entered %d levels, want 3", depth)
	}
	n.Leave()
	if !n.Enter() {
		t.Error("Enter after Leave failed")
	}
}

func TestNDRContextHandleAndUUID(t *testing.T) {
	w := &builder{be: true}
	w.raw(make([]byte, 20)).uuid(EPMInterface)
	n := NewNDR(w.b, DataRep{}, NDRLimits{})
	var h [20]byte
	var u UUID
	if !n.ContextHandle(&h) || !n.UUID(&u) {
		t.Fatal("decode failed")
	}
	if d := cmp.Diff(EPMInterface, u); d != "" {
		t.Errorf("uuid (-want +got):\n%s", d)
	}
}

func TestNDRFullPointer(t *testing.T) {
	w := &builder{}
	w.u32(0x20000).u32(0x20004).u32(0x20000).u32(0)
	n := NewNDR(w.b, LittleEndian, NDRLimits{MaxElements: 2})
	var ref uint32
	var first bool
	var got []bool
	for i := 0; i < 4; i++ {
		if !n.FullPointer(&ref, &first) {
			t.Fatalf("pointer %d failed", i)
		}
		got = append(got, first)
	}
	if d := cmp.Diff([]bool{true, true, false, false}, got); d != "" {
		t.Errorf("first (-want +got):\n%s", d)
	}
	w2 := &builder{}
	w2.u32(1).u32(2).u32(3)
	n = NewNDR(w2.b, LittleEndian, NDRLimits{MaxElements: 2})
	ok := n.FullPointer(&ref, &first) && n.FullPointer(&ref, &first) && n.FullPointer(&ref, &first)
	if ok {
		t.Error("third distinct referent accepted above MaxElements 2")
	}
}
