package diagnose

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/defaults"
)

// ConnectionsConfig tunes the Connections. A zero field takes its default (see
// DefaultConnectionsConfig), so ConnectionsConfig{} is usable.
type ConnectionsConfig struct {
	// MaxFlows is the number of closed connections remembered (default
	// 65536, about 130 bytes each). Connections beyond it are counted but
	// not used by the diagnoses.
	MaxFlows int
	// MinFailures is the number of failed connection attempts to one
	// server needed before the source-port (C18) and not-accepting (C20)
	// diagnoses look at it (default 2).
	MinFailures int
	// MaxClusterPorts is the largest set of source ports that still counts
	// as "specific source ports" (default 16, the size of the casebook's
	// blocked list).
	MaxClusterPorts int
	// ClusterShare is the share of failures that must use the cluster's
	// ports (default 0.8: "most failures").
	ClusterShare float64
	// ServedOverlap is how long an established connection must keep going
	// after the first unanswered SYN to count as "still served" (default
	// 1 s).
	ServedOverlap time.Duration
	// ResetIdle is the silence before a reset that makes it a reset after
	// idle (default 5 s; the casebook's C14 saw ~115 s).
	ResetIdle time.Duration
	// MinIdleResets is the number of resets after idle needed for the
	// diagnosis (default 2; a single one is already a tcp.reset event with
	// its idle time).
	MinIdleResets int
}

// DefaultConnectionsConfig returns the defaults documented on ConnectionsConfig.
func DefaultConnectionsConfig() ConnectionsConfig {
	return ConnectionsConfig{
		MaxFlows:        65536,
		MinFailures:     2,
		MaxClusterPorts: 16,
		ClusterShare:    0.8,
		ServedOverlap:   time.Second,
		ResetIdle:       5 * time.Second,
		MinIdleResets:   2,
	}
}

func (c ConnectionsConfig) withDefaults() ConnectionsConfig {
	d := DefaultConnectionsConfig()
	if c.ClusterShare > 1 {
		c.ClusterShare = d.ClusterShare
	}
	defaults.Fill(&c, d)
	return c
}

// Connections draws the connection-level diagnoses of the casebook from
// the summaries of closed TCP connections:
//
//   - C18 tcp.source_port_failures: failed connection attempts grouped by
//     source port, when most failures use a few ports that never succeed
//     while attempts from other ports to the same server do;
//   - C20 tcp.not_accepting: SYNs to a listening port left unanswered
//     while the same server keeps serving its established connections (a
//     full backlog or resource exhaustion, not a path that drops
//     everything);
//   - C14 tcp.reset_after_idle: resets that follow long silences.
//
// Feed it every closed connection with Flow, then call Finish once. It
// keeps a compact record per connection (bounded by MaxFlows) and emits
// nothing before Finish. Not safe for concurrent use.
type Connections struct {
	cfg      ConnectionsConfig
	flows    []tdgFlow
	dropped  int
	t0       time.Time
	finished bool
}

// tdgOutcome classifies a connection attempt.
type tdgOutcome uint8

const (
	tdgOther      tdgOutcome = iota // mid-stream pickup or unclear
	tdgOK                           // the server answered (SYN-ACK)
	tdgUnanswered                   // SYNs only, nothing came back
	tdgRefused                      // the server answered the SYN with a reset
)

// tdgFlow is what the diagnoses keep of one connection.
type tdgFlow struct {
	client, server netip.AddrPort
	first, last    time.Time
	synFrame       int64
	firstFrame     int64
	syns           int
	outcome        tdgOutcome
	established    bool
	resetBy        string
	resetFrame     int64
	idleBeforeRST  time.Duration
}

// NewConnections returns a diagnoser with the thresholds of cfg (zero
// fields take their defaults).
func NewConnections(cfg ConnectionsConfig) *Connections {
	return &Connections{cfg: cfg.withDefaults()}
}

// Flow records one closed connection. s is not kept: only a compact copy
// of what the diagnoses need.
func (d *Connections) Flow(s *health.FlowStats) {
	if s == nil || d.finished {
		return
	}
	if d.t0.IsZero() || s.FirstTime.Before(d.t0) {
		d.t0 = s.FirstTime
	}
	if len(d.flows) >= d.cfg.MaxFlows {
		d.dropped++
		return
	}
	f := tdgFlow{
		client: s.Client, server: s.Server, first: s.FirstTime, last: s.LastTime,
		firstFrame: s.FirstFrame, syns: s.SYNs, established: s.Established,
		resetBy: s.ResetBy, resetFrame: s.ResetFrame, idleBeforeRST: s.IdleBeforeRST,
	}
	if len(s.SYNFrames) > 0 {
		f.synFrame = s.SYNFrames[0]
	} else {
		f.synFrame = s.FirstFrame
	}
	switch {
	case s.MidStream || s.SYNs == 0:
		f.outcome = tdgOther
	case s.Established || s.SYNACKs > 0:
		f.outcome = tdgOK
	case s.ResetBy == "server":
		f.outcome = tdgRefused
	case s.Packets[1] == 0:
		f.outcome = tdgUnanswered
	}
	d.flows = append(d.flows, f)
}

