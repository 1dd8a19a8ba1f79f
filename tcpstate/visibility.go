package tcpstate

import (
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/layers"
)

// This file keeps what the capture shows of each connection (Visibility):
// packets captured twice, directions never captured, bytes the peer
// acknowledged that the capture never saw.

// Copies of a packet. A capture merged from two capture points, a SPAN
// port that mirrors both ingress and egress, or a duplicating link shows
// the same IP packet twice: the same TCP header and the same IPv4
// identification. A retransmission is a new IP packet (a new IPv4 ID,
// usually a new ACK, window or timestamp). The tracker recognises copies
// with a fixed table of the recent packets' fingerprints and leaves them
// out of the analysis.

// dupBits sizes the fingerprint table: 2^16 entries, 512 KiB, enough to
// find a copy tens of milliseconds later on a busy link. Every TCP packet
// reads one slot at random: the table is kept small so that the read is
// more often served by the CPU's cache.
const dupBits = 16

// dupMaxGap bounds how far apart two copies may be. Without an IPv4 ID
// (IPv6, or a stack that sends 0) only data segments with TCP timestamps,
// and SYNs and FINs, are compared — pure ACKs with identical headers are
// duplicate ACKs, not copies — and the window is kept below the minimum
// RTO (RFC 6298: 1 s for a SYN; 200 ms at least in every stack for data),
// so that a retransmission is not taken for a copy.
const (
	dupMaxGap     = 2 * time.Second
	dupMaxGapNoID = 200 * time.Millisecond
)

// dupEntry is one fingerprint, by its low 32 bits (its top dupBits chose
// the slot: 48 bits are compared in all), with its packet's capture time
// in ticks of 2^dupTickShift ns (about 1 ms), which wrap every 52 days. An
// empty slot is zero: a fingerprint's low bit is always set.
type dupEntry struct {
	fp uint32
	at uint32
}

// dupTickShift sets the tick of dupEntry.at: 2^20 ns, 1.05 ms.
const dupTickShift = 20

// dupTicks converts a time in Unix nanoseconds, or a duration, to ticks.
func dupTicks(ns int64) uint32 { return uint32(ns >> dupTickShift) }

// fingerprint hashes what identifies p as one IP packet of connection id,
// and reports whether p can be recognised as a copy at all.
func fingerprint(id uint64, d Dir, p *layers.Packet) (uint64, bool) {
	t := &p.TCP
	var ipid uint32
	if p.Network == 4 {
		ipid = p.IPID
	}
	ctl := p.PayloadLen == 0 && t.Flags&(layers.FlagSYN|layers.FlagFIN) != 0 && t.Flags&layers.FlagRST == 0
	if ipid == 0 && !ctl && (p.PayloadLen == 0 || !t.HasTimestamps) {
		return 0, false
	}
	h := id*0x9e3779b97f4a7c15 ^ uint64(d)
	for _, v := range [...]uint64{
		uint64(t.Seq)<<32 | uint64(t.Ack),
		uint64(ipid)<<32 | uint64(t.Window)<<16 | uint64(t.Flags),
		uint64(t.TSval)<<32 | uint64(t.TSecr),
		uint64(uint32(p.PayloadLen))<<32 | uint64(t.NumSACK),
		uint64(t.SACK[0].Left)<<32 | uint64(t.SACK[0].Right),
	} {
		h = (h ^ v) * 0xff51afd7ed558ccd
		h ^= h >> 33
	}
	return h | 1, true
}

// duplicate reports whether p (direction d of c) is a second copy of a
// recent packet, and remembers p otherwise.
func (t *Tracker) duplicate(c *conn, d Dir, p *layers.Packet) bool {
	return t.duplicateOf(c.ctx.ID, d, p)
}

// duplicateOf is duplicate for the connection (live or ended) of stream id.
func (t *Tracker) duplicateOf(id uint64, d Dir, p *layers.Packet) bool {
	fp, ok := fingerprint(id, d, p)
	if !ok {
		return false
	}
	slot := uint16(fp >> (64 - dupBits))
	var e dupEntry
	if t.dups != nil {
		e = t.dups[slot]
	} else {
		e = t.dupSmall[slot]
	}
	now := dupTicks(p.Time.UnixNano())
	maxGap := dupTicks(int64(dupMaxGap))
	if p.Network != 4 || p.IPID == 0 {
		maxGap = dupTicks(int64(dupMaxGapNoID))
	}
	// now-e.at wraps to a huge gap when the capture's clock went back.
	if e.fp == uint32(fp) && now-e.at <= maxGap {
		return true
	}
	t.remember(slot, dupEntry{fp: uint32(fp), at: now})
	return false
}

// dupSmallMax is how many slots of the fingerprint table are held in a map
// before the whole 512 KiB table is allocated: a small capture (or a test
// analysing thousands of them) never pays for it. The map holds the same
// slots the table would, so which copies are found does not change.
const dupSmallMax = 2048

