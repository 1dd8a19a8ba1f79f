package diagnose

import (
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/nettrace/nettrace/health"
)

// Replies from an address other than the one the request went to (casebook
// C9, generic): a request from C:cp to S:sp, then within ReplyWindow a UDP
// datagram (or a TCP SYN-ACK) from X:sp to C:cp with X ≠ S. A stateful
// firewall in front of C drops such replies; seen from C the request is
// simply unanswered.

// pendKey identifies an outstanding request: the client's address and port,
// the server port it asked, and the protocol.
type pendKey struct {
	client netip.AddrPort
	port   uint16
	proto  uint8
}

// pendReq is the last request(s) on a pendKey: up to two server addresses
// (a client may ask two servers from one port).
type pendReq struct {
	dst     [2]netip.Addr
	n       int
	frame   int64
	at      time.Time
	replied bool
}

type asymKey struct {
	client    netip.Addr
	requested netip.Addr
	port      uint16
	proto     uint8
}

type asymAgg struct {
	replied       netip.Addr
	to            netip.AddrPort // the client address and port of the first reply
	count         int
	frames        netFrames
	requestFrame  int64
	first         time.Time
	delay         time.Duration
	directReplies int
}

// noReplyTracking reports destinations whose replies legitimately come from
// other addresses: broadcast and multicast, DHCP, NetBIOS and discovery
// protocols, and the NAT-traversal servers that answer from a second
// address by design (Teredo's qualification, RFC 4380 §5.2.1; STUN's
// CHANGE-REQUEST, RFC 5780).
func noReplyTracking(dst netip.AddrPort) bool {
	a := dst.Addr()
	if a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		if b[3] == 255 {
			return true
		}
	}
	switch dst.Port() {
	case 67, 68, 546, 547, 137, 138, 5353, 1900, 3544, 3478, 3479:
		return true
	}
	return false
}

func (d *Network) asymUDP(p *packet) {
	d.asymReply(p, protoUDP)
	d.asymRequest(p, protoUDP)
}

// ssrpPort is the SQL Server Browser port ([MC-SQLR] 2.1): its replies from
// another address are reported by the tds package (tds.ssrp_reply_from_other_address).
const ssrpPort = 1434

// asymRequest remembers p as a request.
func (d *Network) asymRequest(p *packet, proto uint8) {
	if noReplyTracking(p.dst) || p.dst.Port() == 0 || proto == protoUDP && p.dst.Port() == ssrpPort {
		return
	}
	k := pendKey{client: p.src, port: p.dst.Port(), proto: proto}
	r := d.pending[k]
	if r == nil {
		if len(d.pending) >= d.cfg.MaxKeys {
			d.sweepPending(p.Time)
			if len(d.pending) >= d.cfg.MaxKeys {
				d.markCapped("pending_requests")
				return
			}
		}
		r = &pendReq{}
		d.pending[k] = r
	}
	dst := p.dst.Addr()
	switch {
	case r.n > 0 && r.dst[0] == dst, r.n > 1 && r.dst[1] == dst:
	case r.n < 2:
		r.dst[r.n] = dst
		r.n++
	default:
		r.dst[0], r.dst[1] = r.dst[1], dst
	}
	r.frame, r.at = p.Frame, p.Time
}

func (d *Network) sweepPending(now time.Time) {
	for k, r := range d.pending {
		if now.Sub(r.at) > d.cfg.ReplyWindow {
			delete(d.pending, k)
		}
	}
}

// asymReply checks whether p answers an outstanding request from another
// address than the one asked.
func (d *Network) asymReply(p *packet, proto uint8) {
	r := d.pending[pendKey{client: p.dst, port: p.src.Port(), proto: proto}]
	if r == nil || p.Time.Sub(r.at) > d.cfg.ReplyWindow || p.Time.Before(r.at) {
		return
	}
	from := p.src.Addr()
	for i := 0; i < r.n; i++ {
		if r.dst[i] == from {
			r.replied = true
			if a := d.asym[asymKey{client: p.dst.Addr(), requested: from, port: p.src.Port(), proto: proto}]; a != nil {
				a.directReplies++
			}
			return
		}
	}
	k := asymKey{client: p.dst.Addr(), requested: r.dst[r.n-1], port: p.src.Port(), proto: proto}
	a := d.asym[k]
	if a == nil {
		if len(d.asym) >= d.cfg.MaxKeys {
			d.markCapped("asymmetric")
			return
		}
		a = &asymAgg{replied: from, to: p.dst, requestFrame: r.frame, first: p.Time, delay: p.Time.Sub(r.at)}
		if r.replied {
			a.directReplies++
		}
		d.asym[k] = a
	}
	a.count++
	a.frames.add(p.Frame, d.cfg.MaxFrames)
}

func (d *Network) asymFindings() []health.Event {
	keys := make([]asymKey, 0, len(d.asym))
	for k := range d.asym {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return d.asym[keys[i]].frames.first() < d.asym[keys[j]].frames.first() })
	var out []health.Event
	for _, k := range keys {
		a := d.asym[k]
		what := "replies"
		if k.proto == protoTCP {
			what = "SYN-ACKs"
		}
		msg := fmt.Sprintf("%s to %s asked %s port %d but %s came from %s (%d, first %.1f ms after the request): "+
			"a stateful firewall or NAT in front of %s drops such replies, so the requests look unanswered there",
			netProtoName(k.proto), k.client, k.requested, k.port, what, a.replied, a.count, float64(a.delay.Microseconds())/1000, k.client)
		sev := health.Warning
		if a.directReplies > 0 {
			// The server asked answered too: the client was served, the
			// other address is a second path, not the only one.
			sev = health.Notice
			msg += fmt.Sprintf("; %s itself also answered %d times", k.requested, a.directReplies)
		}
		out = append(out, health.Event{
			Kind: health.NetReplyFromOtherAddress, Severity: sev, Time: a.first, Frame: a.frames.first(),
			Flow:    netFlowString(netip.AddrPortFrom(a.replied, k.port), a.to, k.proto),
			Message: msg,
			Evidence: map[string]any{
				"client": k.client.String(), "requested": netip.AddrPortFrom(k.requested, k.port).String(),
				"replied": netip.AddrPortFrom(a.replied, k.port).String(), "count": a.count,
				"frames": a.frames.frames, "request_frame": a.requestFrame, "direct_replies": a.directReplies,
				"delay_ms": float64(a.delay.Microseconds()) / 1000,
			},
		})
	}
	return netCapEvents(out, d.cfg.MaxEventsPerKind)
}
