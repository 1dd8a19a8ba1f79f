package flowhash

import (
	"net/netip"
	"testing"
)

// Both directions share a slot, slots stay in range, and distinct
// connections spread over the slots.
func TestSlot(t *testing.T) {
	const bits = 10
	used := map[uint]bool{}
	for i := 0; i < 2000; i++ {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(40000+i))
		b := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.1"), 445)
		s := Slot(a, b, bits)
		if s != Slot(b, a, bits) || s >= 1<<bits {
			t.Fatalf("connection %d: slot %d, reversed %d", i, s, Slot(b, a, bits))
		}
		used[s] = true
	}
	v6 := netip.MustParseAddrPort("[2001:db8::1]:443")
	if s := Slot(v6, netip.MustParseAddrPort("[2001:db8::2]:50000"), bits); s >= 1<<bits {
		t.Fatalf("IPv6 slot %d out of range", s)
	}
	if len(used) < 600 {
		t.Errorf("2000 connections fall in only %d of 1024 slots", len(used))
	}
}
