package diagnose

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"

	"github.com/google/go-cmp/cmp"
)

var tdgT0 = time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)

// tdgFlowStats builds the summary of one connection attempt from
// 10.0.1.10:port to server, starting at start seconds and lasting dur.
func tdgFlowStats(server string, port uint16, start, dur float64, outcome string, frame int64) *health.FlowStats {
	s := &health.FlowStats{
		Client:     netip.AddrPortFrom(netip.MustParseAddr("10.0.1.10"), port),
		Server:     netip.MustParseAddrPort(server),
		FirstFrame: frame, FirstTime: tdgT0.Add(time.Duration(start * float64(time.Second))),
		SYNs: 1, SYNFrames: []int64{frame},
	}
	s.LastTime = s.FirstTime.Add(time.Duration(dur * float64(time.Second)))
	switch outcome {
	case "ok":
		s.SYNACKs, s.Established = 1, true
		s.Packets = [2]int64{5, 5}
	case "unanswered":
		s.SYNs = 3
		s.Packets = [2]int64{3, 0}
	case "refused":
		s.ResetBy, s.Packets = "server", [2]int64{1, 1}
	}
	return s
}

func tdgRun(cfg ConnectionsConfig, flows ...*health.FlowStats) *health.Collector {
	d := NewConnections(cfg)
	for _, f := range flows {
		d.Flow(f)
	}
	c := &health.Collector{}
	d.Finish(c)
	d.Finish(c) // a second Finish does nothing
	return c
}

func tdgEvidence(e health.Event, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		out[k] = fmt.Sprint(e.Evidence[k])
	}
	return out
}

func TestTCPDiagnoserSourcePorts(t *testing.T) {
	const srv = "10.200.3.20:80"
	var flows []*health.FlowStats
	for i := 0; i < 20; i++ {
		port := uint16(40100 + i)
		outcome := "ok"
		if port == 40100 || port == 40102 || port == 40107 {
			outcome = "unanswered"
		}
		flows = append(flows, tdgFlowStats(srv, port, float64(i)*2.5, 2, outcome, int64(10*i+1)))
	}
	t.Run("cluster", func(t *testing.T) {
		c := tdgRun(ConnectionsConfig{}, flows...)
		evs := c.OfKind(health.TCPSourcePortFailures)
		if len(evs) != 1 {
			t.Fatalf("events %v", c.Events)
		}
		if diff := cmp.Diff(map[string]string{"ports": "[40100 40102 40107]", "failed": "3", "ok": "17", "server": srv, "failed_frames": "[1 21 71]"},
			tdgEvidence(evs[0], "ports", "failed", "ok", "server", "failed_frames")); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
		if evs[0].Frame != 1 || len(c.OfKind(health.TCPNotAccepting)) != 0 {
			t.Errorf("frame %d, events %v", evs[0].Frame, c.Events)
		}
	})
	t.Run("repeated", func(t *testing.T) {
		again := append(append([]*health.FlowStats(nil), flows...), tdgFlowStats(srv, 40100, 60, 3, "unanswered", 900))
		evs := tdgRun(ConnectionsConfig{}, again...).OfKind(health.TCPSourcePortFailures)
		if len(evs) != 1 {
			t.Fatalf("events %v", evs)
		}
		if diff := cmp.Diff(map[string]string{"failed": "4", "repeated_ports": "1"}, tdgEvidence(evs[0], "failed", "repeated_ports")); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
		t.Log(evs[0].Message)
	})
	t.Run("failing ports also succeed", func(t *testing.T) {
		more := append([]*health.FlowStats(nil), flows...)
		for i, p := range []uint16{40100, 40102, 40107} {
			more = append(more, tdgFlowStats(srv, p, 60+float64(i), 1, "ok", int64(500+i)))
		}
		if c := tdgRun(ConnectionsConfig{}, more...); len(c.Events) != 0 {
			t.Errorf("unexpected %v", c.Events)
		}
	})
	t.Run("no success after the failures start", func(t *testing.T) {
		var fl []*health.FlowStats
		for i := 0; i < 5; i++ {
			fl = append(fl, tdgFlowStats(srv, uint16(41000+i), float64(i), 0.5, "ok", int64(i+1)))
		}
		for i := 0; i < 3; i++ {
			fl = append(fl, tdgFlowStats(srv, uint16(42000+i), 10+float64(i), 3, "unanswered", int64(100+i)))
		}
		if c := tdgRun(ConnectionsConfig{}, fl...); len(c.OfKind(health.TCPSourcePortFailures)) != 0 {
			t.Errorf("unexpected %v", c.Events)
		}
	})
}

