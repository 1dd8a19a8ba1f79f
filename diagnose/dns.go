package diagnose

import (
	"bytes"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Destinations explained (casebook C16): each address learned from a DNS
// answer is mapped back to the name that was asked, through the CNAME
// chain, and each later connection to that address is counted with the
// application requests made on it (cleartext HTTP request lines).

// maxChain caps a CNAME chain followed (names, the first included).
const maxChain = 8

// maxDestRequests caps the request lines kept per destination.
const maxDestRequests = 3

type dnsName struct {
	name  string   // the name asked
	chain []string // name → CNAME → … → owner of the address record
	frame int64
	at    time.Time
}

type destAgg struct {
	addr       netip.Addr
	name       *dnsName
	conns      int
	firstFrame int64
	first      time.Time
	requests   []string
	reqCount   int
}

// httpReq is a cleartext HTTP request line seen on a connection.
type httpReq struct {
	frame  int64
	at     time.Time
	line   string
	host   string
	client netip.AddrPort
}

func (d *Network) dnsPacket(p *packet) {
	m, err := layers.ParseDNS(p.Payload)
	if err != nil || !m.Response || len(m.Answers) == 0 {
		return
	}
	ans := m.Answers
	q := ""
	if len(m.Questions) > 0 {
		q = strings.TrimSuffix(strings.ToLower(m.Questions[0].Name), ".")
	}
	for _, a := range ans {
		if a.Type != layers.DNSTypeA && a.Type != layers.DNSTypeAAAA || !a.Addr.IsValid() {
			continue
		}
		owner := strings.TrimSuffix(strings.ToLower(a.Name), ".")
		if q == "" {
			q = owner
		}
		chain := cnameChain(q, owner, ans)
		addr := a.Addr.Unmap()
		if n := d.names[addr]; n != nil {
			n.name, n.chain, n.frame, n.at = q, chain, p.Frame, p.Time
			continue
		}
		if len(d.names) >= d.cfg.MaxNames {
			d.markCapped("dns_names")
			continue
		}
		d.names[addr] = &dnsName{name: q, chain: chain, frame: p.Frame, at: p.Time}
	}
}

// cnameChain follows the CNAME records of ans from q; it ends at owner, the
// name of the address record, or after maxChain names.
func cnameChain(q, owner string, ans []layers.DNSAnswer) []string {
	chain := []string{q}
	cur := q
	for len(chain) < maxChain && cur != owner {
		next := ""
		for _, a := range ans {
			if a.Type == layers.DNSTypeCNAME && strings.EqualFold(strings.TrimSuffix(a.Name, "."), cur) {
				next = strings.TrimSuffix(strings.ToLower(a.Host), ".")
				break
			}
		}
		if next == "" {
			break
		}
		chain = append(chain, next)
		cur = next
	}
	if cur != owner && len(chain) < maxChain {
		chain = append(chain, owner)
	}
	return chain
}

// NameOf returns the DNS name ip was resolved from in this capture (the name
// the client asked, before any CNAME), and whether one is known.
func (d *Network) NameOf(ip netip.Addr) (string, bool) {
	n := d.names[ip]
	if n == nil {
		return "", false
	}
	return n.name, true
}

// ChainOf returns the CNAME chain that resolved ip, from the name asked to
// the owner of the address record, or nil.
func (d *Network) ChainOf(ip netip.Addr) []string {
	n := d.names[ip]
	if n == nil {
		return nil
	}
	return append([]string(nil), n.chain...)
}

// destConn counts a new connection (or UDP stream) to addr when addr was
// resolved from a DNS answer earlier in the capture.
func (d *Network) destConn(addr netip.Addr, p *packet) {
	n := d.names[addr]
	if n == nil || n.frame >= p.Frame {
		return
	}
	g := d.dests[addr]
	if g == nil {
		if len(d.dests) >= d.cfg.MaxKeys {
			d.markCapped("destinations")
			return
		}
		g = &destAgg{addr: addr, name: n, firstFrame: p.Frame, first: p.Time}
		d.dests[addr] = g
	}
	g.conns++
}

// httpRequest records one HTTP request on connection c (nil when not
// tracked).
func (d *Network) httpRequest(c *netConn, frame int64, at time.Time, client, server netip.AddrPort, line, host string) {
	if c != nil {
		if c.lastReqFrame == frame {
			return
		}
		if c.requests > 0 {
			c.svc.sizes.add(c.respBytes)
		}
		c.lastReqFrame = frame
		c.requests++
		c.respBytes = 0
	}
	if sv := d.services[svcKey{server: server, proto: protoTCP}]; sv != nil {
		sv.requests++
		sv.reqRate.add(at, 1, frame)
		sv.app = "http"
		sv.requestLine(line)
	}
	r := httpReq{frame: frame, at: at, line: line, host: host, client: client}
	if _, ok := d.lastHTTP[server.Addr()]; ok || len(d.lastHTTP) < d.cfg.MaxKeys {
		d.lastHTTP[server.Addr()] = r
	} else {
		d.markCapped("http_servers")
	}
	if g := d.dests[server.Addr()]; g != nil {
		g.reqCount++
		if len(g.requests) < maxDestRequests {
			s := line
			if host != "" {
				s += " (Host " + host + ")"
			}
			g.requests = append(g.requests, s)
		}
	}
}

// httpMethods are the request methods recognised at the start of a TCP
// payload (RFC 9110, 9.3; WebDAV).
var httpMethods = [...]string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "PROPFIND "}

