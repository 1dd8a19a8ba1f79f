package nettrace

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/health"
)

// eventList records the events passed to the Reporter.
type eventList struct{ events []health.Event }

func (l *eventList) Event(e health.Event)   { l.events = append(l.events, e) }
func (l *eventList) Message(health.Message) {}
func (l *eventList) WantMessages() bool     { return false }

// inversions counts the per-frame events (health.PerFrame) whose frame is
// below that of an earlier per-frame event, by kind.
func inversions(events []health.Event) map[health.Kind]int {
	out := map[health.Kind]int{}
	var high int64
	for _, e := range events {
		if !health.PerFrame(e.Kind) || e.Frame == 0 {
			continue
		}
		if e.Frame < high {
			out[e.Kind]++
		}
		high = max(high, e.Frame)
	}
	return out
}

func sum2(m map[health.Kind]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestPerFrameEventsInFrameOrder: on every capture in testdata, with one
// worker and with three, the per-frame events reach the Reporter in frame
// order (retransmissions, whose cause waits for the receiver's answer,
// included), and none was forced out of order.
func TestPerFrameEventsInFrameOrder(t *testing.T) {
	var paths []string
	for _, pat := range []string{"testdata/*/*.pcap", "testdata/*/*.pcapng", "testdata/*/*/*.pcap", "examples/doctor/demo/*.pcapng"} {
		m, _ := filepath.Glob(pat)
		paths = append(paths, m...)
	}
	if len(paths) < 20 {
		t.Fatalf("only %d captures found", len(paths))
	}
	retrans := 0
	for _, path := range paths {
		for _, workers := range []int{1, 3} {
			var l eventList
			rep, err := AnalyzeFile(path, Options{Reporter: &l, Workers: workers})
			if err != nil {
				continue // a deliberately damaged capture
			}
			if inv := inversions(l.events); len(inv) > 0 || rep.OrderForced > 0 {
				t.Errorf("%s (%d workers): per-frame events out of frame order %v, %d forced", path, workers, inv, rep.OrderForced)
			}
			for _, e := range l.events {
				if e.Kind == health.TCPRetransmission || e.Kind == health.TCPFastRetransmission {
					retrans++
				}
			}
		}
	}
	if retrans == 0 {
		t.Error("no retransmission in the captures: the test proves nothing")
	}
}

// TestFrameOrderOnCapture counts the inversions on the capture named by
// NETTRACE_ORDER_CAPTURE (a large one, such as pcapsynth's), for the
// record:
//
//	NETTRACE_ORDER_CAPTURE=/tmp/synth.pcap go test -run FrameOrderOnCapture -v .
func TestFrameOrderOnCapture(t *testing.T) {
	path := os.Getenv("NETTRACE_ORDER_CAPTURE")
	if path == "" {
		t.Skip("NETTRACE_ORDER_CAPTURE not set")
	}
	var l eventList
	rep, err := AnalyzeFile(path, Options{Reporter: &l})
	if err != nil {
		t.Fatal(err)
	}
	inv := inversions(l.events)
	var kinds []string
	for k, n := range inv {
		kinds = append(kinds, string(k)+"="+strconv.Itoa(n))
	}
	t.Logf("%s: %d events, %d per-frame inversions (%s), %d forced", path, len(l.events), sum2(inv), strings.Join(kinds, " "), rep.OrderForced)
	if sum2(inv) > 0 {
		t.Errorf("per-frame events out of frame order")
	}
}
