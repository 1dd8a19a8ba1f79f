// Package cli is the command-line convention shared by the programs in
// examples/, built only on nettrace's public API:
//
//   - -h prints the synopsis, the flags, examples, and the exit statuses;
//   - -json writes JSON instead of text;
//   - -filter EXPR, -flow N (repeatable), -from, -to select what is
//     analysed (Options.Filter, Streams, From, To);
//   - a capture is a pcap or pcapng file, optionally gzip-compressed, told
//     by its content; "-" reads it from standard input;
//   - a progress line goes to standard error when it is a terminal and the
//     run lasts more than a second (-quiet: never);
//   - a damaged capture is said once on standard error (which frame, which
//     byte offset, what was still analysed), and so is whatever the
//     analysis shed or gave up;
//   - the exit status is ExitOK, ExitIncomplete or ExitUsage.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Exit statuses, the same in every tool.
const (
	// ExitOK: every capture was analysed.
	ExitOK = 0
	// ExitIncomplete: analysed, but a capture was damaged (truncated or
	// corrupt part-way: what came before was analysed) or the analysis shed
	// or gave something up (a limit reached, a decoder that stopped); the
	// reason is said on standard error.
	ExitIncomplete = 1
	// ExitUsage: a usage error (bad flag, bad filter, bad time) or an
	// input that cannot be used at all (missing, unreadable, not a capture).
	ExitUsage = 2
)

// ExitStatusDoc documents the exit statuses, for each tool's -h and doc.
const ExitStatusDoc = `Exit status: 0 analysed; 1 analysed, but the capture was damaged (cut short or
corrupt part-way: what came before was analysed) or something was shed or given
up (said on standard error); 2 usage error, or an input that cannot be used.`

// InputDoc documents what a capture argument may be.
const InputDoc = `A capture is a pcap or pcapng file, optionally gzip-compressed (told by its
content, not its name); "-" reads it from standard input.`

// Stdin is where "-" reads a capture from. Tests replace it.
var Stdin io.Reader = os.Stdin

// Tool is one command-line program: its flags, its documentation and the
// options every tool shares.
type Tool struct {
	Name   string
	Flags  *flag.FlagSet
	Stdout io.Writer
	Stderr io.Writer

	synopsis string
	doc      string
	examples []string

	// JSON is -json; Quiet is -quiet.
	JSON  bool
	Quiet bool

	filter   string
	flows    flowList
	from, to string
	sel      selection
	stdin    bool // "-" was opened already

	// isTerminal tells whether progress may be drawn on Stderr; tests
	// replace it.
	isTerminal func(io.Writer) bool
	now        func() time.Time
}

// selection is what the selection flags parse to.
type selection struct {
	filter   string
	streams  []uint64
	from, to nettrace.TimeBound
}

// New returns the tool name with the common flags (-json, -quiet,
// -filter, -flow, -from, -to) registered; the tool adds its own to Flags.
// synopsis follows the name in the usage line ("[flags] capture"); doc says
// what the tool does; examples are command lines (each may end with
// "  # comment").
func New(name, synopsis, doc string, examples []string, stdout, stderr io.Writer) *Tool {
	t := &Tool{Name: name, Stdout: stdout, Stderr: stderr, synopsis: synopsis, doc: doc, examples: examples,
		isTerminal: isTerminal, now: time.Now}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed by Parse, help by Help
	fs.BoolVar(&t.JSON, "json", false, "write JSON instead of text")
	fs.BoolVar(&t.Quiet, "quiet", false, "no progress line on standard error")
	fs.StringVar(&t.filter, "filter", "", "analyse only the frames matching this tcpdump-syntax `expression` (e.g. 'host 10.1.1.1 and tcp port 445')")
	fs.Var(&t.flows, "flow", "analyse only TCP connection `N` (tshark's tcp.stream, the doctor's connection number; repeatable)")
	fs.StringVar(&t.from, "from", "", "analyse only frames at or after this `time`: RFC 3339 (2026-11-21T10:00:00Z) or an offset from the first frame (+10s)")
	fs.StringVar(&t.to, "to", "", "analyse only frames before this `time` (same forms as -from)")
	t.Flags = fs
	return t
}

// flowList is the repeatable -flow flag.
type flowList []uint64

func (l *flowList) String() string {
	parts := make([]string, len(*l))
	for i, n := range *l {
		parts[i] = strconv.FormatUint(n, 10)
	}
	return strings.Join(parts, ",")
}

