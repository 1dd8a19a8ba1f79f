package diagnose

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
)

// ARP (RFC 826, RFC 5227): bursts of requests from one sender (casebook
// C14: 20 requests in 0.4 ms after the neighbour cache was flushed),
// gratuitous ARP, and one IP address claimed by two MAC addresses.

// arpRing is the number of recent request times kept per sender; it bounds
// the burst size that can be measured exactly.
const arpRing = 64

type arpSender struct {
	mac      [6]byte
	times    [arpRing]int64 // UnixNano, ring
	frames   [arpRing]int64
	n        int // requests in total
	targets  int // distinct targets among the first arpRing requests
	seen     [arpRing]netip.Addr
	best     int // largest burst within ARPWindow
	bestFrom int64
	bestTo   int64
	bestSpan time.Duration
	bestAt   time.Time
	first    int64
}

type arpBinding struct {
	mac   [6]byte
	frame int64
}

type arpConflict struct {
	macs        [][6]byte // distinct MACs claiming the address (capped at 4)
	frames      netFrames
	first       time.Time
	gratuitous  int
	gratFrames  netFrames
	gratFirst   time.Time
	duplicateIP bool
}

func netMAC(m [6]byte) string { return net.HardwareAddr(m[:]).String() }

func (d *Network) arpPacket(p *packet) {
	a := &p.ARP
	if a.Op == arpRequest && a.SenderIP.IsValid() && !a.SenderIP.IsUnspecified() && a.SenderIP != a.TargetIP {
		d.arpRequest(p)
	}
	if !a.SenderIP.IsValid() || a.SenderIP.IsUnspecified() {
		return // ARP probe (RFC 5227): no claim yet
	}
	if a.SenderIP == a.TargetIP {
		if c := d.arpConflictFor(a.SenderIP, p); c != nil {
			c.gratuitous++
			c.gratFrames.add(p.Frame, d.cfg.MaxFrames)
			if c.gratFirst.IsZero() {
				c.gratFirst = p.Time
			}
		}
	}
	b, ok := d.arpMAC[a.SenderIP]
	switch {
	case !ok:
		if len(d.arpMAC) >= d.cfg.MaxKeys {
			d.markCapped("arp_bindings")
			return
		}
		d.arpMAC[a.SenderIP] = arpBinding{mac: a.SenderMAC, frame: p.Frame}
	case b.mac != a.SenderMAC:
		c := d.arpConflictFor(a.SenderIP, p)
		if c == nil {
			return
		}
		if !c.duplicateIP {
			c.duplicateIP = true
			c.first = p.Time
			c.frames.add(b.frame, d.cfg.MaxFrames)
			c.addMAC(b.mac)
		}
		c.addMAC(a.SenderMAC)
		c.frames.add(p.Frame, d.cfg.MaxFrames)
		d.arpMAC[a.SenderIP] = arpBinding{mac: a.SenderMAC, frame: p.Frame}
	}
}

func (c *arpConflict) addMAC(m [6]byte) {
	for _, x := range c.macs {
		if x == m {
			return
		}
	}
	if len(c.macs) < 4 {
		c.macs = append(c.macs, m)
	}
}

func (d *Network) arpConflictFor(ip netip.Addr, p *packet) *arpConflict {
	c := d.arpConf[ip]
	if c == nil {
		if len(d.arpConf) >= d.cfg.MaxKeys {
			d.markCapped("arp_conflicts")
			return nil
		}
		c = &arpConflict{}
		d.arpConf[ip] = c
	}
	return c
}

