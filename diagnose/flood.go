package diagnose

import (
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// UDP streams between two addresses: floods (casebook C6) and
// fragmentation of large datagrams.

type addrPair struct{ src, dst netip.Addr }

// udpPair sums the UDP datagrams from one address to another.
type udpPair struct {
	key                   addrPair
	datagrams             int64
	ipBytes               int64
	payload               int64
	rate                  netRate
	firstFrame, lastFrame int64
	first, last           time.Time
	srcPort, dstPort      uint16
	srcPorts, dstPorts    int // 1 while every datagram used the first port, 2 after another one appeared
	icmpUnreach           int

	sampled    bool
	netEntropy float64 // bits per byte of the first sampled payload
	prevHash   uint64
	repeats    int64 // datagrams whose payload prefix equals the previous one's

	reassembled int64
	fragments   int64
	maxFrags    int
	maxLen      int

	preceding httpReq // the last cleartext HTTP request to src before the first datagram
}

// entropySample is how many payload bytes are sampled for entropy, and
// repeatPrefix how many are compared between consecutive datagrams.
const (
	entropySample = 512
	repeatPrefix  = 64
)

func (d *Network) udpPacket(p *packet) {
	k := addrPair{src: p.src.Addr(), dst: p.dst.Addr()}
	u := d.udp[k]
	if u == nil {
		if len(d.udp) >= d.cfg.MaxKeys {
			d.markCapped("udp")
		} else {
			u = &udpPair{key: k, firstFrame: p.Frame, first: p.Time, srcPort: p.src.Port(), dstPort: p.dst.Port(), srcPorts: 1, dstPorts: 1}
			u.preceding = d.lastHTTP[k.src]
			d.udp[k] = u
			d.destConn(k.dst, p)
		}
	}
	if u != nil {
		d.udpCount(u, p)
	}
	d.asymUDP(p)
	d.udpService(p)
	d.udpAttempt(p)
}

func (d *Network) udpCount(u *udpPair, p *packet) {
	u.datagrams++
	u.lastFrame, u.last = p.Frame, p.Time
	ip := p.IPLen
	if p.Reassembled && len(p.FragFrames) > 1 {
		hdr := 20
		if p.src.Addr().Is6() && !p.src.Addr().Is4In6() {
			hdr = 48
		}
		ip += (len(p.FragFrames) - 1) * hdr
		u.reassembled++
		u.fragments += int64(len(p.FragFrames))
		u.maxFrags = max(u.maxFrags, len(p.FragFrames))
		u.maxLen = max(u.maxLen, p.IPLen)
	}
	u.ipBytes += int64(ip)
	u.payload += int64(p.PayloadLen)
	u.rate.add(p.Time, 1, p.Frame)
	if p.src.Port() != u.srcPort {
		u.srcPorts = 2
	}
	if p.dst.Port() != u.dstPort {
		u.dstPorts = 2
	}
	if len(p.Payload) > 0 {
		if !u.sampled {
			u.sampled = true
			u.netEntropy = netEntropy(p.Payload[:min(len(p.Payload), entropySample)])
		}
		h := netFNV64(p.Payload[:min(len(p.Payload), repeatPrefix)])
		if u.datagrams > 1 && h == u.prevHash {
			u.repeats++
		}
		u.prevHash = h
	}
}

// udpICMP counts an ICMP error quoting a UDP datagram against its stream.
func (d *Network) udpICMP(q *layers.ICMPHeader) {
	if u := d.udp[addrPair{src: quotedSrc(q).Addr(), dst: quotedDst(q).Addr()}]; u != nil {
		u.icmpUnreach++
	}
}

// netEntropy returns the Shannon entropy of b in bits per byte.
func netEntropy(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var hist [256]int
	for _, c := range b {
		hist[c]++
	}
	n := float64(len(b))
	var h float64
	for _, c := range hist {
		if c > 0 {
			f := float64(c) / n
			h -= f * math.Log2(f)
		}
	}
	return h
}

// netFNV64 is FNV-1a over b.
func netFNV64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// floodFindings reports UDP floods and fragmented streams.
func (d *Network) floodFindings() []health.Event {
	keys := make([]addrPair, 0, len(d.udp))
	for k := range d.udp {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return d.udp[keys[i]].firstFrame < d.udp[keys[j]].firstFrame })
	var floods, frags []health.Event
	for _, k := range keys {
		u := d.udp[k]
		if u.reassembled > 0 {
			frags = append(frags, health.Event{
				Kind: health.NetFragmented, Severity: health.Info, Time: u.first, Frame: u.firstFrame,
				Flow: netFlowString(netip.AddrPortFrom(k.src, u.srcPort), netip.AddrPortFrom(k.dst, u.dstPort), protoUDP),
				Message: fmt.Sprintf("%s from %s to %s fragmented (up to %d fragments, datagrams up to %d bytes) and reassembled",
					netPlural(u.reassembled, "UDP datagram"), k.src, k.dst, u.maxFrags, u.maxLen),
				Evidence: map[string]any{
					"datagrams": u.reassembled, "fragments": u.fragments, "fragments_per_datagram": u.maxFrags,
					"max_datagram_len": u.maxLen, "incomplete_events": d.fragIncomplete, "overlap_events": d.fragOverlap,
				},
			})
		}
		replies := int64(0)
		if r := d.udp[addrPair{src: k.dst, dst: k.src}]; r != nil {
			replies = r.datagrams
		}
		if u.datagrams < int64(d.cfg.FloodMinDatagrams) || u.rate.peak < int64(d.cfg.FloodMinRate) || 10*replies > u.datagrams {
			continue
		}
		floods = append(floods, d.floodEvent(u, replies))
	}
	return append(netCapEvents(floods, d.cfg.MaxEventsPerKind), netCapEvents(frags, d.cfg.MaxEventsPerKind)...)
}

