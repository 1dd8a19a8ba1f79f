package tcpstate

import (
	"errors"
	"io"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// selectRun tracks the capture at path with Select (nil: every
// connection) and returns the stream ID of each TCP frame, the summaries,
// the events other than flow.summary and the IDs handlers were attached to.
type selectRun struct {
	ids       map[int64]uint64
	summaries map[uint64]health.FlowStats
	events    []health.Event
	attached  []uint64
}

func trackSelected(t *testing.T, path string, sel func(uint64) bool) selectRun {
	t.Helper()
	c, err := layers.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	run := selectRun{ids: map[int64]uint64{}, summaries: map[uint64]health.FlowStats{}}
	col := &health.Collector{}
	tr := NewTracker(DefaultConfig(), col, func(ctx *StreamContext) StreamHandler {
		run.attached = append(run.attached, ctx.ID)
		return nil
	})
	tr.Select = sel
	tr.OnSegment = func(p *layers.Packet, s Segment) { run.ids[p.Frame] = s.ID }
	tr.OnSummary = func(s *health.FlowStats) { run.summaries[s.ID] = *s }
	dec := layers.NewDecoder(nil, layers.DefaultLimits())
	var last Position
	for {
		f, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = Position{Frame: f.Number, Time: f.Time}
		if p, ok := dec.Decode(f); ok {
			tr.Packet(p)
		}
	}
	tr.Close(last)
	for _, e := range col.Events {
		if e.Kind != health.FlowSummary {
			run.events = append(run.events, e)
		}
	}
	if n := len(col.OfKind(health.FlowSummary)); n != len(run.summaries) {
		t.Fatalf("%d flow.summary events, %d OnSummary calls", n, len(run.summaries))
	}
	return run
}

// TestSelectKeepsStreamNumbersAndReportsOnlySelected: a connection that
// Select declines is tracked (later stream numbers do not change, port
// reuse is still recognised) but reports nothing; the selected one reports
// exactly what it reports in a run of every connection.
func TestSelectKeepsStreamNumbersAndReportsOnlySelected(t *testing.T) {
	for _, name := range []string{"c18-source-port-blocked-client.pcap", "synthetic-reuse-diff-isn-open.pcap", "c14-arp-burst-resets-after-idle-client.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "tcpstate", name)
			all := trackSelected(t, path, nil)
			if len(all.summaries) < 2 {
				t.Fatalf("%d connections: the test needs several", len(all.summaries))
			}
			for id := range all.summaries {
				one := trackSelected(t, path, func(n uint64) bool { return n == id })
				if diff := cmp.Diff(all.ids, one.ids); diff != "" {
					t.Fatalf("stream %d selected: stream numbers changed (-all +selected):\n%s", id, diff)
				}
				if diff := cmp.Diff([]uint64{id}, one.attached); diff != "" {
					t.Errorf("handlers attached (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(map[uint64]health.FlowStats{id: all.summaries[id]}, one.summaries, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
					t.Errorf("stream %d: summaries (-want +got):\n%s", id, diff)
				}
				kinds := map[health.Kind]int{}
				flow := all.summaries[id].Client.String() + "->" + all.summaries[id].Server.String() + "/tcp"
				for _, e := range one.events {
					if e.Flow != flow {
						t.Errorf("stream %d selected: event %s on another flow %s", id, e.Kind, e.Flow)
					}
					kinds[e.Kind]++
				}
				want := all.summaries[id].Counts
				if len(want) == 0 {
					want = map[health.Kind]int{}
				}
				if diff := cmp.Diff(want, kinds); diff != "" {
					t.Errorf("stream %d: events by kind (-want +got):\n%s", id, diff)
				}
			}
		})
	}
}

func TestSelectNoneCountsNothing(t *testing.T) {
	path := filepath.Join("..", "testdata", "tcpstate", "c18-source-port-blocked-client.pcap")
	none := trackSelected(t, path, func(uint64) bool { return false })
	if len(none.summaries) != 0 || len(none.events) != 0 || len(none.attached) != 0 {
		t.Errorf("nothing selected, yet %d summaries, %d events, %d handlers", len(none.summaries), len(none.events), len(none.attached))
	}
}