func (l *flowList) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(part), 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a connection number (tshark's tcp.stream: 0, 1, …)", part)
		}
		*l = append(*l, n)
	}
	return nil
}

// Parse parses args. It returns the arguments after the flags and ok; when
// ok is false the tool exits with status: ExitOK after -h (the help was
// printed on Stdout), ExitUsage after a usage error (said on Stderr).
func (t *Tool) Parse(args []string) (rest []string, status int, ok bool) {
	if err := t.Flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			t.Help(t.Stdout)
			return nil, ExitOK, false
		}
		return nil, t.Usagef("%v", err), false
	}
	sel, status, ok := t.parseSelection()
	if !ok {
		return nil, status, false
	}
	t.sel = sel
	return t.Flags.Args(), ExitOK, true
}

// parseSelection checks -filter, -flow, -from and -to.
func (t *Tool) parseSelection() (selection, int, bool) {
	sel := selection{filter: t.filter, streams: t.flows}
	if _, err := layers.CompileFilter(t.filter); err != nil {
		var fe *layers.FilterError
		if errors.As(err, &fe) {
			fmt.Fprintf(t.Stderr, "%s: -filter: position %d: %s\n", t.Name, fe.Pos, fe.Msg)
			fmt.Fprintf(t.Stderr, "  %s\n  %*s^\n", fe.Expr, fe.Pos-1, "")
			fmt.Fprintf(t.Stderr, "run '%s -h' for the filter syntax\n", t.Name)
			return sel, ExitUsage, false
		}
		return sel, t.Usagef("-filter: %v", err), false
	}
	var err error
	if sel.from, err = nettrace.ParseTimeBound(t.from); err != nil {
		return sel, t.Usagef("-from %v", err), false
	}
	if sel.to, err = nettrace.ParseTimeBound(t.to); err != nil {
		return sel, t.Usagef("-to %v", err), false
	}
	return sel, ExitOK, true
}

// Selecting reports whether -filter, -flow, -from or -to was given.
func (t *Tool) Selecting() bool {
	return strings.TrimSpace(t.sel.filter) != "" || len(t.sel.streams) > 0 || !t.sel.from.IsZero() || !t.sel.to.IsZero()
}

// Apply sets the selection flags in opts.
func (t *Tool) Apply(opts *nettrace.Options) {
	opts.Filter = t.sel.filter
	opts.Streams = slices.Clone(t.sel.streams)
	opts.From, opts.To = t.sel.from, t.sel.to
}

// Usagef says a usage error on Stderr, with how to get help, and returns
// ExitUsage.
func (t *Tool) Usagef(format string, args ...any) int {
	fmt.Fprintf(t.Stderr, "%s: %s\n", t.Name, fmt.Sprintf(format, args...))
	fmt.Fprintf(t.Stderr, "usage: %s %s   (run '%s -h' for help)\n", t.Name, t.synopsis, t.Name)
	return ExitUsage
}

// Fail says err on Stderr, prefixed with the tool's name, and returns
// ExitUsage: the input cannot be used.
func (t *Tool) Fail(err error) int {
	fmt.Fprintf(t.Stderr, "%s: %v\n", t.Name, err)
	return ExitUsage
}

// Warnf says something on Stderr that does not stop the tool.
func (t *Tool) Warnf(format string, args ...any) {
	fmt.Fprintf(t.Stderr, "%s: %s\n", t.Name, fmt.Sprintf(format, args...))
}

