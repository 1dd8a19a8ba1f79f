package nettrace

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nettrace/nettrace/connlog"
	"github.com/nettrace/nettrace/diagnose"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/pipeline"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tls"
)

// Analyzer runs the whole pipeline over one capture. Create one per capture
// with New; it is not safe for concurrent use.
type Analyzer struct {
	opts    Options
	col     *collector
	decoder *layers.Decoder
	tracker *tcpstate.Tracker
	keylog  *tls.KeyLog
	secrets int // bytes of the capture's Decryption Secrets Blocks already loaded

	main    *scope         // decoders on the calling goroutine
	byPort  map[uint16]int // server port → index in a scope's decoders
	byName  map[string]int
	learned rpc.Endpoints
	trees   smb.Trees // SMB2 trees by server, session and tree id, shared by the session's connections

	// rep receives what the calling goroutine reports: the collector, or
	// in a parallel run the pipeline's ordered record (pl).
	rep    health.Reporter
	pl     *pipeline.Pipeline
	scopes []*scope // decoders on each worker of pl

	udp        udpRouter
	diagnosers []flowDiagnoser
	net        *diagnose.Network
	seg        tcpstate.Segment // what the tracker concluded about the current packet
	prof       CaptureProfile
	mem        MemoryUse
	protocols  map[string]int
	flowProto  map[uint64]string // decoder per open connection
	series     *seriesRecorder   // Options.Series, or nil
	decrypt    decryptionTally
	undecided  int64 // the tracker's OldestUndecided last written (markUndecided)
	info       layers.CaptureInfo
	last       tcpstate.Position
	ran        bool // an analysis started
	fed        bool // of packets fed by the caller (Packet, AnalyzeSource)
	closed     bool // and ended: final is its Report
	final      *Report
	feed       layers.Frame // the frame of the packet being fed
	sel        *selection   // Options.Filter, From, To, Streams

	// renumber, when set (by tests), renumbers each frame as it is read:
	// a capture made of a subset of another's frames is then analysed with
	// the other's frame numbers.
	renumber func(int64) int64

	keylogSkips []keylogSkip      // key-log files with lines skipped, said at frame 1
	secretsAt   tcpstate.Position // where the first Decryption Secrets Block was skipped
}

// New returns an Analyzer for one capture. It fails when Options.Filter
// does not compile (the error wraps a *layers.FilterError giving the
// position), when Options.From is not before Options.To, or when a key-log
// file cannot be read.
func New(opts Options) (*Analyzer, error) {
	sel, err := newSelection(&opts)
	if err != nil {
		return nil, err
	}
	a := &Analyzer{
		opts:      opts,
		protocols: map[string]int{},
		flowProto: map[uint64]string{},
		sel:       sel,
	}
	a.col = newCollector(opts.Reporter, &opts)
	a.col.setNow(&a.last)
	a.rep = a.col
	if err := a.loadKeyLog(); err != nil {
		return nil, err
	}
	a.installDecoders()
	if opts.Workers > 1 {
		a.startPipeline()
	}
	lim := layers.DefaultLimits()
	if opts.Layers != nil {
		lim = *opts.Layers
	}
	var decRep health.Reporter = a.rep
	if sel.streams != nil {
		sel.gate = &frameGate{next: a.rep}
		decRep = sel.gate
	}
	a.decoder = layers.NewDecoder(decRep, lim)
	cfg := tcpstate.DefaultConfig()
	if opts.TCP != nil {
		cfg = *opts.TCP
	} else {
		_, reassembly, _ := opts.memoryBudget()
		cfg.MaxBufferTotal = int(reassembly * 3 / 4) // out-of-order bytes
		cfg.MaxRetainTotal = int(reassembly / 4)     // copies kept for the overlap check
	}
	a.tracker = tcpstate.NewTracker(cfg, a.rep, a.attach)
	if sel.streams != nil {
		a.tracker.Select = sel.selectStream
	}
	a.tracker.OnSummary = a.flowClosed
	a.tracker.NoSummaryEvents = opts.Reporter == nil // the Report keeps typed FlowStats
	a.tracker.OnSegment = func(_ *layers.Packet, s tcpstate.Segment) { a.seg = s }
	if opts.Series != nil {
		a.series = newSeriesRecorder(*opts.Series)
		a.tracker.OnSegment = func(p *layers.Packet, s tcpstate.Segment) {
			a.seg = s
			a.series.segment(p, s)
		}
	}
	a.udp = newUDPRouter(a)
	a.net = diagnose.NewNetwork(diagnose.NetworkConfig{})
	a.col.onEvent = func(e health.Event) {
		a.net.Event(e)
		a.decrypt.event(e)
	}
	a.diagnosers = []flowDiagnoser{diagnose.NewConnections(diagnose.DefaultConnectionsConfig()), a.net}
	return a, nil
}

