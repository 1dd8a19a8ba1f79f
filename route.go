package nettrace

import (
	"fmt"
	"math"
	"net/netip"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/internal/pipeline"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/starttls"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tds"
	"github.com/nettrace/nettrace/tls"
)

// Protocol names used in DecodeAs, Report.Protocols and Decoder.Name.
const (
	ProtoTLS    = "tls"
	ProtoHTTP   = "http"
	ProtoSMB    = "smb"
	ProtoDCERPC = "dcerpc"
	ProtoTDS    = "tds"
	// ProtoSTARTTLS follows SMTP, IMAP, POP3, FTP and LDAP connections in
	// cleartext until they upgrade to TLS, then decodes them as TLS.
	ProtoSTARTTLS = "starttls"
)

// installDecoders builds the decoder table: the user's first, then the
// built-in ones, and indexes them by port and name. Every scope builds the
// same list (scope.decoders), so one index serves them all.
func (a *Analyzer) installDecoders() {
	a.main = newScope(a, nil)
	a.byPort = map[uint16]int{}
	a.byName = map[string]int{}
	for i, d := range a.main.decs {
		if _, dup := a.byName[d.Name]; !dup {
			a.byName[d.Name] = i
		}
		for _, p := range d.Ports {
			if _, dup := a.byPort[p]; !dup {
				a.byPort[p] = i
			}
		}
	}
	for port, name := range a.opts.DecodeAs {
		if i, ok := a.byName[name]; ok {
			a.byPort[port] = i
		}
	}
}

// scope is where decoders run: on the calling goroutine (w nil), or on one
// worker of a parallel run. The built-in decoders are bound to their scope
// because the endpoint mapper's learned endpoints are read and written in
// the order of a single-worker run (see learned).
type scope struct {
	a      *Analyzer
	w      *pipeline.Worker
	decs   []Decoder
	budget *tcpstate.Budget // the decoders' memory: the whole share, or this worker's part
	// The constructors handed to decoders that build others (TLS builds
	// HTTP, SMB builds DCE/RPC for pipes, TDS builds TLS), made once: a
	// method value made per connection is an allocation per connection.
	httpFn, http2Fn, tlsFn tcpstate.NewHandler
	pipeFn                 func(*tcpstate.StreamContext, string) tcpstate.StreamHandler
}

func newScope(a *Analyzer, w *pipeline.Worker) *scope {
	_, _, decoders := a.opts.memoryBudget()
	if w != nil {
		decoders /= int64(a.pl.Workers())
	}
	s := &scope{a: a, w: w, budget: tcpstate.NewBudget(decoders)}
	s.httpFn, s.http2Fn, s.tlsFn = s.newHTTP, s.newHTTP2, s.newTLS
	s.pipeFn = func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler { return s.newRPC(ctx) }
	s.decs = s.decoders()
	return s
}

// decoders returns the user's decoders followed by the built-in ones.
func (s *scope) decoders() []Decoder {
	list := append([]Decoder(nil), s.a.opts.Decoders...)
	return append(list,
		Decoder{Name: ProtoTLS, Ports: []uint16{443, 8443, 465, 636, 853, 993, 995, 3269}, Detect: tls.Detect, New: s.newTLS},
		Decoder{Name: ProtoSMB, Ports: []uint16{445, 139}, Detect: smb.Detect, New: s.newSMB},
		Decoder{Name: ProtoDCERPC, Ports: []uint16{135}, Detect: rpc.Detect, New: s.newRPC},
		Decoder{Name: ProtoTDS, Ports: []uint16{1433}, Detect: tds.Detect, New: s.newTDS},
		Decoder{Name: ProtoHTTP, Ports: []uint16{80, 8080, 8000, 3128}, Detect: http.Detect, New: s.newHTTP},
		Decoder{Name: ProtoSTARTTLS, Ports: starttls.Ports, Detect: starttls.Detect, New: s.newSTARTTLS},
	)
}

// newSTARTTLS follows a connection that may upgrade to TLS in band; the
// TLS decoder takes over after the server's go-ahead. Its plaintext is
// mail, folders, files or directory entries, not HTTP: it is not decoded
// (Options.TLSPlaintext still receives it).
func (s *scope) newSTARTTLS(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	return starttls.NewConn(ctx, starttls.Config{TLS: func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
		cfg := tls.DefaultConfig()
		cfg.KeyLog = s.a.keylog
		cfg.Decrypted = s.a.opts.TLSPlaintext
		return tls.NewConn(ctx, cfg)
	}})
}

func (s *scope) newHTTP(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := http.DefaultConfig()
	cfg.Body = s.a.opts.HTTPBody
	return http.NewConn(ctx, cfg)
}

