package tcpstate

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/nettrace/nettrace/health"
)

// maxShedServers bounds the servers counted among the connections shed at
// the MaxHalfOpen cap; the rest are counted together.
const maxShedServers = 64

// halfOpenShed counts the connections ended at the MaxHalfOpen cap: how
// many, between which frames, and to which servers.
type halfOpenShed struct {
	n           int64
	first, last Position
	servers     map[netip.AddrPort]int64
	others      int64 // to servers beyond maxShedServers
}

// shedHalfOpen ends c, a connection whose handshake had not completed,
// to keep MaxHalfOpen: counted, not reported one by one (a flood would
// make millions of events: no tcp.evicted, no flow.summary event, though
// OnSummary still receives its FlowStats), and not said to be unanswered
// (its answer may have come after it was dropped).
func (t *Tracker) shedHalfOpen(c *conn, at Position) {
	s := &t.shed
	if s.n == 0 {
		s.first = at
		s.servers = map[netip.AddrPort]int64{}
	}
	s.n++
	s.last = at
	srv := c.ctx.Server
	if _, ok := s.servers[srv]; ok || len(s.servers) < maxShedServers {
		s.servers[srv]++
	} else {
		s.others++
	}
	c.shed = true
	c.end(CloseEvicted, Position{Frame: c.st.LastFrame, Time: at.Time})
}

// reportShed says tcp.half_open_evicted once, at Close, when connections
// were shed at the MaxHalfOpen cap.
func (t *Tracker) reportShed() {
	s := &t.shed
	if s.n == 0 {
		return
	}
	type srvCount struct {
		srv netip.AddrPort
		n   int64
	}
	top := make([]srvCount, 0, len(s.servers))
	for k, v := range s.servers {
		top = append(top, srvCount{k, v})
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].n != top[j].n {
			return top[i].n > top[j].n
		}
		return top[i].srv.Compare(top[j].srv) < 0
	})
	servers := len(top)
	if s.others > 0 {
		servers = -1 // more than maxShedServers
	}
	ev := map[string]any{"evicted": s.n, "cap": t.cfg.MaxHalfOpen, "first_frame": s.first.Frame, "last_frame": s.last.Frame,
		"peak": t.halfOpenPeak, "server": top[0].srv.String(), "server_share": top[0].n, "servers": servers}
	t.rep.Event(health.Event{Kind: health.TCPHalfOpenEvicted, Severity: health.Notice, Time: s.first.Time, Frame: s.first.Frame,
		Message: fmt.Sprintf("%d connection attempts whose handshake had not completed were dropped from tracking, between frames %d and %d, to keep %d such attempts at once (Config.MaxHalfOpen; %d of them to %s): they are counted, not followed, and whether they were answered later is not known",
			s.n, s.first.Frame, s.last.Frame, t.cfg.MaxHalfOpen, top[0].n, top[0].srv),
		Evidence: ev})
}
