package smb

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Stats summarises one connection. Slices are sorted and owned by the caller.
type Stats struct {
	Server       string // server address:port
	Version      int    // 1 (SMB1) or 2 (SMB2/3); 0 before a negotiate is seen
	Dialect      string // negotiated dialect ("SMB 3.1.1", "NT LM 0.12")
	Dialects     []string
	CalledName   string // NBSS session request (139)
	CallingName  string
	User         string // NTLM AUTHENTICATE user of the last session set up
	Domain       string
	Workstation  string
	Signed       bool  // a signed SMB2 message was seen
	Encrypted    int64 // SMB3 transform (encrypted) messages not decrypted
	Compressed   int64 // SMB 3.1.1 compressed messages not decompressed
	Decrypted    int64 // SMB3 transform messages decrypted and decoded (Config.Keys, Config.NTPasswords)
	Decompressed int64 // SMB 3.1.1 compressed messages decompressed and decoded
	// DecompressFailed counts compressed messages that did not decompress
	// (smb.decompress_failed); they are also counted in Compressed.
	DecompressFailed int64
	KeepAlives       int64
	Malformed        int64
	Resyncs          int64 // decode.resync: resynchronisations after a gap or a mid-stream start
	Unanswered       int64 // requests evicted or never answered
	AuthFailures     int64
	PipeBytes        int64 // named-pipe payload bytes seen (both directions)
	IgnoredBytes     int64 // bytes skipped while resynchronising or after giving up
	Commands         []CommandStats
	Errors           []ErrorCount
	Files            []FileStats
}

// ErrorCount counts responses with one error status to one command.
type ErrorCount struct {
	Command string
	Status  string
	Count   int
}

// CommandStats describes the requests of one command name ("READ",
// "NT_CREATE_ANDX"): counts and server response times (request first byte to
// response last byte) for the responses that were matched.
type CommandStats struct {
	Command   string
	Requests  int
	Responses int
	Errors    int
	// Latency percentiles over at most Limits.MaxLatencySamples samples.
	P50, P90, P99, Max time.Duration
	Samples            int
}

type latSample struct {
	d      time.Duration // request first byte to response last byte
	server time.Duration // estimated server think time (see serverTime)
	frame  int64
}

type cmdStats struct {
	name                        string
	requests, responses, errors int
	samples                     []latSample
	next                        int
	total                       int
}

func (s *cmdStats) add(d, server time.Duration, frame int64, max int) {
	s.total++
	if len(s.samples) < max {
		s.samples = append(s.samples, latSample{d, server, frame})
		return
	}
	s.samples[s.next] = latSample{d, server, frame}
	s.next = (s.next + 1) % max
}

func (s *cmdStats) sorted() []time.Duration {
	out := make([]time.Duration, len(s.samples))
	for i, x := range s.samples {
		out[i] = x.d
	}
	slices.Sort(out)
	return out
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

// Stats returns the connection summary so far (files still open included).
func (c *Conn) Stats() Stats {
	s := c.stats
	s.IgnoredBytes = c.half[0].ignore + c.half[1].ignore
	s.Dialects = append([]string(nil), c.stats.Dialects...)
	names := make([]string, 0, len(c.cmds))
	for n := range c.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s.Commands = append(s.Commands, c.commandStats(c.cmds[n]))
	}
	keys := make([]string, 0, len(c.errs))
	for k := range c.errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s.Errors = append(s.Errors, *c.errs[k])
	}
	s.Files = c.Files()
	return s
}

// Commands returns per-command statistics, sorted by command name.
func (c *Conn) Commands() []CommandStats { return c.Stats().Commands }

func (c *Conn) commandStats(cs *cmdStats) CommandStats {
	srt := cs.sorted()
	out := CommandStats{Command: cs.name, Requests: cs.requests, Responses: cs.responses, Errors: cs.errors, Samples: len(srt)}
	if len(srt) > 0 {
		out.P50, out.P90, out.P99, out.Max = percentile(srt, .5), percentile(srt, .9), percentile(srt, .99), srt[len(srt)-1]
	}
	return out
}

