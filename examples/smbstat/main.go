// Command smbstat prints SMB statistics of a capture, built only on the
// public API: per server, the connections (dialect, user, commands with
// response-time percentiles, errors by status), and per share and file the
// operations, sizes, operations in flight, latency and throughput, with the
// transfer classified as application-limited or pipelined.
//
// Usage:
//
//	smbstat [-json] [selection flags] capture
//
// -json prints the same as one JSON document (durations in milliseconds).
// -filter, -flow, -from and -to select what is analysed; a capture is a
// pcap or pcapng file, optionally gzip-compressed, or "-" for standard
// input.
//
// Exit status: 0 analysed; 1 analysed, but the capture was damaged (said on
// standard error with where it stopped) or the analysis shed or gave
// something up; 2 usage error or an input that is not a capture.
package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tcpstate"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

var examples = []string{
	"smbstat capture.pcapng",
	"smbstat -filter 'host 10.200.3.20' -json capture.pcap | jq '.servers[].shares'",
	"tcpdump -r big.pcap -w - 'tcp port 445' | smbstat -",
}

func run(args []string, stdout, stderr io.Writer) int {
	t := cli.New("smbstat", "[flags] capture",
		"Prints SMB statistics of a capture: per server, the connections (dialect, user, commands with "+
			"response-time percentiles, errors by status), and per share and file the operations, sizes, "+
			"operations in flight, latency and throughput, with the transfer classified as application-limited "+
			"or pipelined.", examples, stdout, stderr)
	t.SetJSONUsage("write the statistics as one JSON document (durations in milliseconds)")
	in, status, ok := t.ParseOne(args)
	if !ok {
		return status
	}
	defer in.Close()
	res, conns, err := analyze(t, in)
	if err != nil {
		return t.Fail(err)
	}
	rep := res.Report
	servers, byServer := groupByServer(conns)
	if t.JSON {
		if err := cli.WriteJSON(stdout, jsonReport(rep, servers, byServer)); err != nil {
			return t.Fail(err)
		}
		return res.Check()
	}
	fmt.Fprintf(stdout, "%s: %d frames, %d SMB connections\n", rep.Capture.Name, rep.Capture.Frames, len(conns))
	for _, srv := range servers {
		fmt.Fprintf(stdout, "\nserver %s\n", srv)
		printServer(stdout, byServer[srv])
	}
	printFindings(stdout, rep)
	return res.Check()
}

// smbConn is one SMB connection of the capture with its stream context.
type smbConn struct {
	conn *smb.Conn
	ctx  *tcpstate.StreamContext
}

