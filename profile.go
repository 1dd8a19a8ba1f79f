package nettrace

import (
	"fmt"
	"strings"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// CaptureProfile says what kind of capture the Report is about, as opposed
// to what the network did: connections seen from one side only, picked up
// mid-stream, packets captured twice, bytes a receiver acknowledged that
// the capture never saw. Conclusions about loss and timing hold only for
// what the capture shows; the findings already take this into account.
type CaptureProfile struct {
	tcpstate.CaptureStats
	// Checksums are the capture's checksum verdicts (not computed,
	// offloaded, rewritten, corrupt).
	Checksums layers.ChecksumStats
	// Summary says it in one sentence, as the capture.profile event does.
	Summary string
}

// profile builds the capture's profile and reports it once, at the end.
func (a *Analyzer) profile() CaptureProfile {
	p := CaptureProfile{CaptureStats: a.tracker.CaptureStats(), Checksums: a.decoder.ChecksumStats()}
	p.Summary = p.describe()
	a.col.Event(health.Event{
		Kind: health.CaptureProfile, Severity: health.Info, Time: a.info.Last, Frame: max(a.info.Frames, 1),
		Message: p.Summary,
		Evidence: map[string]any{
			"connections": p.Connections, "one_sided": p.OneSided, "mid_stream": p.MidStream,
			"duplicates": p.Duplicates, "unseen_bytes": p.UnseenBytes, "unseen_connections": p.UnseenConns,
			"checksums_not_computed": p.Checksums.NotComputed, "checksums_rewritten": p.Checksums.Rewritten,
		},
	})
	return p
}

// describe words the profile: the capture's kind first, then what it
// limits.
func (p CaptureProfile) describe() string {
	if p.Connections == 0 && !p.Checksums.Rewritten && p.Checksums.NotComputed == 0 {
		return "capture: no TCP connection"
	}
	var parts []string
	if p.OneSided > 0 {
		parts = append(parts, fmt.Sprintf("one-sided on %d of %d TCP connections (one direction not captured): loss and timing diagnoses are limited to the direction seen", p.OneSided, p.Connections))
	}
	if p.MidStream > 0 {
		parts = append(parts, fmt.Sprintf("%d connection%s picked up mid-stream (no handshake: round trip and setup unknown)", p.MidStream, plural(p.MidStream)))
	}
	if p.Duplicates > 0 {
		parts = append(parts, fmt.Sprintf("%d packet%s captured twice (two capture points, a SPAN port or a duplicating link): left out of the analysis", p.Duplicates, plural(int(p.Duplicates))))
	}
	if p.UnseenBytes > 0 {
		parts = append(parts, fmt.Sprintf("%d bytes on %d connection%s acknowledged by their receiver but not in the capture: the capture missed them, the network did not lose them", p.UnseenBytes, p.UnseenConns, plural(p.UnseenConns)))
	}
	switch c := p.Checksums; {
	case c.Rewritten:
		parts = append(parts, fmt.Sprintf("checksums do not match on every frame of %d sources: the capture was rewritten after it was taken (anonymised or NATed by a tool) or checksums are filled in after the capture point; addresses in payloads cannot be compared with the headers", c.UnverifiableSources))
	case c.NotComputed > 0:
		parts = append(parts, fmt.Sprintf("checksums not computed (zero) on %d frames: offload, or crafted packets", c.NotComputed))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("capture: all %d TCP connection%s seen both ways, nothing missed or captured twice", p.Connections, plural(p.Connections))
	}
	return "capture: " + strings.Join(parts, "; ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