// maxRequestLine caps the request line kept; maxHeaderScan the bytes
// searched for a Host header.
const (
	maxRequestLine = 256
	maxHeaderScan  = 2048
)

// httpRequestLine returns the request line and Host header when b starts an
// HTTP/1.x request. It allocates only when it finds one.
func httpRequestLine(b []byte) (line, host string, ok bool) {
	if len(b) < 14 {
		return "", "", false
	}
	switch b[0] {
	case 'G', 'P', 'H', 'D', 'O', 'C', 'T':
	default:
		return "", "", false
	}
	found := false
	for _, m := range httpMethods {
		if len(b) > len(m) && string(b[:len(m)]) == m {
			found = true
			break
		}
	}
	if !found {
		return "", "", false
	}
	end := bytes.IndexByte(b[:min(len(b), maxRequestLine+64)], '\n')
	if end < 0 {
		end = min(len(b), maxRequestLine)
	}
	l := bytes.TrimRight(b[:end], "\r")
	if !bytes.Contains(l, []byte(" HTTP/1.")) {
		return "", "", false
	}
	line = netPrintable(l, maxRequestLine)
	head := b[:min(len(b), maxHeaderScan)]
	for _, h := range [...]string{"\nHost:", "\nhost:", "\nHOST:"} {
		if i := bytes.Index(head, []byte(h)); i >= 0 {
			v := head[i+len(h):]
			if j := bytes.IndexByte(v, '\n'); j >= 0 {
				v = v[:j]
			}
			host = netPrintable(bytes.TrimSpace(v), 128)
			break
		}
	}
	return line, host, true
}

func (d *Network) dnsFindings() []health.Event {
	addrs := make([]netip.Addr, 0, len(d.dests))
	for a := range d.dests {
		addrs = append(addrs, a)
	}
	sort.Slice(addrs, func(i, j int) bool { return d.dests[addrs[i]].firstFrame < d.dests[addrs[j]].firstFrame })
	var out []health.Event
	for _, a := range addrs {
		g := d.dests[a]
		via := ""
		if len(g.name.chain) > 1 {
			via = " via " + strings.Join(g.name.chain, " → ")
		}
		msg := fmt.Sprintf("%s is %s (DNS answer frame %d%s): %s", a, g.name.name, g.name.frame, via, netPlural(int64(g.conns), "connection"))
		if len(g.requests) > 0 {
			msg += "; " + strings.Join(g.requests, "; ")
			if g.reqCount > len(g.requests) {
				msg += fmt.Sprintf(" and %d more requests", g.reqCount-len(g.requests))
			}
		}
		ev := map[string]any{
			"addr": a.String(), "name": g.name.name, "chain": g.name.chain, "dns_frame": g.name.frame,
			"connections": g.conns, "requests": g.reqCount,
		}
		if len(g.requests) > 0 {
			ev["request_lines"] = g.requests
		}
		out = append(out, health.Event{
			Kind: health.NetResolvedDestination, Severity: health.Info, Time: g.first, Frame: g.firstFrame,
			Message: msg, Evidence: ev,
		})
	}
	return netCapEvents(out, d.cfg.MaxEventsPerKind)
}
