package nettrace

import (
	"fmt"
	"testing"

	"github.com/nettrace/nettrace/health"
)

// TestAlertVariants: tls.alert counts are split by level and description,
// each with its severity, most frequent first, and capped with "other".
func TestAlertVariants(t *testing.T) {
	c := newCollector(nil, &Options{})
	alert := func(level int, desc string, sev health.Severity) {
		c.Event(health.Event{Kind: health.TLSAlert, Severity: sev, Frame: 1, Flow: "f",
			Evidence: map[string]any{"level": uint8(level), "description": desc}})
	}
	alert(2, "handshake_failure", health.Warning)
	for range 3 {
		alert(1, "close_notify", health.Info)
	}
	f := c.sortedFindings()[0]
	want := []Variant{{"warning close_notify", health.Info, 3}, {"fatal handshake_failure", health.Warning, 1}}
	if fmt.Sprint(f.Variants) != fmt.Sprint(want) {
		t.Errorf("variants %v, want %v", f.Variants, want)
	}
	for i := range 2 * maxVariants {
		alert(2, fmt.Sprintf("code_%d", i), health.Warning)
	}
	f = c.sortedFindings()[0]
	total := 0
	for _, v := range f.Variants {
		total += v.Count
	}
	if len(f.Variants) != maxVariants || total != f.Count || f.variant("other") < 0 {
		t.Errorf("%d variants totalling %d of %d: want %d with an \"other\"", len(f.Variants), total, f.Count, maxVariants)
	}
}