// Finish emits the diagnoses to rep, in a stable order: not-accepting and
// source-port findings per server (servers sorted), then resets after
// idle. Later calls do nothing.
func (d *Connections) Finish(rep health.Reporter) {
	if d.finished || rep == nil {
		return
	}
	d.finished = true
	byServer := map[netip.AddrPort][]int{}
	for i := range d.flows {
		if d.flows[i].outcome != tdgOther {
			byServer[d.flows[i].server] = append(byServer[d.flows[i].server], i)
		}
	}
	servers := make([]netip.AddrPort, 0, len(byServer))
	for s := range byServer {
		servers = append(servers, s)
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].Compare(servers[j]) < 0 })
	for _, s := range servers {
		idx := byServer[s]
		if e, ok := d.notAccepting(s, idx); ok {
			rep.Event(e)
			continue
		}
		if e, ok := d.sourcePorts(s, idx); ok {
			rep.Event(e)
		}
	}
	if e, ok := d.resetsAfterIdle(); ok {
		rep.Event(e)
	}
}

// rel formats t as seconds after the first connection seen.
func (d *Connections) rel(t time.Time) string {
	return strconv.FormatFloat(t.Sub(d.t0).Seconds(), 'f', 1, 64) + " s"
}

// notAccepting is casebook C20: unanswered SYNs to a port whose
// established connections keep being served, and no new connection
// succeeding meanwhile.
func (d *Connections) notAccepting(server netip.AddrPort, idx []int) (health.Event, bool) {
	var un []*tdgFlow
	for _, i := range idx {
		if d.flows[i].outcome == tdgUnanswered {
			un = append(un, &d.flows[i])
		}
	}
	if len(un) < d.cfg.MinFailures {
		return health.Event{}, false
	}
	sort.Slice(un, func(i, j int) bool { return un[i].first.Before(un[j].first) })
	tf, tl := un[0].first, un[0].last
	syns := 0
	for _, f := range un {
		if f.last.After(tl) {
			tl = f.last
		}
		syns += f.syns
	}
	served, newOK := 0, 0
	var until time.Time
	for _, i := range idx {
		f := &d.flows[i]
		if f.outcome != tdgOK {
			continue
		}
		if !f.first.Before(tf) && !f.first.After(tl) {
			newOK++
		}
		if f.established && f.first.Before(tf) && !f.last.Before(tf.Add(d.cfg.ServedOverlap)) {
			served++
			if f.last.After(until) {
				until = f.last
			}
		}
	}
	if newOK > 0 || served == 0 {
		return health.Event{}, false
	}
	ports := make([]int, 0, len(un))
	for _, f := range un {
		ports = append(ports, int(f.client.Port()))
	}
	conns := "connections"
	if served == 1 {
		conns = "connection"
	}
	msg := fmt.Sprintf("%d new connection attempts to %s (%d SYNs, from %s on) got no answer at all, while %d established %s to the same port kept being served (until %s): the server is not accepting new connections (listen backlog full or resource exhaustion), this is not network loss",
		len(un), server, syns, d.rel(tf), served, conns, d.rel(until))
	return health.Event{
		Kind: health.TCPNotAccepting, Severity: health.DefaultSeverity(health.TCPNotAccepting), Time: tf, Frame: un[0].synFrame,
		Message: msg,
		Evidence: map[string]any{
			"server": server.String(), "unanswered": len(un), "syns": syns, "served": served,
			"source_ports": ports, "first_frame": un[0].synFrame,
			"served_until_ms": float64(until.Sub(tf).Microseconds()) / 1000,
		},
	}, true
}

// sourcePorts is casebook C18: failures that cluster on source ports that
// never succeed, while other ports succeed in the same period.
func (d *Connections) sourcePorts(server netip.AddrPort, idx []int) (health.Event, bool) {
	failed, ok := d.outcomes(idx)
	if len(failed) < d.cfg.MinFailures || len(ok) == 0 {
		return health.Event{}, false
	}
	sort.Slice(failed, func(i, j int) bool { return failed[i].first.Before(failed[j].first) })
	okPorts := map[uint16]bool{}
	okAfter := 0
	for _, f := range ok {
		okPorts[f.client.Port()] = true
		if f.first.After(failed[0].first) {
			okAfter++
		}
	}
	// Successes must go on after the failures start: otherwise the server
	// (or the path) stopped answering everyone.
	if okAfter == 0 {
		return health.Event{}, false
	}
	cluster := map[uint16]int{}
	onCluster := 0
	for _, f := range failed {
		if p := f.client.Port(); !okPorts[p] {
			cluster[p]++
			onCluster++
		}
	}
	if len(cluster) == 0 || len(cluster) > d.cfg.MaxClusterPorts ||
		float64(onCluster) < d.cfg.ClusterShare*float64(len(failed)) {
		return health.Event{}, false
	}
	return portFailures(server, failed, ok, cluster, onCluster), true
}

