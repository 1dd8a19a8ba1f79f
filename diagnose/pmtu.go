package diagnose

import (
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Path MTU diagnosis (casebook C19, RFC 1191, RFC 8201, RFC 2923).
//
// Per TCP connection and direction the diagnoser tracks the largest segment
// sent (IP length) and the largest one the peer acknowledged ("delivered"),
// retransmissions (a data segment wholly below the highest sequence sent),
// and any ICMP "fragmentation needed" / "packet too big" quoting the
// connection. When the connection ends it decides:
//
//   - net.pmtu_reduced: an ICMP said the path MTU is M and every segment the
//     sender sent afterwards fits in M (evidence: the MTU, the segments
//     re-sent smaller — the reorder the receiver sees). On a capture that
//     sees neither the ICMP nor the large originals (the receiver side), the
//     reduction is inferred when many stack-cut segments (no PSH) share one
//     IP length below what both MSS options allow.
//   - net.pmtu_blackhole: full-size segments are retransmitted again and
//     again and never acknowledged while smaller ones got through, and no
//     ICMP came back (or one did and the sender kept sending large
//     segments).

// minFullSize is the smallest IP length considered "full size" (the IPv4
// minimum reassembly size, RFC 791).
const minFullSize = 576

// pmtuRing is the number of recent data segments remembered per direction to
// learn which sizes the peer acknowledged.
const pmtuRing = 16

type segRec struct {
	seq, end  uint32
	ipLen     int32
	ambiguous bool // retransmitted: the ACK may be for another copy
}

// ringMask has one bit per entry of pmtuDir.ring (pmtuRing ≤ 16).
type ringMask uint16

var _ [16 - pmtuRing]struct{} // ringMask holds pmtuRing bits

// pmtuDir is the path-MTU state of one direction of a connection.
type pmtuDir struct {
	hi                uint32 // highest sequence number sent (end of data)
	hiValid           bool
	dataSegs          int64
	payload           int64
	maxIPLen          int
	maxFrame          int64
	atMax, atMaxNoPSH int
	maxDelivered      int
	acked             uint32
	ackValid          bool
	ring              *[pmtuRing]segRec // allocated with the first data segment
	ringPos           int
	ringUsed          ringMask // bit i: ring[i] is in use (not yet delivered)
	retrans           int
	fullRetrans       int
	fullFrames        netFrames
	lostValid         bool
	lostSeq, lostEnd  uint32
	lostSize          int
	lostAt            time.Time // first retransmission of the lost full-size segment
	icmpN             int
	icmpMTU           int
	icmpFrame         int64
	icmpTime          time.Time
	icmpFrom          netip.Addr
	afterSegs         int
	afterMax          int
	afterResent       int
	afterResentFrame  int64
	afterBig          int
	afterBigFrame     int64
	afterFirstFrame   int64
	adaptedMax        int // largest segment since the last one over the ICMP MTU
	smallSinceBig     int // segments that fit the ICMP MTU since the last one that did not
}

// deliver marks the remembered segments that ack covers as delivered.
func (h *pmtuDir) deliver(ack uint32) {
	for m := h.ringUsed; m != 0; m &= m - 1 {
		i := bits.TrailingZeros16(uint16(m))
		r := &h.ring[i]
		if !netSeqLEQ(r.end, ack) {
			continue
		}
		if !r.ambiguous && int(r.ipLen) > h.maxDelivered {
			h.maxDelivered = int(r.ipLen)
		}
		h.ringUsed &^= 1 << i
	}
}

// markAmbiguous flags remembered segments overlapping [seq, end).
func (h *pmtuDir) markAmbiguous(seq, end uint32) {
	for m := h.ringUsed; m != 0; m &= m - 1 {
		r := &h.ring[bits.TrailingZeros16(uint16(m))]
		if netSeqLT(r.seq, end) && netSeqLT(seq, r.end) {
			r.ambiguous = true
		}
	}
}

// pmtuSegment updates the path-MTU state with one TCP segment sent in
// direction dir of c. It reports whether the segment retransmits data
// already sent (wholly below the highest sequence number seen).
func (d *Network) pmtuSegment(c *netConn, dir int, p *packet) bool {
	h, o := &c.dir[dir], &c.dir[1-dir]
	if p.TCP.Flags.Has(layers.FlagACK) && (!o.ackValid || netSeqLT(o.acked, p.TCP.Ack)) {
		o.acked, o.ackValid = p.TCP.Ack, true
		o.deliver(p.TCP.Ack)
	}
	if p.TCP.Flags.Has(layers.FlagSYN) {
		h.hi, h.hiValid = p.TCP.Seq+1, true
		return false
	}
	n := p.PayloadLen
	if n <= 0 {
		return false
	}
	end := p.TCP.Seq + uint32(n)
	retrans := h.hiValid && netSeqLEQ(end, h.hi)
	if p.hasTracked {
		retrans = p.tracked.Resent
	}
	if !retrans && (!h.hiValid || netSeqLT(h.hi, end)) {
		h.hi, h.hiValid = end, true
	}
	h.dataSegs++
	h.payload += int64(n)
	ipLen := p.IPLen
	if ipLen > h.maxIPLen {
		h.maxIPLen, h.maxFrame, h.atMax, h.atMaxNoPSH = ipLen, p.Frame, 0, 0
	}
	if ipLen == h.maxIPLen {
		h.atMax++
		if !p.TCP.Flags.Has(layers.FlagPSH) {
			h.atMaxNoPSH++
		}
	}
	if retrans {
		h.retrans++
		h.markAmbiguous(p.TCP.Seq, end)
		if ipLen == h.maxIPLen && ipLen > minFullSize && (!h.ackValid || netSeqLT(h.acked, end)) {
			h.fullRetrans++
			h.fullFrames.add(p.Frame, d.cfg.MaxFrames)
			if !h.lostValid {
				h.lostValid, h.lostSeq, h.lostEnd, h.lostSize, h.lostAt = true, p.TCP.Seq, end, ipLen, p.Time
			}
		}
	}
	if h.ring == nil {
		h.ring = d.newRing()
	}
	h.ring[h.ringPos] = segRec{seq: p.TCP.Seq, end: end, ipLen: int32(min(ipLen, 1<<30)), ambiguous: retrans}
	h.ringUsed |= 1 << h.ringPos
	h.ringPos = (h.ringPos + 1) % pmtuRing
	if h.icmpN > 0 && p.Frame > h.icmpFrame {
		h.afterSegs++
		h.afterMax = max(h.afterMax, ipLen)
		if retrans {
			h.afterResent++
			if h.afterResentFrame == 0 {
				h.afterResentFrame = p.Frame
			}
		}
		if ipLen > h.icmpMTU {
			h.afterBig++
			h.smallSinceBig, h.afterFirstFrame, h.adaptedMax = 0, 0, 0
			if h.afterBigFrame == 0 {
				h.afterBigFrame = p.Frame
			}
		} else {
			h.smallSinceBig++
			h.adaptedMax = max(h.adaptedMax, ipLen)
			if h.afterFirstFrame == 0 {
				h.afterFirstFrame = p.Frame
			}
		}
	}
	return retrans
}

// pmtuICMP records a "fragmentation needed" / "packet too big" quoting a
// segment of a tracked connection. It reports whether the flow was found.
func (d *Network) pmtuICMP(p *packet) bool {
	q := &p.ICMP
	if q.Quoted.Proto != protoTCP || q.MTU == 0 {
		return false
	}
	c, dir := d.lookup(quotedSrc(q), quotedDst(q))
	if c == nil {
		return false
	}
	h := &c.dir[dir]
	h.icmpN++
	if h.icmpN == 1 || int(q.MTU) < h.icmpMTU {
		if h.icmpN == 1 {
			h.icmpFrame, h.icmpTime, h.icmpFrom = p.Frame, p.Time, p.src.Addr()
		}
		h.icmpMTU = int(q.MTU)
	}
	return true
}

// pmtuFold turns a finished connection's path-MTU state into findings.
func (d *Network) pmtuFold(c *netConn) {
	for dir := range c.dir {
		h := &c.dir[dir]
		src, dst := c.key.client, c.key.server
		if dir == 1 {
			src, dst = dst, src
		}
		// The flow is named only for a finding: most connections have none.
		flow := func() string { return netFlowString(src, dst, protoTCP) }
		switch {
		case h.icmpN > 0 && h.smallSinceBig > 0:
			d.addPMTU(health.Event{
				Kind: health.NetPMTUReduced, Severity: health.Notice, Time: h.icmpTime, Frame: h.icmpFrame, Flow: flow(),
				Message: fmt.Sprintf("path MTU %d: %s sent %d-byte packets, %s answered %s (fragmentation needed, next-hop MTU %d); "+
					"the sender adapted to %d-byte packets and re-sent %s smaller, which the receiver sees out of order",
					h.icmpMTU, src.Addr(), h.maxIPLen, h.icmpFrom, netPlural(int64(h.icmpN), "ICMP error"), h.icmpMTU,
					h.adaptedMax, netPlural(int64(h.afterResent), "segment")),
				Evidence: map[string]any{
					"mtu": h.icmpMTU, "icmp_count": h.icmpN, "icmp_from": h.icmpFrom.String(),
					"largest_sent": h.maxIPLen, "largest_after": h.adaptedMax,
					"resent": h.afterResent, "reordered": h.afterResent,
					"first_adapted_frame": h.afterFirstFrame, "first_resent_frame": h.afterResentFrame,
				},
			})
		case h.icmpN > 0 && h.afterBig > 0 && h.smallSinceBig == 0 && h.fullRetrans >= d.cfg.BlackholeMinRetrans:
			d.addPMTU(health.Event{
				Kind: health.NetPMTUBlackhole, Severity: health.Error, Time: h.icmpTime, Frame: h.fullFrames.first(), Flow: flow(),
				Message: fmt.Sprintf("PMTU black hole: %s got %s (MTU %d) but kept sending %d-byte packets, retransmitted %d times without an acknowledgement",
					src.Addr(), netPlural(int64(h.icmpN), "ICMP fragmentation-needed"), h.icmpMTU, h.lostSize, h.fullRetrans),
				Evidence: map[string]any{
					"size": h.lostSize, "retransmissions": h.fullRetrans, "frames": h.fullFrames.frames,
					"icmp_seen": true, "icmp_ignored": true, "mtu": h.icmpMTU, "icmp_frame": h.icmpFrame,
					"largest_delivered": h.maxDelivered,
				},
			})
		case h.icmpN == 0 && h.fullRetrans >= d.cfg.BlackholeMinRetrans && h.lostValid &&
			(!h.ackValid || netSeqLT(h.acked, h.lostEnd)) && h.maxDelivered > 0 && h.maxDelivered < h.lostSize:
			d.addPMTU(health.Event{
				Kind: health.NetPMTUBlackhole, Severity: health.Error, Time: h.lostAt, Frame: h.fullFrames.first(), Flow: flow(),
				Message: fmt.Sprintf("PMTU black hole: %d-byte packets from %s were retransmitted %d times and never acknowledged, "+
					"while packets up to %d bytes got through, and no ICMP fragmentation-needed came back: "+
					"a router on the path drops large DF packets silently (lower the MTU/MSS or allow ICMP type 3 code 4)",
					h.lostSize, src.Addr(), h.fullRetrans, h.maxDelivered),
				Evidence: map[string]any{
					"size": h.lostSize, "retransmissions": h.fullRetrans, "frames": h.fullFrames.frames,
					"largest_delivered": h.maxDelivered, "icmp_seen": false, "seq": h.lostSeq,
				},
			})
		case h.icmpN == 0:
			full := mssFull(c)
			if full == 0 || h.maxIPLen >= full || h.maxIPLen < minFullSize ||
				h.atMax < d.cfg.PMTUMinSegments || 2*h.atMaxNoPSH < d.cfg.PMTUMinSegments {
				continue
			}
			d.addPMTU(health.Event{
				Kind: health.NetPMTUReduced, Severity: health.Notice, Time: c.first, Frame: h.maxFrame, Flow: flow(),
				Message: fmt.Sprintf("path MTU about %d (inferred): %d segments from %s are %d bytes although both ends' MSS allows %d-byte packets; "+
					"the sender learned a smaller path MTU (ICMP not seen at this capture point) or a tunnel is on the path",
					h.maxIPLen, h.atMax, src.Addr(), h.maxIPLen, full),
				Evidence: map[string]any{
					"mtu": h.maxIPLen, "inferred": true, "segments": h.atMax, "mss_allows": full,
				},
			})
		}
	}
}

// mssFull returns the IP length of a full-size segment allowed by both
// MSS options, or 0 when neither was seen.
func mssFull(c *netConn) int {
	m := int(c.mss[0])
	if b := int(c.mss[1]); b > 0 && (m == 0 || b < m) {
		m = b
	}
	if m == 0 {
		return 0
	}
	if c.key.server.Addr().Is6() && !c.key.server.Addr().Is4In6() {
		return m + 60
	}
	return m + 40
}

func (d *Network) addPMTU(e health.Event) {
	if len(d.pmtu) >= 2*d.cfg.MaxEventsPerKind {
		d.markCapped("pmtu")
		return
	}
	d.pmtu = append(d.pmtu, e)
}
