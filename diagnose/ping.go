package diagnose

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Path MTU measured with pings (casebook C19: "ping -f -l 1472 fails, -l
// 1448 works"): echo requests with DF set whose large sizes are never
// answered while smaller ones are, and no ICMP fragmentation-needed quoting
// them came back, locate the path MTU and show a black hole.

type echoKey struct {
	src, dst netip.Addr
	id, seq  uint16
}

// echoSizes is the number of distinct request sizes tracked per path.
const echoSizes = 8

type echoSize struct {
	size           int
	sent, answered int
	firstFrame     int64
	first          time.Time
}

type echoPath struct {
	sizes [echoSizes]echoSize
	n     int
	icmp  int // frag-needed / packet-too-big quoting an echo of this path
	mtu   int // smallest MTU such an ICMP reported
}

type addrKey struct{ src, dst netip.Addr }

// isEchoRequest and isEchoReply classify echo messages (RFC 792, RFC 4443).
func isEchoRequest(q *layers.ICMPHeader) bool {
	return isEcho(q) && (q.Type == 8 && !q.V6 || q.Type == 128 && q.V6)
}
func isEchoReply(q *layers.ICMPHeader) bool {
	return isEcho(q) && (q.Type == 0 && !q.V6 || q.Type == 129 && q.V6)
}

func (d *Network) echoPacket(p *packet) {
	q := &p.ICMP
	src, dst := p.src.Addr(), p.dst.Addr()
	switch {
	case isEchoRequest(q):
		if !p.DF && !(q.V6 && p.IPLen > 1280) {
			return // without DF the routers fragment: nothing to measure
		}
		path := d.echoPath(addrKey{src, dst})
		if path == nil {
			return
		}
		var e *echoSize
		for i := range path.sizes[:path.n] {
			if path.sizes[i].size == p.IPLen {
				e = &path.sizes[i]
			}
		}
		if e == nil {
			if path.n == echoSizes {
				return
			}
			path.sizes[path.n] = echoSize{size: p.IPLen, firstFrame: p.Frame, first: p.Time}
			e = &path.sizes[path.n]
			path.n++
		}
		e.sent++
		if len(d.echo) >= d.cfg.MaxKeys {
			d.sweepEcho(p.Time)
			if len(d.echo) >= d.cfg.MaxKeys {
				d.markCapped("echo_requests")
				return
			}
		}
		d.echo[echoKey{src, dst, q.ID, q.Seq}] = echoReq{size: p.IPLen, at: p.Time}
	case isEchoReply(q):
		k := echoKey{dst, src, q.ID, q.Seq}
		r, ok := d.echo[k]
		if !ok {
			return
		}
		delete(d.echo, k)
		if path := d.echoPaths[addrKey{dst, src}]; path != nil {
			for i := range path.sizes[:path.n] {
				if path.sizes[i].size == r.size {
					path.sizes[i].answered++
				}
			}
		}
	}
}

type echoReq struct {
	size int
	at   time.Time
}

func (d *Network) echoPath(k addrKey) *echoPath {
	if p := d.echoPaths[k]; p != nil {
		return p
	}
	if len(d.echoPaths) >= d.cfg.MaxKeys {
		d.markCapped("echo_paths")
		return nil
	}
	p := &echoPath{}
	d.echoPaths[k] = p
	return p
}

// sweepEcho forgets echo requests unanswered for a minute.
func (d *Network) sweepEcho(now time.Time) {
	for k, r := range d.echo {
		if now.Sub(r.at) > time.Minute {
			delete(d.echo, k)
		}
	}
}

// echoICMP counts a frag-needed / packet-too-big quoting an echo request.
func (d *Network) echoICMP(q *layers.ICMPHeader) {
	if p := d.echoPaths[addrKey{quotedSrc(q).Addr(), quotedDst(q).Addr()}]; p != nil {
		p.icmp++
		if p.mtu == 0 || int(q.MTU) < p.mtu {
			p.mtu = int(q.MTU)
		}
	}
}

func (d *Network) pingFindings() []health.Event {
	keys := make([]addrKey, 0, len(d.echoPaths))
	for k := range d.echoPaths {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return d.echoPaths[keys[i]].sizes[0].firstFrame < d.echoPaths[keys[j]].sizes[0].firstFrame
	})
	var out []health.Event
	for _, k := range keys {
		p := d.echoPaths[k]
		okMax, fail := 0, (*echoSize)(nil)
		for i := range p.sizes[:p.n] {
			if e := &p.sizes[i]; e.answered > 0 && e.size > okMax {
				okMax = e.size
			}
		}
		for i := range p.sizes[:p.n] {
			e := &p.sizes[i]
			if e.answered == 0 && e.sent >= 2 && e.size > okMax && (fail == nil || e.size < fail.size) {
				fail = e
			}
		}
		if okMax == 0 || fail == nil || p.icmp > 0 {
			continue // nothing answered, nothing lost, or the ICMP event says it
		}
		out = append(out, health.Event{
			Kind: health.NetPMTUBlackhole, Severity: health.Error, Time: fail.first, Frame: fail.firstFrame,
			Flow: k.src.String() + "->" + k.dst.String() + "/" + netProtoName(protoICMP),
			Message: fmt.Sprintf("ping with DF set from %s to %s: %d-byte packets unanswered (%d tries) while %d-byte ones are answered: "+
				"the path MTU is between %d and %d, and no ICMP fragmentation-needed came back (PMTU black hole)",
				k.src, k.dst, fail.size, fail.sent, okMax, okMax, fail.size-1),
			Evidence: map[string]any{
				"size": fail.size, "retransmissions": fail.sent, "largest_delivered": okMax,
				"icmp_seen": false, "method": "ping", "mtu_at_least": okMax, "mtu_below": fail.size,
			},
		})
	}
	return netCapEvents(out, d.cfg.MaxEventsPerKind)
}
