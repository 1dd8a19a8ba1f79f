// Command smbstat prints SMB statistics of a capture, built only on the
// public API: per server, the connections (dialect, user, commands with
// response-time percentiles, errors by status), and per share and file the
// operations, sizes, operations in flight, latency and throughput, with the
// transfer classified as application-limited or pipelined.
//
// Usage:
//
//	smbstat capture.pcap
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tcpstate"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: smbstat capture")
		return 2
	}
	var conns []*smb.Conn
	var ctxs []*tcpstate.StreamContext
	dec := nettrace.Decoder{
		Name:   nettrace.ProtoSMB,
		Ports:  []uint16{445, 139},
		Detect: smb.Detect,
		New: func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			c := smb.NewConn(ctx, smb.DefaultConfig())
			conns = append(conns, c)
			ctxs = append(ctxs, ctx)
			return c
		},
	}
	rep, err := nettrace.AnalyzeFile(args[0], nettrace.Options{Decoders: []nettrace.Decoder{dec}, MaxEventsKept: -1})
	if err != nil {
		fmt.Fprintln(stderr, "smbstat:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d frames, %d SMB connections\n", rep.Capture.Name, rep.Capture.Frames, len(conns))
	byServer := map[string][]int{}
	var servers []string
	for i, ctx := range ctxs {
		s := ctx.Server.String()
		if _, ok := byServer[s]; !ok {
			servers = append(servers, s)
		}
		byServer[s] = append(byServer[s], i)
	}
	sort.Strings(servers)
	for _, srv := range servers {
		fmt.Fprintf(stdout, "\nserver %s\n", srv)
		errs := map[string]int{}
		shares := map[string][]smb.FileStats{}
		for _, i := range byServer[srv] {
			st := conns[i].Stats()
			ctx := ctxs[i]
			fmt.Fprintf(stdout, "  connection %s (SMB%d, %s", ctx.Flow, max(st.Version, 1), orDash(st.Dialect))
			if st.User != "" {
				fmt.Fprintf(stdout, ", user %s\\%s", st.Domain, st.User)
			}
			if st.Encrypted > 0 {
				fmt.Fprintf(stdout, ", %d encrypted messages", st.Encrypted)
			}
			fmt.Fprintln(stdout, ")")
			fmt.Fprintf(stdout, "    %-22s %6s %6s %6s %9s %9s %9s %9s\n", "command", "req", "resp", "errors", "p50", "p90", "p99", "max")
			for _, c := range st.Commands {
				fmt.Fprintf(stdout, "    %-22s %6d %6d %6d %9s %9s %9s %9s\n", c.Command, c.Requests, c.Responses, c.Errors,
					dur(c.P50, c.Samples), dur(c.P90, c.Samples), dur(c.P99, c.Samples), dur(c.Max, c.Samples))
			}
			for _, e := range st.Errors {
				errs[e.Command+" "+e.Status] += e.Count
			}
			for _, f := range st.Files {
				shares[f.Share] = append(shares[f.Share], f)
			}
		}
		names := make([]string, 0, len(shares))
		for s := range shares {
			names = append(names, s)
		}
		sort.Strings(names)
		for _, share := range names {
			fmt.Fprintf(stdout, "  share %s\n", orDash(share))
			idle := 0
			for _, f := range shares[share] {
				if f.Reads+f.Writes == 0 {
					idle++ // opened for metadata or a directory listing only
					continue
				}
				kind := "file"
				if f.Pipe {
					kind = "pipe"
				}
				name := f.Name
				if name == "" {
					name = "(share root)"
				}
				fmt.Fprintf(stdout, "    %s %s: %d reads (%d B, size %d), %d writes (%d B, size %d)", kind, name,
					f.Reads, f.BytesRead, f.ReadSize, f.Writes, f.BytesWritten, f.WriteSize)
				if f.Reads+f.Writes > 0 {
					fmt.Fprintf(stdout, "; in flight max %d mean %.1f; latency %s; %.0f KiB/s over %s",
						f.MaxInFlight, f.MeanInFlight, f.MeanLatency.Round(10*time.Microsecond), f.Throughput/1024, f.Duration.Round(time.Millisecond))
				}
				if f.Limit != "" {
					fmt.Fprintf(stdout, " [%s]", f.Limit)
				}
				fmt.Fprintln(stdout)
			}
			if idle > 0 {
				fmt.Fprintf(stdout, "    (%d more opens without reads or writes)\n", idle)
			}
		}
		if len(errs) > 0 {
			fmt.Fprintln(stdout, "  errors by status")
			keys := make([]string, 0, len(errs))
			for k := range errs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(stdout, "    %-50s %d\n", k, errs[k])
			}
		}
	}
	for _, f := range rep.Findings {
		if len(f.Kind) > 4 && f.Kind[:4] == "smb." {
			fmt.Fprintf(stdout, "\n%s x%d (frame %d): %s\n", f.Kind, f.Count, f.Example.Frame, f.Example.Message)
		}
	}
	return 0
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dur(d time.Duration, n int) string {
	if n == 0 {
		return "-"
	}
	return d.Round(10 * time.Microsecond).String()
}
