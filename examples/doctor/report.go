package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/health"
)

// maxConnRows bounds the connection table; connections with findings come
// first.
const maxConnRows = 40

func printReport(w io.Writer, rep *nettrace.Report, all bool, t *cli.Tool) {
	printHeader(w, rep)
	printSelection(w, rep, t)
	printFindings(w, rep.Findings)
	if all {
		printEvents(w, rep)
	}
	printConnections(w, rep.Flows, rep.FlowsDropped)
}

func printHeader(w io.Writer, rep *nettrace.Report) {
	c := rep.Capture
	fmt.Fprintf(w, "nettrace doctor · %s\n", c.Name)
	fmt.Fprintf(w, "  %d frames · %s captured · %s", c.Frames, byteSize(c.Bytes), round(c.Duration()))
	if !c.First.IsZero() {
		fmt.Fprintf(w, " (%s → %s)", c.First.UTC().Format("2006-01-02 15:04:05.000"), c.Last.UTC().Format("15:04:05.000 MST"))
	}
	fmt.Fprintf(w, " · %d TCP connection%s%s\n", len(rep.Flows)+rep.FlowsDropped, plural(len(rep.Flows)+rep.FlowsDropped), protocolList(rep.Protocols))
	if c.Truncated != "" {
		fmt.Fprintf(w, "  capture damaged: %s (everything before it was analysed)\n", c.Truncated)
	}
	if s := rep.Profile.Summary; s != "" {
		fmt.Fprintf(w, "  %s\n", s)
	}
	if s := rep.Decryption.String(); s != "" {
		fmt.Fprintf(w, "  %s\n", s)
	}
}

// printSelection says what -filter, -from, -to and -flow left out.
func printSelection(w io.Writer, rep *nettrace.Report, t *cli.Tool) {
	if !t.Selecting() {
		return
	}
	var parts []string
	if f := t.Flags.Lookup("filter").Value.String(); f != "" {
		parts = append(parts, fmt.Sprintf("-filter %q", f))
	}
	for _, name := range []string{"from", "to", "flow"} {
		if v := t.Flags.Lookup(name).Value.String(); v != "" {
			parts = append(parts, fmt.Sprintf("-%s %s", name, v))
		}
	}
	sk := rep.Skipped
	fmt.Fprintf(w, "  selected by %s: %d of %d frames analysed", strings.Join(parts, " "), rep.Capture.Frames-sk.Frames-sk.Packets, rep.Capture.Frames)
	if sk.Streams > 0 {
		fmt.Fprintf(w, "; %d other TCP connection%s tracked, not analysed", sk.Streams, plural(sk.Streams))
	}
	fmt.Fprintln(w)
}

func protocolList(p map[string]int) string {
	if len(p) == 0 {
		return ""
	}
	names := make([]string, 0, len(p))
	for n := range p {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, p[n])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// printFindings lists errors, warnings and notices in full — the example
// event's message explains each — and folds informational kinds into one
// line, so that the report opens with what a support engineer reads first.
func printFindings(w io.Writer, findings []nettrace.Finding) {
	fmt.Fprintln(w)
	var info []string
	shown := 0
	for _, f := range findings {
		if f.Severity == health.Info {
			info = append(info, fmt.Sprintf("%s ×%d", f.Kind, f.Count))
			continue
		}
		if shown == 0 {
			fmt.Fprintln(w, "FINDINGS — most serious first")
		}
		shown++
		printFinding(w, f)
	}
	if shown == 0 {
		fmt.Fprintln(w, "FINDINGS: nothing wrong found")
	}
	if len(info) > 0 {
		fmt.Fprintf(w, "  info: %s\n", strings.Join(info, ", "))
	}
}

func printFinding(w io.Writer, f nettrace.Finding) {
	e := f.Example
	fmt.Fprintf(w, "  %-8s %-30s %4d×  frame %-6d %s\n", strings.ToUpper(f.Severity.String()), f.Kind, f.Count, e.Frame, e.Flow)
	fmt.Fprintf(w, "           %s\n", e.Message)
	if more := otherFrames(f.Frames, e.Frame); more != "" {
		fmt.Fprintf(w, "           also at frames %s\n", more)
	}
	if f.FlowCount > 1 {
		fmt.Fprintf(w, "           on %d connections\n", f.FlowCount)
	}
	if f.Folded > 0 {
		fmt.Fprintf(w, "           %d of the %d not listed one by one (repeated on the same connection)\n", f.Folded, f.Count)
	}
	if len(f.Variants) > 0 {
		fmt.Fprintf(w, "           by kind: %s\n", variants(f.Variants))
	}
}

// variants lists a finding's split count: "fatal handshake_failure ×3
// (warning), warning close_notify ×12 (info)".
func variants(vs []nettrace.Variant) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s ×%d (%s)", v.Label, v.Count, v.Severity)
	}
	return strings.Join(parts, ", ")
}

