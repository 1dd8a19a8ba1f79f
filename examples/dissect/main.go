// Command dissect prints one JSON line per decoded record of a capture:
// packet-level records (tcp, udp, icmp, arp, dns) and the messages of the
// protocol decoders (tls, http, smb, smb2, dcerpc, epm, tds, ssrp):
//
//	{"frame":N,"time":"…","flow":"a:p->b:q/tcp","proto":"smb2","fields":{…}}
//
// A frame holding several messages gives several lines.
//
// Usage:
//
//	dissect [-keylog FILE] [-smbkeys FILE] [-ntpassword PASSWORD] [-d PORT=PROTO] [-packets=false] [-proto NAME] [selection flags] capture
//
// Records are written as they are decoded, so the output streams and memory
// stays bounded whatever the capture's size. Records that carry an "error"
// field (a message that did not parse) are capped like repeated events
// (nettrace.Options.MaxEventsPerFlow, MaxEventsPerKind): past
// -max-errors-per-flow of one proto on one flow, or -max-errors-per-proto
// of one proto in all, they are counted instead of printed, and one line on
// standard error says how many were left out and where.
//
// The output is always JSON lines: -json is accepted for the common
// convention. -filter, -flow, -from and -to select what is decoded; a
// capture is a pcap or pcapng file, optionally gzip-compressed, or "-" for
// standard input.
//
// Exit status: 0 decoded; 1 decoded, but the capture was damaged (said on
// standard error with where it stopped) or the analysis shed or gave
// something up; 2 usage error or an input that is not a capture.
package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/health"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

var examples = []string{
	"dissect capture.pcapng | jq -c 'select(.proto == \"smb2\")'",
	"dissect -proto tds -flow 3 capture.pcap",
	"dissect -packets=false -keylog sslkeys.log -filter 'tcp port 443' capture.pcapng",
	"tcpdump -r big.pcap -w - 'port 135' | dissect -",
}

func run(args []string, stdout, stderr io.Writer) int {
	t := cli.New("dissect", "[flags] capture",
		"Prints one JSON line per decoded record of a capture: packet records (tcp, udp, icmp, arp, dns) and the "+
			"messages of the protocol decoders (tls, http, smb, smb2, dcerpc, epm, tds, ssrp), "+
			`{"frame":N,"time":…,"flow":…,"proto":…,"fields":{…}}, written as they are decoded.`, examples, stdout, stderr)
	t.SetJSONUsage("accepted for the common convention: the output is always JSON lines")
	fs := t.Flags
	var keylogs, decode listFlag
	packets := fs.Bool("packets", true, "also print packet-level records (tcp, udp, icmp, arp, dns)")
	only := fs.String("proto", "", "print only records of this proto (e.g. smb2)")
	perFlow := fs.Int("max-errors-per-flow", 1000, "error records of one proto on one flow printed before the rest are only counted (-1: no cap)")
	perProto := fs.Int("max-errors-per-proto", 10000, "error records of one proto printed before the rest are only counted (-1: no cap)")
	fs.Var(&keylogs, "keylog", "NSS key log `file` for TLS decryption (repeatable)")
	fs.Var(&decode, "d", "decode a TCP port as a protocol: `PORT=PROTO` (repeatable)")
	var smbf cli.SMBFlags
	smbf.Register(fs)
	paths, status, ok := t.Parse(args)
	if !ok {
		return status
	}
	if len(paths) != 1 {
		return t.Usagef("want one capture, got %d", len(paths))
	}
	opts := nettrace.Options{Messages: true, PacketMessages: *packets, KeyLogFiles: keylogs, MaxEventsKept: -1, MaxFlowsKept: -1,
		MaxEventsPerFlow: *perFlow, MaxEventsPerKind: *perProto}
	if err := smbf.Apply(&opts); err != nil {
		return t.Fail(err)
	}
	for _, d := range decode {
		port, proto, ok := strings.Cut(d, "=")
		n, err := strconv.ParseUint(port, 10, 16)
		if !ok || err != nil || proto == "" {
			return t.Usagef("-d %q: want PORT=PROTO, e.g. -d 14330=tds", d)
		}
		if opts.DecodeAs == nil {
			opts.DecodeAs = map[uint16]string{}
		}
		opts.DecodeAs[uint16(n)] = proto
	}
	in, err := t.Open(paths[0])
	if err != nil {
		return t.Fail(err)
	}
	defer in.Close()
	sink := health.NewJSONSink(stdout, false, true)
	folder := newErrorFolder(sink, *only, *perFlow, *perProto)
	opts.Reporter = folder
	res, err := t.Analyze(in, opts)
	if err != nil {
		sink.Flush()
		return t.Fail(err)
	}
	if err := sink.Flush(); err != nil {
		return t.Fail(err)
	}
	if msg := folder.summary(); msg != "" {
		t.Warnf("%s", msg)
	}
	if msg := undecodedFrames(res.Report); msg != "" {
		t.Warnf("%s", msg)
	}
	return res.Check()
}