// Help writes the tool's help: usage, what it does, the flags, the
// filter syntax, examples, inputs and exit statuses.
func (t *Tool) Help(w io.Writer) {
	fmt.Fprintf(w, "usage: %s %s\n\n", t.Name, t.synopsis)
	fmt.Fprintf(w, "%s\n\nFlags:\n", wrap(strings.TrimSpace(t.doc), 80))
	t.Flags.SetOutput(w)
	t.Flags.PrintDefaults()
	t.Flags.SetOutput(io.Discard)
	fmt.Fprintf(w, "\n%s\n", FilterDoc)
	if len(t.examples) > 0 {
		fmt.Fprintln(w, "\nExamples:")
		for _, e := range t.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	fmt.Fprintf(w, "\n%s\n\n%s\n", InputDoc, ExitStatusDoc)
}

// wrap breaks text into lines of at most width bytes, at spaces.
func wrap(text string, width int) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(text) {
		switch {
		case i == 0:
		case n+1+len(word) > width:
			b.WriteByte('\n')
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

// SetJSONUsage replaces the description of -json with what the tool
// writes.
func (t *Tool) SetJSONUsage(usage string) { t.Flags.Lookup("json").Usage = usage }

// FilterDoc is the short form of the filter syntax printed by -h.
const FilterDoc = `Filters (-filter) use tcpdump's syntax: host, net (10.1.0.0/16, 10.1, or
"net 10.1.0.0 mask 255.255.0.0"), port, portrange (6000-6010), each optionally
with src or dst; tcp, udp, icmp, icmp6, ip, ip6, arp, vlan [ID], "ip proto N";
combined with and (&&), or (||), not (!) and parentheses. "and" and "or" have
the same precedence and group from the left: "tcp or udp and port 53" means
"(tcp or udp) and port 53". A bare address repeats the previous qualifiers:
"host 10.0.0.1 or 10.0.0.2". -flow numbers connections as tshark's tcp.stream
in the frames the filter and the time window keep.`

// Input is one capture to analyse.
type Input struct {
	Name   string
	R      io.Reader
	Size   int64 // 0 when unknown
	closer io.Closer
}

// Close closes the input's file (not standard input).
func (in *Input) Close() error {
	if in.closer != nil {
		return in.closer.Close()
	}
	return nil
}

// ParseOne parses args for a tool that reads one capture, and opens it.
// When ok is false the tool is done (help asked, usage error, a capture
// that cannot be opened) and status is its exit status; otherwise the
// caller closes in.
func (t *Tool) ParseOne(args []string) (in *Input, status int, ok bool) {
	paths, status, ok := t.Parse(args)
	if !ok {
		return nil, status, false
	}
	if len(paths) != 1 {
		return nil, t.Usagef("want one capture, got %d", len(paths)), false
	}
	in, err := t.Open(paths[0])
	if err != nil {
		return nil, t.Fail(err), false
	}
	return in, ExitOK, true
}

// Open opens the capture argument path: a file, or "-" for standard input
// (once per run). Errors name the file.
func (t *Tool) Open(path string) (*Input, error) {
	if path == "-" {
		if t.stdin {
			return nil, errors.New(`"-" (standard input) can be read only once`)
		}
		t.stdin = true
		in := &Input{Name: "stdin", R: Stdin}
		if f, ok := Stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
				in.Size = st.Size() // "< capture.pcap": the size is known
			}
		}
		return in, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError names the file
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory, not a capture", path)
	}
	return &Input{Name: path, R: f, Size: st.Size(), closer: f}, nil
}

// Analyze analyses in with opts: the selection flags are applied, the
// progress line drawn, and what the analysis shed is watched for Check.
// The error is non-nil when the input is not a capture (or opts are bad).
func (t *Tool) Analyze(in *Input, opts nettrace.Options) (*Run, error) {
	t.Apply(&opts)
	run := &Run{tool: t, name: in.Name}
	run.watch = &watcher{next: opts.Reporter}
	if run.watch.next == nil {
		run.watch.next = health.Discard
	}
	opts.Reporter = run.watch
	prog := t.NewProgress(in.Name)
	if prog.enabled {
		opts.Progress = func(p nettrace.Progress) {
			prog.Update(p.BytesRead, in.Size, p.Frames, 0)
		}
		opts.ProgressEvery = progressEvery
	}
	a, err := nettrace.New(opts)
	if err != nil {
		return nil, err
	}
	rep, err := a.Analyze(in.Name, in.R)
	prog.Done()
	if err != nil {
		return nil, err
	}
	run.Report = rep
	return run, nil
}

// Run is an analysis done by Analyze.
type Run struct {
	Report *nettrace.Report
	tool   *Tool
	name   string
	watch  *watcher
}

// Check says on Stderr, once each, that the capture was damaged and what
// the analysis shed or gave up, warns about -flow numbers the capture does
// not have, and returns the run's exit status.
func (r *Run) Check() int {
	t, rep := r.tool, r.Report
	status := ExitOK
	if msg := Damage(rep); msg != "" {
		t.Warnf("warning: %s", msg)
		status = ExitIncomplete
	}
	if shed := r.watch.shed(rep); shed != "" {
		t.Warnf("warning: %s: not everything was analysed: %s", r.name, shed)
		status = ExitIncomplete
	}
	if m := rep.Skipped.Missing; len(m) > 0 {
		parts := make([]string, len(m))
		for i, n := range m {
			parts[i] = strconv.FormatUint(n, 10)
		}
		t.Warnf("warning: %s: no TCP connection %s (-flow): the capture has %d", r.name, strings.Join(parts, ", "), r.connections())
	}
	return status
}

// connections is the number of TCP connections the capture has (as
// filtered), for the missing -flow warning.
func (r *Run) connections() int {
	rep := r.Report
	return len(rep.Flows) + rep.FlowsDropped + rep.Skipped.Streams
}

// Damage returns the warning about a damaged capture ("" when it was read
// to its end): where it stopped and what was still analysed.
func Damage(rep *nettrace.Report) string {
	c := rep.Capture
	if c.Truncated == "" {
		return ""
	}
	frame, offset := c.Frames+1, int64(-1)
	cause := c.Truncated
	for _, f := range rep.Findings {
		if f.Kind != health.CaptureTruncated {
			continue
		}
		frame = f.Example.Frame
		if o, ok := f.Example.Evidence["offset"].(int64); ok {
			offset = o
		}
		if e, ok := f.Example.Evidence["error"].(string); ok {
			cause = e
		}
	}
	where := fmt.Sprintf("frame %d", frame)
	if offset >= 0 {
		where += fmt.Sprintf(" (byte offset %d)", offset)
	}
	return fmt.Sprintf("%s is damaged at %s: %s; the %d frame%s before it were analysed",
		c.Name, where, trimCause(cause), c.Frames, plural(int(c.Frames)))
}

// trimCause drops the "layers: capture: frame N at offset M:" prefix that
// Damage says in its own words.
func trimCause(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && strings.HasPrefix(s, "layers: ") {
		return s[i+2:]
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// shedKinds are the event kinds that say the analysis shed or gave up
// something; tcp.evicted counts only when a limit evicted the connection
// (not the idle timeout, which ends silent connections as designed), and
// capture.undecoded only as a notice (frames that may carry IP traffic
// were not analysed, not a switch's LLDP). A message cut by the end of
// its connection (decode.incomplete) is what the capture holds, not
// something the analysis gave up.
var shedKinds = []health.Kind{
	health.CaptureUnsupportedLink, health.CaptureUndecoded, health.InternalError, health.DecodeGaveUp,
	health.TCPBufferLimit, health.TCPEvicted, health.HTTPBodyLimit, health.MemoryShed,
	health.DecodeLimit, health.TCPHalfOpenEvicted, health.CaptureSecretsSkipped, health.TLSKeyLogSkipped,
}

// watcher passes events on, counting those that say something was shed.
type watcher struct {
	next    health.Reporter
	evicted int // tcp.evicted other than by the idle timeout
}

func (w *watcher) Event(e health.Event) {
	if e.Kind == health.TCPEvicted {
		if reason, _ := e.Evidence["reason"].(string); reason != "idle" {
			w.evicted++
		}
	}
	w.next.Event(e)
}

func (w *watcher) Message(m health.Message) { w.next.Message(m) }
func (w *watcher) WantMessages() bool       { return w.next.WantMessages() }

// shed lists what the analysis shed or gave up, with each kind's count and
// meaning ("" when nothing).
func (w *watcher) shed(rep *nettrace.Report) string {
	var parts []string
	for _, f := range rep.Findings {
		if !slices.Contains(shedKinds, f.Kind) || f.Kind == health.CaptureUndecoded && f.Severity < health.Notice {
			continue
		}
		n := f.Count
		if f.Kind == health.TCPEvicted {
			if n = w.evicted; n == 0 {
				continue
			}
		}
		parts = append(parts, fmt.Sprintf("%s ×%d (%s)", f.Kind, n, meaning(f.Kind)))
	}
	return strings.Join(parts, "; ")
}

// meaning returns the catalogue's one-line meaning of k.
func meaning(k health.Kind) string {
	for _, ki := range health.Catalogue() {
		if ki.Kind == k {
			return ki.Meaning
		}
	}
	return string(k)
}

// Worst returns the most serious of exit statuses.
func Worst(statuses ...int) int {
	w := ExitOK
	for _, s := range statuses {
		w = max(w, s)
	}
	return w
}