func (a *Analyzer) loadKeyLog() error {
	switch {
	case a.opts.KeyLog != nil:
		a.keylog = a.opts.KeyLog
	case len(a.opts.KeyLogFiles) > 0:
		a.keylog = tls.NewKeyLog()
		for _, path := range a.opts.KeyLogFiles {
			err := addKeyLogFile(a.keylog, path)
			var sk *tls.SkippedLinesError
			if errors.As(err, &sk) {
				// Bad lines (a half-written last line...) are skipped, as
				// tshark skips them; the first frame says so.
				a.keylogSkips = append(a.keylogSkips, keylogSkip{file: filepath.Base(path), err: sk})
				continue
			}
			if err != nil {
				return fmt.Errorf("nettrace: key log: %w", err)
			}
		}
	}
	return nil
}

// keylogSkip is a key-log file some lines of which were skipped.
type keylogSkip struct {
	file string
	err  *tls.SkippedLinesError
}

// keylogSkipped reports lines of a key log that were skipped: from a file
// (said at the first frame, from which its keys apply) or from a pcapng
// Decryption Secrets Block (said at the frame after it).
func (a *Analyzer) keylogSkipped(source, file string, sk *tls.SkippedLinesError, at tcpstate.Position) {
	where := "the key log " + file
	if source == "capture" {
		where = "the key log in the capture's Decryption Secrets Blocks"
	}
	a.rep.Event(health.Event{Kind: health.TLSKeyLogSkipped, Severity: health.Notice, Time: at.Time, Frame: at.Frame,
		Message: fmt.Sprintf("%d line(s) of %s could not be read and were skipped (the first, line %d: %s); every other line was used, as tshark does",
			sk.Lines, where, sk.FirstLine, sk.Reason),
		Evidence: map[string]any{"source": source, "file": file, "lines": sk.Lines, "first_line": sk.FirstLine, "reason": sk.Reason}})
}

// secretsSkipped reports, once at the end, the Decryption Secrets Blocks
// the capture reader did not keep, at the frame the first was met.
func (a *Analyzer) secretsSkipped(k layers.SecretsSkipped) {
	what := []string{}
	if k.OverLimit > 0 {
		what = append(what, fmt.Sprintf("%d TLS key log(s) beyond the %d MiB kept in all", k.OverLimit, layers.MaxSecretsLen>>20))
	}
	if k.OtherTypes > 0 {
		what = append(what, fmt.Sprintf("%d of a secrets type nettrace does not use (the first 0x%08x)", k.OtherTypes, k.Type))
	}
	at := a.secretsAt
	if at.Frame == 0 { // skipped after the last frame
		at = tcpstate.Position{Frame: max(a.last.Frame, 1), Time: a.last.Time}
	}
	a.rep.Event(health.Event{Kind: health.CaptureSecretsSkipped, Severity: health.Notice, Time: at.Time, Frame: at.Frame,
		Message: fmt.Sprintf("%d Decryption Secrets Block(s) (%d bytes of secrets) not used, from frame %d on: %s; TLS connections that need them are not decrypted",
			k.Blocks, k.Bytes, k.Frame, strings.Join(what, "; ")),
		Evidence: map[string]any{"blocks": k.Blocks, "bytes": k.Bytes, "over_limit": k.OverLimit, "other_types": k.OtherTypes,
			"type": fmt.Sprintf("0x%08x", k.Type), "limit": layers.MaxSecretsLen}})
}

