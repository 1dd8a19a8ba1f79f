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
	"maps"
	"os"
	"slices"
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
	rep, conns, err := analyze(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "smbstat:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d frames, %d SMB connections\n", rep.Capture.Name, rep.Capture.Frames, len(conns))
	servers, byServer := groupByServer(conns)
	for _, srv := range servers {
		fmt.Fprintf(stdout, "\nserver %s\n", srv)
		printServer(stdout, byServer[srv])
	}
	printFindings(stdout, rep)
	return 0
}

// smbConn is one SMB connection of the capture with its stream context.
type smbConn struct {
	conn *smb.Conn
	ctx  *tcpstate.StreamContext
}

// analyze runs the analyzer over the capture at path with the SMB decoder
// on ports 445 and 139, and returns the report and the connections in the
// order they started.
func analyze(path string) (*nettrace.Report, []smbConn, error) {
	var conns []smbConn
	dec := nettrace.Decoder{
		Name:   nettrace.ProtoSMB,
		Ports:  []uint16{445, 139},
		Detect: smb.Detect,
		New: func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			c := smb.NewConn(ctx, smb.DefaultConfig())
			conns = append(conns, smbConn{conn: c, ctx: ctx})
			return c
		},
	}
	rep, err := nettrace.AnalyzeFile(path, nettrace.Options{Decoders: []nettrace.Decoder{dec}, MaxEventsKept: -1})
	return rep, conns, err
}

// groupByServer returns the server addresses, sorted, and each server's
// connections in the order they started.
func groupByServer(conns []smbConn) ([]string, map[string][]smbConn) {
	byServer := map[string][]smbConn{}
	var servers []string
	for _, c := range conns {
		s := c.ctx.Server.String()
		if _, ok := byServer[s]; !ok {
			servers = append(servers, s)
		}
		byServer[s] = append(byServer[s], c)
	}
	sort.Strings(servers)
	return servers, byServer
}

// printServer prints a server's connections, then its shares and its
// errors by status.
func printServer(w io.Writer, conns []smbConn) {
	errs := map[string]int{}
	shares := map[string][]smb.FileStats{}
	for _, c := range conns {
		st := c.conn.Stats()
		printConn(w, c.ctx, st)
		for _, e := range st.Errors {
			errs[e.Command+" "+e.Status] += e.Count
		}
		for _, f := range st.Files {
			shares[f.Share] = append(shares[f.Share], f)
		}
	}
	for _, share := range slices.Sorted(maps.Keys(shares)) {
		printShare(w, share, shares[share])
	}
	if len(errs) > 0 {
		fmt.Fprintln(w, "  errors by status")
		for _, k := range slices.Sorted(maps.Keys(errs)) {
			fmt.Fprintf(w, "    %-50s %d\n", k, errs[k])
		}
	}
}

// printConn prints a connection's header line and its command table.
func printConn(w io.Writer, ctx *tcpstate.StreamContext, st smb.Stats) {
	fmt.Fprintf(w, "  connection %s (SMB%d, %s", ctx.Flow, max(st.Version, 1), orDash(st.Dialect))
	if st.User != "" {
		fmt.Fprintf(w, ", user %s\\%s", st.Domain, st.User)
	}
	if st.Encrypted > 0 {
		fmt.Fprintf(w, ", %d encrypted messages", st.Encrypted)
	}
	fmt.Fprintln(w, ")")
	fmt.Fprintf(w, "    %-22s %6s %6s %6s %9s %9s %9s %9s\n", "command", "req", "resp", "errors", "p50", "p90", "p99", "max")
	for _, c := range st.Commands {
		fmt.Fprintf(w, "    %-22s %6d %6d %6d %9s %9s %9s %9s\n", c.Command, c.Requests, c.Responses, c.Errors,
			dur(c.P50, c.Samples), dur(c.P90, c.Samples), dur(c.P99, c.Samples), dur(c.Max, c.Samples))
	}
}

// printShare prints the files of a share that were read or written and
// counts the others.
func printShare(w io.Writer, share string, files []smb.FileStats) {
	fmt.Fprintf(w, "  share %s\n", orDash(share))
	idle := 0
	for _, f := range files {
		if f.Reads+f.Writes == 0 {
			idle++ // opened for metadata or a directory listing only
			continue
		}
		printFile(w, f)
	}
	if idle > 0 {
		fmt.Fprintf(w, "    (%d more opens without reads or writes)\n", idle)
	}
}

// printFile prints one file's reads, writes, operations in flight, latency
// and throughput, and what limited the transfer.
func printFile(w io.Writer, f smb.FileStats) {
	kind := "file"
	if f.Pipe {
		kind = "pipe"
	}
	name := f.Name
	if name == "" {
		name = "(share root)"
	}
	fmt.Fprintf(w, "    %s %s: %d reads (%d B, size %d), %d writes (%d B, size %d)", kind, name,
		f.Reads, f.BytesRead, f.ReadSize, f.Writes, f.BytesWritten, f.WriteSize)
	if f.Reads+f.Writes > 0 {
		fmt.Fprintf(w, "; in flight max %d mean %.1f; latency %s; %.0f KiB/s over %s",
			f.MaxInFlight, f.MeanInFlight, f.MeanLatency.Round(10*time.Microsecond), f.Throughput/1024, f.Duration.Round(time.Millisecond))
	}
	if f.Limit != "" {
		fmt.Fprintf(w, " [%s]", f.Limit)
	}
	fmt.Fprintln(w)
}

// printFindings prints the smb.* findings with an example each.
func printFindings(w io.Writer, rep *nettrace.Report) {
	for _, f := range rep.Findings {
		if len(f.Kind) > 4 && f.Kind[:4] == "smb." {
			fmt.Fprintf(w, "\n%s x%d (frame %d): %s\n", f.Kind, f.Count, f.Example.Frame, f.Example.Message)
		}
	}
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