// undecodedFrames says, in one line, how many frames did not decode and
// therefore have no record ("" when none): without it a capture of broken
// frames would print nothing, as if it held nothing.
func undecodedFrames(rep *nettrace.Report) string {
	for _, f := range rep.Findings {
		if f.Kind == health.CaptureDecodeError {
			return fmt.Sprintf("%d frame%s did not decode and have no record (capture.decode_error), the first at frame %d: %s",
				f.Count, plural(f.Count), f.Example.Frame, strings.TrimPrefix(f.Example.Message, fmt.Sprintf("frame %d: ", f.Example.Frame)))
		}
	}
	return ""
}

// errorFolder passes on the messages dissect prints — those of one proto
// when proto is set — and caps the error records (messages with an
// "error" field) as the Analyzer caps repeated events: past perFlow of one
// proto on one flow, or perProto of one proto in all, they are counted.
type errorFolder struct {
	next     health.Reporter
	proto    string
	perFlow  int // caps (no cap: MaxInt)
	perProto int
	flags    string          // the caps as the flags gave them
	byFlow   map[foldKey]int // error records seen per proto and flow
	byProto  map[string]int  // error records printed per proto
	folded   map[string]*fold
}

type foldKey struct{ proto, flow string }

// fold counts the error records of one proto that were not printed.
type fold struct {
	n                     int
	flows                 map[string]bool
	firstFrame, lastFrame int64
}

// maxFoldFlows bounds the flows counted per folded proto.
const maxFoldFlows = 1 << 16

// newErrorFolder returns a folder with the caps of the flags (-1: no cap).
func newErrorFolder(next health.Reporter, proto string, perFlow, perProto int) *errorFolder {
	f := &errorFolder{next: next, proto: proto, perFlow: capOf(perFlow), perProto: capOf(perProto),
		byFlow: map[foldKey]int{}, byProto: map[string]int{}, folded: map[string]*fold{}}
	f.flags = fmt.Sprintf("-max-errors-per-flow %d, -max-errors-per-proto %d", perFlow, perProto)
	return f
}

// capOf turns a cap flag into a count (-1: no cap).
func capOf(n int) int {
	if n < 0 {
		return math.MaxInt
	}
	return n
}

func (f *errorFolder) Event(health.Event) {}

func (f *errorFolder) WantMessages() bool { return true }

func (f *errorFolder) Message(m health.Message) {
	if f.proto != "" && m.Proto != f.proto {
		return
	}
	m.Fields = m.FieldMap() // a typed message's fields, built once for the test and the sink
	if _, isErr := m.Fields["error"]; isErr {
		k := foldKey{m.Proto, m.Flow}
		n := f.byFlow[k]
		if n < f.perFlow && f.byProto[m.Proto] < f.perProto {
			if n == 0 && len(f.byFlow) >= maxFoldFlows {
				f.fold(m) // too many flows to count each: fold beyond the cap
				return
			}
			f.byFlow[k] = n + 1
			f.byProto[m.Proto]++
		} else {
			f.fold(m)
			return
		}
	}
	f.next.Message(m)
}

func (f *errorFolder) fold(m health.Message) {
	fd := f.folded[m.Proto]
	if fd == nil {
		fd = &fold{flows: map[string]bool{}, firstFrame: m.Frame}
		f.folded[m.Proto] = fd
	}
	fd.n++
	if len(fd.flows) < maxFoldFlows {
		fd.flows[m.Flow] = true
	}
	fd.firstFrame, fd.lastFrame = min(fd.firstFrame, m.Frame), max(fd.lastFrame, m.Frame)
}

// summary says in one line what was folded ("" when nothing).
func (f *errorFolder) summary() string {
	if len(f.folded) == 0 {
		return ""
	}
	protos := make([]string, 0, len(f.folded))
	total := 0
	for p, fd := range f.folded {
		protos = append(protos, p)
		total += fd.n
	}
	sort.Strings(protos)
	parts := make([]string, len(protos))
	for i, p := range protos {
		fd := f.folded[p]
		parts[i] = fmt.Sprintf("%s ×%d on %d flow%s, frames %d to %d", p, fd.n, len(fd.flows), plural(len(fd.flows)), fd.firstFrame, fd.lastFrame)
	}
	return fmt.Sprintf("%d error records beyond %s were counted, not printed: %s", total, f.flags, strings.Join(parts, "; "))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
