package nettrace

import (
	"fmt"
	"sort"
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
	// Undecoded counts the frames not decoded because of their link type
	// or encapsulation, per kind (the capture.undecoded event).
	Undecoded layers.UndecodedStats
	// Summary says it in one sentence, as the capture.profile event does.
	Summary string
}

// profile builds the capture's profile and reports it once, at the end.
func (a *Analyzer) profile() CaptureProfile {
	p := CaptureProfile{CaptureStats: a.tracker.CaptureStats(), Checksums: a.decoder.ChecksumStats(), Undecoded: a.decoder.UndecodedStats()}
	p.Summary = p.describe()
	ev := map[string]any{
		"connections": p.Connections, "one_sided": p.OneSided, "mid_stream": p.MidStream,
		"duplicates": p.Duplicates, "unseen_bytes": p.UnseenBytes, "unseen_connections": p.UnseenConns,
		"checksums_not_computed": p.Checksums.NotComputed, "checksums_rewritten": p.Checksums.Rewritten,
	}
	if p.OneWay > 0 { // present only then, as the undecoded frames
		ev["one_way"] = p.OneWay
	}
	if p.Undecoded.Frames > 0 { // present only then: the evidence of other captures is unchanged
		ev["undecoded_frames"], ev["undecoded_may_carry_ip"] = p.Undecoded.Frames, p.Undecoded.MayCarryIP
	}
	a.col.Event(health.Event{
		Kind: health.CaptureProfile, Severity: health.Info, Time: a.last.Time, Frame: max(a.last.Frame, 1),
		Message: p.Summary, Evidence: ev,
	})
	return p
}

// describe words the profile: the capture's kind first, then what it
// limits.
func (p CaptureProfile) describe() string {
	if p.Connections == 0 && !p.Checksums.Rewritten && p.Checksums.NotComputed == 0 {
		if p.Undecoded.Frames > 0 {
			return "capture: no TCP connection; " + p.undecoded()
		}
		return "capture: no TCP connection"
	}
	var parts []string
	if p.Undecoded.MayCarryIP > 0 {
		parts = append(parts, p.undecoded())
	}
	if p.OneSided > 0 {
		parts = append(parts, fmt.Sprintf("one-sided on %d of %d TCP connections (one direction not captured): loss and timing diagnoses are limited to the direction seen", p.OneSided, p.Connections))
	}
	if p.OneWay > 0 {
		verb := "have"
		if p.OneWay == 1 {
			verb = "has"
		}
		parts = append(parts, fmt.Sprintf("%d of %d TCP connection%s %s packets from one side only: nothing from the other side is in the capture", p.OneWay, p.Connections, plural(p.Connections), verb))
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

// undecoded words the frames not decoded because of their encapsulation.
func (p CaptureProfile) undecoded() string {
	u := p.Undecoded
	s := fmt.Sprintf("%d frame%s not decoded because of their link type or encapsulation (%s)", u.Frames, plural(int(u.Frames)), u.Summary())
	if u.MayCarryIP > 0 {
		s += fmt.Sprintf(": %d may carry IP traffic that was not analysed", u.MayCarryIP)
	}
	return s
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// MemoryUse is what the memory budget (Options.MemoryBudget) did: its
// size, the most the decoders held at once, and what was shed to stay
// within it.
type MemoryUse struct {
	Budget int64 // the decoders' share of Options.MemoryBudget
	// HighWater is the most the decoders held at once; with Workers ≥ 2,
	// the sum of each worker's high-water mark.
	HighWater int64
	Shed      int64 // bytes dropped
	Sheds     int64 // times a connection's state was dropped
	ShedConns int   // connections concerned
	ByDecoder map[string]int64
}

// memoryUse sums the budgets of every scope and reports a shed once.
func (a *Analyzer) memoryUse() MemoryUse {
	scopes := append([]*scope{a.main}, a.scopes...)
	var m MemoryUse
	first := int64(0)
	for _, s := range scopes {
		if s == nil {
			continue
		}
		st := s.budget.Stats()
		m.HighWater += st.HighWater
		m.Shed += st.Shed
		m.Sheds += st.Sheds
		m.ShedConns += st.ShedConns
		for k, v := range st.ByDecoder {
			if m.ByDecoder == nil {
				m.ByDecoder = map[string]int64{}
			}
			m.ByDecoder[k] += v
		}
		if st.FirstFrame > 0 && (first == 0 || st.FirstFrame < first) {
			first = st.FirstFrame
		}
	}
	_, _, m.Budget = a.opts.memoryBudget()
	if m.Sheds > 0 {
		a.col.Event(health.Event{
			Kind: health.MemoryShed, Severity: health.Notice, Time: a.last.Time, Frame: max(first, 1),
			Message: fmt.Sprintf("the memory budget (%d MiB for the decoders) was reached at frame %d: the buffered state of %d connections was dropped %d times (%d bytes%s) to stay within it; their decoding resumed at the next message, so findings on them may be incomplete",
				m.Budget>>20, first, m.ShedConns, m.Sheds, m.Shed, byDecoder(m.ByDecoder)),
			Evidence: map[string]any{"budget": m.Budget, "high_water": m.HighWater, "shed_bytes": m.Shed, "sheds": m.Sheds,
				"connections": m.ShedConns, "first_frame": first, "by_decoder": m.ByDecoder},
		})
	}
	return m
}

// byDecoder words the bytes shed per decoder: ": tds 1200, smb 40".
func byDecoder(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return ": " + strings.Join(parts, ", ")
}