func (d *Network) floodEvent(u *udpPair, replies int64) health.Event {
	k := u.key
	dur := u.last.Sub(u.first)
	secs := dur.Seconds()
	mean, mbps := float64(u.datagrams), 0.0
	if secs > 0 {
		mean = float64(u.datagrams) / secs
		mbps = float64(u.ipBytes) * 8 / secs / 1e6
	}
	target := k.dst.String()
	if u.dstPorts == 1 {
		target = netip.AddrPortFrom(k.dst, u.dstPort).String()
	}
	source := k.src.String()
	if u.srcPorts == 1 {
		source = netip.AddrPortFrom(k.src, u.srcPort).String()
	}
	repeatPct := 0
	if u.datagrams > 1 {
		repeatPct = int(100 * u.repeats / (u.datagrams - 1))
	}
	ev := map[string]any{
		"source": source, "target": target, "datagrams": u.datagrams, "bytes": u.ipBytes,
		"rate_pps": u.rate.peak, "mean_pps": netRound2(mean), "mbps": netRound2(mbps),
		"duration_s": netSeconds(dur), "replies": replies, "icmp_unreachable": u.icmpUnreach,
		"payload_entropy": netRound2(u.netEntropy), "repeated_pct": repeatPct,
		"first_frame": u.firstFrame, "last_frame": u.lastFrame,
	}
	payload := "payload looks random"
	switch {
	case repeatPct >= 90:
		payload = "the same payload repeated"
	case u.netEntropy < 3:
		payload = "low-entropy filler payload"
	}
	if u.reassembled > 0 {
		ev["fragments_per_datagram"] = u.maxFrags
		ev["reassembled"] = u.reassembled
	}
	msg := fmt.Sprintf("UDP flood from %s to %s: %d datagrams in %.2f s (up to %d/s, %.1f Mbit/s), %s, %d replies",
		source, target, u.datagrams, secs, u.rate.peak, mbps, payload, replies)
	if u.icmpUnreach > 0 {
		msg += fmt.Sprintf(", %d ICMP unreachable from the target", u.icmpUnreach)
	}
	if r := u.preceding; r.frame > 0 && !r.at.After(u.first) {
		ev["preceded_by"] = r.line
		ev["preceded_by_frame"] = r.frame
		ev["preceded_by_client"] = r.client.String()
		ev["request_names_target"] = strings.Contains(r.line, k.dst.String())
		msg += fmt.Sprintf("; %.2f s after the HTTP request %q from %s (frame %d) to the flood source",
			u.first.Sub(r.at).Seconds(), r.line, r.client.Addr(), r.frame)
	}
	// A one-way stream at a high rate can also be a legitimate feed (syslog,
	// NetFlow, video): it is an error when something marks it as abuse —
	// the target refuses it, the payload is one block repeated, or a web
	// request to the source preceded it.
	sev := health.Warning
	if u.icmpUnreach > 0 || repeatPct >= 90 || ev["preceded_by"] != nil {
		sev = health.Error
	} else {
		msg += " (a flood, or a one-way feed such as syslog, NetFlow or video)"
	}
	return health.Event{
		Kind: health.NetUDPFlood, Severity: sev, Time: u.first, Frame: u.firstFrame,
		Flow:    netFlowString(netip.AddrPortFrom(k.src, u.srcPort), netip.AddrPortFrom(k.dst, u.dstPort), protoUDP),
		Message: msg, Evidence: ev,
	}
}
