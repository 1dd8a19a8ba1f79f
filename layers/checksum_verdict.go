package layers

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
)

// The checksum verdict (casebook C11).
//
// A checksum that does not match says more about where a capture was taken
// than about the network: the capturing host's NIC fills checksums in after
// the capture point (offload), loopback never computes them, and tools that
// anonymise or NAT a capture change addresses without fixing them. So no
// single frame decides. Per packet, the Decoder only records what each field
// held (Packet.IPChecksum, Packet.L4Checksum); per source address and per
// layer (IPv4 header, TCP, UDP, ICMP) it counts the checksums that are right,
// wrong, not computed (a TCP or IPv4 header field of 0), and the frames whose
// IPv4 header and TCP/UDP checksums are off by the same amount: their
// addresses (or length), which both checksums cover, changed after they
// were computed. At Flush it decides once for the capture:
//
//   - A source that sent a frame larger than the Ethernet MTU (a TSO/LSO
//     super-segment, or GRO) shows segmentation offload, which comes with
//     checksum offload: all its checksums that do not match are offload
//     (ip.checksum_offload, info).
//   - A source whose checksums in some layer are wrong among right ones has
//     corrupted packets: one ip.bad_checksum (error) for the source, with the
//     count and the first frames. Checksums explained by an address edit or
//     never computed do not count. When the source crossed no router (its
//     TTL is an initial one: 64, 128, 255) and the wrong checksums are not
//     the exception, it is taken as the next case instead: a capturing host
//     computes a few checksums in software and leaves the rest to its NIC.
//   - A source whose checksums in some layer never match is not an error:
//     nothing it sent proves corruption. When it is the only such source,
//     it crossed no router, its frames show no address edit and another
//     source sends right checksums, it is the capturing host: offload.
//     Otherwise its checksums cannot be verified
//     (ip.checksums_unverifiable, notice). When most sources (at least two,
//     or all of them) are like that, or most of their frames show an
//     address edit, the capture was rewritten, or taken where checksums are
//     filled in later (loopback, offload at both ends):
//     ChecksumStats.Rewritten.
//   - The capture gets at most one ip.checksum_offload and one
//     ip.checksums_unverifiable, each naming its sources and frame counts,
//     in the first frame concerned.
//
// Known limits: on a jumbo-frame network every sender of frames above 1500
// bytes counts as the capturing host, and its corrupted frames as offload; a
// peer on the capturing host's LAN that corrupts most of its frames is not
// reported as corrupting; a source over Limits.MaxTracked is counted in
// ChecksumStats' frame totals but not classified.

// sumLayer indexes the per-layer checksum counts of a source.
type sumLayer uint8

const (
	layerIP   sumLayer = iota // IPv4 header (RFC 791, 3.1)
	layerTCP                  // RFC 9293, 3.1
	layerUDP                  // RFC 768
	layerICMP                 // ICMPv4 (RFC 792) and ICMPv6 (RFC 4443, 2.3)
	numSumLayers
)

// maxListedFrames caps the frames an ip.bad_checksum event lists.
const maxListedFrames = 8

// maxListedSources caps the addresses a capture-level event names.
const maxListedSources = 8

// sumBits says what one frame contributed to the counts.
type sumBits uint8

const (
	bitChecked sumBits = 1 << iota // a checksum was verified
	bitWrong                       // a checksum field holds a wrong, non-zero value
	bitZero                        // a TCP or IPv4 header checksum was not computed (0)
	bitEdited                      // IPv4 header and TCP/UDP checksums are off by the same amount
)

// sumCounts counts frames by what their checksums showed. A frame counts
// once however many of its checksums were verified.
type sumCounts struct {
	frames    int // frames with a verified checksum
	wrong     int // ... one of which is wrong (bitWrong, including edited frames)
	zero      int // ... one of which was not computed
	edited    int // ... whose addresses or length changed after checksumming
	unmatched int // ... one of which is wrong or not computed
}