// analyze runs the analyzer over the capture with the SMB decoder on ports
// 445 and 139, and returns the run and the connections in the order they
// started.
func analyze(t *cli.Tool, in *cli.Input) (*cli.Run, []smbConn, error) {
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
	res, err := t.Analyze(in, nettrace.Options{Decoders: []nettrace.Decoder{dec}, MaxEventsKept: -1})
	return res, conns, err
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
		if isSMBKind(f.Kind) {
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

func isSMBKind(k health.Kind) bool { return strings.HasPrefix(string(k), "smb.") }

// The JSON document of smbstat -json.
type (
	reportJSON struct {
		Capture  cli.CaptureJSON   `json:"capture"`
		Servers  []serverJSON      `json:"servers"`
		Findings []cli.FindingJSON `json:"findings"`
	}
	serverJSON struct {
		Server      string      `json:"server"`
		Connections []connJSON  `json:"connections"`
		Shares      []shareJSON `json:"shares"`
		Errors      []errorJSON `json:"errors"`
	}
	errorJSON struct {
		Command string `json:"command"`
		Status  string `json:"status"`
		Count   int    `json:"count"`
	}
	connJSON struct {
		Flow      string        `json:"flow"`
		Version   int           `json:"version"`
		Dialect   string        `json:"dialect"`
		User      string        `json:"user,omitempty"`
		Domain    string        `json:"domain,omitempty"`
		Signed    bool          `json:"signed"`
		Encrypted int64         `json:"encrypted_messages"`
		Commands  []commandJSON `json:"commands"`
	}
	commandJSON struct {
		Command   string  `json:"command"`
		Requests  int     `json:"requests"`
		Responses int     `json:"responses"`
		Errors    int     `json:"errors"`
		Samples   int     `json:"samples"`
		P50ms     float64 `json:"p50_ms"`
		P90ms     float64 `json:"p90_ms"`
		P99ms     float64 `json:"p99_ms"`
		MaxMs     float64 `json:"max_ms"`
	}
	shareJSON struct {
		Share string     `json:"share"`
		Files []fileJSON `json:"files"`
		// IdleOpens counts opens without reads or writes (metadata,
		// directory listings).
		IdleOpens int `json:"idle_opens"`
	}
	fileJSON struct {
		Name          string  `json:"name"`
		Pipe          bool    `json:"pipe"`
		OpenFrame     int64   `json:"open_frame"`
		CloseFrame    int64   `json:"close_frame,omitempty"`
		Reads         int     `json:"reads"`
		Writes        int     `json:"writes"`
		BytesRead     uint64  `json:"bytes_read"`
		BytesWritten  uint64  `json:"bytes_written"`
		ReadSize      uint32  `json:"read_size"`
		WriteSize     uint32  `json:"write_size"`
		Errors        int     `json:"errors"`
		MaxInFlight   int     `json:"max_in_flight"`
		MeanInFlight  float64 `json:"mean_in_flight"`
		MeanLatencyMs float64 `json:"mean_latency_ms"`
		DurationMs    float64 `json:"duration_ms"`
		Throughput    float64 `json:"throughput_bytes_per_s"`
		Limit         string  `json:"limit,omitempty"`
	}
)

// jsonReport builds smbstat's JSON document.
func jsonReport(rep *nettrace.Report, servers []string, byServer map[string][]smbConn) reportJSON {
	out := reportJSON{Capture: cli.Capture(rep), Servers: []serverJSON{}, Findings: cli.Findings(rep, isSMBKind)}
	for _, srv := range servers {
		sj := serverJSON{Server: srv, Connections: []connJSON{}, Shares: []shareJSON{}, Errors: []errorJSON{}}
		errs := map[[2]string]int{}
		shares := map[string][]smb.FileStats{}
		for _, c := range byServer[srv] {
			st := c.conn.Stats()
			cj := connJSON{Flow: c.ctx.Flow, Version: max(st.Version, 1), Dialect: st.Dialect, User: st.User, Domain: st.Domain,
				Signed: st.Signed, Encrypted: st.Encrypted, Commands: []commandJSON{}}
			for _, cmd := range st.Commands {
				cj.Commands = append(cj.Commands, commandJSON{Command: cmd.Command, Requests: cmd.Requests, Responses: cmd.Responses,
					Errors: cmd.Errors, Samples: cmd.Samples, P50ms: cli.Millis(cmd.P50), P90ms: cli.Millis(cmd.P90),
					P99ms: cli.Millis(cmd.P99), MaxMs: cli.Millis(cmd.Max)})
			}
			sj.Connections = append(sj.Connections, cj)
			for _, e := range st.Errors {
				errs[[2]string{e.Command, e.Status}] += e.Count
			}
			for _, f := range st.Files {
				shares[f.Share] = append(shares[f.Share], f)
			}
		}
		for _, share := range slices.Sorted(maps.Keys(shares)) {
			shj := shareJSON{Share: share, Files: []fileJSON{}}
			for _, f := range shares[share] {
				if f.Reads+f.Writes == 0 {
					shj.IdleOpens++
					continue
				}
				shj.Files = append(shj.Files, fileJSON{Name: f.Name, Pipe: f.Pipe, OpenFrame: f.OpenFrame, CloseFrame: f.CloseFrame,
					Reads: f.Reads, Writes: f.Writes, BytesRead: f.BytesRead, BytesWritten: f.BytesWritten,
					ReadSize: f.ReadSize, WriteSize: f.WriteSize, Errors: f.Errors, MaxInFlight: f.MaxInFlight,
					MeanInFlight: f.MeanInFlight, MeanLatencyMs: cli.Millis(f.MeanLatency), DurationMs: cli.Millis(f.Duration),
					Throughput: math.Round(f.Throughput), Limit: f.Limit})
			}
			sj.Shares = append(sj.Shares, shj)
		}
		keys := slices.Collect(maps.Keys(errs))
		sort.Slice(keys, func(i, j int) bool {
			return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
		})
		for _, k := range keys {
			sj.Errors = append(sj.Errors, errorJSON{Command: k[0], Status: k[1], Count: errs[k]})
		}
		out.Servers = append(out.Servers, sj)
	}
	return out
}
