// Command doctor analyses packet captures and prints what went wrong on the
// wire: findings sorted by severity, with frame numbers and a one-line
// explanation each, then a table of the TCP connections.
//
// Usage:
//
//	doctor [flags] [capture ...]
//
// With no capture it analyses a bundled demo capture (real traffic from a
// lab branch office: a SYN-ACK carrying stray bytes, an endpoint-mapper
// reply naming another IP, a gzip body that does not decompress, a failed
// SQL login, a failed SMB logon, a refused and an unanswered connection and
// an expired certificate).
//
// Flags:
//
//	-json         print JSON-lines events instead of the report
//	-keylog FILE  NSS key log for TLS decryption (repeatable)
//	-d PORT=PROTO decode a TCP port as tls, http, smb, dcerpc or tds (repeatable)
//	-all          list every event, not only the grouped findings
//	-html FILE    also write the report as one self-contained HTML page
//	              with the graphs of the connections with findings
//	-profile      add the workload profile per service (casebook C21)
//	-pair         compare two captures of the same traffic (doctor -pair
//	              client.pcap server.pcap): each report, then what changed
//	              BETWEEN THE TWO CAPTURES (casebook C1, C13, C15)
//	-workers N    goroutines decoding application protocols (default: one
//	              per CPU, at most 4); the output is the same for any N
//
// Exit status: 0 when every capture was analysed (even if damaged part-way:
// the report says where it stopped), 2 when a file cannot be read or is not
// a capture.
package main

import (
	"bytes"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

//go:embed demo/branch-office.pcapng
var demoCapture []byte

const demoName = "branch-office.pcapng (bundled demo)"

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type config struct {
	json    bool
	all     bool
	profile bool
	pair    bool
	keylogs listFlag
	decode  listFlag
	workers int
	html    string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var cfg config
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&cfg.json, "json", false, "print JSON-lines events instead of the report")
	fs.BoolVar(&cfg.all, "all", false, "list every event after the findings")
	fs.BoolVar(&cfg.profile, "profile", false, "add the workload profile per service (connections, concurrency, request rates, sizes)")
	fs.BoolVar(&cfg.pair, "pair", false, "compare two captures of the same traffic taken at two points: doctor -pair A B")
	fs.Var(&cfg.keylogs, "keylog", "NSS key log `file` for TLS decryption (repeatable)")
	fs.IntVar(&cfg.workers, "workers", 0, "goroutines decoding application protocols (0: one per CPU, at most 4); the output is the same for any `n`")
	fs.Var(&cfg.decode, "d", "decode a TCP port as a protocol: `PORT=PROTO` (tls, http, smb, dcerpc, tds; repeatable)")
	htmlFlag(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: doctor [flags] [capture ...]   (no capture: analyse the bundled demo)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts, err := cfg.options()
	if err != nil {
		fmt.Fprintln(stderr, "doctor:", err)
		return 2
	}
	paths := fs.Args()
	if cfg.html != "" && len(paths) > 1 {
		fmt.Fprintln(stderr, "doctor: -html writes the report of one capture")
		return 2
	}
	if cfg.pair && len(paths) != 2 {
		fmt.Fprintln(stderr, "doctor: -pair needs exactly two captures (e.g. the client's and the server's)")
		return 2
	}
	status := 0
	out := stdout
	if len(paths) == 0 {
		if err := analyse(demoName, bytes.NewReader(demoCapture), int64(len(demoCapture)), opts, cfg, out, stderr); err != nil {
			fmt.Fprintln(stderr, "doctor:", err)
			return 2
		}
		return 0
	}
	for i, path := range paths {
		if i > 0 && !cfg.json {
			fmt.Fprintln(out)
		}
		if err := analysePath(path, opts, cfg, out, stderr); err != nil {
			fmt.Fprintf(stderr, "doctor: %v\n", err)
			status = 2
		}
	}
	if cfg.pair && status == 0 {
		if err := analysePair(paths[0], paths[1], opts, cfg, out); err != nil {
			fmt.Fprintf(stderr, "doctor: %v\n", err)
			status = 2
		}
	}
	return status
}

func (c config) options() (nettrace.Options, error) {
	opts := nettrace.Options{KeyLogFiles: c.keylogs, Workers: c.workers}
	if opts.Workers <= 0 {
		opts.Workers = min(runtime.GOMAXPROCS(0), 4) // 1 CPU: everything on one goroutine
	}
	for _, d := range c.decode {
		port, proto, ok := strings.Cut(d, "=")
		n, err := strconv.ParseUint(port, 10, 16)
		if !ok || err != nil || proto == "" {
			return opts, fmt.Errorf("-d %q: want PORT=PROTO, e.g. -d 14330=tds", d)
		}
		if opts.DecodeAs == nil {
			opts.DecodeAs = map[uint16]string{}
		}
		opts.DecodeAs[uint16(n)] = proto
	}
	return opts, nil
}

func analysePath(path string, opts nettrace.Options, cfg config, out, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err // *PathError names the file
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		if st.IsDir() {
			return fmt.Errorf("%s: is a directory", path)
		}
		size = st.Size()
	}
	return analyse(path, f, size, opts, cfg, out, stderr)
}

func analyse(name string, r io.Reader, size int64, opts nettrace.Options, cfg config, out, stderr io.Writer) error {
	var sink *health.JSONSink
	if cfg.json {
		sink = health.NewJSONSink(out, true, false)
		opts.Reporter = sink
	}
	htmlOptions(cfg, &opts)
	prog := newProgress(stderr, name)
	opts.Progress = prog.update
	a, err := nettrace.New(opts)
	if err != nil {
		return err
	}
	rep, err := a.Analyze(name, r)
	prog.done()
	if err != nil {
		return err // names the capture
	}
	if cfg.html != "" {
		if err := writeHTML(cfg.html, rep); err != nil {
			return err
		}
	}
	if sink != nil {
		return sink.Flush()
	}
	printReport(out, rep, cfg.all)
	if cfg.profile {
		printProfile(out, rep.Workload)
	}
	return nil
}

// progress prints a progress line on stderr when it is a terminal and the
// analysis takes more than a couple of seconds.
type progress struct {
	w       io.Writer
	name    string
	start   time.Time
	enabled bool
	printed bool
}

func newProgress(w io.Writer, name string) *progress {
	p := &progress{w: w, name: name, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.enabled = true
		}
	}
	return p
}

func (p *progress) update(pr nettrace.Progress) {
	if !p.enabled || time.Since(p.start) < 2*time.Second {
		return
	}
	pct := ""
	if pr.BytesSize > 0 {
		pct = fmt.Sprintf(" %3.0f%%", 100*float64(pr.BytesRead)/float64(pr.BytesSize))
	}
	fmt.Fprintf(p.w, "\r%s:%s %d frames, %d open connections ", p.name, pct, pr.Frames, pr.Active)
	p.printed = true
}

func (p *progress) done() {
	if p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
