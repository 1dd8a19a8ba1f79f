// Package flowhash maps a TCP/UDP connection to a slot of a small
// direct-mapped cache, the same slot for both directions. The tracker and
// the network diagnoser put such a cache in front of their connection
// tables.
package flowhash

import "net/netip"

// Slot returns the slot, in [0, 1<<bits), of the connection between a and
// b, whichever is the source. Colliding connections share a slot: a cache
// using it must fall back to its table on a miss, so that a crafted
// collision costs a lookup, never a wrong result.
func Slot(a, b netip.AddrPort, bits uint) uint {
	return uint((endpointMix(a) ^ endpointMix(b)) >> (64 - bits))
}

// endpointMix spreads an endpoint's address and port over 64 bits.
func endpointMix(ap netip.AddrPort) uint64 {
	a := ap.Addr()
	var x uint64
	if a.Is4() {
		b := a.As4()
		x = uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	} else {
		b := a.As16()
		for i, v := range b {
			x ^= uint64(v) << (8 * (i % 8))
		}
	}
	return (x<<16 ^ x>>48 ^ uint64(ap.Port())) * 0x9e3779b97f4a7c15
}
