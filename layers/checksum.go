package layers

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// onesSum adds b, as big-endian 16-bit words (an odd last byte padded with
// zero, RFC 1071), to the one's-complement accumulator acc; fold reduces
// the result to 16 bits.
//
// It adds little-endian 32-bit words into four independent 64-bit
// accumulators (no carries to propagate: each would need 2^32 words to
// overflow, far beyond any frame or reassembled datagram), 64 bytes per
// iteration, and swaps the folded 16-bit sum once at the end: the
// one's-complement sum is byte-order independent (RFC 1071, 2(B)) and
// 2^16 = 1 modulo 0xffff, so 32-bit words sum like pairs of 16-bit ones.
// The result is 0 only when acc is 0 and b is all zeroes, so fold gives
// exactly what a word-by-word big-endian sum gives.
func onesSum(b []byte, acc uint64) uint64 {
	var s0, s1, s2, s3 uint64
	for len(b) >= 64 {
		w := (*[64]byte)(b)
		s0 += uint64(binary.LittleEndian.Uint32(w[0:4]))
		s1 += uint64(binary.LittleEndian.Uint32(w[4:8]))
		s2 += uint64(binary.LittleEndian.Uint32(w[8:12]))
		s3 += uint64(binary.LittleEndian.Uint32(w[12:16]))
		s0 += uint64(binary.LittleEndian.Uint32(w[16:20]))
		s1 += uint64(binary.LittleEndian.Uint32(w[20:24]))
		s2 += uint64(binary.LittleEndian.Uint32(w[24:28]))
		s3 += uint64(binary.LittleEndian.Uint32(w[28:32]))
		s0 += uint64(binary.LittleEndian.Uint32(w[32:36]))
		s1 += uint64(binary.LittleEndian.Uint32(w[36:40]))
		s2 += uint64(binary.LittleEndian.Uint32(w[40:44]))
		s3 += uint64(binary.LittleEndian.Uint32(w[44:48]))
		s0 += uint64(binary.LittleEndian.Uint32(w[48:52]))
		s1 += uint64(binary.LittleEndian.Uint32(w[52:56]))
		s2 += uint64(binary.LittleEndian.Uint32(w[56:60]))
		s3 += uint64(binary.LittleEndian.Uint32(w[60:64]))
		b = b[64:]
	}
	for len(b) >= 16 {
		w := (*[16]byte)(b)
		s0 += uint64(binary.LittleEndian.Uint32(w[0:4]))
		s1 += uint64(binary.LittleEndian.Uint32(w[4:8]))
		s2 += uint64(binary.LittleEndian.Uint32(w[8:12]))
		s3 += uint64(binary.LittleEndian.Uint32(w[12:16]))
		b = b[16:]
	}
	for len(b) >= 4 {
		s0 += uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		s1 += uint64(binary.LittleEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s2 += uint64(b[0])
	}
	// Combine with end-around carries so no bit is lost however long b is.
	s, c := bits.Add64(s0, s1, 0)
	s, c = bits.Add64(s, s2, c)
	s, c = bits.Add64(s, s3, c)
	s, c = bits.Add64(s, 0, c)
	s += c
	if s == 0 {
		return acc
	}
	// Fold to 16 bits (non-zero stays non-zero), then swap to big-endian.
	s = s>>32 + s&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return acc + (s>>8 | s<<8&0xff00)
}

// fold reduces a one's-complement accumulator to 16 bits. A message whose
// checksum field is right folds to 0xffff.
func fold(acc uint64) uint16 {
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>32 + acc&0xffffffff
	acc = acc>>16 + acc&0xffff
	acc = acc>>16 + acc&0xffff
	return uint16(acc)
}

// pseudoSum is the one's-complement sum of the IPv4 (RFC 9293, 3.1) or IPv6
// (RFC 8200, 8.1) pseudo-header.
func pseudoSum(src, dst netip.Addr, proto uint8, length int) uint64 {
	var acc uint64
	if src.Is4() {
		// A big-endian 32-bit word is congruent to the sum of its two
		// 16-bit halves modulo 0xffff, and zero only when both are.
		s, d := src.As4(), dst.As4()
		acc = uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
	} else {
		s, d := src.As16(), dst.As16()
		acc = onesSum(s[:], acc)
		acc = onesSum(d[:], acc)
	}
	return acc + uint64(proto) + uint64(length>>16) + uint64(length&0xffff)
}

// l4Checksum verifies a TCP, UDP or ICMPv6 checksum over b (the whole
// transport message) with the pseudo-header of the current packet. ICMPv4
// has no pseudo-header. A TCP checksum field of 0 that does not verify is
// ChecksumNotComputed (a right checksum can be 0, so the sum decides).
func (d *Decoder) l4Checksum(proto uint8, b []byte) Checksum {
	p := &d.pkt
	d.l4seg = b
	var acc uint64
	if proto != ProtoICMP {
		acc = pseudoSum(p.Src, p.Dst, proto, len(b))
	}
	sum := fold(onesSum(b, acc))
	if sum == 0xffff {
		return ChecksumGood
	}
	d.l4Sum = sum
	if proto == ProtoTCP && len(b) >= 18 && b[16]|b[17] == 0 { // RFC 9293, 3.1: checksum field
		return ChecksumNotComputed
	}
	return ChecksumBad
}

// wantChecksum returns the checksum field value that would make sum (the
// folded sum including the field got) verify.
func wantChecksum(sum, got uint16) uint16 {
	return ^fold(uint64(sum) + uint64(^got))
}

// badValues returns the wrong checksum field of layer l in the current
// packet and the value that would be right, from the sums the verification
// kept (d.ipSum, d.l4Sum).
func (d *Decoder) badValues(l sumLayer) (got, want uint16) {
	if l == layerIP {
		hdr := d.ip4.Contents
		if len(hdr) < 20 {
			return 0, 0
		}
		got = binary.BigEndian.Uint16(hdr[10:12])
		return got, wantChecksum(d.ipSum, got)
	}
	off := 2 // ICMPv4, ICMPv6 (RFC 792, RFC 4443, 2.1)
	switch l {
	case layerTCP:
		off = 16 // RFC 9293, 3.1
	case layerUDP:
		off = 6 // RFC 768
	}
	seg := d.l4seg
	if len(seg) < off+2 {
		return 0, 0
	}
	got = binary.BigEndian.Uint16(seg[off:])
	return got, wantChecksum(d.l4Sum, got)
}
