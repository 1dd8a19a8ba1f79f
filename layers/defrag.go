package layers

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/nettrace/nettrace/health"
)

// fragKey identifies a datagram being reassembled: source, destination,
// identification and, for IPv4, protocol (RFC 791, 3.2; RFC 8200, 4.5).
type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8 // IPv4 only; 0 for IPv6
	v6       bool
}

// fragPiece is one fragment's place in its datagram.
type fragPiece struct {
	start, end int
	frame      int64
}

// datagram is one datagram in reassembly.
type datagram struct {
	key        fragKey
	buf        []byte      // reassembly buffer, grown only as fragment bytes arrive
	pieces     []fragPiece // sorted by start
	total      int         // datagram (fragmentable part) length; -1 until the last fragment
	firstNH    uint8       // IPv6: next header of the offset-0 fragment
	ports      [2]uint16   // from the offset-0 fragment, for event flows
	havePorts  bool
	firstFrame int64
	lastFrame  int64
	start      time.Time
	seq        uint64
	poisoned   bool // dropped (overlap, limit); absorbs its remaining fragments until it times out
}

// defragger holds the datagrams in reassembly. Its memory is bounded by
// Limits.MaxDatagrams, MaxDatagramLen and MaxFragmentBytes.
type defragger struct {
	m        map[fragKey]*datagram
	seq      uint64
	bytes    int       // cap of all buffers held
	deadline time.Time // earliest expiry; zero when nothing is pending
	pending  []byte    // buffer returned by the last completed datagram
	pool     [][]byte
}

const fragPoolSize = 8

func (df *defragger) init(Limits) { df.m = make(map[fragKey]*datagram) }

// releasePending recycles the buffer the previous Decode returned.
func (df *defragger) releasePending() {
	if df.pending != nil {
		df.recycle(df.pending)
		df.pending = nil
	}
}

func (df *defragger) recycle(b []byte) {
	if b != nil && len(df.pool) < fragPoolSize {
		df.pool = append(df.pool, b[:0])
	}
}

// flow returns the event flow of a datagram.
func (dg *datagram) flow() string {
	proto := dg.key.proto
	if dg.key.v6 {
		proto = dg.firstNH
	}
	f := Flow{Src: netip.AddrPortFrom(dg.key.src, dg.ports[0]), Dst: netip.AddrPortFrom(dg.key.dst, dg.ports[1]), Proto: proto}
	return f.String()
}

func (dg *datagram) received() int {
	n := 0
	for _, p := range dg.pieces {
		n += p.end - p.start
	}
	return n
}

// reassemble adds a fragment (payload data at byte offset off; more = more
// fragments follow) of the current frame. When it completes its datagram it
// returns the datagram's payload (valid until the next Decode), the first
// fragment's next header (IPv6) and true; Packet.FragFrames is then set.
func (d *Decoder) reassemble(key fragKey, off int, more bool, data []byte, nh uint8) ([]byte, uint8, bool) {
	dg := d.fragDatagram(key)
	dg.lastFrame = d.pkt.Frame
	if dg.poisoned {
		return nil, 0, false
	}
	end := off + len(data)
	if off == 0 {
		dg.first(data, nh)
	}
	if !d.fragConsistent(dg, off, more, data) || !d.fragNoOverlap(dg, off, data) {
		return nil, 0, false
	}
	if !more {
		dg.total = end
	}
	if !d.fragGrow(dg, end) {
		return nil, 0, false
	}
	copy(dg.buf[off:end], data)
	i, _ := slices.BinarySearchFunc(dg.pieces, off, func(pc fragPiece, o int) int { return pc.start - o })
	dg.pieces = slices.Insert(dg.pieces, i, fragPiece{start: off, end: end, frame: d.pkt.Frame})
	if !dg.complete() {
		return nil, 0, false
	}
	return d.fragDone(dg), dg.firstNH, true
}

// fragDatagram returns the datagram of key, starting one (and evicting the
// oldest beyond Limits.MaxDatagrams) when the current frame is its first
// fragment.
func (d *Decoder) fragDatagram(key fragKey) *datagram {
	df := &d.defrag
	if dg := df.m[key]; dg != nil {
		return dg
	}
	if len(df.m) >= d.lim.MaxDatagrams {
		d.evictOldest(nil, "too many datagrams in reassembly")
	}
	df.seq++
	dg := &datagram{key: key, total: -1, firstFrame: d.pkt.Frame, start: d.pkt.Time, seq: df.seq}
	df.m[key] = dg
	if exp := dg.start.Add(d.lim.FragmentTimeout); df.deadline.IsZero() || exp.Before(df.deadline) {
		df.deadline = exp
	}
	return dg
}