func TestTCPDiagnoserNotAccepting(t *testing.T) {
	const srv = "10.0.0.80:80"
	build := func(servedFor float64) []*health.FlowStats {
		var fl []*health.FlowStats
		for i := 0; i < 3; i++ {
			fl = append(fl, tdgFlowStats(srv, uint16(50000+i), float64(i)*0.3, servedFor, "ok", int64(i+1)))
		}
		for i := 0; i < 5; i++ {
			fl = append(fl, tdgFlowStats(srv, uint16(44000+i), 4+float64(i)*0.5, 3, "unanswered", int64(100+i)))
		}
		return fl
	}
	c := tdgRun(ConnectionsConfig{}, build(9)...)
	evs := c.OfKind(health.TCPNotAccepting)
	if len(evs) != 1 {
		t.Fatalf("events %v", c.Events)
	}
	if diff := cmp.Diff(map[string]string{"server": srv, "unanswered": "5", "syns": "15", "served": "3", "source_ports": "[44000 44001 44002 44003 44004]"},
		tdgEvidence(evs[0], "server", "unanswered", "syns", "served", "source_ports")); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	if evs[0].Frame != 100 || evs[0].Severity != health.Error {
		t.Errorf("frame %d severity %v", evs[0].Frame, evs[0].Severity)
	}
	// The established connections end before the SYNs fail: the path (or
	// the whole server) went away, not just the listener.
	if c := tdgRun(ConnectionsConfig{}, build(3.5)...); len(c.OfKind(health.TCPNotAccepting)) != 0 {
		t.Errorf("path outage diagnosed as not accepting: %v", c.Events)
	}
	// A new connection succeeds while the SYNs fail: not C20.
	fl := append(build(9), tdgFlowStats(srv, 45000, 5, 1, "ok", 200))
	if c := tdgRun(ConnectionsConfig{}, fl...); len(c.OfKind(health.TCPNotAccepting)) != 0 {
		t.Errorf("diagnosed despite a new connection succeeding: %v", c.Events)
	}
}

func TestTCPDiagnoserResetsAfterIdle(t *testing.T) {
	var fl []*health.FlowStats
	for i := 0; i < 3; i++ {
		s := tdgFlowStats(fmt.Sprintf("10.200.5.%d:5357", 101+i), uint16(47000+i), 0, 8.1, "ok", int64(10*i+1))
		s.ResetBy, s.ResetFrame, s.IdleBeforeRST = "client", int64(202+2*i), 8*time.Second+time.Duration(i)*time.Millisecond
		fl = append(fl, s)
	}
	c := tdgRun(ConnectionsConfig{}, fl...)
	evs := c.OfKind(health.TCPResetAfterIdle)
	if len(evs) != 1 {
		t.Fatalf("events %v", c.Events)
	}
	if diff := cmp.Diff(map[string]string{"count": "3", "by": "client", "idle_ms": "8000", "frames": "[202 204 206]"},
		tdgEvidence(evs[0], "count", "by", "idle_ms", "frames")); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	// One reset, or resets after short silences, are not a pattern.
	if c := tdgRun(ConnectionsConfig{}, fl[0]); len(c.Events) != 0 {
		t.Errorf("single reset diagnosed: %v", c.Events)
	}
	if c := tdgRun(ConnectionsConfig{ResetIdle: 10 * time.Second}, fl...); len(c.Events) != 0 {
		t.Errorf("resets under the idle threshold diagnosed: %v", c.Events)
	}
}

func TestTCPDiagnoserMaxFlows(t *testing.T) {
	d := NewConnections(ConnectionsConfig{MaxFlows: 2})
	for i := 0; i < 5; i++ {
		d.Flow(tdgFlowStats("10.0.0.1:80", uint16(1000+i), float64(i), 1, "unanswered", int64(i+1)))
	}
	d.Flow(nil)
	if len(d.flows) != 2 || d.dropped != 3 {
		t.Errorf("kept %d dropped %d, want 2 and 3", len(d.flows), d.dropped)
	}
}

// ExampleConnections shows the connection-level diagnoses: feed every
// closed connection's summary, then Finish.
func ExampleConnections() {
	d := NewConnections(ConnectionsConfig{})
	// Three downloads keep going while five new attempts get no answer.
	for i := 0; i < 3; i++ {
		d.Flow(tdgFlowStats("10.0.0.80:80", uint16(50000+i), float64(i), 10, "ok", int64(i+1)))
	}
	for i := 0; i < 5; i++ {
		d.Flow(tdgFlowStats("10.0.0.80:80", uint16(44000+i), 4+float64(i), 3, "unanswered", int64(100+i)))
	}
	c := &health.Collector{}
	d.Finish(c)
	for _, e := range c.Events {
		fmt.Println(e.Kind, e.Frame, e.Evidence["unanswered"], e.Evidence["served"])
	}
	// Output:
	// tcp.not_accepting 100 5 3
}