// add counts the bits now of a frame, of which before were already counted
// (the last frame of a fragmented datagram is checked twice: its own IPv4
// header, then the reassembled transport).
func (c *sumCounts) add(now, before sumBits) {
	n := now &^ before
	if n&bitChecked != 0 {
		c.frames++
	}
	if n&bitWrong != 0 {
		c.wrong++
	}
	if n&bitZero != 0 {
		c.zero++
	}
	if n&bitEdited != 0 {
		c.edited++
	}
	if now&(bitWrong|bitZero) != 0 && before&(bitWrong|bitZero) == 0 {
		c.unmatched++
	}
}

// layerTally counts one source's checksums of one layer.
type layerTally struct {
	right, wrong, zero, edited int
}

// srcState is what the checksum verdict remembers about a source address.
// It is allocated once per source; the detail once per source that sends a
// checksum that does not match.
type srcState struct {
	counts   sumCounts
	layers   [numSumLayers]layerTally
	oversize bool // sent a frame larger than the Ethernet MTU, or a TSO super-segment
	routed   bool // a checksum that did not match came with a TTL that is not an initial one
	detail   *srcDetail
}

// srcDetail holds the frames a source's events name.
type srcDetail struct {
	first sumMark                 // first frame with a checksum that does not match
	wrong [numSumLayers]wrongMark // per layer: wrong checksums not explained by an edit
}

// sumMark is a frame an event names.
type sumMark struct {
	ok    bool
	frame int64
	time  time.Time
	flow  Flow
	layer string // "ip", "tcp", "udp", "icmp" or "icmpv6"
	ttl   uint8
}

// wrongMark is the first wrong checksum of a layer, with its value, the
// right one, and the first frames.
type wrongMark struct {
	sumMark
	got, want uint16
	frames    [maxListedFrames]int64
	n         int
}

// initialTTL reports whether ttl is a common initial TTL / hop limit: a
// packet that still carries one has not crossed a router.
func initialTTL(ttl uint8) bool { return ttl == 64 || ttl == 128 || ttl == 255 }

// l4Layer returns the layer of a transport protocol's checksum.
func l4Layer(proto uint8) sumLayer {
	switch proto {
	case ProtoTCP:
		return layerTCP
	case ProtoUDP:
		return layerUDP
	}
	return layerICMP
}

// checkChecksums counts the checksums of the current packet for the verdict
// Flush gives (see the top of this file). It emits nothing and, once a
// source is known, allocates nothing.
func (d *Decoder) checkChecksums() {
	p := &d.pkt
	if d.lim.SkipChecksums {
		return
	}
	ipS, l4S := p.IPChecksum, p.L4Checksum
	if ipS == ChecksumUnchecked && l4S == ChecksumUnchecked {
		return
	}
	l4 := l4Layer(p.IPProto)
	if !ipS.Wrong() && !l4S.Wrong() && !p.Fragment && !p.Reassembled { // the common case
		d.sum.frames++
		st := d.sourceState(p.Src)
		st.counts.frames++
		if p.TSO || p.IPLen > 1500 {
			st.oversize = true
		}
		if ipS == ChecksumGood {
			st.layers[layerIP].right++
		}
		if l4S == ChecksumGood {
			st.layers[l4].right++
		}
		return
	}
	bits := bitChecked
	if ipS == ChecksumBad || l4S == ChecksumBad {
		bits |= bitWrong
	}
	if ipS == ChecksumNotComputed || l4S == ChecksumNotComputed {
		bits |= bitZero
	}
	// Both checksums cover the addresses and the length: an edit of those
	// after checksumming shifts both sums by the same amount.
	edited := ipS == ChecksumBad && l4S == ChecksumBad && d.ipSum == d.l4Sum && l4 != layerICMP
	if edited {
		bits |= bitEdited
	}
	// The frame of a fragment that completes a datagram is checked twice:
	// its IPv4 header as a fragment, then the reassembled transport.
	var before sumBits
	if p.Reassembled && p.Frame == d.sumFrame {
		before = d.sumBits
	}
	if p.Fragment {
		d.sumFrame, d.sumBits = p.Frame, bits
	}
	d.sum.add(bits, before)

	st := d.sourceState(p.Src)
	st.counts.add(bits, before)
	if p.TSO || (p.IPLen > 1500 && !p.Reassembled) { // a reassembled datagram is large by right
		st.oversize = true
	}
	if bits&(bitWrong|bitZero) == 0 { // every checksum right
		if ipS == ChecksumGood {
			st.layers[layerIP].right++
		}
		if l4S == ChecksumGood {
			st.layers[l4].right++
		}
		return
	}
	if !initialTTL(p.TTL) {
		st.routed = true
	}
	d.tally(st, layerIP, ipS, edited)
	d.tally(st, l4, l4S, edited)
}