// outcomes splits the connections idx into failed attempts (unanswered or
// refused) and successful ones.
func (d *Connections) outcomes(idx []int) (failed, ok []*tdgFlow) {
	for _, i := range idx {
		switch f := &d.flows[i]; f.outcome {
		case tdgUnanswered, tdgRefused:
			failed = append(failed, f)
		case tdgOK:
			ok = append(ok, f)
		}
	}
	return failed, ok
}

// portFailures words the C18 finding: the failing source ports (with their
// attempts), and whether a failing port failed again when reused.
func portFailures(server netip.AddrPort, failed, ok []*tdgFlow, cluster map[uint16]int, onCluster int) health.Event {
	ports := make([]int, 0, len(cluster))
	for p := range cluster {
		ports = append(ports, int(p))
	}
	sort.Ints(ports)
	var list strings.Builder
	repeated := 0
	for i, p := range ports {
		if i > 0 {
			list.WriteString(", ")
		}
		list.WriteString(strconv.Itoa(p))
		if n := cluster[uint16(p)]; n > 1 {
			fmt.Fprintf(&list, " (%d attempts)", n)
			repeated++
		}
	}
	frames := make([]int64, 0, min(len(failed), 16))
	syns := 0
	for _, f := range failed {
		if len(frames) < 16 {
			frames = append(frames, f.synFrame)
		}
		syns += f.syns
	}
	which := fmt.Sprintf("all from source ports %s", list.String())
	if onCluster < len(failed) {
		which = fmt.Sprintf("%d of them from source ports %s", onCluster, list.String())
	}
	msg := fmt.Sprintf("%d of %d connection attempts to %s failed, %s, which never succeeded, while %d attempts from other source ports succeeded in the same period: failures cluster on specific source ports",
		len(failed), len(failed)+len(ok), server, which, len(ok))
	if repeated > 0 {
		msg += ", and a failing port failed again when it was reused: look for a filter on source ports (IPsec policy, firewall rule)"
	} else {
		msg += ": look for a filter on source ports (IPsec policy, firewall rule) or per-flow hashing (ECMP, load balancer) that sends these flows to a broken path"
	}
	return health.Event{
		Kind: health.TCPSourcePortFailures, Severity: health.Error, Time: failed[0].first,
		Frame: failed[0].synFrame, Message: msg,
		Evidence: map[string]any{
			"server": server.String(), "ports": ports, "failed": len(failed), "ok": len(ok),
			"syns": syns, "failed_frames": frames, "repeated_ports": repeated,
		},
	}
}

// resetsAfterIdle is casebook C14 (second half): resets that end long
// silences.
func (d *Connections) resetsAfterIdle() (health.Event, bool) {
	var rs []*tdgFlow
	for i := range d.flows {
		f := &d.flows[i]
		if f.resetBy != "" && f.idleBeforeRST >= d.cfg.ResetIdle {
			rs = append(rs, f)
		}
	}
	if len(rs) < d.cfg.MinIdleResets {
		return health.Event{}, false
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].resetFrame < rs[j].resetFrame })
	minIdle, maxIdle := rs[0].idleBeforeRST, rs[0].idleBeforeRST
	by := map[string]int{}
	frames := make([]int64, 0, min(len(rs), 16))
	for _, f := range rs {
		minIdle = min(minIdle, f.idleBeforeRST)
		maxIdle = max(maxIdle, f.idleBeforeRST)
		by[f.resetBy]++
		if len(frames) < 16 {
			frames = append(frames, f.resetFrame)
		}
	}
	who := "client"
	switch {
	case by["client"] > 0 && by["server"] > 0:
		who = "mixed"
	case by["server"] > 0:
		who = "server"
	}
	idle := secsText(minIdle)
	if maxIdle-minIdle >= 100*time.Millisecond {
		idle = secsText(minIdle) + " to " + secsText(maxIdle)
	}
	byText := "by the " + who
	if who == "mixed" {
		byText = fmt.Sprintf("by clients (%d) and servers (%d)", by["client"], by["server"])
	}
	last := rs[len(rs)-1].resetFrame
	msg := fmt.Sprintf("%d connections were reset %s after %s of idle each (frames %d to %d): state kept for idle connections was lost or timed out (NAT/firewall idle timeout, neighbour/ARP cache, application idle timeout); compare with the idle timeouts of the devices in between",
		len(rs), byText, idle, rs[0].resetFrame, last)
	return health.Event{
		Kind: health.TCPResetAfterIdle, Severity: health.DefaultSeverity(health.TCPResetAfterIdle), Time: rs[0].last,
		Frame: rs[0].resetFrame, Message: msg,
		Evidence: map[string]any{
			"count": len(rs), "idle_ms": float64(minIdle.Microseconds()) / 1000,
			"max_idle_ms": float64(maxIdle.Microseconds()) / 1000, "by": who, "frames": frames,
		},
	}, true
}

// secsText formats a duration in seconds with one decimal ("8.0 s").
func secsText(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}
