// Command tdsstat prints SQL Server (TDS) statistics of a capture, built
// only on the public API: per server and database, the logins (succeeded,
// failed with their error numbers), the queries grouped by text with their
// count and server-time percentiles (request's last byte to the response's
// first byte), rows, errors and attentions (client cancels).
//
// Usage:
//
//	tdsstat [-json] [selection flags] capture
//
// -json prints the same as one JSON document (times in milliseconds).
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
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tds"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// query aggregates the requests with the same text on one server/database.
type query struct {
	text       string
	kind       tds.PacketType
	count      int
	answered   int
	rows       int64
	errors     int
	attentions int
	times      []time.Duration
}

type dbStats struct {
	loginsOK, loginsFailed int
	loginErrors            map[string]int
	queries                map[string]*query
	errors, attentions     int
}

var examples = []string{
	"tdsstat capture.pcapng",
	"tdsstat -json capture.pcap | jq '.servers[].databases[].queries[0]'",
	"tcpdump -r big.pcap -w - 'tcp port 1433' | tdsstat -",
}

func isTDSKind(k health.Kind) bool { return strings.HasPrefix(string(k), "tds.") }

func run(args []string, stdout, stderr io.Writer) int {
	t := cli.New("tdsstat", "[flags] capture",
		"Prints SQL Server (TDS) statistics of a capture: per server and database, the logins (succeeded, failed "+
			"with their error numbers), the queries grouped by text with their count and server-time percentiles "+
			"(request's last byte to the response's first byte), rows, errors and attentions (client cancels).",
		examples, stdout, stderr)
	t.SetJSONUsage("write the statistics as one JSON document (times in milliseconds)")
	in, status, ok := t.ParseOne(args)
	if !ok {
		return status
	}
	defer in.Close()
	res, stats, err := analyze(t, in)
	if err != nil {
		return t.Fail(err)
	}
	rep := res.Report
	servers := serverStats{}
	for i := range stats {
		servers.add(&stats[i])
	}
	if t.JSON {
		if err := cli.WriteJSON(stdout, jsonReport(rep, len(stats), servers)); err != nil {
			return t.Fail(err)
		}
		return res.Check()
	}
	fmt.Fprintf(stdout, "%s: %d frames, %d TDS connections\n", rep.Capture.Name, rep.Capture.Frames, len(stats))
	for _, server := range slices.Sorted(maps.Keys(servers)) {
		fmt.Fprintf(stdout, "\nserver %s\n", server)
		for _, db := range slices.Sorted(maps.Keys(servers[server])) {
			printDatabase(stdout, db, servers[server][db])
		}
	}
	for _, f := range rep.Findings {
		if isTDSKind(f.Kind) {
			fmt.Fprintf(stdout, "\n%s x%d (frame %d): %s\n", f.Kind, f.Count, f.Example.Frame, f.Example.Message)
		}
	}
	return res.Check()
}

// analyze runs the analyzer over the capture with the TDS decoder on ports
// 1433 and 14330 (and wherever the first bytes are TDS), and returns the
// run and the statistics of each connection, in the order they closed.
func analyze(t *cli.Tool, in *cli.Input) (*cli.Run, []tds.Stats, error) {
	var stats []tds.Stats
	cfg := tds.DefaultConfig()
	cfg.OnClose = func(_ *tcpstate.StreamContext, s *tds.Stats) { stats = append(stats, *s) }
	dec := nettrace.Decoder{
		Name:   nettrace.ProtoTDS,
		Ports:  []uint16{1433, 14330},
		Detect: tds.Detect,
		New:    func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler { return tds.NewConn(ctx, cfg) },
	}
	res, err := t.Analyze(in, nettrace.Options{Decoders: []nettrace.Decoder{dec}, MaxEventsKept: -1})
	return res, stats, err
}

// serverStats maps server → database → statistics.
type serverStats map[string]map[string]*dbStats

// db returns the statistics of database db on server, making them.
func (m serverStats) db(server, db string) *dbStats {
	if m[server] == nil {
		m[server] = map[string]*dbStats{}
	}
	d := m[server][db]
	if d == nil {
		d = &dbStats{loginErrors: map[string]int{}, queries: map[string]*query{}}
		m[server][db] = d
	}
	return d
}

// add counts one connection: its logins under the database it logged in
// to, its requests under the database each ran in. PRELOGIN, LOGIN7, SSPI
// and federated authentication messages are not queries.
func (m serverStats) add(s *tds.Stats) {
	server := s.Server.String()
	login := m.db(server, orDash(s.Database))
	login.loginsOK += s.LoginsOK
	login.loginsFailed += s.LoginsFailed
	for _, e := range s.LoginErrors {
		login.loginErrors[fmt.Sprintf("%d state %d (user %s)", e.Number, e.State, orDash(s.User))]++
	}
	for _, r := range s.Requests {
		switch r.Type {
		case tds.TypePrelogin, tds.TypeLogin7, tds.TypeSSPI, tds.TypeFedAuthToken:
			continue
		}
		m.db(server, orDash(r.Database)).addRequest(&r)
	}
}

