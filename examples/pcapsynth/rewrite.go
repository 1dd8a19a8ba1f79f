package main

import (
	"encoding/binary"
	"time"

	"github.com/google/gopacket"
)

// rewrite copies frame into dst with every occurrence of the address from
// (as IPv4 source or destination) replaced by to, and the IPv4 header
// checksum and the TCP/UDP checksum updated incrementally (RFC 1624), so a
// frame with valid checksums stays valid.
func rewrite(dst, frame []byte, from, to [4]byte) []byte {
	dst = append(dst, frame...)
	ip, ok := ipv4Header(dst)
	if !ok {
		return dst
	}
	ihl := int(dst[ip]&0x0f) * 4
	if ihl < 20 || len(dst) < ip+ihl {
		return dst
	}
	changed := false
	for _, off := range []int{ip + 12, ip + 16} {
		if [4]byte(dst[off:off+4]) == from {
			copy(dst[off:off+4], to[:])
			changed = true
		}
	}
	if !changed {
		return dst
	}
	adjust(dst[ip+10:ip+12], from, to)
	fragOff := binary.BigEndian.Uint16(dst[ip+6:]) & 0x1fff
	if fragOff != 0 {
		return dst // only the first fragment holds the transport header
	}
	l4 := ip + ihl
	switch dst[ip+9] {
	case 6:
		if len(dst) >= l4+18 {
			adjust(dst[l4+16:l4+18], from, to)
		}
	case 17:
		if len(dst) >= l4+8 && binary.BigEndian.Uint16(dst[l4+6:]) != 0 {
			adjust(dst[l4+6:l4+8], from, to)
		}
	}
	return dst
}

// adjust updates a one's-complement checksum for a changed 4-byte field:
// HC' = ~(~HC + ~m + m') (RFC 1624, eqn. 3), once per occurrence replaced.
// It is called once per packet, and the address appears at most once in
// the pseudo-header per direction, so one update suffices.
func adjust(sum []byte, from, to [4]byte) {
	c := uint32(^binary.BigEndian.Uint16(sum))
	for i := 0; i < 4; i += 2 {
		c += uint32(^binary.BigEndian.Uint16(from[i:]))
		c += uint32(binary.BigEndian.Uint16(to[i:]))
	}
	for c>>16 != 0 {
		c = c&0xffff + c>>16
	}
	binary.BigEndian.PutUint16(sum, ^uint16(c))
}

func captureInfo(at time.Time, capLen, origLen int) gopacket.CaptureInfo {
	if origLen < capLen {
		origLen = capLen
	}
	return gopacket.CaptureInfo{Timestamp: at, CaptureLength: capLen, Length: origLen}
}
