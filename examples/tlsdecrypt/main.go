// Command tlsdecrypt decrypts the TLS connections of a capture with NSS key
// logs and writes, into a folder, each decrypted stream and each HTTP body
// (de-chunked and decompressed):
//
//	OUT/stream-3-client.bin      what the client sent, decrypted
//	OUT/stream-3-server.bin      what the server sent, decrypted
//	OUT/stream-3-body-1-index.html  the first HTTP response body of stream 3
//
// Usage:
//
//	tlsdecrypt -keylog sslkeys.log [-keylog …] -o OUT capture.pcapng
//
// Keys in the capture's own pcapng Decryption Secrets Blocks are used too.
// A summary of what was written, and the decryption findings (no key for a
// connection, records that do not decrypt), go to stdout. Key material is
// never printed.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/tcpstate"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tlsdecrypt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keylogs listFlag
	fs.Var(&keylogs, "keylog", "NSS key log `file` (repeatable)")
	out := fs.String("o", "decrypted", "output `folder`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: tlsdecrypt -keylog FILE [-keylog FILE…] -o DIR capture")
		return 2
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "tlsdecrypt:", err)
		return 2
	}
	w := &writer{dir: *out}
	findings := &health.Collector{}
	opts := nettrace.Options{
		KeyLogFiles:  keylogs,
		Reporter:     findings,
		TLSPlaintext: w.stream,
		HTTPBody:     w.body,
	}
	_, err := nettrace.AnalyzeFile(fs.Arg(0), opts)
	w.closeAll()
	if err != nil {
		fmt.Fprintln(stderr, "tlsdecrypt:", err)
		return 2
	}
	if w.err != nil {
		fmt.Fprintln(stderr, "tlsdecrypt:", w.err)
		return 2
	}
	w.summary(stdout)
	for _, k := range []health.Kind{health.TLSNoKey, health.TLSDecryptFailed, health.HTTPBodyDecodeFailed} {
		for _, e := range findings.OfKind(k) {
			fmt.Fprintf(stdout, "%s frame %d %s: %s\n", e.Kind, e.Frame, e.Flow, e.Message)
		}
	}
	return 0
}

// writer saves decrypted streams and decoded bodies. Only TLS connections
// reach it: HTTP bodies of plaintext connections are skipped, as are
// streams it could not decrypt.
type writer struct {
	dir     string
	files   map[string]*os.File
	written map[string]int64
	bodies  map[uint64]int // bodies seen per stream
	tls     map[uint64]bool
	err     error
}

// stream is the TLSPlaintext hook: one handler per decrypted connection.
func (w *writer) stream(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
	if w.tls == nil {
		w.tls = map[uint64]bool{}
	}
	w.tls[ctx.ID] = true
	return &plainStream{w: w, id: ctx.ID}
}

type plainStream struct {
	w  *writer
	id uint64
}

func (s *plainStream) Feed(dir tcpstate.Dir, data []byte, _ tcpstate.Position) {
	s.w.append(fmt.Sprintf("stream-%d-%s.bin", s.id, dir), data)
}
func (s *plainStream) Gap(tcpstate.Dir, int, tcpstate.Position)      {}
func (s *plainStream) Close(tcpstate.CloseReason, tcpstate.Position) {}

// body is the HTTPBody hook.
func (w *writer) body(ctx *tcpstate.StreamContext, b http.Body) {
	if !w.tls[ctx.ID] || !b.Response {
		return
	}
	if w.bodies == nil {
		w.bodies = map[uint64]int{}
	}
	n := w.bodies[ctx.ID] + 1
	name := fmt.Sprintf("stream-%d-body-%d-%s", ctx.ID, n, baseName(b.Request))
	w.append(name, b.Data)
	if b.Final {
		w.bodies[ctx.ID] = n
		w.closeFile(name)
	}
}

// baseName turns "GET /a/b.txt?x=1" into a safe file name ("b.txt").
func baseName(request string) string {
	_, uri, _ := strings.Cut(request, " ")
	uri, _, _ = strings.Cut(uri, "?")
	name := path.Base(uri)
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' || r == ':' {
			return '_'
		}
		return r
	}, name)
	if name == "" || name == "." || name == "/" || name == ".." {
		return "index"
	}
	return name
}

func (w *writer) append(name string, data []byte) {
	if w.err != nil {
		return
	}
	if w.files == nil {
		w.files, w.written = map[string]*os.File{}, map[string]int64{}
	}
	f := w.files[name]
	if f == nil {
		var err error
		if f, err = os.Create(filepath.Join(w.dir, name)); err != nil {
			w.err = err
			return
		}
		w.files[name] = f
		w.written[name] += 0
	}
	n, err := f.Write(data)
	w.written[name] += int64(n)
	if err != nil {
		w.err = err
	}
}

func (w *writer) closeFile(name string) {
	if f := w.files[name]; f != nil {
		if err := f.Close(); err != nil && w.err == nil {
			w.err = err
		}
		w.files[name] = nil
	}
}

func (w *writer) closeAll() {
	for name := range w.files {
		w.closeFile(name)
	}
}

func (w *writer) summary(out io.Writer) {
	names := make([]string, 0, len(w.written))
	for n := range w.written {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(out, "%d decrypted connection(s); %d file(s) in %s\n", len(w.tls), len(names), w.dir)
	for _, n := range names {
		fmt.Fprintf(out, "  %-48s %9d bytes\n", n, w.written[n])
	}
}
