package main

import (
	"fmt"
	"io"

	"github.com/nettrace/nettrace/diagnose"
)

// maxProfileRows bounds the services printed by -profile (busiest first).
const maxProfileRows = 20

// printProfile prints the workload profile (casebook C21): per service, its
// connections and peak concurrency, requests and the peak request rate, the
// response size distribution and the throughput per direction.
func printProfile(w io.Writer, p *diagnose.Workload) {
	fmt.Fprintln(w)
	if p == nil || len(p.Services) == 0 {
		fmt.Fprintln(w, "Workload profile: no services seen")
		return
	}
	fmt.Fprintf(w, "Workload profile · %d service%s (busiest first)\n", len(p.Services), plural(len(p.Services)))
	for i := range p.Services {
		if i == maxProfileRows {
			fmt.Fprintf(w, "  … %d more services\n", len(p.Services)-maxProfileRows)
			break
		}
		printService(w, &p.Services[i])
	}
	if len(p.Capped) > 0 {
		fmt.Fprintf(w, "  (tables capped: %v — the profile covers the first keys seen)\n", p.Capped)
	}
}

func printService(w io.Writer, s *diagnose.ServiceProfile) {
	title := fmt.Sprintf("%s/%s", s.Server, s.Proto)
	if s.App != "" {
		title += " (" + s.App + ")"
	}
	if s.Name != "" {
		title += " " + s.Name
	}
	fmt.Fprintf(w, "  %s · %s active\n", title, round(s.Duration))
	if s.Proto == "tcp" {
		line := fmt.Sprintf("    %d connection%s from %d client%s", s.Connections, plural(int(s.Connections)), s.Clients, plural(s.Clients))
		if s.PeakConcurrent > 0 {
			line += fmt.Sprintf(", peak %d concurrent at %s", s.PeakConcurrent, s.PeakConcurrentAt.UTC().Format("15:04:05.000"))
			if s.ConcurrencyApprox {
				line += " (at least)"
			}
		}
		if s.HandshakeRTTMean > 0 {
			line += fmt.Sprintf(", handshake RTT %s", round(s.HandshakeRTTMean))
		}
		fmt.Fprintln(w, line)
	} else {
		fmt.Fprintf(w, "    %d client%s\n", s.Clients, plural(s.Clients))
	}
	if s.Requests > 0 {
		what := "requests"
		if s.Proto == "udp" {
			what = "datagrams to the service"
		}
		rep := ""
		if s.DistinctRequests > 0 {
			rep = fmt.Sprintf(" (%d distinct, %d%% repeats)", s.DistinctRequests, s.RepeatPct)
		}
		fmt.Fprintf(w, "    %d %s%s, peak %d/s, mean %.1f/s\n", s.Requests, what, rep, s.PeakRequestsPerS, s.MeanRequestsPerS)
	}
	if d := s.Responses; d.Count > 0 {
		fmt.Fprintf(w, "    %s sizes: %d, median ≤%s, p90 ≤%s, p99 ≤%s, max %s (mean %s)\n",
			d.Unit, d.Count, byteSize(d.P50), byteSize(d.P90), byteSize(d.P99), byteSize(d.Max), byteSize(d.Mean))
	}
	if d := s.ConnectionBytes; d.Count > 0 && s.Responses.Count == 0 {
		fmt.Fprintf(w, "    server bytes per connection: median ≤%s, p90 ≤%s, max %s\n", byteSize(d.P50), byteSize(d.P90), byteSize(d.Max))
	}
	fmt.Fprintf(w, "    client→server %s, %.2f Mbit/s mean, %.2f peak · server→client %s, %.2f Mbit/s mean, %.2f peak\n",
		byteSize(s.Bytes[0]), s.MeanMbps[0], s.PeakMbps[0], byteSize(s.Bytes[1]), s.MeanMbps[1], s.PeakMbps[1])
	if s.RetransBytes[0]+s.RetransBytes[1] > 0 {
		fmt.Fprintf(w, "    retransmitted: %s client→server, %s server→client\n", byteSize(s.RetransBytes[0]), byteSize(s.RetransBytes[1]))
	}
}