// addKeyLogFile adds the secrets of an NSS key-log file, or of the pcapng
// Decryption Secrets Blocks of a capture (editcap --inject-secrets), to kl.
func addKeyLogFile(kl *tls.KeyLog, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if head, _ := br.Peek(4); layers.IsCapture(head) {
		secrets, err := layers.ReadSecrets(br)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return kl.Add(secrets)
	}
	if err := kl.AddFrom(br); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// AnalyzeFile analyses the capture at path (pcap, pcapng, optionally
// gzip-compressed) with opts and returns its Report. A capture that is
// damaged part-way is analysed up to the damage: the Report says where it
// stopped and err is nil. err is non-nil when the file cannot be opened or
// is not a capture.
func AnalyzeFile(path string, opts Options) (*Report, error) {
	return AnalyzeFileContext(context.Background(), path, opts)
}

// AnalyzeFileContext is AnalyzeFile stopped early when ctx is done: it
// then returns the Report of the frames analysed so far (every open
// connection ended there) together with ctx's error.
func AnalyzeFileContext(ctx context.Context, path string, opts Options) (*Report, error) {
	a, err := New(opts)
	if err != nil {
		return nil, err
	}
	return a.AnalyzeFileContext(ctx, path)
}

// AnalyzeFile analyses the capture at path. An Analyzer analyses one
// capture: a second call returns an error.
func (a *Analyzer) AnalyzeFile(path string) (*Report, error) {
	return a.AnalyzeFileContext(context.Background(), path)
}

// AnalyzeFileContext is AnalyzeFile stopped early when ctx is done, as
// the function AnalyzeFileContext is.
func (a *Analyzer) AnalyzeFileContext(ctx context.Context, path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return a.analyze(ctx, path, f, size)
}

// Analyze analyses a capture read from r; name labels it in the Report.
func (a *Analyzer) Analyze(name string, r io.Reader) (*Report, error) {
	return a.analyze(context.Background(), name, r, 0)
}

// AnalyzeContext is Analyze stopped early when ctx is done: it then
// returns the Report of the frames analysed so far together with ctx's
// error. ctx is checked every 1024 frames and while r blocks it is not:
// a reader that can block (a pipe, a socket) should return when ctx is
// done.
func (a *Analyzer) AnalyzeContext(ctx context.Context, name string, r io.Reader) (*Report, error) {
	return a.analyze(ctx, name, r, 0)
}

// ctxEvery is how many frames pass between two looks at the context.
const ctxEvery = 1024

func (a *Analyzer) analyze(ctx context.Context, name string, r io.Reader, size int64) (*Report, error) {
	if a.ran {
		return nil, errOnce
	}
	counted := &countingReader{r: r}
	var input io.Reader = counted
	if l, ok := r.(interface{ Len() int }); ok {
		input = sizedReader{counted, l} // layers sizes its read buffer to an input in memory
	}
	open := layers.NewCapture
	if a.pl != nil {
		open = layers.NewCaptureReadAhead // reading beside the decode, on the core the workers leave
	}
	capture, err := open(input)
	if err != nil {
		a.ran = true
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer capture.Close()
	a.begin(name)
	prog := newProgressTicker(a.opts, size)
	var stopped error
	for {
		frame, err := capture.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				a.captureDamaged(err)
			}
			break
		}
		if a.renumber != nil {
			frame.Number = a.renumber(frame.Number)
		}
		a.loadSecrets(capture, frame)
		a.arrived(frame)
		if a.sel.keep(frame, a.info.First) {
			a.frame(frame)
		} else {
			a.sel.skipped.Frames++
		}
		if prog.due(frame.Number) {
			prog.report(Progress{Frames: frame.Number, BytesRead: counted.n.Load(), BytesSize: size, Active: a.tracker.Active()})
		}
		if frame.Number%ctxEvery == 0 {
			if stopped = ctx.Err(); stopped != nil {
				break
			}
		}
	}
	if stopped == nil {
		stopped = ctx.Err() // a capture shorter than ctxEvery frames
	}
	if k := capture.SecretsSkipped(); k.Blocks > 0 {
		a.secretsSkipped(k)
	}
	return a.end(), stopped
}

var errOnce = errors.New("nettrace: an Analyzer analyses one capture; create another with New")

// begin starts the analysis of one capture (or stream of packets).
func (a *Analyzer) begin(name string) {
	a.ran = true
	if a.pl != nil {
		// The collector and the diagnosers are the merger's until Stop;
		// events reach the collector already stamped.
		a.col.setNow(nil)
		a.pl.Start()
	}
	a.info.Name = name
}

// end finishes the analysis, once, and returns its Report.
func (a *Analyzer) end() *Report {
	if !a.closed {
		a.closed = true
		a.finish()
		a.final = a.report()
	}
	return a.final
}

