package diagnose

import (
	"math/bits"
	"net/netip"
	"sort"
	"time"
)

// Workload profile (casebook C21): per service — a server address and port
// with its transport — the connections, peak concurrency, requests and the
// peak request rate where requests are known (cleartext HTTP request lines,
// UDP datagrams to the service), the response size distribution, and the
// throughput per direction.

type svcKey struct {
	server netip.AddrPort
	proto  uint8
}

// maxClients caps the distinct client addresses counted per service, and
// maxDistinctRequests the distinct request lines remembered per service.
const (
	maxClients          = 256
	maxDistinctRequests = 1024
)

// requestLine counts a request line for the repetition measure.
func (s *service) requestLine(line string) {
	if s.reqMany {
		return
	}
	h := uint64(14695981039346656037)
	for i := 0; i < len(line); i++ {
		h ^= uint64(line[i])
		h *= 1099511628211
	}
	if s.reqSeen == nil {
		s.reqSeen = map[uint64]struct{}{}
	}
	if _, ok := s.reqSeen[h]; ok {
		return
	}
	if len(s.reqSeen) >= maxDistinctRequests {
		s.reqMany = true
		return
	}
	s.reqSeen[h] = struct{}{}
}

type service struct {
	key         svcKey
	conns       int64
	clients     []netip.Addr
	manyClients bool
	packets     [2]int64
	bytes       [2]int64 // payload bytes per direction (0: to the server)
	rate        [2]netRate
	requests    int64
	reqRate     netRate
	first, last time.Time
	firstFrame  int64
	intervals   []netInterval
	clipped     bool
	sizes       sizeHist            // per request (HTTP) or per reply datagram (UDP)
	connSizes   sizeHist            // per connection, server→client bytes
	reqSeen     map[uint64]struct{} // hashes of distinct request lines, capped at maxDistinctRequests
	reqMany     bool
	rttSum      time.Duration
	rttN        int
	retrans     [2]int64
	app         string
}

func (d *Network) service(k svcKey, p *packet) *service {
	if sv := d.services[k]; sv != nil {
		return sv
	}
	sv := &service{key: k, first: p.Time, last: p.Time, firstFrame: p.Frame}
	if len(d.services) >= d.cfg.MaxKeys {
		// Over the cap: count into a detached service, not reported.
		d.markCapped("services")
		return sv
	}
	d.services[k] = sv
	return sv
}

func (s *service) client(a netip.Addr) {
	if s.manyClients {
		return
	}
	for _, c := range s.clients {
		if c == a {
			return
		}
	}
	if len(s.clients) < maxClients {
		s.clients = append(s.clients, a)
		return
	}
	s.manyClients = true
}

// udpService counts a datagram against its service. The service side is
// the one already known, else the lower port (the destination on a tie).
func (d *Network) udpService(p *packet) {
	dir := 0
	sv := d.services[svcKey{server: p.dst, proto: protoUDP}]
	if sv == nil {
		if sv = d.services[svcKey{server: p.src, proto: protoUDP}]; sv != nil {
			dir = 1
		}
	}
	if sv == nil {
		// The first datagram goes to the service, unless it comes from a
		// well-known port to an ephemeral one (a reply seen first).
		server, client := p.dst, p.src
		if p.src.Port() < 1024 && p.dst.Port() >= 1024 {
			server, client, dir = p.src, p.dst, 1
		}
		sv = d.service(svcKey{server: server, proto: protoUDP}, p)
		sv.client(client.Addr())
	} else if dir == 0 {
		sv.client(p.src.Addr())
	}
	sv.packets[dir]++
	sv.bytes[dir] += int64(p.PayloadLen)
	sv.rate[dir].add(p.Time, int64(p.PayloadLen), p.Frame)
	if dir == 0 {
		sv.requests++
		sv.reqRate.add(p.Time, 1, p.Frame)
	} else {
		sv.sizes.add(int64(p.PayloadLen))
	}
	if p.Time.After(sv.last) {
		sv.last = p.Time
	}
}

// sizeHist is a bounded size distribution: power-of-two buckets plus exact
// count, sum, min and max. Percentiles are bucket upper bounds (within 2x).
type sizeHist struct {
	count, sum, min, max int64
	bucket               [64]int64 // bucket i holds sizes with bit length i
}

func (h *sizeHist) add(n int64) {
	if n < 0 {
		n = 0
	}
	if h.count == 0 || n < h.min {
		h.min = n
	}
	h.max = max(h.max, n)
	h.count++
	h.sum += n
	h.bucket[bits.Len64(uint64(n))]++
}

// quantile returns an upper bound of the q-quantile (0 < q ≤ 1).
func (h *sizeHist) quantile(q float64) int64 {
	if h.count == 0 {
		return 0
	}
	want := int64(q*float64(h.count) + 0.5)
	if want < 1 {
		want = 1
	}
	var seen int64
	for i, c := range h.bucket {
		seen += c
		if seen >= want {
			if i == 0 {
				return 0
			}
			ub := int64(1)<<i - 1
			return min(max(ub, h.min), h.max)
		}
	}
	return h.max
}

