package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/pair"
)

// analysePair compares two captures of the same traffic (doctor -pair) and
// prints what changed between the two capture points, after the report of
// each capture. With -json it writes the pair events as JSON lines.
func analysePair(pathA, pathB string, opts nettrace.Options, json bool, out io.Writer) error {
	rep, err := pair.AnalyzeFiles(pathA, pathB, pair.Options{Layers: opts.Layers})
	if err != nil {
		return err
	}
	if json {
		sink := health.NewJSONSink(out, true, false)
		for _, e := range rep.Events {
			sink.Event(e)
		}
		return sink.Flush()
	}
	printPair(out, rep)
	return nil
}

// printPair prints the BETWEEN THE TWO CAPTURES section: the connections
// seen in both captures, then the pair findings most serious first, in the
// style of the findings list.
func printPair(w io.Writer, rep *pair.Report) {
	fmt.Fprintln(w)
	fmt.Fprintf(w, "BETWEEN THE TWO CAPTURES — a: %s · b: %s\n", rep.A.Name, rep.B.Name)
	if len(rep.Matches) == 0 {
		fmt.Fprintf(w, "  no connection found in both captures (%d TCP connection%s in a, %d in b)", rep.ConnsA, plural(rep.ConnsA), rep.ConnsB)
		if rep.Ambiguous > 0 {
			fmt.Fprintf(w, "; %d could not be told apart", rep.Ambiguous)
		}
		fmt.Fprintln(w)
		return
	}
	for _, m := range rep.Matches {
		nat := ""
		if m.NAT {
			nat = " · through NAT"
		}
		side := ""
		if m.ClientSide != "" {
			side = " · " + m.ClientSide + " is nearer the client"
		}
		fmt.Fprintf(w, "  same connection: %s → %s (a, frame %d) = %s → %s (b, frame %d)%s · matched by %s%s\n",
			m.ClientA, m.ServerA, m.FirstFrameA, m.ClientB, m.ServerB, m.FirstFrameB, nat, m.By, side)
	}
	if rep.Ambiguous > 0 {
		fmt.Fprintf(w, "  %d more connection%s of a could not be told apart in b\n", rep.Ambiguous, plural(rep.Ambiguous))
	}
	if rep.ConnsDropped > 0 || rep.SegmentsDropped > 0 {
		fmt.Fprintf(w, "  compared within limits: %d connections and %d segments not kept\n", rep.ConnsDropped, rep.SegmentsDropped)
	}
	shown := 0
	for sev := health.Error; ; sev-- {
		for _, e := range rep.Events {
			if e.Severity != sev || e.Kind == health.PairMatched {
				continue
			}
			shown++
			printPairEvent(w, e)
		}
		if sev == health.Info {
			break
		}
	}
	if shown == 0 {
		fmt.Fprintln(w, "  nothing changed between the two capture points")
	}
	for _, e := range rep.Events {
		ma, _ := e.Evidence["mss_a"].(int)
		mb, _ := e.Evidence["mss_b"].(int)
		if e.Kind == health.PairMatched && ma != 0 && mb != 0 && ma != mb {
			fmt.Fprintf(w, "  info: the SYN's MSS is %d in a and %d in b (frame %d): clamped between the points\n", ma, mb, e.Frame)
		}
	}
}

func printPairEvent(w io.Writer, e health.Event) {
	label, _ := e.Evidence["capture"].(string)
	other := "a"
	if label == "a" {
		other = "b"
	}
	also := ""
	if f, ok := e.Evidence["frame_"+other].(int64); ok && f > 0 {
		also = fmt.Sprintf("(%s frame %d)", other, f)
	}
	fmt.Fprintf(w, "  %-8s %-22s %s frame %-6d %-14s %s\n", strings.ToUpper(e.Severity.String()), e.Kind, label, e.Frame, also, e.Flow)
	fmt.Fprintf(w, "           %s\n", e.Message)
}
