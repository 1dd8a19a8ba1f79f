package layers

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/nettrace/nettrace/health"
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
// has no pseudo-header.
func (d *Decoder) l4Checksum(proto uint8, b []byte) Checksum {
	p := &d.pkt
	d.l4seg = b
	var acc uint64
	if proto != ProtoICMP {
		acc = pseudoSum(p.Src, p.Dst, proto, len(b))
	}
	if fold(onesSum(b, acc)) == 0xffff {
		return ChecksumGood
	}
	return ChecksumBad
}

// wantChecksum returns the checksum field value that would make sum (the
// folded sum including the field got) verify.
func wantChecksum(sum, got uint16) uint16 {
	return ^fold(uint64(sum) + uint64(^got))
}

// srcState is what the checksum classifier remembers about a source address.
type srcState struct {
	good, bad int  // packets with all-good / some-bad checksums
	oversize  bool // sent a frame larger than the Ethernet MTU, or a TSO super-segment
	offload   bool // classified as the capturing host (offload reported)
	events    int  // ip.bad_checksum events emitted
}

// initialTTL reports whether ttl is a common initial TTL / hop limit: a
// packet that still carries one has not crossed a router.
func initialTTL(ttl uint8) bool { return ttl == 64 || ttl == 128 || ttl == 255 }

// checkChecksums classifies the checksums of the current packet (C11).
//
// A bad checksum is offload, not a fault, when the packet was sent by the
// capturing host: the NIC fills the checksum in after the capture point. The
// decoder cannot know the capturing host, so it infers it per source
// address:
//
//   - a source that sent a frame larger than the MTU (IP length above 1500, or
//     a TSO super-segment) is the capturing host (segmentation offload only
//     shows on the sender, and GRO only on the receiver, which both also
//     produce wrong checksums), or
//   - a source whose first bad checksum comes before any good one while its
//     TTL is still an initial value (64, 128, 255): it has crossed no router,
//     and offload makes every packet of a host bad, not some.
//
// Such a source gets one ip.checksum_offload (info) event and its bad
// checksums are silent from then on. Any other bad checksum — from a source
// that already sent good ones, or that is routed (decremented TTL) — is
// ip.bad_checksum (error), at most Limits.MaxBadChecksumEvents per source.
// Known limits: on a flat LAN a genuinely corrupting peer whose very first
// packet is bad looks like offload, and on a jumbo-frame network every
// sender of frames above 1500 bytes counts as "the capturing host".
func (d *Decoder) checkChecksums() {
	p := &d.pkt
	if d.lim.SkipChecksums {
		return
	}
	bad := p.IPChecksum == ChecksumBad || p.L4Checksum == ChecksumBad
	if !bad && p.IPChecksum != ChecksumGood && p.L4Checksum != ChecksumGood && !p.TSO {
		return
	}
	st := d.sourceState(p.Src)
	if p.TSO || p.IPLen > 1500 {
		st.oversize = true
	}
	if !bad {
		st.good++
	} else {
		st.bad++
		switch {
		case st.offload:
		case st.oversize || (st.good == 0 && initialTTL(p.TTL)):
			st.offload = true
			reason := "it sends frames larger than the MTU (segmentation offload)"
			if !st.oversize {
				reason = fmt.Sprintf("it sends with an initial TTL (%d) and no good checksum was seen from it", p.TTL)
			}
			layer := d.badLayer()
			d.event(health.IPChecksumOffload, FlowOf(p).String(),
				fmt.Sprintf("frame %d: bad %s checksum from %s, which looks like the capturing host (%s): checksum offload fills it in after the capture point; not a fault (reported once per source)", p.Frame, layer, p.Src, reason),
				map[string]any{"layer": layer, "count": st.bad, "src": p.Src.String(), "ttl": int(p.TTL)})
		case st.events < d.lim.MaxBadChecksumEvents:
			st.events++
			layer := d.badLayer()
			got, want := d.badValues(layer)
			msg := fmt.Sprintf("frame %d: bad %s checksum 0x%04x (should be 0x%04x) on a packet from %s: corrupted on the way or by a NIC", p.Frame, layer, got, want, p.Src)
			if st.events == d.lim.MaxBadChecksumEvents {
				msg += fmt.Sprintf("; further bad checksums from %s are not reported", p.Src)
			}
			d.event(health.IPBadChecksum, FlowOf(p).String(), msg,
				map[string]any{"layer": layer, "got": fmt.Sprintf("0x%04x", got), "want": fmt.Sprintf("0x%04x", want)})
		}
	}
}

// sourceState returns the classifier state of src. The two most recent
// sources (the two ends of the conversation being read) are cached, so a
// map lookup happens only when a third source appears. A source over
// MaxTracked is classified on a scratch state that is not remembered.
func (d *Decoder) sourceState(src netip.Addr) *srcState {
	c := &d.srcCache
	for i := range c {
		if c[i].st != nil && c[i].addr == src {
			d.srcLast = uint8(i)
			return c[i].st
		}
	}
	st := d.sources[src]
	if st == nil && len(d.sources) < d.lim.MaxTracked {
		st = new(srcState)
		d.sources[src] = st
	}
	if st == nil {
		d.untracked = srcState{}
		return &d.untracked
	}
	d.srcLast ^= 1 // replace the entry not used last
	c[d.srcLast] = srcEntry{addr: src, st: st}
	return st
}

// srcEntry is a cached entry of Decoder.sources.
type srcEntry struct {
	addr netip.Addr
	st   *srcState
}

// badLayer names the layer whose checksum is bad.
func (d *Decoder) badLayer() string {
	p := &d.pkt
	if p.IPChecksum == ChecksumBad {
		return "ip"
	}
	switch p.Transport {
	case TransportTCP:
		return "tcp"
	case TransportUDP:
		return "udp"
	case TransportICMP:
		if p.ICMP.V6 {
			return "icmpv6"
		}
		return "icmp"
	}
	return "l4"
}

// badValues recomputes the bad checksum's field value and the right one.
func (d *Decoder) badValues(layer string) (got, want uint16) {
	p := &d.pkt
	if layer == "ip" {
		hdr := d.ip4.Contents
		if len(hdr) < 20 {
			return 0, 0
		}
		got = binary.BigEndian.Uint16(hdr[10:12])
		return got, wantChecksum(fold(onesSum(hdr, 0)), got)
	}
	seg := d.l4seg
	var off int
	switch layer {
	case "tcp":
		off = 16
	case "udp":
		off = 6
	default:
		off = 2
	}
	if len(seg) < off+2 {
		return 0, 0
	}
	got = binary.BigEndian.Uint16(seg[off:])
	var acc uint64
	if p.IPProto != ProtoICMP {
		acc = pseudoSum(p.Src, p.Dst, p.IPProto, len(seg))
	}
	return got, wantChecksum(fold(onesSum(seg, acc)), got)
}