// addRequest counts a request under the query with its type and text.
func (d *dbStats) addRequest(r *tds.Request) {
	key := r.Type.String() + "\x00" + r.Text
	q := d.queries[key]
	if q == nil {
		q = &query{text: r.Text, kind: r.Type}
		d.queries[key] = q
	}
	q.count++
	q.rows += r.Rows
	q.errors += len(r.Errors)
	d.errors += len(r.Errors)
	if r.Attention {
		q.attentions++
		d.attentions++
	}
	if r.Answered {
		q.answered++
		q.times = append(q.times, r.ServerTime)
	}
}

// printDatabase prints a database's logins, failed logins and query table.
func printDatabase(w io.Writer, db string, d *dbStats) {
	fmt.Fprintf(w, "  database %s: logins %d ok, %d failed; %d errors; %d attentions\n",
		db, d.loginsOK, d.loginsFailed, d.errors, d.attentions)
	for _, e := range slices.Sorted(maps.Keys(d.loginErrors)) {
		fmt.Fprintf(w, "    login failed: error %s x%d\n", e, d.loginErrors[e])
	}
	qs := d.sortedQueries()
	if len(qs) > 0 {
		fmt.Fprintf(w, "    %5s %9s %9s %9s %7s %6s  %s\n", "count", "p50", "p90", "max", "rows", "errors", "query")
	}
	for _, q := range qs {
		sort.Slice(q.times, func(i, j int) bool { return q.times[i] < q.times[j] })
		fmt.Fprintf(w, "    %5d %9s %9s %9s %7d %6d  %s %s\n", q.count, pct(q.times, 50), pct(q.times, 90), pct(q.times, 100),
			q.rows, q.errors, q.kind, oneLine(q.text, 100))
	}
}

// sortedQueries returns the queries, most frequent first, then by text.
func (d *dbStats) sortedQueries() []*query {
	qs := make([]*query, 0, len(d.queries))
	for _, q := range d.queries {
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool {
		if qs[i].count != qs[j].count {
			return qs[i].count > qs[j].count
		}
		return qs[i].text < qs[j].text
	})
	return qs
}

// pct returns the p-th percentile of sorted durations ("-" when empty).
func pct(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "-"
	}
	i := (len(d)*p+99)/100 - 1
	i = max(0, min(i, len(d)-1))
	return d[i].Round(10 * time.Microsecond).String()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// The JSON document of tdsstat -json.
type (
	reportJSON struct {
		Capture     cli.CaptureJSON   `json:"capture"`
		Connections int               `json:"tds_connections"`
		Servers     []serverJSON      `json:"servers"`
		Findings    []cli.FindingJSON `json:"findings"`
	}
	serverJSON struct {
		Server    string         `json:"server"`
		Databases []databaseJSON `json:"databases"`
	}
	databaseJSON struct {
		Database     string         `json:"database"`
		LoginsOK     int            `json:"logins_ok"`
		LoginsFailed int            `json:"logins_failed"`
		LoginErrors  map[string]int `json:"login_errors"` // "number state N (user U)" → count
		Errors       int            `json:"errors"`
		Attentions   int            `json:"attentions"`
		Queries      []queryJSON    `json:"queries"` // most frequent first
	}
	queryJSON struct {
		Type       string  `json:"type"`
		Text       string  `json:"text"`
		Count      int     `json:"count"`
		Answered   int     `json:"answered"`
		Rows       int64   `json:"rows"`
		Errors     int     `json:"errors"`
		Attentions int     `json:"attentions"`
		P50ms      float64 `json:"server_p50_ms"`
		P90ms      float64 `json:"server_p90_ms"`
		MaxMs      float64 `json:"server_max_ms"`
	}
)

// jsonReport builds tdsstat's JSON document.
func jsonReport(rep *nettrace.Report, conns int, servers serverStats) reportJSON {
	out := reportJSON{Capture: cli.Capture(rep), Connections: conns, Servers: []serverJSON{}, Findings: cli.Findings(rep, isTDSKind)}
	for _, server := range slices.Sorted(maps.Keys(servers)) {
		sj := serverJSON{Server: server, Databases: []databaseJSON{}}
		for _, db := range slices.Sorted(maps.Keys(servers[server])) {
			d := servers[server][db]
			dj := databaseJSON{Database: db, LoginsOK: d.loginsOK, LoginsFailed: d.loginsFailed, LoginErrors: d.loginErrors,
				Errors: d.errors, Attentions: d.attentions, Queries: []queryJSON{}}
			for _, q := range d.sortedQueries() {
				sort.Slice(q.times, func(i, j int) bool { return q.times[i] < q.times[j] })
				dj.Queries = append(dj.Queries, queryJSON{Type: q.kind.String(), Text: q.text, Count: q.count, Answered: q.answered,
					Rows: q.rows, Errors: q.errors, Attentions: q.attentions,
					P50ms: pctMs(q.times, 50), P90ms: pctMs(q.times, 90), MaxMs: pctMs(q.times, 100)})
			}
			sj.Databases = append(sj.Databases, dj)
		}
		out.Servers = append(out.Servers, sj)
	}
	return out
}

// pctMs returns the p-th percentile of sorted durations in milliseconds
// (0 when empty).
func pctMs(d []time.Duration, p int) float64 {
	if len(d) == 0 {
		return 0
	}
	i := max(0, min((len(d)*p+99)/100-1, len(d)-1))
	return cli.Millis(d[i])
}