// arrived counts a frame read or fed; before the first, it says which
// lines of the key-log files were skipped (the events need its time).
func (a *Analyzer) arrived(f *layers.Frame) {
	if a.info.Frames == 0 {
		for _, k := range a.keylogSkips {
			a.keylogSkipped("file", k.file, k.err, tcpstate.Position{Frame: f.Number, Time: f.Time})
		}
	}
	a.info.Add(f)
}

// frame runs one frame through decode, TCP tracking and the UDP routes.
func (a *Analyzer) frame(f *layers.Frame) {
	a.last = tcpstate.Position{Frame: f.Number, Time: f.Time}
	if a.sel.streams != nil {
		a.selectedFrame(f)
		return
	}
	p, ok := a.decoder.Decode(f)
	if !ok {
		return
	}
	if a.opts.PacketMessages && a.col.fwdMsgs {
		a.packetMessage(p)
	}
	var tag uint8
	if p.Transport == layers.TransportTCP {
		a.seg = tcpstate.Segment{}
		a.tracker.Packet(p) // OnSegment fills a.seg
		a.markUndecided()
		if a.seg.Duplicate {
			return // a second copy of a packet: left out of every analysis
		}
		tag = tagTracked
		if a.seg.Resent {
			tag |= tagResent
		}
	}
	if a.pl != nil {
		a.pl.Packet(p, diagnose.PayloadUsed(p), tag)
	} else {
		a.observe(p, tag)
	}
	if p.Transport == layers.TransportUDP {
		a.udp.datagram(p)
	}
}

// markUndecided writes into the event stream, where it changes, the
// oldest frame whose retransmission event the tracker still holds, for the
// collector's orderer.
func (a *Analyzer) markUndecided() {
	if w := a.tracker.OldestUndecided(); w != a.undecided {
		a.undecided = w
		a.rep.Event(health.Event{Kind: kindUndecided, Frame: w})
	}
}

// Tags of a packet for the network diagnoser: the tracker's conclusions.
const (
	tagTracked uint8 = 1 << iota // a TCP packet the tracker analysed
	tagResent                    // it carried data sent before
)

// observe hands p to the network diagnoser with the tracker's conclusions.
func (a *Analyzer) observe(p *layers.Packet, tag uint8) {
	if tag&tagTracked != 0 {
		a.net.PacketTracked(p, diagnose.Tracked{Resent: tag&tagResent != 0})
		return
	}
	a.net.Packet(p)
}

func (a *Analyzer) loadSecrets(c *layers.Capture, f *layers.Frame) {
	if k := c.SecretsSkipped(); k.Blocks > 0 && a.secretsAt.Frame == 0 {
		a.secretsAt = tcpstate.Position{Frame: k.Frame, Time: f.Time} // said at the end, with the totals
	}
	s := c.Secrets()
	if len(s) == a.secrets {
		return
	}
	if a.pl != nil {
		a.pl.Drain() // decoders see the keys from this point of the capture on, as in a single-worker run
	}
	if a.keylog == nil {
		a.keylog = tls.NewKeyLog()
	}
	var sk *tls.SkippedLinesError
	if err := a.keylog.Add(s[a.secrets:]); errors.As(err, &sk) {
		a.keylogSkipped("capture", "", sk, tcpstate.Position{Frame: f.Number, Time: f.Time})
	}
	a.secrets = len(s)
}

func (a *Analyzer) captureDamaged(err error) {
	a.info.Truncated = err.Error()
	frame := a.info.Frames + 1
	ev := map[string]any{"error": err.Error()}
	var ce *layers.CaptureError
	if errors.As(err, &ce) {
		frame = ce.Frame
		ev["offset"] = ce.Offset
	}
	a.rep.Event(health.Event{
		Kind: health.CaptureTruncated, Severity: health.Warning, Time: a.info.Last, Frame: frame,
		Message:  fmt.Sprintf("capture damaged at frame %d: everything before it was analysed (%v)", frame, err),
		Evidence: ev,
	})
}

func (a *Analyzer) finish() {
	end := a.last
	if a.sel.gate != nil {
		a.sel.gate.drop = true // what is still held belongs to no selected connection
	}
	a.decoder.Flush(end.Time)
	a.tracker.Close(end)
	a.markUndecided()
	if a.series != nil {
		a.series.handOff()
	}
	a.udp.finish(end)
	if a.pl != nil {
		a.pl.Stop()
		a.col.setNow(&a.last)
	}
	a.finishDiagnoses()
	a.mem = a.memoryUse()
	a.col.foldSummary()
	a.prof = a.profile()
}

