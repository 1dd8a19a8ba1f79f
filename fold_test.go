package nettrace_test

import (
	"bytes"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
)

// TestRepeatedEventsAreFolded: a flood of one kind of event (frames whose
// IPv4 header is damaged, each a capture.decode_error) reaches the
// Reporter only up to the cap; the rest is counted in the finding and said
// once by events.folded, so that the output stays proportional to what
// happened, not to the number of bad frames.
func TestRepeatedEventsAreFolded(t *testing.T) {
	c := testcap.NewBuilder(0)
	v := c.Conv("10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000)
	v.Handshake()
	bad := c.TCPFrame(v.Cli, v.Srv, 40000, 80, 1, 1, "A", nil)
	bad[14] = 0x4f // IPv4 header length 60 in a 40-byte header
	const n = 500
	for range n {
		c.Raw(bad)
	}
	col := &health.Collector{}
	a, err := nettrace.New(nettrace.Options{Reporter: col, MaxEventsPerKind: 20})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("flood", bytes.NewReader(c.Buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var finding *nettrace.Finding
	for i := range rep.Findings {
		if rep.Findings[i].Kind == health.CaptureDecodeError {
			finding = &rep.Findings[i]
		}
	}
	if finding == nil || finding.Count != n || finding.Folded != n-20 {
		t.Fatalf("finding %+v, want %d counted, %d folded", finding, n, n-20)
	}
	if got := len(col.OfKind(health.CaptureDecodeError)); got != 20 {
		t.Errorf("%d capture.decode_error events reached the Reporter, want 20", got)
	}
	folded := col.OfKind(health.EventsFolded)
	if len(folded) != 1 || folded[0].Evidence["folded"] != n-20 || folded[0].Evidence["kind"] != string(health.CaptureDecodeError) ||
		folded[0].Evidence["first_frame"] != int64(4+20) || folded[0].Evidence["last_frame"] != int64(3+n) {
		t.Errorf("events.folded %+v", folded)
	}
	if len(finding.Frames) == 0 || finding.Frames[0] != 4 {
		t.Errorf("frames %v, want the first ones from frame 4", finding.Frames)
	}
}

// TestRepeatedEventsOnOneFlowAreFolded: past MaxEventsPerFlow events of one
// kind on one connection, the rest are counted and folded.
func TestRepeatedEventsOnOneFlowAreFolded(t *testing.T) {
	c := testcap.NewBuilder(0)
	v := c.Conv("10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000)
	v.Handshake()
	v.Send(false, bytes.Repeat([]byte("x"), 100), 100)
	ack := c.TCPFrame(v.Cli, v.Srv, 40000, 80, v.CSeq, v.SSeq, "A", nil)
	for range 60 {
		c.Raw(ack) // duplicate ACKs
	}
	col := &health.Collector{}
	a, err := nettrace.New(nettrace.Options{Reporter: col, MaxEventsPerFlow: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Analyze("dupacks", bytes.NewReader(c.Buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	dups := col.OfKind(health.TCPDupAck)
	folded := col.OfKind(health.EventsFolded)
	if len(dups) != 5 || len(folded) != 1 || folded[0].Flow != dups[0].Flow || folded[0].Evidence["folded"].(int)+5 < 55 {
		t.Errorf("%d dup ACK events, folded %+v", len(dups), folded)
	}
}