// remember stores e in the fingerprint table's slot.
func (t *Tracker) remember(slot uint16, e dupEntry) {
	if t.dups != nil {
		t.dups[slot] = e
		return
	}
	if t.dupSmall == nil {
		t.dupSmall = make(map[uint16]dupEntry, 64)
	}
	t.dupSmall[slot] = e
	if len(t.dupSmall) > dupSmallMax {
		t.dups = new([1 << dupBits]dupEntry)
		for s, v := range t.dupSmall {
			t.dups[s] = v
		}
		t.dupSmall = nil
	}
}

// sumCount counts the checksums one direction showed.
type sumCount struct {
	good, bad int32
	oversize  bool // a frame over 1500 bytes or a TSO super-segment: offload explains bad sums
}

// observe notes what p, a packet of direction d, shows of the capture:
// that d's peer exists though unseen (an ACK with nothing captured from the
// peer), and the state of its checksums (Altered).
func (c *conn) observe(d Dir, p *layers.Packet) {
	if p.TCP.Flags.Has(layers.FlagACK) && c.st.Packets[d^1] == 0 {
		c.t.hideSender(c.endpoint(d ^ 1).Addr())
	}
	s := &c.sums[d]
	switch {
	case p.IPChecksum == layers.ChecksumBad || p.L4Checksum == layers.ChecksumBad:
		s.bad++
	case p.IPChecksum == layers.ChecksumGood || p.L4Checksum == layers.ChecksumGood:
		s.good++
	}
	if p.TSO || p.IPLen > 1500 {
		s.oversize = true
	}
	a, b := &c.sums[0], &c.sums[1]
	c.ctx.Altered = a.bad > 0 && b.bad > 0 && a.good == 0 && b.good == 0 && !a.oversize && !b.oversize &&
		!c.ctx.Client.Addr().IsLoopback()
}

// endpoint returns the sender of direction d.
func (c *conn) endpoint(d Dir) netip.AddrPort {
	if d == ClientToServer {
		return c.ctx.Client
	}
	return c.ctx.Server
}

// maxHidden bounds the addresses remembered as unseen senders.
const maxHidden = 4096

// hideSender remembers that addr sends packets the capture does not hold:
// a peer acknowledged them. A SYN to addr left unanswered in such a capture
// proves nothing.
func (t *Tracker) hideSender(addr netip.Addr) {
	if t.hidden == nil {
		t.hidden = map[netip.Addr]struct{}{}
	}
	if _, ok := t.hidden[addr]; !ok && len(t.hidden) < maxHidden {
		t.hidden[addr] = struct{}{}
	}
}

// hiddenSender reports whether addr is an unseen sender (hideSender).
func (t *Tracker) hiddenSender(addr netip.Addr) bool {
	_, ok := t.hidden[addr]
	return ok
}

// visibility returns what the capture has shown of c so far.
func (c *conn) visibility() Visibility {
	v := Visibility{Packets: c.st.Packets, MidStream: c.st.MidStream, Unseen: c.unseen, Duplicates: c.dupCount}
	for d := range 2 {
		if c.st.Packets[d] == 0 && c.st.Packets[d^1] > 0 && c.ana.acked[d^1] {
			v.OneSided = true
		}
	}
	return v
}

// CaptureStats sums up what the capture showed of every connection the
// tracker followed (see Visibility): the capture's kind, as opposed to the
// network's behaviour.
type CaptureStats struct {
	Connections int // connections summarised
	OneSided    int // only one direction captured
	// OneWay counts the connections with packets from one side only and
	// nothing acknowledged (lone SYNs, scans, floods): whether the other
	// side sent nothing or was not captured, the capture cannot tell.
	OneWay      int
	MidStream   int   // picked up after the handshake
	UnseenConns int   // connections with bytes acknowledged but not captured
	UnseenBytes int64 // those bytes, all connections
	Duplicates  int64 // packets captured twice, left out of the analysis
	// HalfOpenEvicted counts the connections ended before their handshake
	// completed to keep Config.MaxHalfOpen (a SYN flood, or a capture of
	// one direction of many connection attempts).
	HalfOpenEvicted int64
	// HalfOpenPeak is the most connections in their handshake tracked at
	// once.
	HalfOpenPeak int
}

// CaptureStats returns the sums over the connections summarised so far
// (all of them after Close).
func (t *Tracker) CaptureStats() CaptureStats {
	s := t.stats
	s.Duplicates = t.duplicates
	s.HalfOpenEvicted = t.shed.n
	s.HalfOpenPeak = t.halfOpenPeak
	return s
}

// count adds a finished connection to the tracker's CaptureStats.
func (t *Tracker) count(v *Visibility) {
	s := &t.stats
	s.Connections++
	if v.OneSided {
		s.OneSided++
	} else if (v.Packets[0] == 0) != (v.Packets[1] == 0) {
		s.OneWay++
	}
	if v.MidStream {
		s.MidStream++
	}
	if n := v.Unseen[0] + v.Unseen[1]; n > 0 {
		s.UnseenConns++
		s.UnseenBytes += n
	}
}