// flowClosed receives each connection's summary from the tracker, right
// after its flow.summary event.
func (a *Analyzer) flowClosed(s *health.FlowStats) {
	if a.series != nil {
		a.series.closed(s.ID)
	}
	if a.pl != nil {
		a.pl.FlowClosed(s) // kept and diagnosed by the merger
		return
	}
	a.keepFlow(s)
	a.diagnoseFlow(s)
}

// keepFlow adds a closed connection to the Report with its decoder.
func (a *Analyzer) keepFlow(s *health.FlowStats) {
	proto := a.flowProto[s.ID]
	delete(a.flowProto, s.ID)
	if a.opts.OnConn != nil {
		a.opts.OnConn(connlog.FromFlow(s, proto))
	}
	if a.series != nil {
		a.series.summary(s)
	}
	if len(a.col.flows) < a.opts.maxFlowsKept() {
		a.col.flows = append(a.col.flows, Flow{FlowStats: *s, Protocol: proto})
	} else {
		a.col.flowsDrop++
	}
}

func (a *Analyzer) report() *Report {
	flows := a.col.flows
	sort.Slice(flows, func(i, j int) bool { return flows[i].ID < flows[j].ID })
	for i := range flows {
		flows[i].ServerName, _ = a.net.NameOf(flows[i].Server.Addr())
	}
	rep := &Report{
		Capture:       a.info,
		Findings:      a.col.sortedFindings(),
		Events:        a.col.events,
		EventsDropped: a.col.dropped,
		Flows:         flows,
		FlowsDropped:  a.col.flowsDrop,
		Protocols:     a.protocols,
		Workload:      a.net.Workload(),
		Profile:       a.prof,
		Memory:        a.mem,
		Skipped:       a.sel.report(),
		Decryption:    a.decryption(),
		OrderForced:   a.col.order.forced,
	}
	if a.series != nil {
		rep.Series, rep.SeriesSkipped = a.series.series(), a.series.skipped
	}
	return rep
}

// countingReader counts the bytes read from the capture for progress
// (atomically: with read-ahead, another goroutine reads).
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// sizedReader is a countingReader that tells how many bytes are left, as
// the bytes.Reader it reads from does.
type sizedReader struct {
	*countingReader
	l interface{ Len() int }
}

// Len returns the bytes left to read.
func (s sizedReader) Len() int { return s.l.Len() }

// progressTicker calls Options.Progress at most every ProgressEvery of
// wall time. It reads the clock only every 4096 frames.
type progressTicker struct {
	fn    func(Progress)
	every time.Duration
	next  time.Time
}

func newProgressTicker(o Options, size int64) *progressTicker {
	every := o.ProgressEvery
	if every <= 0 {
		every = time.Second
	}
	return &progressTicker{fn: o.Progress, every: every, next: time.Now().Add(every)}
}

func (t *progressTicker) due(frame int64) bool {
	return t.fn != nil && frame%4096 == 0 && time.Now().After(t.next)
}

func (t *progressTicker) report(p Progress) {
	t.next = time.Now().Add(t.every)
	t.fn(p)
}

// startPipeline sets up a parallel run (Options.Workers ≥ 2): the calling
// goroutine's components report into the pipeline's record, and each
// worker gets its own decoders.
func (a *Analyzer) startPipeline() {
	a.pl = pipeline.New(pipeline.Config{
		Workers:      a.opts.Workers,
		WantMessages: a.col.wantMsgs,
		Now:          func() tcpstate.Position { return a.last },
		Merger:       (*merger)(a),
	})
	a.rep = a.pl.Recorder()
	a.scopes = make([]*scope, a.pl.Workers())
}

// merger receives a parallel run's merged output, in single-worker order,
// and sends it where a single-worker run sends it.
type merger Analyzer

func (m *merger) Event(e health.Event)               { m.col.Event(e) }
func (m *merger) Message(msg health.Message)         { m.col.Message(msg) }
func (m *merger) Packet(p *layers.Packet, tag uint8) { (*Analyzer)(m).observe(p, tag) }
func (m *merger) Note(id uint64, name string)        { (*Analyzer)(m).choseDecoder(id, name) }

func (m *merger) Flow(s *health.FlowStats) {
	a := (*Analyzer)(m)
	a.keepFlow(s)
	a.diagnoseFlow(s)
}