// analyseSlow reports server-time outliers (smb.slow_response) per
// command. Server time is the think time estimated by serverTime (queueing
// behind earlier responses excluded). A response is an outlier when its
// server time reaches Limits.SlowResponse, or (with 8 samples or more) is
// ten times the command's median server time and at least 100 ms more.
// At most 5 events per connection.
func (c *Conn) analyseSlow() {
	names := make([]string, 0, len(c.cmds))
	for n := range c.cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cs := c.cmds[n]
		if len(cs.samples) == 0 {
			continue
		}
		lat := cs.sorted()
		srv := make([]time.Duration, len(cs.samples))
		for i, x := range cs.samples {
			srv[i] = x.server
		}
		slices.Sort(srv)
		med, medSrv := percentile(lat, .5), percentile(srv, .5)
		samples := append([]latSample(nil), cs.samples...)
		slices.SortStableFunc(samples, func(a, b latSample) int { return cmp.Compare(a.frame, b.frame) })
		for _, s := range samples {
			slow := s.server >= c.lim.SlowResponse
			if len(srv) >= 8 && s.server > 10*medSrv && s.server-medSrv >= 100*time.Millisecond {
				slow = true
			}
			if !slow {
				continue
			}
			c.slow++
			if c.slow > 5 {
				return
			}
			c.ctx.Event(health.Event{Kind: health.SMBSlowResponse, Severity: health.Notice, Frame: s.frame,
				Message: fmt.Sprintf("%s answered after %s, of which ~%s server time (median %s, server time %s, over %d responses)",
					n, ms(s.d), ms(s.server), ms(med), ms(medSrv), len(srv)),
				Evidence: map[string]any{"command": n, "latency_ms": msf(s.d), "median_ms": msf(med), "server_ms": msf(s.server),
					"median_server_ms": msf(medSrv)}})
		}
	}
}

// analyseStalls reports a near-constant stall inside PDUs that repeats
// (smb.shaping_delay): at least 3 stalls of at least Limits.ShapingMinDelay
// (and 4 RTTs when the RTT is known), at least 3/4 of them within ±10% (or
// ±10 ms) of their median.
func (c *Conn) analyseStalls() {
	for d := tcpstate.ClientToServer; d <= tcpstate.ServerToClient; d++ {
		ss := c.stalls[d]
		minGap := c.lim.ShapingMinDelay
		if 4*c.ctx.RTT > minGap {
			minGap = 4 * c.ctx.RTT
		}
		var gaps []time.Duration
		var kept []stall
		for _, s := range ss {
			if s.gap >= minGap {
				gaps = append(gaps, s.gap)
				kept = append(kept, s)
			}
		}
		if len(gaps) < 3 {
			continue
		}
		srt := append([]time.Duration(nil), gaps...)
		slices.Sort(srt)
		med := percentile(srt, .5)
		tol := med / 10
		if tol < 10*time.Millisecond {
			tol = 10 * time.Millisecond
		}
		var total time.Duration
		var near []stall
		lo, hi := time.Duration(1<<62), time.Duration(0)
		for _, s := range kept {
			if s.gap >= med-tol && s.gap <= med+tol {
				near = append(near, s)
				total += s.gap
				lo, hi = minDur(lo, s.gap), maxDur(hi, s.gap)
			}
		}
		if len(near) < 3 || 4*len(near) < 3*len(kept) {
			continue
		}
		what := "responses"
		if d == tcpstate.ClientToServer {
			what = "requests"
		}
		multi := c.half[d].multi
		span := near[len(near)-1].at.Sub(near[0].at) + near[0].gap
		c.ctx.Event(health.Event{Kind: health.SMBShapingDelay, Severity: health.Warning, Time: near[0].at, Frame: near[0].frame,
			Message: fmt.Sprintf("%d %s stall for a near-constant %s (%s–%s) before their last segment arrives, %d of %d multi-segment %s: not retransmission or server think time, traffic shaping/QoS suspected; costs %s over %s",
				len(near), what, ms(med), ms(lo), ms(hi), len(near), multi, what, ms(total), ms(span)),
			Evidence: map[string]any{"delay_ms": msf(med), "occurrences": len(near), "total_ms": msf(total), "direction": d.String(),
				"first_frame": near[0].frame}})
	}
}

func minDur(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// ms formats a duration in milliseconds ("20.8 ms") or seconds.
func ms(d time.Duration) string {
	if d >= 10*time.Second {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	if d >= time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// msf returns d in milliseconds rounded to 0.1.
func msf(d time.Duration) float64 {
	return float64(d/(100*time.Microsecond)) / 10
}
