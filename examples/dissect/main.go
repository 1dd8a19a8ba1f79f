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
//	dissect [-keylog FILE] [-smbkeys FILE] [-ntpassword PASSWORD] [-d PORT=PROTO] [-packets=false] [-proto NAME] capture
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dissect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var keylogs, decode listFlag
	packets := fs.Bool("packets", true, "also print packet-level records (tcp, udp, icmp, arp, dns)")
	only := fs.String("proto", "", "print only records of this proto (e.g. smb2)")
	fs.Var(&keylogs, "keylog", "NSS key log `file` for TLS decryption (repeatable)")
	fs.Var(&decode, "d", "decode a TCP port as a protocol: `PORT=PROTO` (repeatable)")
	var smbf smbFlags
	smbf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: dissect [flags] capture")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	sink := health.NewJSONSink(stdout, false, true)
	var rep health.Reporter = sink
	if *only != "" {
		rep = protoFilter{sink, *only}
	}
	opts := nettrace.Options{Reporter: rep, Messages: true, PacketMessages: *packets, KeyLogFiles: keylogs, MaxEventsKept: -1}
	if err := smbf.apply(&opts); err != nil {
		fmt.Fprintln(stderr, "dissect:", err)
		return 2
	}
	for _, d := range decode {
		port, proto, ok := strings.Cut(d, "=")
		n, err := strconv.ParseUint(port, 10, 16)
		if !ok || err != nil {
			fmt.Fprintf(stderr, "dissect: -d %q: want PORT=PROTO\n", d)
			return 2
		}
		if opts.DecodeAs == nil {
			opts.DecodeAs = map[uint16]string{}
		}
		opts.DecodeAs[uint16(n)] = proto
	}
	if _, err := nettrace.AnalyzeFile(fs.Arg(0), opts); err != nil {
		fmt.Fprintln(stderr, "dissect:", err)
		return 2
	}
	if err := sink.Flush(); err != nil {
		fmt.Fprintln(stderr, "dissect:", err)
		return 2
	}
	return 0
}

// protoFilter passes on only the messages of one proto.
type protoFilter struct {
	next  health.Reporter
	proto string
}

func (f protoFilter) Event(health.Event) {}
func (f protoFilter) Message(m health.Message) {
	if m.Proto == f.proto {
		f.next.Message(m)
	}
}
func (f protoFilter) WantMessages() bool { return true }