// first records what the offset-0 fragment tells: the next header (IPv6)
// and, for TCP and UDP, the ports used in event flows.
func (dg *datagram) first(data []byte, nh uint8) {
	dg.firstNH = nh
	key := dg.key
	if ports, ok := portsOf(data); ok && (nh == ProtoTCP || nh == ProtoUDP || (!key.v6 && (key.proto == ProtoTCP || key.proto == ProtoUDP))) {
		dg.ports, dg.havePorts = ports, true
	}
}

// fragConsistent checks a fragment of data at off against the datagram's
// rules and limits: a fragment with more to follow holds a multiple of 8
// bytes (RFC 791, 3.2; RFC 8200, 4.5), there is one end, no fragment goes
// past it, and Limits.MaxDatagramLen and MaxFragments hold. On failure it
// reports and drops dg and returns false.
func (d *Decoder) fragConsistent(dg *datagram, off int, more bool, data []byte) bool {
	end := off + len(data)
	switch {
	case more && len(data)%8 != 0:
		d.fragInconsistent(dg, off, len(data), fmt.Sprintf("a fragment with more to follow has %d bytes, not a multiple of 8", len(data)))
	case !more && dg.total >= 0 && dg.total != end:
		d.fragInconsistent(dg, off, len(data), fmt.Sprintf("two last fragments end at %d and %d", dg.total, end))
	case dg.total >= 0 && end > dg.total:
		d.fragInconsistent(dg, off, len(data), fmt.Sprintf("fragment ends at %d, past the datagram end %d", end, dg.total))
	case end > d.lim.MaxDatagramLen:
		d.fragDrop(dg, fmt.Sprintf("datagram exceeds %d bytes", d.lim.MaxDatagramLen))
	case len(dg.pieces) >= d.lim.MaxFragments:
		d.fragDrop(dg, fmt.Sprintf("more than %d fragments", d.lim.MaxFragments))
	default:
		return true
	}
	return false
}

// fragNoOverlap reports whether the fragment of data at off overlaps none
// of dg's pieces. An exact duplicate (capture duplication) is ignored; any
// other overlap drops the datagram (RFC 5722).
func (d *Decoder) fragNoOverlap(dg *datagram, off int, data []byte) bool {
	end := off + len(data)
	for _, pc := range dg.pieces {
		if off < pc.end && end > pc.start {
			if off == pc.start && end == pc.end && bytes.Equal(dg.buf[off:end], data) {
				return false // an exact duplicate (capture duplication): ignored
			}
			d.fragInconsistent(dg, off, len(data), fmt.Sprintf("bytes %d-%d overlap the fragment of frame %d (bytes %d-%d)", off, end, pc.frame, pc.start, pc.end))
			return false
		}
	}
	return true
}

// complete reports whether dg's pieces cover [0, total) without holes.
func (dg *datagram) complete() bool {
	if dg.total < 0 {
		return false
	}
	at := 0
	for _, pc := range dg.pieces {
		if pc.start != at {
			return false
		}
		at = pc.end
	}
	return at == dg.total
}

// fragDone hands out a completed datagram: it sets Packet.FragFrames, forgets
// dg and returns its payload (valid until the next Decode).
func (d *Decoder) fragDone(dg *datagram) []byte {
	d.frames = d.frames[:0]
	for _, pc := range dg.pieces {
		d.frames = append(d.frames, pc.frame)
	}
	d.pkt.FragFrames = d.frames
	d.defrag.remove(dg)
	d.defrag.pending = dg.buf
	return dg.buf[:dg.total]
}

// fragGrow makes dg.buf at least n bytes long, within MaxFragmentBytes.
func (d *Decoder) fragGrow(dg *datagram, n int) bool {
	df := &d.defrag
	if len(dg.buf) >= n {
		return true
	}
	if cap(dg.buf) >= n {
		dg.buf = dg.buf[:n]
		return true
	}
	var nb []byte
	if k := len(df.pool); k > 0 && dg.buf == nil {
		nb = df.pool[k-1]
		df.pool = df.pool[:k-1]
	}
	if cap(nb) < n {
		nb = make([]byte, 0, min(max(n, 2*cap(dg.buf), 2048), d.lim.MaxDatagramLen))
	}
	grow := cap(nb) - cap(dg.buf)
	for df.bytes+grow > d.lim.MaxFragmentBytes {
		if !d.evictOldest(dg, "reassembly memory limit reached") {
			d.fragDrop(dg, fmt.Sprintf("reassembly memory limit of %d bytes reached", d.lim.MaxFragmentBytes))
			return false
		}
	}
	nb = append(nb[:0], dg.buf...)
	nb = nb[:n]
	df.bytes += grow
	dg.buf = nb
	return true
}

// remove forgets dg and its memory (the caller decides about its buffer).
func (df *defragger) remove(dg *datagram) {
	delete(df.m, dg.key)
	df.bytes -= cap(dg.buf)
}

