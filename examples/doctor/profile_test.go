package main

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/diagnose"
)

func TestPrintProfile(t *testing.T) {
	at := time.Date(2026, 11, 22, 1, 39, 10, 795000000, time.UTC)
	w := &diagnose.Workload{Services: []diagnose.ServiceProfile{{
		Server: netip.MustParseAddrPort("10.200.3.20:80"), Proto: "tcp", App: "http", Clients: 1,
		Duration: 5 * time.Second, Connections: 60, PeakConcurrent: 54, PeakConcurrentAt: at,
		Requests: 29, DistinctRequests: 1, RepeatPct: 96, PeakRequestsPerS: 6, MeanRequestsPerS: 5.8, Bytes: [2]int64{2000, 24000},
		MeanMbps: [2]float64{0, 0.04}, PeakMbps: [2]float64{0.01, 0.03},
		Responses: diagnose.SizeDist{Count: 29, Min: 834, Max: 834, Mean: 834, P50: 834, P90: 834, P99: 834, Unit: "response"},
	}, {
		Server: netip.MustParseAddrPort("10.0.0.3:53"), Proto: "udp", Clients: 2, Requests: 4,
		Responses: diagnose.SizeDist{Count: 4, Max: 100, Unit: "reply datagram"},
	}}}
	var b strings.Builder
	printProfile(&b, w)
	out := b.String()
	for _, want := range []string{
		"Workload profile · 2 services",
		"10.200.3.20:80/tcp (http) · 5s active",
		"60 connections from 1 client, peak 54 concurrent at 01:39:10.795",
		"29 requests (1 distinct, 96% repeats), peak 6/s, mean 5.8/s",
		"response sizes: 29, median ≤834 B",
		"10.0.0.3:53/udp",
		"4 datagrams to the service",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	printProfile(&b, nil)
	if !strings.Contains(b.String(), "no services") {
		t.Errorf("nil profile: %q", b.String())
	}
}