// tally counts checksum c of layer l for source st and, when it does not
// match, keeps the frames the source's events will name.
func (d *Decoder) tally(st *srcState, l sumLayer, c Checksum, edited bool) {
	lt := &st.layers[l]
	switch {
	case c == ChecksumUnchecked:
		return
	case c == ChecksumGood:
		lt.right++
		return
	case c == ChecksumNotComputed:
		lt.zero++
	case edited:
		lt.edited++
	default:
		lt.wrong++
	}
	if st == &d.untracked {
		return
	}
	if st.detail == nil {
		st.detail = new(srcDetail)
	}
	dt := st.detail
	if !dt.first.ok {
		dt.first = d.mark(l)
	}
	if c != ChecksumBad || edited {
		return
	}
	w := &dt.wrong[l]
	if !w.ok {
		w.sumMark = d.mark(l)
		w.got, w.want = d.badValues(l)
	}
	if w.n < len(w.frames) {
		w.frames[w.n] = d.pkt.Frame
		w.n++
	}
}

// mark returns the current frame as an event will name it.
func (d *Decoder) mark(l sumLayer) sumMark {
	p := &d.pkt
	name := "ip"
	switch l {
	case layerTCP:
		name = "tcp"
	case layerUDP:
		name = "udp"
	case layerICMP:
		name = "icmp"
		if p.Network == 6 {
			name = "icmpv6"
		}
	}
	return sumMark{ok: true, frame: p.Frame, time: p.Time, flow: FlowOf(p), layer: name, ttl: p.TTL}
}

// sourceState returns the state of src. The two most recent sources (the
// two ends of the conversation being read) are cached, so a map lookup
// happens only when a third source appears. A source over MaxTracked is
// counted on a scratch state that is not remembered.
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

// ChecksumStats counts what the checksums of a capture showed, for a
// capture-profile line. Frame counts cover every source; source counts
// cover the sources the Decoder tracked (Limits.MaxTracked).
type ChecksumStats struct {
	// Frames is the number of frames with at least one verified checksum
	// (IPv4 header, TCP, UDP, ICMP).
	Frames int
	// Wrong counts the frames with a checksum field holding a wrong,
	// non-zero value; Edited counts those among them whose IPv4 header and
	// TCP/UDP checksums are off by the same amount: addresses (or length)
	// changed after checksumming.
	Wrong, Edited int
	// NotComputed counts the frames with a TCP or IPv4 header checksum of 0
	// that does not verify. A frame can count in Wrong and NotComputed.
	NotComputed int

	// OffloadSources are the sources taken for the capturing host (checksum
	// offload, ip.checksum_offload); OffloadFrames their frames whose
	// checksums do not match.
	OffloadSources, OffloadFrames int
	// UnverifiableSources are the other sources with a layer whose
	// checksums never match (ip.checksums_unverifiable); UnverifiableFrames
	// their frames whose checksums do not match.
	UnverifiableSources, UnverifiableFrames int
	// CorruptSources are the sources whose checksums are wrong among right
	// ones (one ip.bad_checksum each); CorruptFrames their frames with a
	// wrong checksum that no address edit explains.
	CorruptSources, CorruptFrames int
	// Rewritten reports that most sources (at least two, or all) have
	// checksums that never match: the capture was rewritten (addresses
	// changed, checksums cleared), or taken where checksums are filled in
	// later (loopback, offload at both ends).
	Rewritten bool
}

// ChecksumStats returns the checksum counts and verdict of the capture: after
// Flush, those of the frames Flush ended (until more frames with checksums
// are decoded); before, those of the frames decoded so far, with the
// verdict Flush would give now. It is not meant for the per-frame path.
func (d *Decoder) ChecksumStats() ChecksumStats {
	if d.sum.frames == 0 {
		return d.flushed
	}
	return d.checksumVerdict().stats
}

// sourceVerdict is one source in the verdict.
type sourceVerdict struct {
	addr  netip.Addr
	st    *srcState
	first sumMark // first frame concerned
}

