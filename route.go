package nettrace

import (
	"fmt"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers/http"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/smb"
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
)

// installDecoders builds the decoder table: the user's first, then the
// built-in ones, and indexes them by port and name.
func (a *Analyzer) installDecoders() {
	a.decoders = append(a.decoders, a.opts.Decoders...)
	a.decoders = append(a.decoders, a.builtinDecoders()...)
	a.byPort = map[uint16]int{}
	a.byName = map[string]int{}
	for i, d := range a.decoders {
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

func (a *Analyzer) builtinDecoders() []Decoder {
	return []Decoder{
		{Name: ProtoTLS, Ports: []uint16{443, 8443, 465, 636, 853, 993, 995, 3269}, Detect: tls.Detect, New: a.newTLS},
		{Name: ProtoSMB, Ports: []uint16{445, 139}, Detect: smb.Detect, New: a.newSMB},
		{Name: ProtoDCERPC, Ports: []uint16{135}, Detect: rpc.Detect, New: a.newRPC},
		{Name: ProtoTDS, Ports: []uint16{1433}, Detect: tds.Detect, New: a.newTDS},
		{Name: ProtoHTTP, Ports: []uint16{80, 8080, 8000, 3128}, Detect: http.Detect, New: a.newHTTP},
	}
}

func (a *Analyzer) newHTTP(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := http.DefaultConfig()
	cfg.Body = a.opts.HTTPBody
	return http.NewConn(ctx, cfg)
}

func (a *Analyzer) newTLS(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := tls.DefaultConfig()
	cfg.KeyLog = a.keylog
	cfg.Plaintext = a.newHTTP
	if user := a.opts.TLSPlaintext; user != nil {
		cfg.Plaintext = func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			return teeHandler{user(ctx), a.newHTTP(ctx)}
		}
	}
	return tls.NewConn(ctx, cfg)
}

// teeHandler feeds one stream to two handlers; either may be nil.
type teeHandler [2]tcpstate.StreamHandler

func (t teeHandler) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	for _, h := range t {
		if h != nil {
			h.Feed(dir, data, at)
		}
	}
}

func (t teeHandler) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	for _, h := range t {
		if h != nil {
			h.Gap(dir, n, at)
		}
	}
}

func (t teeHandler) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	for _, h := range t {
		if h != nil {
			h.Close(reason, at)
		}
	}
}

func (a *Analyzer) newSMB(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := smb.DefaultConfig()
	cfg.Pipe = func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler {
		return a.newRPC(ctx)
	}
	return smb.NewConn(ctx, cfg)
}

func (a *Analyzer) newRPC(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := rpc.DefaultConfig()
	cfg.Learned = a.learn
	if ep, ok := a.learned[ctx.Server]; ok {
		cfg.Interface = ep.Interface
	}
	return rpc.NewConn(ctx, cfg)
}

func (a *Analyzer) newTDS(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	cfg := tds.DefaultConfig()
	cfg.TLS = a.newTLS
	return tds.NewConn(ctx, cfg)
}

// learnedEndpoint is a DCE/RPC endpoint advertised by an endpoint mapper.
type learnedEndpoint struct {
	Interface rpc.UUID
	Frame     int64
}

// learn remembers an endpoint from an EPM reply so that a later connection
// to it is dissected as DCE/RPC. Both the tower's address and, when it
// differs, the address the EPM request went to are remembered: behind a
// load balancer or NAT (casebook C4) the client connects to the latter.
func (a *Analyzer) learn(ep rpc.Endpoint) {
	if ep.Protocol != "tcp" || ep.Port == 0 {
		return
	}
	for _, key := range ep.Addrs() {
		if !key.Addr().IsValid() {
			continue
		}
		if _, ok := a.learned[key]; !ok && len(a.learned) >= maxLearned {
			return
		}
		a.learned[key] = learnedEndpoint{Interface: ep.Interface, Frame: ep.Frame}
	}
}

// attach is the tracker's NewHandler: it picks the decoder by learned
// endpoint, DecodeAs and port, or else defers the choice to the first bytes.
func (a *Analyzer) attach(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	r := &route{a: a, ctx: ctx}
	if _, ok := a.learned[ctx.Server]; ok {
		r.use(a.byName[ProtoDCERPC])
		return r
	}
	if i, ok := a.byPort[ctx.Server.Port()]; ok {
		r.use(i)
	}
	return r
}

// detectLimit is how many bytes of one direction the route holds while no
// decoder recognises them; every built-in header fits in it.
const detectLimit = 64

// maxHeld bounds what a route holds while one side is still silent.
const maxHeld = 16 * detectLimit

type routeState uint8

const (
	routeDetecting routeState = iota
	routeAttached
	routeNone   // nothing recognised the stream
	routeFailed // the decoder panicked
)

// route is the per-connection dispatch: it holds the first bytes until a
// decoder recognises them, then forwards everything to that decoder. It is
// the only place that recovers from a decoder panic: the panic becomes an
// internal.error event for the flow, and that flow's decoding stops.
type route struct {
	a       *Analyzer
	ctx     *tcpstate.StreamContext
	state   routeState
	name    string
	h       tcpstate.StreamHandler
	pending []pendingChunk
	held    [2]int
	gave    [2]bool // a direction held detectLimit bytes that nothing recognised
}

type pendingChunk struct {
	dir  tcpstate.Dir
	data []byte
	at   tcpstate.Position
}

func (r *route) use(i int) {
	d := r.a.decoders[i]
	r.name = d.Name
	r.state = routeAttached
	r.guard(func() { r.h = d.New(r.ctx) })
	if r.h == nil && r.state == routeAttached {
		r.state = routeNone
		return
	}
	r.a.protocols[d.Name]++
	r.a.flowProto[r.ctx.ID] = d.Name
}

func (r *route) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	switch r.state {
	case routeAttached:
		r.guard(func() { r.h.Feed(dir, data, at) })
	case routeDetecting:
		r.detect(dir, data, at)
	}
}

func (r *route) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	switch r.state {
	case routeAttached:
		r.guard(func() { r.h.Gap(dir, n, at) })
	case routeDetecting:
		r.state = routeNone // a stream that starts with a hole cannot be recognised
		r.pending = nil
	}
}

func (r *route) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	if r.state == routeAttached {
		r.guard(func() { r.h.Close(reason, at) })
	}
	r.pending = nil
}

// detect holds data and tries every decoder on the bytes held for dir.
func (r *route) detect(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	if len(data) > 0 {
		r.pending = append(r.pending, pendingChunk{dir: dir, data: append([]byte(nil), data...), at: at})
		r.held[dir] += len(data)
	}
	first := r.firstBytes(dir)
	for i, d := range r.a.decoders {
		if d.Detect != nil && d.Detect(dir, first) {
			r.use(i)
			r.replay()
			return
		}
	}
	if r.held[dir] >= detectLimit {
		r.gave[dir] = true
	}
	if r.gave[0] && r.gave[1] || r.held[0]+r.held[1] >= maxHeld {
		r.state = routeNone
		r.pending = nil
	}
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
			r.ctx.Event(health.Event{
				Kind: health.InternalError, Severity: health.Error, Time: r.a.last.Time, Frame: r.a.last.Frame,
				Message:  fmt.Sprintf("%s decoder failed on this connection (a nettrace bug; please report it with the capture): %v", r.name, v),
				Evidence: map[string]any{"decoder": r.name, "error": fmt.Sprint(v)},
			})
		}
	}()
	fn()
}