// newHTTP2 builds the HTTP/2 decoder of a TLS connection whose server
// selected h2 (the HTTP decoder switches to HTTP/2 by itself in clear
// text: an Upgrade to h2c, or the connection preface).
func (s *scope) newHTTP2(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := http.DefaultConfig()
	cfg.Body = s.a.opts.HTTPBody
	return http.NewH2Conn(ctx, cfg)
}

func (s *scope) newTLS(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := tls.DefaultConfig()
	cfg.KeyLog = s.a.keylog
	cfg.Plaintext = s.httpFn              // HTTP/1.x only (ALPN absent or http/1.x)
	cfg.HTTP2 = s.http2Fn                 // ALPN h2, or the HTTP/2 connection preface
	cfg.Decrypted = s.a.opts.TLSPlaintext // every decrypted stream, whatever it carries
	if cfg.KeyLog != nil {
		cfg.Decrypted = s.a.decrypt.decryptedHook(cfg.Decrypted) // counted for Report.Decryption
	}
	s.a.decrypt.tls.Add(1)
	return tls.NewConn(ctx, cfg)
}

func (s *scope) newSMB(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := smb.DefaultConfig()
	cfg.Keys, cfg.NTPasswords = s.a.opts.SMBKeys, s.a.opts.NTPasswords
	cfg.Pipe = s.pipeFn
	cfg.TreeConnected, cfg.LookupTree = s.treeConnected, s.lookupTree
	return smb.NewConn(ctx, cfg)
}

// treeConnected shares an SMB2 tree with the other connections of its
// session, stamped like a learned endpoint (see learn).
func (s *scope) treeConnected(k smb.TreeKey, t smb.TreeInfo) {
	var stamp uint64
	if s.w != nil {
		stamp = s.w.Seq()
	}
	s.a.trees.Add(k, t, stamp)
}

// lookupTree finds a tree connected on another connection of the session
// as a single-worker run would see it at this point (see learned).
func (s *scope) lookupTree(k smb.TreeKey) (smb.TreeInfo, bool) {
	if s.w == nil {
		return s.a.trees.Lookup(k, math.MaxUint64)
	}
	s.w.WaitPrevious()
	return s.a.trees.Lookup(k, s.w.Seq())
}

func (s *scope) newRPC(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := rpc.DefaultConfig()
	cfg.Learned = s.learn
	if ep, ok := s.learned(ctx.Server); ok {
		cfg.Interface = ep.Interface
	}
	return rpc.NewConn(ctx, cfg)
}

func (s *scope) newTDS(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := tds.DefaultConfig()
	cfg.TLS = s.tlsFn
	return tds.NewConn(ctx, cfg)
}

// learn remembers an endpoint from an EPM reply, stamped with the position
// of the decoder call that learned it.
func (s *scope) learn(ep rpc.Endpoint) {
	var stamp uint64
	if s.w != nil {
		stamp = s.w.Seq()
	}
	s.a.learned.Add(ep, stamp)
}

// learned looks up an endpoint as a single-worker run would see it at this
// point: on a worker, once every decoder call issued before the current one
// has run, and ignoring what later calls have already learned.
func (s *scope) learned(server netip.AddrPort) (rpc.Learned, bool) {
	if s.w == nil {
		return s.a.learned.Lookup(server, math.MaxUint64)
	}
	s.w.WaitPrevious()
	return s.a.learned.Lookup(server, s.w.Seq())
}

// now is the position of the frame being analysed when the current decoder
// call was made.
func (s *scope) now() tcpstate.Position {
	if s.w != nil {
		return s.w.Now()
	}
	return s.a.last
}

// chose records that flow id is decoded by the named decoder.
func (s *scope) chose(id uint64, name string) {
	if s.w != nil {
		s.w.Note(id, name)
		return
	}
	s.a.choseDecoder(id, name)
}

func (a *Analyzer) choseDecoder(id uint64, name string) {
	a.protocols[name]++
	a.flowProto[id] = name
}

// attach is the tracker's NewHandler: it picks the decoder by learned
// endpoint, DecodeAs and port, or else defers the choice to the first bytes.
// In a parallel run the choice is made on the connection's worker.
func (a *Analyzer) attach(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	if a.pl != nil {
		return a.pl.Attach(ctx, a.mayLearn(ctx.Server.Port()), a.attachOnWorker)
	}
	r := &route{s: a.main, ctx: ctx}
	r.choose()
	return r
}

// attachOnWorker builds a connection's route on its worker (pipeline.Builder).
func (a *Analyzer) attachOnWorker(w *pipeline.Worker, ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	s := a.scopes[w.ID()] // each worker reads and writes only its own entry
	if s == nil {
		s = newScope(a, w)
		a.scopes[w.ID()] = s
	}
	r := &route{s: s, ctx: ctx}
	r.choose()
	return r
}