// checksumVerdict is the decision over the counts so far.
type checksumVerdict struct {
	offload      []sourceVerdict // oversize sources, then the TTL one (if any), by first frame
	ttlHost      *sourceVerdict  // the source taken for the capturing host by its TTL, nil if none
	unverifiable []sourceVerdict
	corrupt      []sourceVerdict
	stats        ChecksumStats
}

// checksumVerdict classifies every tracked source (see the top of this file).
// Lists are sorted by their first frame, then address.
func (d *Decoder) checksumVerdict() checksumVerdict {
	v := checksumVerdict{stats: ChecksumStats{Frames: d.sum.frames, Wrong: d.sum.wrong, Edited: d.sum.edited, NotComputed: d.sum.zero}}
	var never []sourceVerdict
	verified, right := 0, 0 // sources with a verified checksum, with a right one
	for addr, st := range d.sources {
		if st.counts.frames == 0 {
			continue
		}
		verified++
		if st.anyRight() {
			right++
		}
		if st.counts.unmatched == 0 || st.detail == nil {
			continue
		}
		mixed, neverRight := false, false
		for _, lt := range st.layers {
			mixed = mixed || (lt.right > 0 && lt.wrong > 0)
			neverRight = neverRight || (lt.right == 0 && lt.wrong+lt.zero+lt.edited > 0)
		}
		sv := sourceVerdict{addr: addr, st: st, first: st.detail.first}
		switch {
		case st.oversize:
			v.offload = append(v.offload, sv)
		case mixed && (st.routed || st.wrongIsException()):
			sv.first = st.firstMixed()
			v.corrupt = append(v.corrupt, sv)
		case mixed || neverRight:
			never = append(never, sv)
		}
	}
	byFirst := func(a, b sourceVerdict) int {
		return cmp.Or(cmp.Compare(a.first.frame, b.first.frame), a.addr.Compare(b.addr))
	}
	// The one source whose checksums never match while it crossed no
	// router, in a capture where another source sends right ones, is the
	// capturing host — unless its frames show an address edit, which
	// offload does not make.
	if len(never) == 1 && !never[0].st.routed && never[0].st.counts.edited == 0 &&
		right > b2i(never[0].st.anyRight()) {
		v.offload = append(v.offload, never[0])
		v.ttlHost = &never[0]
		never = nil
	}
	slices.SortFunc(v.offload, byFirst)
	slices.SortFunc(v.corrupt, byFirst)
	slices.SortFunc(never, byFirst)
	v.unverifiable = never
	// Rewritten: most sources (at least two, or all) never match, or most
	// of their frames show an address edit.
	var unmatched, edited int
	for _, sv := range never {
		unmatched += sv.st.counts.unmatched
		edited += sv.st.counts.edited
	}
	v.stats.Rewritten = len(never) > 0 &&
		(len(never) == verified || (len(never) >= 2 && 2*len(never) > verified) || 2*edited > unmatched)
	for _, sv := range v.offload {
		v.stats.OffloadSources++
		v.stats.OffloadFrames += sv.st.counts.unmatched
	}
	for _, sv := range v.unverifiable {
		v.stats.UnverifiableSources++
		v.stats.UnverifiableFrames += sv.st.counts.unmatched
	}
	for _, sv := range v.corrupt {
		v.stats.CorruptSources++
		v.stats.CorruptFrames += sv.st.counts.wrong - sv.st.counts.edited
	}
	return v
}

// anyRight reports whether st sent a right checksum in any layer.
func (st *srcState) anyRight() bool {
	for _, lt := range st.layers {
		if lt.right > 0 {
			return true
		}
	}
	return false
}

// b2i returns 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mixedLayers returns the layers in which st sent wrong checksums among
// right ones.
func (st *srcState) mixedLayers() []sumLayer {
	var out []sumLayer
	for l, lt := range st.layers {
		if lt.right > 0 && lt.wrong > 0 {
			out = append(out, sumLayer(l))
		}
	}
	return out
}

