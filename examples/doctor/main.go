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
//	-smbkeys FILE SMB3 session keys for decryption (repeatable; see smb.Keys)
//	-ntpassword P user password tried on NTLMv2 logons to decrypt SMB3 (repeatable)
//	-d PORT=PROTO decode a TCP port as tls, http, smb, dcerpc or tds (repeatable)
//	-all          list every event, not only the grouped findings
//	-conn         print the TCP connections as Zeek's conn.log (TSV; with
//	              -json, JSON lines with Zeek's field names)
//	-html FILE    also write the report as one self-contained HTML page
//	              with the graphs of the connections with findings
//	-profile      add the workload profile per service (casebook C21)
//	-pair         compare two captures of the same traffic (doctor -pair
//	              client.pcap server.pcap): each report, then what changed
//	              BETWEEN THE TWO CAPTURES (casebook C1, C13, C15)
//	-workers N    goroutines decoding application protocols (default: one
//	              per CPU, at most 4); the output is the same for any N
//	-filter EXPR  analyse only the frames matching a tcpdump-syntax filter
//	-flow N       analyse only TCP connection N, numbered as tshark's
//	              tcp.stream and the connection table (repeatable)
//	-from, -to    analyse only a capture-time window: RFC 3339 times or
//	              offsets from the first frame (+10s)
//	-quiet        no progress line on standard error
//
// A capture is a pcap or pcapng file, optionally gzip-compressed (told by
// its content); "-" reads it from standard input.
//
// Exit status: 0 every capture analysed; 1 analysed, but a capture was
// damaged (the report and standard error say where it stopped; everything
// before it was analysed) or the analysis shed or gave something up (said
// on standard error); 2 usage error, or an input that cannot be used (the
// others are still analysed).
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/doctor/demo"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/health"
)

const demoName = "branch-office.pcapng (bundled demo)"

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type config struct {
	all     bool
	profile bool
	pair    bool
	conn    bool
	keylogs listFlag
	decode  listFlag
	workers int
	memory  sizeFlag
	smb     cli.SMBFlags
	html    string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

var examples = []string{
	"doctor                                   # the bundled demo capture",
	"doctor customer.pcapng",
	"doctor -keylog sslkeys.log -filter 'host 10.1.1.20 and tcp port 443' customer.pcapng",
	"doctor -flow 7 -json customer.pcap.gz | jq -r .kind",
	"doctor -from +30s -to +90s customer.pcapng",
	"tcpdump -i eth0 -w - 'tcp port 445' | doctor -",
	"doctor -pair client.pcap server.pcap",
}

func run(args []string, stdout, stderr io.Writer) int {
	var cfg config
	t := cli.New("doctor", "[flags] [capture ...]",
		"Analyses packet captures and prints what went wrong on the wire: findings sorted by severity, with "+
			"frame numbers and a one-line explanation each, then a table of the TCP connections. With no capture "+
			"it analyses a bundled demo capture.", examples, stdout, stderr)
	t.SetJSONUsage("write JSON lines, one event per line (the events contract), instead of the report")
	fs := t.Flags
	fs.BoolVar(&cfg.all, "all", false, "list every event after the findings")
	fs.BoolVar(&cfg.profile, "profile", false, "add the workload profile per service (connections, concurrency, request rates, sizes)")
	fs.BoolVar(&cfg.conn, "conn", false, "print the TCP connections as Zeek's conn.log (TSV, or JSON lines with -json)")
	fs.BoolVar(&cfg.pair, "pair", false, "compare two captures of the same traffic taken at two points: doctor -pair A B")
	fs.Var(&cfg.keylogs, "keylog", "NSS key log `file` for TLS decryption (repeatable)")
	fs.IntVar(&cfg.workers, "workers", 0, "goroutines decoding application protocols (0: one per idle CPU, at most 4; 1 when no second CPU is idle); the output is the same for any `n`")
	fs.Var(&cfg.memory, "memory", "memory `budget` for what all connections buffer, e.g. 64MiB or 1GiB (default 128MiB); past it the quietest connections' buffers are dropped and said once")
	cfg.smb.Register(fs)
	fs.Var(&cfg.decode, "d", "decode a TCP port as a protocol: `PORT=PROTO` (tls, http, smb, dcerpc, tds; repeatable)")
	htmlFlag(fs, &cfg)
	paths, status, ok := t.Parse(args)
	if !ok {
		return status
	}
	opts, err := cfg.options()
	if err != nil {
		return t.Usagef("%v", err)
	}
	if cfg.html != "" && len(paths) > 1 {
		return t.Usagef("-html writes the report of one capture")
	}
	if cfg.pair {
		switch {
		case len(paths) != 2:
			return t.Usagef("-pair needs exactly two captures (e.g. the client's and the server's)")
		case t.Selecting():
			return t.Usagef("-pair compares whole captures: it cannot be combined with -filter, -flow, -from or -to")
		case slices.Contains(paths, "-"):
			return t.Usagef("-pair reads two capture files, not standard input")
		}
	}
	if len(paths) == 0 {
		in := &cli.Input{Name: demoName, R: bytes.NewReader(demo.Capture), Size: int64(len(demo.Capture))}
		return analyse(t, in, opts, cfg)
	}
	status = cli.ExitOK
	for i, path := range paths {
		if i > 0 && !t.JSON {
			fmt.Fprintln(stdout)
		}
		in, err := t.Open(path)
		if err != nil {
			status = cli.Worst(status, t.Fail(err))
			continue
		}
		status = cli.Worst(status, analyse(t, in, opts, cfg))
		in.Close()
	}
	if cfg.pair && status != cli.ExitUsage {
		if err := analysePair(paths[0], paths[1], opts, t.JSON, stdout); err != nil {
			status = t.Fail(err)
		}
	}
	return status
}

func (c config) options() (nettrace.Options, error) {
	opts := nettrace.Options{KeyLogFiles: c.keylogs, Workers: c.workers, MemoryBudget: int64(c.memory)}
	if opts.Workers <= 0 {
		opts.Workers = nettrace.AutoWorkers()
	}
	if err := c.smb.Apply(&opts); err != nil {
		return opts, err
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

// analyse analyses one capture and prints its report (or its events, with
// -json, or its connections as Zeek's conn.log, with -conn); it returns
// the capture's exit status.
func analyse(t *cli.Tool, in *cli.Input, opts nettrace.Options, cfg config) int {
	if cfg.conn {
		return analyseConns(t, in, opts)
	}
	var sink *health.JSONSink
	if t.JSON {
		sink = health.NewJSONSink(t.Stdout, true, false)
		opts.Reporter = sink
	}
	htmlOptions(cfg, &opts)
	run, err := t.Analyze(in, opts)
	if err != nil {
		return t.Fail(err) // names the capture
	}
	if cfg.html != "" {
		if err := writeHTML(cfg.html, run.Report); err != nil {
			return t.Fail(err)
		}
	}
	if sink != nil {
		if err := sink.Flush(); err != nil {
			return t.Fail(err)
		}
	} else {
		printReport(t.Stdout, run.Report, cfg.all, t)
		if cfg.profile {
			printProfile(t.Stdout, run.Report.Workload)
		}
	}
	return run.Check()
}
