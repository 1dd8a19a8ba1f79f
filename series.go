package nettrace

import (
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// SeriesOptions ask the Analyzer to record, per TCP connection, the compact
// packet series that time-sequence, RTT, throughput and latency graphs are
// drawn from (Report.Series, package htmlreport). Only connections that end
// with a finding above info are kept; the others' series are dropped when
// they close, so memory follows the connections open at once, never the
// capture: at most (MaxOpen + MaxKept) × MaxSamples samples of 40 bytes,
// each with at most two SACK blocks of 12 bytes: 18 MiB with the defaults.
type SeriesOptions struct {
	// MaxSamples caps the samples kept per connection (default 2048). Past
	// it the connection's series is thinned: every other ordinary sample
	// is dropped and from then on one packet in Stride is sampled, while
	// SYN, FIN, RST, retransmitted and after-gap segments are kept.
	MaxSamples int
	// MaxOpen caps the connections recorded at once (default 128); a
	// connection that opens while that many are recorded is not recorded
	// (Report.SeriesSkipped counts them).
	MaxOpen int
	// MaxKept caps the series kept in the Report (default 16): at least one
	// connection per kind of finding while there is room, then those with
	// the most serious findings, then the most.
	MaxKept int
}

func (o SeriesOptions) withDefaults() SeriesOptions {
	if o.MaxSamples <= 0 {
		o.MaxSamples = 2048
	}
	o.MaxSamples = max(o.MaxSamples, 16)
	if o.MaxOpen <= 0 {
		o.MaxOpen = 128
	}
	if o.MaxKept <= 0 {
		o.MaxKept = 16
	}
	return o
}

// ConnSeries is the packet series of one TCP connection.
type ConnSeries struct {
	ID             uint64 // stream ID, as Flow.ID and tshark's tcp.stream
	Flow           string // as events print it: "client->server/tcp"
	Client, Server netip.AddrPort
	// Start is the capture time of the first sample; Sample.At counts from it.
	Start time.Time
	// Samples are in capture order.
	Samples []Sample
	// SACK holds the SACK blocks of the samples that carry some, in sample
	// order (SACKBlock.Sample indexes Samples).
	SACK []SACKBlock
	// Stride is 1 when every packet was sampled; n when, past MaxSamples,
	// the series was thinned to about one ordinary packet in n.
	Stride int
	// Thinned counts the packets not sampled (or dropped when thinning).
	Thinned int
	// WindowScaled says the windows are scaled (both SYNs were captured
	// with the window-scale option); otherwise they are as on the wire.
	WindowScaled bool
	// HandshakeRTT is SYN → SYN-ACK → ACK, 0 when the handshake was not
	// captured; ServerRTT is its SYN → SYN-ACK part: the round trip between
	// the capture point and the server.
	HandshakeRTT, ServerRTT time.Duration
}

// Sample is one packet of a connection. Sequence and acknowledgement
// numbers are relative to the first sequence number seen in their
// direction (the ISN when the SYN was captured, so that data starts at 1).
type Sample struct {
	At    time.Duration // since ConnSeries.Start
	Frame int64
	Seq   uint32 // relative, of the sender (Dir)
	Ack   uint32 // relative, of the other direction; valid with FlagACK
	Len   uint32 // TCP payload bytes
	Win   uint32 // receive window advertised by the sender, in bytes
	Dir   tcpstate.Dir
	Flags SampleFlags
}

// SampleFlags mark a sample.
type SampleFlags uint8

// Sample flags.
const (
	SampleSYN    SampleFlags = 1 << iota
	SampleFIN                // FIN set
	SampleRST                // RST set
	SampleACK                // ACK set: Ack is valid
	SampleResent             // carried data sent before (the tracker's retransmission verdict)
	SampleGap                // data beyond the highest byte seen: the bytes before it were not captured (lost before the capture point)
)

// marked reports whether thinning must keep the sample.
func (f SampleFlags) marked() bool {
	return f&(SampleSYN|SampleFIN|SampleRST|SampleResent|SampleGap) != 0
}

// SACKBlock is one SACK block of a sample, relative to the data
// direction's sequence numbers: bytes [Left, Right) were received.
type SACKBlock struct {
	Sample      int32
	Left, Right uint32
}

// maxSACKPerSample is how many SACK blocks of a packet are kept: the first
// ones, which RFC 2018 makes the most recently received.
const maxSACKPerSample = 2

// recording is one connection's series while it is recorded.
type recording struct {
	s       ConnSeries
	base    [2]uint32 // first sequence number per direction
	baseSet [2]bool
	next    [2]uint32 // highest sequence number seen + 1 per direction
	scale   [2]int8   // window scale from each SYN, -1 when absent
	synSeen [2]bool
	synAt   time.Time
	count   int // packets since the last sample while thinned
}

// seriesRecorder keeps the recordings: open ones on the calling goroutine,
// and decides which closed ones the Report keeps once both the recording
// and the connection's final summary have arrived (the summary comes
// later, from the merger, in a parallel run).
type seriesRecorder struct {
	o       SeriesOptions
	open    map[uint64]*recording
	nextID  uint64 // connections with smaller IDs were seen already
	closing []uint64
	skipped int

	mu      sync.Mutex
	waiting map[uint64]*closedSeries
	kept    []keptSeries
}

type closedSeries struct {
	rec   *recording
	stats *health.FlowStats
}

type keptSeries struct {
	sev   health.Severity
	score int
	s     *ConnSeries
	kinds []health.Kind // of its events above info
}

func newSeriesRecorder(o SeriesOptions) *seriesRecorder {
	return &seriesRecorder{o: o.withDefaults(), open: map[uint64]*recording{}, waiting: map[uint64]*closedSeries{}}
}

// segment records one packet the tracker analysed, then hands the
// connections that closed meanwhile to the decision (after their last
// packet: a FIN's connection closes before its OnSegment).
func (r *seriesRecorder) segment(p *layers.Packet, seg tcpstate.Segment) {
	if !seg.Late && !seg.Duplicate {
		if rec := r.recordingOf(seg.ID); rec != nil {
			rec.add(p, seg, r.o.MaxSamples)
		}
	}
	r.handOff()
}

// recordingOf returns the connection's recording, starting one for a new
// connection while fewer than MaxOpen are recorded.
func (r *seriesRecorder) recordingOf(id uint64) *recording {
	if rec := r.open[id]; rec != nil {
		return rec
	}
	if id < r.nextID {
		return nil // not recorded, or already closed
	}
	r.nextID = id + 1
	if len(r.open) >= r.o.MaxOpen {
		r.skipped++
		return nil
	}
	rec := &recording{s: ConnSeries{ID: id, Stride: 1}, scale: [2]int8{-1, -1}}
	r.open[id] = rec
	return rec
}

// closed notes that a connection closed (the tracker's summary hook, on
// the calling goroutine before the summary reaches keepFlow): its entry
// waits for the recording (handOff) and the final summary (summary).
func (r *seriesRecorder) closed(id uint64) {
	if r.open[id] == nil {
		return
	}
	r.closing = append(r.closing, id)
	r.mu.Lock()
	r.waiting[id] = &closedSeries{}
	r.mu.Unlock()
}

func (r *seriesRecorder) handOff() {
	for _, id := range r.closing {
		rec := r.open[id]
		delete(r.open, id)
		r.mu.Lock()
		c := r.waiting[id]
		c.rec = rec
		r.decide(id, c)
		r.mu.Unlock()
	}
	r.closing = r.closing[:0]
}

// summary receives a connection's final summary (keepFlow).
func (r *seriesRecorder) summary(s *health.FlowStats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.waiting[s.ID]
	if c == nil {
		return // not recorded
	}
	c.stats = s
	r.decide(s.ID, c)
}

// decide keeps the series of a connection with findings once both halves
// are in; r.mu is held.
func (r *seriesRecorder) decide(id uint64, c *closedSeries) {
	if c.rec == nil || c.stats == nil {
		return
	}
	delete(r.waiting, id)
	sev, score := problemScore(c.stats.Counts)
	if score == 0 {
		return
	}
	s := &c.rec.s
	s.Client, s.Server = c.stats.Client, c.stats.Server
	s.Flow = layers.Flow{Src: s.Client, Dst: s.Server, Proto: layers.ProtoTCP}.String()
	k := keptSeries{sev: sev, score: score, s: s, kinds: problemKinds(c.stats.Counts, s.carriesData())}
	r.keep(k)
}

// keep adds k to the kept series. Once MaxKept are kept, k replaces the
// lowest-ranked series whose kinds all have another kept series — when k
// brings a kind none has, or ranks above it — so that every kind of
// finding keeps a connection to draw while the rest goes to the most
// serious ones.
func (r *seriesRecorder) keep(k keptSeries) {
	if len(r.kept) < r.o.MaxKept {
		r.kept = append(r.kept, k)
		return
	}
	covered := map[health.Kind]int{}
	for _, x := range r.kept {
		for _, kind := range x.kinds {
			covered[kind]++
		}
	}
	brings := false
	for _, kind := range k.kinds {
		brings = brings || covered[kind] == 0
	}
	victim := -1
	for i, x := range r.kept {
		redundant := true
		for _, kind := range x.kinds {
			redundant = redundant && covered[kind] > 1
		}
		if redundant && (victim < 0 || x.less(r.kept[victim])) {
			victim = i
		}
	}
	if victim >= 0 && (brings || r.kept[victim].less(k)) {
		r.kept[victim] = k
	}
}

// problemKinds lists a connection's event kinds above info, sorted; on a
// connection that carried data each kind counts twice, as itself and as
// "kind with data", so that a kind seen both on connections that never got
// going and on ones that did keeps one of each (the latter draw more).
func problemKinds(counts map[health.Kind]int, data bool) []health.Kind {
	var out []health.Kind
	for k := range counts {
		if health.DefaultSeverity(k) > health.Info {
			out = append(out, k)
			if data {
				out = append(out, k+" with data")
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// carriesData reports whether a sample carries payload.
func (s *ConnSeries) carriesData() bool {
	for _, smp := range s.Samples {
		if smp.Len > 0 {
			return true
		}
	}
	return false
}

// less orders kept series: lower severity, then fewer problems, then the
// later connection.
func (a keptSeries) less(b keptSeries) bool {
	if a.sev != b.sev {
		return a.sev < b.sev
	}
	if a.score != b.score {
		return a.score < b.score
	}
	return a.s.ID > b.s.ID
}

// problemScore returns the highest default severity of a connection's
// event kinds above info, and how many such events it had.
func problemScore(counts map[health.Kind]int) (health.Severity, int) {
	sev, n := health.Info, 0
	for k, c := range counts {
		if s := health.DefaultSeverity(k); s > health.Info {
			sev = max(sev, s)
			n += c
		}
	}
	return sev, n
}

// series returns the kept series in stream order.
func (r *seriesRecorder) series() []ConnSeries {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ConnSeries, len(r.kept))
	for i, k := range r.kept {
		out[i] = *k.s
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// add samples one packet of the connection.
func (rec *recording) add(p *layers.Packet, seg tcpstate.Segment, maxSamples int) {
	d, h := seg.Dir&1, &p.TCP
	if !rec.baseSet[d] {
		rec.base[d], rec.baseSet[d] = h.Seq, true
		rec.next[d] = h.Seq
	}
	if rec.s.Start.IsZero() {
		rec.s.Start = p.Time
	}
	flags := rec.flags(p, seg)
	rec.handshake(p, d, flags)
	length := uint32(max(p.PayloadLen, 0))
	if flags&SampleACK != 0 && !rec.baseSet[d^1] {
		rec.base[d^1], rec.baseSet[d^1] = h.Ack, true // the other direction not captured yet
		rec.next[d^1] = h.Ack
	}
	end := h.Seq + length
	if flags&(SampleSYN|SampleFIN) != 0 {
		end++
	}
	if int32(end-rec.next[d]) > 0 {
		rec.next[d] = end
	}
	if !flags.marked() && !rec.due() {
		return
	}
	smp := Sample{
		At: p.Time.Sub(rec.s.Start), Frame: p.Frame, Dir: seg.Dir, Flags: flags,
		Seq: h.Seq - rec.base[d], Len: length, Win: rec.window(d, h.Window, flags),
	}
	if flags&SampleACK != 0 {
		smp.Ack = h.Ack - rec.base[d^1]
	}
	rec.s.Samples = append(rec.s.Samples, smp)
	for i, b := range h.SACKBlocks() {
		if i == maxSACKPerSample {
			break
		}
		rec.s.SACK = append(rec.s.SACK, SACKBlock{Sample: int32(len(rec.s.Samples) - 1), Left: b.Left - rec.base[d^1], Right: b.Right - rec.base[d^1]})
	}
	if len(rec.s.Samples) >= maxSamples {
		rec.thin(maxSamples)
	}
}

// flags returns the sample's flags; a data segment that starts beyond the
// highest byte seen so far follows bytes the capture missed.
func (rec *recording) flags(p *layers.Packet, seg tcpstate.Segment) SampleFlags {
	var f SampleFlags
	tf := p.TCP.Flags
	for _, m := range [...]struct {
		tcp layers.TCPFlags
		s   SampleFlags
	}{{layers.FlagSYN, SampleSYN}, {layers.FlagFIN, SampleFIN}, {layers.FlagRST, SampleRST}, {layers.FlagACK, SampleACK}} {
		if tf&m.tcp != 0 {
			f |= m.s
		}
	}
	if seg.Resent {
		f |= SampleResent
	}
	d := seg.Dir & 1
	if p.PayloadLen > 0 && f&SampleSYN == 0 && int32(p.TCP.Seq-rec.next[d]) > 0 {
		f |= SampleGap
	}
	return f
}

// handshake notes the SYNs' window scales and the handshake round trips.
func (rec *recording) handshake(p *layers.Packet, d tcpstate.Dir, f SampleFlags) {
	switch {
	case f&SampleSYN != 0 && !rec.synSeen[d]:
		rec.synSeen[d], rec.scale[d] = true, p.TCP.WindowScale
		if d == tcpstate.ClientToServer {
			rec.synAt = p.Time
		} else if !rec.synAt.IsZero() {
			rec.s.ServerRTT = p.Time.Sub(rec.synAt)
		}
		rec.s.WindowScaled = rec.synSeen[0] && rec.synSeen[1] && rec.scale[0] >= 0 && rec.scale[1] >= 0
	case d == tcpstate.ClientToServer && f&SampleSYN == 0 && rec.s.ServerRTT > 0 && rec.s.HandshakeRTT == 0:
		rec.s.HandshakeRTT = p.Time.Sub(rec.synAt)
	}
}

// window returns the window a packet of d advertises, scaled when the
// handshake negotiated scaling (SYNs themselves are never scaled).
func (rec *recording) window(d tcpstate.Dir, w uint16, f SampleFlags) uint32 {
	if !rec.s.WindowScaled || f&SampleSYN != 0 {
		return uint32(w)
	}
	return uint32(w) << min(uint8(rec.scale[d]), 14)
}

// due reports whether an ordinary packet is sampled at the current stride.
func (rec *recording) due() bool {
	rec.count++
	if rec.count < rec.s.Stride {
		rec.s.Thinned++
		return false
	}
	rec.count = 0
	return true
}

// thin halves the samples: every other ordinary sample is dropped (all of
// them, marked ones included, when marked ones alone fill three quarters),
// and the stride doubles.
func (rec *recording) thin(maxSamples int) {
	all := 0
	for _, s := range rec.s.Samples {
		if s.Flags.marked() {
			all++
		}
	}
	keepMarked := all < maxSamples*3/4
	old := rec.s.Samples
	index := make([]int32, len(old))
	kept := old[:0]
	for i, s := range old {
		index[i] = -1
		if i%2 == 0 || keepMarked && s.Flags.marked() {
			index[i] = int32(len(kept))
			kept = append(kept, s)
		}
	}
	rec.s.Thinned += len(old) - len(kept)
	rec.s.Samples = kept
	sacks := rec.s.SACK[:0]
	for _, b := range rec.s.SACK {
		if n := index[b.Sample]; n >= 0 {
			b.Sample = n
			sacks = append(sacks, b)
		}
	}
	rec.s.SACK = sacks
	rec.s.Stride *= 2
}