// wrongIsException reports whether st's right checksums outnumber the
// wrong ones in the layers where it sent both. A host that crossed no router
// and sends mostly wrong checksums with some right ones is more likely the
// capturing host, computing a few checksums in software and leaving the
// rest to its NIC, than a corrupting one.
func (st *srcState) wrongIsException() bool {
	wrong, right := 0, 0
	for _, l := range st.mixedLayers() {
		wrong += st.layers[l].wrong
		right += st.layers[l].right
	}
	return wrong < right
}

// firstMixed returns the first wrong checksum of st's mixed layers.
func (st *srcState) firstMixed() sumMark {
	var m sumMark
	for _, l := range st.mixedLayers() {
		if w := st.detail.wrong[l]; w.ok && (!m.ok || w.frame < m.frame) {
			m = w.sumMark
		}
	}
	return m
}

// flushChecksums emits the capture's checksum events, keeps its stats for
// ChecksumStats, and forgets the sources: the next frames are a new
// capture.
func (d *Decoder) flushChecksums() {
	if d.sum.frames == 0 {
		return // nothing since the last Flush: its verdict stands
	}
	v := d.checksumVerdict()
	if len(v.offload) > 0 {
		d.offloadEvent(v)
	}
	if len(v.unverifiable) > 0 {
		d.unverifiableEvent(v)
	}
	for _, sv := range v.corrupt {
		d.corruptEvent(sv)
	}
	d.flushed = v.stats
	d.sum, d.sumFrame, d.sumBits = sumCounts{}, 0, 0
	clear(d.sources)
	d.srcCache, d.untracked = [2]srcEntry{}, srcState{}
}

// offloadEvent emits ip.checksum_offload for the capture.
func (d *Decoder) offloadEvent(v checksumVerdict) {
	first := v.offload[0].first
	frames := v.stats.OffloadFrames
	who, addrs := sourceNames(v.offload)
	var why, reasons []string
	var big []sourceVerdict
	for _, sv := range v.offload {
		if v.ttlHost == nil || sv.addr != v.ttlHost.addr {
			big = append(big, sv)
		}
	}
	if len(big) > 0 {
		names, _ := sourceNames(big)
		reasons = append(reasons, "segmentation offload")
		why = append(why, fmt.Sprintf("%s %s frames larger than the MTU: segmentation offload on the capturing host (TSO) or receive offload (GRO), where the NIC, not the stack, computes and checks checksums",
			names, plural(len(big), "sends", "send")))
	}
	if h := v.ttlHost; h != nil {
		other := ""
		if len(big) > 0 {
			other = " other"
		}
		reasons = append(reasons, "initial ttl")
		why = append(why, fmt.Sprintf("%s looks like the capturing host, whose NIC fills checksums in after the capture point: it sends with an initial TTL (%d), so it crossed no router, and it is the only%s source whose checksums never match",
			h.addr, h.first.ttl, other))
	}
	d.emit(health.IPChecksumOffload, first.frame, first.time, first.flow.String(),
		fmt.Sprintf("frame %d: %d %s from %s with checksums that do not match (%s); %s. Checksum offload, not a fault (reported once per capture)",
			first.frame, frames, plural(frames, "frame", "frames"), who, breakdown(v.offload), strings.Join(why, "; ")),
		map[string]any{"layer": first.layer, "count": frames, "src": v.offload[0].addr.String(), "sources": len(v.offload), "addrs": addrs, "reason": strings.Join(reasons, ", ")})
}

// unverifiableEvent emits ip.checksums_unverifiable for the capture.
func (d *Decoder) unverifiableEvent(v checksumVerdict) {
	first := v.unverifiable[0].first
	frames := v.stats.UnverifiableFrames
	who, addrs := sourceNames(v.unverifiable)
	var cause string
	switch {
	case !v.stats.Rewritten:
		cause = plural(len(v.unverifiable), "its", "their") + " packets were changed after checksumming (NAT, or a tool that rewrote the capture), or checksums are filled in behind the capture point (offload)"
	case len(v.unverifiable) == 1 && v.stats.Edited == 0:
		cause = "it is the only source with checksums: the capturing host, whose NIC fills checksums in after the capture point (offload, loopback), or the capture was rewritten (addresses changed without fixing checksums, or checksums cleared)"
	default:
		cause = "the capture was rewritten (addresses changed without fixing checksums, or checksums cleared) or taken where checksums are filled in later (loopback, offload at both ends)"
	}
	var wrong, zero, edited int
	for _, sv := range v.unverifiable {
		wrong += sv.st.counts.wrong
		zero += sv.st.counts.zero
		edited += sv.st.counts.edited
	}
	d.emit(health.IPChecksumsUnverifiable, first.frame, first.time, first.flow.String(),
		fmt.Sprintf("frame %d: %s: %d %s with checksums that do not match (%s) and none that matches in the same layer: %s. Corruption cannot be told on them (reported once per capture)",
			first.frame, who, frames, plural(frames, "frame", "frames"), breakdown(v.unverifiable), cause),
		map[string]any{"layer": first.layer, "count": frames, "sources": len(v.unverifiable), "addrs": addrs,
			"wrong": wrong, "not_computed": zero, "edited": edited, "rewritten": v.stats.Rewritten})
}