// otherFrames lists the finding's example frames (distinct, in order)
// other than the one shown.
func otherFrames(frames []int64, skip int64) string {
	var parts []string
	for _, fr := range frames {
		if fr != skip {
			parts = append(parts, fmt.Sprint(fr))
		}
	}
	return strings.Join(parts, ", ")
}

func printEvents(w io.Writer, rep *nettrace.Report) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "EVENTS — in the order found")
	ts := health.NewTextSink(w)
	for _, e := range rep.Events {
		ts.Event(e)
	}
	ts.Flush()
	if rep.EventsDropped > 0 {
		fmt.Fprintf(w, "  … and %d more (use -json for all)\n", rep.EventsDropped)
	}
}

func printConnections(w io.Writer, flows []nettrace.Flow, dropped int) {
	if len(flows) == 0 {
		return
	}
	rows := append([]nettrace.Flow(nil), flows...)
	sort.SliceStable(rows, func(i, j int) bool { return problems(rows[i]) > problems(rows[j]) })
	fmt.Fprintln(w)
	fmt.Fprintln(w, "CONNECTIONS — those with findings first (payload: TCP payload bytes, each once, retransmissions excluded; not bytes on the wire)")
	sw := 22
	for i, f := range rows {
		if i < maxConnRows && len(serverLabel(f)) > sw {
			sw = len(serverLabel(f))
		}
	}
	fmt.Fprintf(w, "  %-4s %-22s %-*s %-7s %-13s %-11s %-15s %-8s %-6s %s\n",
		"#", "client", sw, "server", "proto", "frames", "pkts →/←", "payload →/←", "rtt ms", "end", "findings")
	for i, f := range rows {
		if i == maxConnRows {
			fmt.Fprintf(w, "  … %d more connections (use -json for all)\n", len(rows)-maxConnRows+dropped)
			return
		}
		fmt.Fprintf(w, "  %-4d %-22s %-*s %-7s %-13s %-11s %-15s %-8s %-6s %s\n",
			f.ID, f.Client, sw, serverLabel(f), orDash(f.Protocol),
			fmt.Sprintf("%d–%d", f.FirstFrame, f.LastFrame),
			fmt.Sprintf("%d/%d", f.Packets[0], f.Packets[1]),
			byteSize(f.Bytes[0])+"/"+byteSize(f.Bytes[1]),
			rtt(f.HandshakeRTT), endOf(f.CloseReason), findingsOf(f))
	}
	if dropped > 0 {
		fmt.Fprintf(w, "  … %d more connections not kept (Options.MaxFlowsKept)\n", dropped)
	}
}

// problems counts a connection's events above info, for ordering.
func problems(f nettrace.Flow) int {
	n := 0
	for k, c := range f.Counts {
		if health.DefaultSeverity(k) > health.Info {
			n += c
		}
	}
	return n
}

func findingsOf(f nettrace.Flow) string {
	type kc struct {
		k health.Kind
		n int
	}
	var list []kc
	for k, n := range f.Counts {
		if health.DefaultSeverity(k) > health.Info {
			list = append(list, kc{k, n})
		}
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n > list[j].n
		}
		return list[i].k < list[j].k
	})
	parts := make([]string, 0, len(list))
	for _, x := range list {
		parts = append(parts, fmt.Sprintf("%s×%d", strings.TrimPrefix(string(x.k), "tcp."), x.n))
	}
	return strings.Join(parts, " ")
}

// serverLabel shows the server, with the DNS name it was resolved from
// when the capture holds that lookup (casebook C16).
func serverLabel(f nettrace.Flow) string {
	if f.ServerName != "" {
		return f.Server.String() + " (" + f.ServerName + ")"
	}
	return f.Server.String()
}

// endOf names how a connection ended, shortly: "open" for one still open
// when the capture ended.
func endOf(reason string) string {
	if reason == "end_of_capture" {
		return "open"
	}
	return orDash(reason)
}

func rtt(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func byteSize(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%.0f MB", float64(n)/(1<<20))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Minute:
		return d.Round(time.Second)
	case d > time.Second:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
