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
//	tlsdecrypt -keylog sslkeys.log [-keylog …] [-o OUT] [-json] [selection flags] capture
//
// A key log is required: an NSS key log (SSLKEYLOGFILE), or a pcapng
// capture whose Decryption Secrets Blocks hold the keys (which may be the
// capture itself). Keys in the capture's own Decryption Secrets Blocks are
// used too. A summary of what was written, and the decryption findings (no
// key for a connection, records that do not decrypt), go to stdout (as one
// JSON document with -json). Key material is never printed.
//
// -filter, -flow, -from and -to select what is decrypted; a capture is a
// pcap or pcapng file, optionally gzip-compressed, or "-" for standard
// input.
//
// Exit status: 0 decrypted what the keys allow; 1 the same, but the capture
// was damaged (said on standard error with where it stopped) or the
// analysis shed or gave something up; 2 usage error (no -keylog), an input
// that is not a capture, or a file that cannot be written.
package main

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/tcpstate"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

var examples = []string{
	"tlsdecrypt -keylog sslkeys.log -o out capture.pcapng",
	"tlsdecrypt -keylog capture.pcapng capture.pcapng   # keys in the capture's Decryption Secrets Blocks",
	"tlsdecrypt -keylog sslkeys.log -flow 4 -json capture.pcap.gz",
	"tcpdump -r big.pcap -w - 'tcp port 443' | tlsdecrypt -keylog sslkeys.log -",
}

// findingKinds are the findings tlsdecrypt lists.
var findingKinds = []health.Kind{health.TLSNoKey, health.TLSDecryptFailed, health.HTTPBodyDecodeFailed}

func run(args []string, stdout, stderr io.Writer) int {
	t := cli.New("tlsdecrypt", "-keylog FILE [-keylog FILE …] [-o DIR] [flags] capture",
		"Decrypts the TLS connections of a capture with NSS key logs and writes, into a folder, each decrypted "+
			"stream (stream-N-client.bin, stream-N-server.bin) and each HTTP response body, de-chunked and "+
			"decompressed (stream-N-body-M-NAME). Key material is never printed.", examples, stdout, stderr)
	t.SetJSONUsage("write the summary and the findings as one JSON document")
	fs := t.Flags
	var keylogs listFlag
	fs.Var(&keylogs, "keylog", "NSS key log `file`, or a pcapng capture holding Decryption Secrets Blocks (required; repeatable)")
	out := fs.String("o", "decrypted", "output `folder`")
	paths, status, ok := t.Parse(args)
	if !ok {
		return status
	}
	if len(keylogs) == 0 {
		return t.Usagef("no key log: give -keylog FILE, an NSS key log (SSLKEYLOGFILE) or a pcapng capture holding Decryption Secrets Blocks; without keys nothing can be decrypted")
	}
	if len(paths) != 1 {
		return t.Usagef("want one capture, got %d", len(paths))
	}
	in, err := t.Open(paths[0])
	if err != nil {
		return t.Fail(err)
	}
	defer in.Close()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return t.Fail(err)
	}
	w := &writer{dir: *out}
	findings := &health.Collector{}
	opts := nettrace.Options{
		KeyLogFiles:  keylogs,
		Reporter:     findings,
		TLSPlaintext: w.stream,
		HTTPBody:     w.body,
	}
	res, err := t.Analyze(in, opts)
	w.closeAll()
	if err != nil {
		return t.Fail(err)
	}
	if w.err != nil {
		return t.Fail(w.err)
	}
	var events []health.Event
	for _, k := range findingKinds {
		events = append(events, findings.OfKind(k)...)
	}
	if t.JSON {
		if err := w.summaryJSON(stdout, res.Report, events); err != nil {
			return t.Fail(err)
		}
	} else {
		w.summary(stdout)
		for _, e := range events {
			fmt.Fprintf(stdout, "%s frame %d %s: %s\n", e.Kind, e.Frame, e.Flow, e.Message)
		}
	}
	return res.Check()
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
	names := w.names()
	fmt.Fprintf(out, "%d decrypted connection(s); %d file(s) in %s\n", len(w.tls), len(names), w.dir)
	for _, n := range names {
		fmt.Fprintf(out, "  %-48s %9d bytes\n", n, w.written[n])
	}
}

// names returns the files written, sorted.
func (w *writer) names() []string {
	names := make([]string, 0, len(w.written))
	for n := range w.written {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// summaryJSON writes the summary and the findings as one JSON document.
func (w *writer) summaryJSON(out io.Writer, rep *nettrace.Report, events []health.Event) error {
	type file struct {
		Name  string `json:"name"`
		Bytes int64  `json:"bytes"`
	}
	type finding struct {
		Kind    health.Kind `json:"kind"`
		Frame   int64       `json:"frame"`
		Flow    string      `json:"flow"`
		Message string      `json:"message"`
	}
	doc := struct {
		Capture     cli.CaptureJSON `json:"capture"`
		Connections int             `json:"decrypted_connections"`
		Dir         string          `json:"dir"`
		Files       []file          `json:"files"`
		Findings    []finding       `json:"findings"`
	}{Capture: cli.Capture(rep), Connections: len(w.tls), Dir: w.dir, Files: []file{}, Findings: []finding{}}
	for _, n := range w.names() {
		doc.Files = append(doc.Files, file{n, w.written[n]})
	}
	for _, e := range events {
		doc.Findings = append(doc.Findings, finding{e.Kind, e.Frame, e.Flow, e.Message})
	}
	return cli.WriteJSON(out, doc)
}