// detectLimit is how many bytes of one direction the route holds while no
// decoder recognises them; every built-in header fits in it.
const detectLimit = 64

// maxHeld bounds what a route holds while one side is still silent.
const maxHeld = 16 * detectLimit

type routeState uint8

const (
	routeDetecting  routeState = iota
	routeConfirming            // a port names a decoder: its first bytes must agree
	routeAttached
	routeNone   // nothing recognised the stream
	routeFailed // the decoder panicked
)

// route is the per-connection dispatch: it holds the first bytes until a
// decoder recognises them, then forwards everything to that decoder. It is
// the only place that recovers from a decoder panic: the panic becomes an
// internal.error event for the flow, and that flow's decoding stops.
type route struct {
	s       *scope
	ctx     *tcpstate.StreamContext
	state   routeState
	name    string
	h       tcpstate.StreamHandler
	meter   *tcpstate.Meter // the decoder's account on the memory budget
	pending []pendingChunk
	held    [2]int
	gave    [2]bool // a direction held detectLimit bytes that nothing recognised
	byPort  int     // routeConfirming: the decoder the server port names
	fed     bool    // Feed or Gap was called: the stream had bytes (or lost some)
}

type pendingChunk struct {
	dir  tcpstate.Dir
	data []byte
	at   tcpstate.Position
}

// mayLearn reports whether a connection to port may carry DCE/RPC — and
// so learn endpoints from endpoint-mapper replies or be one: ports of the
// DCE/RPC and SMB decoders (named pipes) and ports no decoder claims. The
// ports of the other decoders stay theirs even when an endpoint mapper
// advertises them.
func (a *Analyzer) mayLearn(port uint16) bool {
	i, ok := a.byPort[port]
	if !ok {
		return true
	}
	name := a.main.decs[i].Name
	return name == ProtoDCERPC || name == ProtoSMB
}

// choose picks the decoder known before any byte: an endpoint the
// endpoint mapper advertised, or a port the user mapped (DecodeAs). A
// well-known server port only names a candidate: the first bytes must
// agree with it (confirm), since ports are reused for other protocols.
func (r *route) choose() {
	a := r.s.a
	port := r.ctx.Server.Port()
	if _, forced := a.opts.DecodeAs[port]; forced {
		r.use(a.byPort[port])
		return
	}
	if a.mayLearn(port) {
		if _, ok := r.s.learned(r.ctx.Server); ok {
			r.use(a.byName[ProtoDCERPC])
			return
		}
	}
	if i, ok := a.byPort[port]; ok {
		r.state, r.byPort = routeConfirming, i
	}
}

func (r *route) use(i int) {
	d := r.s.decs[i]
	r.name = d.Name
	r.state = routeAttached
	r.meter = r.s.budget.NewMeter(r)
	r.guard(func() { r.h = d.New(r.ctx) })
	if r.h == nil && r.state == routeAttached {
		r.state = routeNone
		return
	}
	r.s.chose(r.ctx.ID, d.Name)
}

func (r *route) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	r.fed = true
	switch r.state {
	case routeAttached:
		r.guard(func() { r.h.Feed(dir, data, at) })
		r.account(at)
	case routeDetecting, routeConfirming:
		r.detect(dir, data, at)
	}
}

func (r *route) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	r.fed = true
	switch r.state {
	case routeConfirming:
		r.settle() // bytes are missing: the port's decoder resyncs on its own
		if r.state == routeAttached {
			r.guard(func() { r.h.Gap(dir, n, at) })
			r.account(at)
		}
	case routeAttached:
		r.guard(func() { r.h.Gap(dir, n, at) })
		r.account(at)
	case routeDetecting:
		r.state = routeNone // a stream that starts with a hole cannot be recognised
		r.pending = nil
	}
}

// settle attaches the port's decoder without confirmation and hands it
// what was held: the first bytes did not start any protocol (a capture
// started mid-stream, a gap), and the decoder resynchronises or gives up
// on its own.
//
// A connection that never carried a byte (a SYN never answered, a refused
// one) is counted as the port's protocol, but its decoder is not built: it
// would have nothing to say, and a SYN flood would build millions.
func (r *route) settle() {
	if r.state != routeConfirming {
		return
	}
	if !r.fed {
		r.name, r.state = r.s.decs[r.byPort].Name, routeNone
		r.s.chose(r.ctx.ID, r.name)
		return
	}
	r.use(r.byPort)
	r.replay()
}