// corruptEvent emits ip.bad_checksum for a source whose checksums are
// wrong among right ones.
func (d *Decoder) corruptEvent(sv sourceVerdict) {
	st := sv.st
	var w wrongMark
	var names []string
	var frames []int64
	wrong, right := 0, 0
	for _, l := range st.mixedLayers() {
		m := &st.detail.wrong[l]
		if !w.ok || m.frame < w.frame {
			w = *m
		}
		names = append(names, m.layer)
		frames = append(frames, m.frames[:m.n]...)
		wrong += st.layers[l].wrong
		right += st.layers[l].right
	}
	slices.Sort(frames)
	frames = slices.Compact(frames)
	listed := listFrames(frames[:min(len(frames), maxListedFrames)], wrong)
	layers := strings.Join(names, "/")
	d.emit(health.IPBadChecksum, w.frame, w.time, w.flow.String(),
		fmt.Sprintf("frame %d: bad %s checksum 0x%04x (should be 0x%04x) on a packet from %s, whose other %s checksums are right: %d wrong among %d (%s %s): corrupted on the way or by a NIC (reported once per source)",
			w.frame, w.layer, w.got, w.want, sv.addr, layers, wrong, wrong+right, plural(len(frames), "frame", "frames"), listed),
		map[string]any{"layer": w.layer, "got": fmt.Sprintf("0x%04x", w.got), "want": fmt.Sprintf("0x%04x", w.want),
			"src": sv.addr.String(), "count": wrong, "right": right, "frames": listed})
}

// sourceNames returns "1 source (a)" / "3 sources (a, b, c)" and the
// address list alone, capped at maxListedSources.
func sourceNames(svs []sourceVerdict) (who, addrs string) {
	var b strings.Builder
	for i, sv := range svs {
		if i == maxListedSources {
			fmt.Fprintf(&b, " and %d more", len(svs)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sv.addr.String())
	}
	addrs = b.String()
	if len(svs) == 1 {
		return addrs, addrs
	}
	return fmt.Sprintf("%d sources (%s)", len(svs), addrs), addrs
}

// breakdown says how the checksums of svs fail to match: "21 wrong, 10 of
// them off by the same amount in the IPv4 and TCP/UDP checksums, as after
// an address change; 3 never computed".
func breakdown(svs []sourceVerdict) string {
	var wrong, zero, edited int
	for _, sv := range svs {
		wrong += sv.st.counts.wrong
		zero += sv.st.counts.zero
		edited += sv.st.counts.edited
	}
	var parts []string
	if wrong > 0 {
		w := fmt.Sprintf("%d wrong", wrong)
		if edited > 0 {
			n := strconv.Itoa(edited)
			if edited == wrong {
				n = "all"
			}
			w += fmt.Sprintf(", %s of them off by the same amount in the IPv4 and TCP/UDP checksums, as after an address change", n)
		}
		parts = append(parts, w)
	}
	if zero > 0 {
		parts = append(parts, fmt.Sprintf("%d never computed", zero))
	}
	return strings.Join(parts, "; ")
}

// plural returns one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// listFrames formats frames as "5, 9, 12", ending with ", …" when total
// is larger than the list.
func listFrames(frames []int64, total int) string {
	var b strings.Builder
	for i, f := range frames {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(f, 10))
	}
	if total > len(frames) {
		b.WriteString(", …")
	}
	return b.String()
}
