package main

import (
	"fmt"
	"io"
	"time"

	"github.com/nettrace/nettrace/health"
)

// maxProfileRows bounds the services printed by -profile (busiest first).
const maxProfileRows = 20

// printProfile prints the workload profile (casebook C21): per service, its
// connections and peak concurrency, requests and the peak request rate, the
// response size distribution and the throughput per direction.
func printProfile(w io.Writer, p *health.Workload) {
	fmt.Fprintln(w)
	if p == nil || len(p.Services) == 0 {
		fmt.Fprintln(w, "Workload profile: no services seen")
		return
	}
	fmt.Fprintf(w, "Workload profile · %d service%s (busiest first)\n", len(p.Services), profPlural(len(p.Services)))
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

func printService(w io.Writer, s *health.ServiceProfile) {
	title := fmt.Sprintf("%s/%s", s.Server, s.Proto)
	if s.App != "" {
		title += " (" + s.App + ")"
	}
	if s.Name != "" {
		title += " " + s.Name
	}
	fmt.Fprintf(w, "  %s · %s active\n", title, profDuration(s.Duration))
	if s.Proto == "tcp" {
		line := fmt.Sprintf("    %d connection%s from %d client%s", s.Connections, profPlural(int(s.Connections)), s.Clients, profPlural(s.Clients))
		if s.PeakConcurrent > 0 {
			line += fmt.Sprintf(", peak %d concurrent at %s", s.PeakConcurrent, s.PeakConcurrentAt.UTC().Format("15:04:05.000"))
			if s.ConcurrencyApprox {
				line += " (at least)"
			}
		}
		if s.HandshakeRTTMean > 0 {
			line += fmt.Sprintf(", handshake RTT %s", profDuration(s.HandshakeRTTMean))
		}
		fmt.Fprintln(w, line)
	} else {
		fmt.Fprintf(w, "    %d client%s\n", s.Clients, profPlural(s.Clients))
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
			d.Unit, d.Count, profBytes(d.P50), profBytes(d.P90), profBytes(d.P99), profBytes(d.Max), profBytes(d.Mean))
	}
	if d := s.ConnectionBytes; d.Count > 0 && s.Responses.Count == 0 {
		fmt.Fprintf(w, "    server bytes per connection: median ≤%s, p90 ≤%s, max %s\n", profBytes(d.P50), profBytes(d.P90), profBytes(d.Max))
	}
	fmt.Fprintf(w, "    client→server %s, %.2f Mbit/s mean, %.2f peak · server→client %s, %.2f Mbit/s mean, %.2f peak\n",
		profBytes(s.Bytes[0]), s.MeanMbps[0], s.PeakMbps[0], profBytes(s.Bytes[1]), s.MeanMbps[1], s.PeakMbps[1])
	if s.RetransBytes[0]+s.RetransBytes[1] > 0 {
		fmt.Fprintf(w, "    retransmitted: %s client→server, %s server→client\n", profBytes(s.RetransBytes[0]), profBytes(s.RetransBytes[1]))
	}
}

func profBytes(n int64) string {
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

func profDuration(d time.Duration) time.Duration {
	switch {
	case d > time.Minute:
		return d.Round(time.Second)
	case d > time.Second:
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}

func profPlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
