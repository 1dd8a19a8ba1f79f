package cli

import (
	"encoding/json"
	"io"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

// CaptureJSON describes the capture in the JSON output of the tools that
// print one document per capture (smbstat, epmdump, tdsstat, tlsdecrypt).
type CaptureJSON struct {
	Name      string       `json:"name"`
	Frames    int64        `json:"frames"`
	Bytes     int64        `json:"bytes"`
	First     *time.Time   `json:"first,omitempty"`
	Last      *time.Time   `json:"last,omitempty"`
	Truncated string       `json:"truncated,omitempty"` // why reading stopped early
	Skipped   *SkippedJSON `json:"skipped,omitempty"`
}

// SkippedJSON is nettrace.Skipped in the JSON output.
type SkippedJSON struct {
	Frames  int64    `json:"frames"`            // left out by -filter, -from, -to
	Packets int64    `json:"packets"`           // left out by -flow
	Streams int      `json:"streams"`           // TCP connections left out by -flow
	Missing []uint64 `json:"missing,omitempty"` // -flow numbers the capture does not have
}

// Capture returns the capture part of a tool's JSON output.
func Capture(rep *nettrace.Report) CaptureJSON {
	c := rep.Capture
	out := CaptureJSON{Name: c.Name, Frames: c.Frames, Bytes: c.Bytes, Truncated: c.Truncated}
	if !c.First.IsZero() {
		first, last := c.First.UTC(), c.Last.UTC()
		out.First, out.Last = &first, &last
	}
	if s := rep.Skipped; s.Frames > 0 || s.Packets > 0 || s.Streams > 0 || len(s.Missing) > 0 {
		out.Skipped = &SkippedJSON{Frames: s.Frames, Packets: s.Packets, Streams: s.Streams, Missing: s.Missing}
	}
	return out
}

// FindingJSON is one finding in a tool's JSON output.
type FindingJSON struct {
	Kind     health.Kind `json:"kind"`
	Severity string      `json:"severity"`
	Count    int         `json:"count"`
	Frame    int64       `json:"frame"` // of the example
	Flow     string      `json:"flow,omitempty"`
	Message  string      `json:"message"`
}

// Findings returns the findings of rep that keep selects, for JSON.
func Findings(rep *nettrace.Report, keep func(health.Kind) bool) []FindingJSON {
	out := []FindingJSON{}
	for _, f := range rep.Findings {
		if keep(f.Kind) {
			out = append(out, FindingJSON{Kind: f.Kind, Severity: f.Severity.String(), Count: f.Count,
				Frame: f.Example.Frame, Flow: f.Example.Flow, Message: f.Example.Message})
		}
	}
	return out
}

// WriteJSON writes v as one indented JSON document.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Millis is a duration in milliseconds, for JSON.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