// SizeDist summarises a distribution of sizes in bytes. P50/P90/P99 are
// upper bounds taken from power-of-two buckets, clamped to [Min, Max].
type SizeDist struct {
	Count          int64
	Min, Max, Mean int64
	P50, P90, P99  int64
	Unit           string // what was measured: "response", "reply datagram" or "connection"
}

func (h *sizeHist) dist(unit string) SizeDist {
	if h.count == 0 {
		return SizeDist{Unit: unit}
	}
	return SizeDist{
		Count: h.count, Min: h.min, Max: h.max, Mean: h.sum / h.count,
		P50: h.quantile(0.5), P90: h.quantile(0.9), P99: h.quantile(0.99), Unit: unit,
	}
}

// ServiceProfile is the workload of one service.
type ServiceProfile struct {
	Server   netip.AddrPort
	Proto    string // "tcp" or "udp"
	App      string // "http" when HTTP requests were seen, else ""
	Name     string // DNS name the server address was resolved from, if any
	Clients  int    // distinct client addresses (capped at 256)
	First    time.Time
	Last     time.Time
	Duration time.Duration

	Connections       int64 // TCP connections (0 for UDP)
	PeakConcurrent    int   // most TCP connections open at once
	PeakConcurrentAt  time.Time
	Requests          int64   // HTTP requests, or datagrams to the service (UDP)
	PeakRequestsPerS  int64   // most requests in any 1 s window
	DistinctRequests  int     // distinct HTTP request lines (capped at 1024)
	RepeatPct         int     // share of HTTP requests repeating an earlier request line (hit-rate-like)
	MeanRequestsPerS  float64 // over the service's active time
	Packets           [2]int64
	Bytes             [2]int64   // payload bytes; index 0 client→server, 1 server→client
	MeanMbps          [2]float64 // over the service's active time
	PeakMbps          [2]float64 // over any 1 s window
	Responses         SizeDist   // per response (HTTP) or reply datagram (UDP)
	ConnectionBytes   SizeDist   // server→client bytes per connection (TCP)
	HandshakeRTTMean  time.Duration
	RetransBytes      [2]int64 // from the tracker's summaries, when fed
	ConcurrencyApprox bool     // interval cap reached: concurrency undercounted
}

// Workload is the profile of every service seen, busiest first.
type Workload struct {
	Services []ServiceProfile
	// Capped names the tables that reached their cap (the profile then
	// covers the keys seen first).
	Capped []string
}

// Workload returns the workload profile. Call it after Finish (connections
// still open are counted up to the last packet seen then).
func (d *Network) Workload() *Workload {
	w := &Workload{}
	for _, sv := range d.services {
		w.Services = append(w.Services, d.profile(sv))
	}
	sort.Slice(w.Services, func(i, j int) bool {
		a, b := &w.Services[i], &w.Services[j]
		ta, tb := a.Bytes[0]+a.Bytes[1], b.Bytes[0]+b.Bytes[1]
		if ta != tb {
			return ta > tb
		}
		if a.Server != b.Server {
			return a.Server.Compare(b.Server) < 0
		}
		return a.Proto < b.Proto
	})
	for t := range d.capped {
		w.Capped = append(w.Capped, t)
	}
	sort.Strings(w.Capped)
	return w
}

func (d *Network) profile(sv *service) ServiceProfile {
	p := ServiceProfile{
		Server: sv.key.server, Proto: netProtoName(sv.key.proto), App: sv.app,
		Clients: len(sv.clients), First: sv.first, Last: sv.last, Duration: sv.last.Sub(sv.first),
		Connections: sv.conns, Requests: sv.requests, PeakRequestsPerS: sv.reqRate.peak,
		Packets: sv.packets, Bytes: sv.bytes, RetransBytes: sv.retrans, ConcurrencyApprox: sv.clipped,
	}
	if len(sv.reqSeen) > 0 && sv.app == "http" && sv.requests > 0 {
		p.DistinctRequests = len(sv.reqSeen)
		if !sv.reqMany {
			p.RepeatPct = int(100 * (sv.requests - int64(len(sv.reqSeen))) / sv.requests)
		}
	}
	if n, ok := d.NameOf(sv.key.server.Addr()); ok {
		p.Name = n
	}
	if sv.key.proto == protoTCP {
		p.PeakConcurrent, p.PeakConcurrentAt = netPeakConcurrent(sv.intervals)
		p.ConnectionBytes = sv.connSizes.dist("connection")
		p.Responses = sv.sizes.dist("response")
	} else {
		p.Responses = sv.sizes.dist("reply datagram")
		p.ConnectionBytes.Unit = "connection"
	}
	// Means are over the active time, at least one second (a single
	// exchange of a few milliseconds is not "1000 requests/s").
	if secs := max(p.Duration.Seconds(), 1); secs > 0 {
		p.MeanRequestsPerS = netRound2(float64(sv.requests) / secs)
		for i := range 2 {
			p.MeanMbps[i] = netRound2(float64(sv.bytes[i]) * 8 / secs / 1e6)
		}
	}
	for i := range 2 {
		p.PeakMbps[i] = netRound2(float64(sv.rate[i].peak) * 8 / 1e6)
	}
	if sv.rttN > 0 {
		p.HandshakeRTTMean = sv.rttSum / time.Duration(sv.rttN)
	}
	return p
}