// arpRequest adds a request to its sender's ring and measures the largest
// burst within ARPWindow ending at this request.
func (d *Network) arpRequest(p *packet) {
	a := &p.ARP
	s := d.arp[a.SenderIP]
	if s == nil {
		if len(d.arp) >= d.cfg.MaxKeys {
			d.markCapped("arp_senders")
			return
		}
		s = &arpSender{mac: a.SenderMAC, first: p.Frame}
		d.arp[a.SenderIP] = s
	}
	now := p.Time.UnixNano()
	i := s.n % arpRing
	s.times[i], s.frames[i] = now, p.Frame
	if s.n < arpRing {
		dup := false
		for _, t := range s.seen[:s.targets] {
			if t == a.TargetIP {
				dup = true
				break
			}
		}
		if !dup {
			s.seen[s.targets] = a.TargetIP
			s.targets++
		}
	}
	s.n++
	kept := min(s.n, arpRing)
	win := int64(d.cfg.ARPWindow)
	burst, from := 0, int64(0)
	var earliest int64
	for j := 0; j < kept; j++ {
		k := (s.n - 1 - j) % arpRing
		if now-s.times[k] > win || s.times[k] > now {
			break
		}
		burst++
		from, earliest = s.frames[k], s.times[k]
	}
	if burst > s.best {
		s.best, s.bestFrom, s.bestTo = burst, from, p.Frame
		s.bestSpan = time.Duration(now - earliest)
		s.bestAt = time.Unix(0, earliest).UTC()
	}
}

func (d *Network) arpFindings() []health.Event {
	var storms, conflicts []health.Event
	senders := make([]netip.Addr, 0, len(d.arp))
	for ip, s := range d.arp {
		if s.best >= d.cfg.ARPBurstMin {
			senders = append(senders, ip)
		}
	}
	sort.Slice(senders, func(i, j int) bool { return d.arp[senders[i]].bestFrom < d.arp[senders[j]].bestFrom })
	for _, ip := range senders {
		s := d.arp[ip]
		spanMS := float64(s.bestSpan.Microseconds()) / 1000
		perMS := float64(s.best)
		if spanMS > 1 {
			perMS = float64(s.best) / spanMS
		}
		storms = append(storms, health.Event{
			Kind: health.NetARPStorm, Severity: health.Warning, Time: s.bestAt, Frame: s.bestFrom,
			Message: fmt.Sprintf("ARP burst: %s (%s) sent %d ARP requests within %.1f ms (frames %d..%d), %d requests in all: "+
				"its neighbour cache was emptied (many peers re-resolved at once); switches may shut a port for such bursts",
				ip, netMAC(s.mac), s.best, spanMS, s.bestFrom, s.bestTo, s.n),
			Evidence: map[string]any{
				"sender": ip.String(), "mac": netMAC(s.mac), "burst": s.best, "span_ms": spanMS,
				"per_ms": netRound2(perMS), "first_frame": s.bestFrom, "last_frame": s.bestTo,
				"requests": s.n, "targets": s.targets, "window_ms": float64(d.cfg.ARPWindow.Microseconds()) / 1000,
			},
		})
	}
	ips := make([]netip.Addr, 0, len(d.arpConf))
	for ip := range d.arpConf {
		ips = append(ips, ip)
	}
	sort.Slice(ips, func(i, j int) bool { return ips[i].Less(ips[j]) })
	for _, ip := range ips {
		c := d.arpConf[ip]
		if c.duplicateIP {
			macs := make([]string, len(c.macs))
			for i, m := range c.macs {
				macs[i] = netMAC(m)
			}
			conflicts = append(conflicts, health.Event{
				Kind: health.NetARPConflict, Severity: health.Warning, Time: c.first, Frame: c.frames.first(),
				Message: fmt.Sprintf("duplicate IP address: %s is claimed by %d MAC addresses (%v)", ip, len(macs), macs),
				Evidence: map[string]any{
					"ip": ip.String(), "macs": macs, "frames": c.frames.frames, "duplicate_ip": true,
				},
			})
		}
		if c.gratuitous > 0 {
			conflicts = append(conflicts, health.Event{
				Kind: health.NetARPConflict, Severity: health.Notice, Time: c.gratFirst, Frame: c.gratFrames.first(),
				Message: fmt.Sprintf("gratuitous ARP for %s (%d times): a host announced or took over this address (failover, NIC change, or an address conflict)",
					ip, c.gratuitous),
				Evidence: map[string]any{
					"ip": ip.String(), "gratuitous": c.gratuitous, "frames": c.gratFrames.frames,
				},
			})
		}
	}
	return append(netCapEvents(storms, d.cfg.MaxEventsPerKind), netCapEvents(conflicts, d.cfg.MaxEventsPerKind)...)
}