// poison drops dg's data but keeps the entry to absorb its later fragments.
func (df *defragger) poison(dg *datagram) {
	dg.poisoned = true
	df.bytes -= cap(dg.buf)
	df.recycle(dg.buf)
	dg.buf = nil
	dg.pieces = nil
}

// fragInconsistent reports overlapping or inconsistent fragments and drops
// the datagram (RFC 5722; Linux does the same for IPv4).
func (d *Decoder) fragInconsistent(dg *datagram, off, n int, why string) {
	d.emit(health.NetFragmentOverlap, d.pkt.Frame, d.pkt.Time, dg.flow(),
		fmt.Sprintf("frame %d: IP fragment of datagram id 0x%x (first seen in frame %d) is inconsistent: %s; the datagram is dropped", d.pkt.Frame, dg.key.id, dg.firstFrame, why),
		map[string]any{"id": dg.key.id, "offset": off, "length": n, "first_frame": dg.firstFrame, "reason": why})
	d.defrag.poison(dg)
}

// fragDrop drops dg because of a limit, reporting it incomplete.
func (d *Decoder) fragDrop(dg *datagram, why string) {
	d.reportIncomplete(dg, d.pkt.Time, why)
	d.defrag.poison(dg)
}

// evictOldest drops the oldest datagram other than keep; it reports false
// when there is none.
func (d *Decoder) evictOldest(keep *datagram, why string) bool {
	var old *datagram
	for _, dg := range d.defrag.m {
		if dg != keep && (old == nil || dg.seq < old.seq) {
			old = dg
		}
	}
	if old == nil {
		return false
	}
	if !old.poisoned {
		d.reportIncomplete(old, d.pkt.Time, why)
	}
	d.defrag.remove(old)
	d.defrag.recycle(old.buf)
	return true
}

// reportIncomplete emits net.fragment_incomplete for dg.
func (d *Decoder) reportIncomplete(dg *datagram, at time.Time, why string) {
	missing := "middle"
	switch {
	case len(dg.pieces) == 0 || dg.pieces[0].start != 0:
		missing = "first"
	case dg.total < 0:
		missing = "last"
	}
	got := dg.received()
	d.emit(health.NetFragmentIncomplete, dg.firstFrame, at, dg.flow(),
		fmt.Sprintf("IP datagram id 0x%x from %s to %s never completed (%s): %d fragment(s), %d bytes, frames %d-%d; the %s fragment is missing", dg.key.id, dg.key.src, dg.key.dst, why, len(dg.pieces), got, dg.firstFrame, dg.lastFrame, missing),
		map[string]any{"id": dg.key.id, "fragments": len(dg.pieces), "bytes": got, "first_frame": dg.firstFrame, "last_frame": dg.lastFrame, "missing": missing, "reason": why})
}

// expireFragments drops datagrams older than FragmentTimeout at capture
// time now.
func (d *Decoder) expireFragments(now time.Time) {
	df := &d.defrag
	if df.deadline.IsZero() || !now.After(df.deadline) {
		return
	}
	var expired []*datagram
	df.deadline = time.Time{}
	for _, dg := range df.m {
		exp := dg.start.Add(d.lim.FragmentTimeout)
		if now.After(exp) {
			expired = append(expired, dg)
		} else if df.deadline.IsZero() || exp.Before(df.deadline) {
			df.deadline = exp
		}
	}
	d.dropAll(expired, func(dg *datagram) time.Time { return dg.start.Add(d.lim.FragmentTimeout) },
		fmt.Sprintf("timed out after %s", d.lim.FragmentTimeout))
}

// dropAll removes datagrams, reporting the ones not already reported, in
// the order they were started.
func (d *Decoder) dropAll(list []*datagram, at func(*datagram) time.Time, why string) {
	slices.SortFunc(list, func(a, b *datagram) int { return int(a.seq - b.seq) })
	for _, dg := range list {
		if !dg.poisoned {
			d.reportIncomplete(dg, at(dg), why)
		}
		d.defrag.remove(dg)
		d.defrag.recycle(dg.buf)
	}
}

// Flush ends the capture at time at: datagrams still waiting for fragments
// are reported as net.fragment_incomplete and dropped, then the capture's
// checksums get their verdict, once (ip.checksum_offload,
// ip.checksums_unverifiable, ip.bad_checksum per corrupting source; see
// checksum_verdict.go and ChecksumStats). The Decoder can be used again
// afterwards: the frames it decodes next are judged as a new capture.
func (d *Decoder) Flush(at time.Time) {
	d.defrag.releasePending()
	list := make([]*datagram, 0, len(d.defrag.m))
	for _, dg := range d.defrag.m {
		list = append(list, dg)
	}
	d.dropAll(list, func(*datagram) time.Time { return at }, "capture ended")
	d.defrag.deadline = time.Time{}
	d.flushChecksums()
	d.flushUndecoded(at)
}