// ReviewReset reports the connection's tcp.reset event (tcpstate's
// ResetReviewer): when the decoder says its application protocol had ended
// cleanly (tcpstate.Finisher), a reset is how the client closed, not a
// fault, and the event becomes info with that context.
func (r *route) ReviewReset(e health.Event) {
	r.settle()
	if r.state == routeAttached {
		var how string
		r.guard(func() {
			if f, ok := r.h.(tcpstate.Finisher); ok {
				how = f.Finished()
			}
		})
		if how != "" && e.Severity < health.Warning {
			e.Severity = health.Info
			e.Message += "; " + how + ": an abortive close, as many clients end a connection"
			e.Evidence["after"] = how
		}
	}
	r.ctx.Event(e)
}

func (r *route) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	r.settle()
	if r.state == routeAttached {
		r.guard(func() { r.h.Close(reason, at) })
	}
	r.meter.Close()
	r.pending = nil
}

// account counts what the decoder buffers against the memory budget
// after each delivery (a decoder that is not a tcpstate.Holder buffers
// nothing worth counting).
func (r *route) account(at tcpstate.Position) {
	if r.state != routeAttached {
		return
	}
	if h, ok := r.h.(tcpstate.Holder); ok {
		held := 0
		r.guard(func() { held = h.Held() })
		r.meter.Sync(held, at)
	}
}

// Reclaim drops the decoder's buffered state when the memory budget needs
// it back (tcpstate.Reclaimer).
func (r *route) Reclaim(at tcpstate.Position) (decoder string, freed int) {
	if h, ok := r.h.(tcpstate.Holder); ok && r.state == routeAttached {
		r.guard(func() { freed = h.Shed(at) })
	}
	return r.name, freed
}

// detect tries every decoder on the first bytes of dir. The common case,
// a connection whose first delivery is recognised, is decided on data
// itself and fed to the decoder without a copy; otherwise data is held
// until a decoder recognises what was held or the route gives up.
func (r *route) detect(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	if len(r.pending) == 0 && len(data) > 0 {
		if r.recognise(dir, data[:min(len(data), detectLimit)]) {
			if r.state == routeAttached {
				r.guard(func() { r.h.Feed(dir, data, at) })
				r.account(at)
			}
			return
		}
		r.hold(dir, data, at)
	} else {
		r.hold(dir, data, at)
		if r.recognise(dir, r.firstBytes(dir)) {
			r.replay()
			r.account(at)
			return
		}
	}
	if r.held[dir] >= detectLimit {
		r.gave[dir] = true
	}
	if r.gave[0] && r.gave[1] || r.held[0]+r.held[1] >= maxHeld {
		if r.state == routeConfirming {
			r.settle()
			r.account(at)
			return
		}
		r.state = routeNone
		r.pending = nil
	}
}

// hold keeps a copy of data until a decoder is chosen.
func (r *route) hold(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	if len(data) > 0 {
		r.pending = append(r.pending, pendingChunk{dir: dir, data: append([]byte(nil), data...), at: at})
		r.held[dir] += len(data)
	}
}

// recognise attaches the decoder that recognises first, the first bytes
// of dir: the port's decoder when it agrees (routeConfirming), else the
// first decoder whose Detect accepts them. It reports whether the route
// left detection; the bytes held are not yet replayed.
func (r *route) recognise(dir tcpstate.Dir, first []byte) bool {
	if r.state == routeConfirming {
		if d := r.s.decs[r.byPort]; d.Detect == nil || d.Detect(dir, first) {
			r.use(r.byPort)
			return true
		}
	}
	for i, d := range r.s.decs {
		if d.Detect != nil && d.Detect(dir, first) {
			r.use(i)
			return true
		}
	}
	return false
}

// firstBytes returns up to detectLimit bytes held for dir.
func (r *route) firstBytes(dir tcpstate.Dir) []byte {
	var b []byte
	for _, c := range r.pending {
		if c.dir == dir {
			b = append(b, c.data...)
			if len(b) >= detectLimit {
				return b[:detectLimit]
			}
		}
	}
	return b
}

func (r *route) replay() {
	pending := r.pending
	r.pending = nil
	for _, c := range pending {
		if r.state != routeAttached {
			return
		}
		r.guard(func() { r.h.Feed(c.dir, c.data, c.at) })
	}
}

// guard runs fn and turns a panic into an internal.error event.
func (r *route) guard(fn func()) {
	defer func() {
		if v := recover(); v != nil {
			r.state = routeFailed
			r.h = nil
			now := r.s.now()
			r.ctx.Event(health.Event{
				Kind: health.InternalError, Severity: health.Error, Time: now.Time, Frame: now.Frame,
				Message:  fmt.Sprintf("%s decoder failed on this connection (a nettrace bug; please report it with the capture): %v", r.name, v),
				Evidence: map[string]any{"decoder": r.name, "error": fmt.Sprint(v)},
			})
		}
	}()
	fn()
}
