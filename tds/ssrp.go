package tds

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/defaults"
	"github.com/nettrace/nettrace/internal/wire"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// SSRPType is the first byte of an SQL Server Resolution Protocol message
// ([MC-SQLR] 2.2).
type SSRPType uint8

// SSRP message types.
const (
	SSRPClntBcastEx   SSRPType = 0x02 // broadcast: list every instance
	SSRPClntUcastEx   SSRPType = 0x03 // unicast: list every instance of a server
	SSRPClntUcastInst SSRPType = 0x04 // unicast: one named instance
	SSRPSvrResp       SSRPType = 0x05 // server response
	SSRPClntUcastDAC  SSRPType = 0x0F // dedicated admin connection port
)

// SSRPPort is the SQL Server Browser's UDP port ([MC-SQLR] 2.1).
const SSRPPort = 1434

var ssrpTypeNames = map[SSRPType]string{SSRPClntBcastEx: "CLNT_BCAST_EX", SSRPClntUcastEx: "CLNT_UCAST_EX",
	SSRPClntUcastInst: "CLNT_UCAST_INST", SSRPSvrResp: "SVR_RESP", SSRPClntUcastDAC: "CLNT_UCAST_DAC"}

// String returns the spec's name or SSRPType(0xNN).
func (t SSRPType) String() string {
	return enumName(ssrpTypeNames, "SSRPType", t)
}

// Instance is one instance description of a SVR_RESP ([MC-SQLR] 2.2.5).
type Instance struct {
	ServerName   string
	InstanceName string
	IsClustered  string
	Version      string
	TCPPort      string
	NamedPipe    string
}

// SSRPMessage is a decoded SSRP message.
type SSRPMessage struct {
	Type       SSRPType
	Instance   string     // CLNT_UCAST_INST, CLNT_UCAST_DAC
	DACVersion uint8      // CLNT_UCAST_DAC request, DAC SVR_RESP
	DACPort    uint16     // DAC SVR_RESP
	Instances  []Instance // SVR_RESP
	Raw        string     // SVR_RESP text, cut to 1024 bytes
}

const (
	maxSSRPInstanceName = 32 // bytes including the NUL ([MC-SQLR] 2.2.3)
	maxSSRPInstances    = 64
	maxSSRPResp         = 1024
)

// ParseSSRP parses one SSRP datagram payload. Requests must be exactly as
// long as their type says; a SVR_RESP's RESP_SIZE must match the data.
func ParseSSRP(b []byte) (SSRPMessage, []byte, error) {
	r := wire.Reader(b)
	var t uint8
	if !r.ReadUint8(&t) {
		return SSRPMessage{}, b, truncated("ssrp", 1)
	}
	m := SSRPMessage{Type: SSRPType(t)}
	switch m.Type {
	case SSRPClntBcastEx, SSRPClntUcastEx:
		if !r.Empty() {
			return SSRPMessage{}, b, malformed("ssrp", fmt.Sprintf("%s with %d extra bytes", m.Type, r.Len()))
		}
	case SSRPClntUcastInst, SSRPClntUcastDAC:
		if m.Type == SSRPClntUcastDAC && !r.ReadUint8(&m.DACVersion) {
			return SSRPMessage{}, b, truncated("ssrp dac", 2)
		}
		name := []byte(r)
		end := -1
		for i, c := range name {
			if c == 0 {
				end = i
				break
			}
		}
		if end < 0 {
			return SSRPMessage{}, b, malformed("ssrp", m.Type.String()+" instance name without NUL")
		}
		if end+1 > maxSSRPInstanceName {
			return SSRPMessage{}, b, malformed("ssrp", fmt.Sprintf("instance name of %d bytes exceeds 32", end+1))
		}
		m.Instance = printable(name[:end])
		r.Skip(end + 1)
	case SSRPSvrResp:
		var n uint16
		if !r.ReadUint16(&n) {
			return SSRPMessage{}, b, truncated("ssrp response", 3)
		}
		var data []byte
		if !r.ReadBytes(&data, int(n)) {
			return SSRPMessage{}, b, malformed("ssrp response", fmt.Sprintf("RESP_SIZE %d exceeds %d bytes", n, r.Len()))
		}
		if n == 6 && len(data) == 6 && data[0] == 1 && !strings.Contains(string(data), ";") {
			// DAC response: version 1 and the DAC TCP port ([MC-SQLR] 2.2.6).
			m.DACVersion = data[0]
			m.DACPort = uint16(data[1]) | uint16(data[2])<<8
			break
		}
		raw := data
		if len(raw) > maxSSRPResp {
			raw = raw[:maxSSRPResp]
		}
		m.Raw = printable(raw)
		m.Instances = parseInstances(string(data))
	default:
		return SSRPMessage{}, b, malformed("ssrp", fmt.Sprintf("unknown type 0x%02x", t))
	}
	return m, []byte(r), nil
}

// parseInstances splits RESP_DATA ("ServerName;X;InstanceName;Y;…;;…").
func parseInstances(s string) []Instance {
	var out []Instance
	for _, part := range strings.Split(s, ";;") {
		if part == "" || len(out) >= maxSSRPInstances {
			continue
		}
		kv := strings.Split(part, ";")
		var in Instance
		for i := 0; i+1 < len(kv); i += 2 {
			v := printable([]byte(kv[i+1]))
			switch strings.ToLower(kv[i]) {
			case "servername":
				in.ServerName = v
			case "instancename":
				in.InstanceName = v
			case "isclustered":
				in.IsClustered = v
			case "version":
				in.Version = v
			case "tcp":
				in.TCPPort = v
			case "np":
				in.NamedPipe = v
			}
		}
		if in != (Instance{}) {
			out = append(out, in)
		}
	}
	return out
}

// SSRP tracks SQL Browser requests and replies over a whole capture: it
// decodes them, matches replies to requests by the client's address and port
// and by time, and reports requests never answered and replies that come
// from another address than the request went to (C9). It is not safe for
// concurrent use.
type SSRP struct {
	rep     health.Reporter
	cfg     SSRPConfig
	pending []ssrpRequest
	servers map[netip.Addr]*ssrpServer
	order   []netip.Addr
	dropped int
	events  int
}

type ssrpRequest struct {
	frame    int64
	time     time.Time
	src, dst netip.AddrPort
	typ      SSRPType
	instance string
	bcast    bool
}

type ssrpServer struct {
	addr        netip.Addr
	requests    int
	byType      map[SSRPType]int
	instance    string
	firstFrame  int64
	lastFrame   int64
	first, last time.Time
	clients     map[netip.Addr]bool
}

// NewSSRP returns a tracker that reports to rep. Zero fields of cfg take the
// defaults of DefaultSSRPConfig.
func NewSSRP(rep health.Reporter, cfg SSRPConfig) *SSRP {
	defaults.Fill(&cfg, DefaultSSRPConfig())
	if rep == nil {
		rep = health.Discard
	}
	return &SSRP{rep: rep, cfg: cfg, servers: map[netip.Addr]*ssrpServer{}}
}

func isBroadcast(a netip.Addr) bool {
	if a.IsMulticast() {
		return true
	}
	if a.Is4() {
		b := a.As4()
		return b[3] == 255
	}
	return false
}

// Datagram takes one UDP packet with port 1434 on either side. p is not
// kept after the call.
func (s *SSRP) Datagram(p *layers.Packet) {
	if p == nil || p.Transport != layers.TransportUDP {
		return
	}
	s.expire(p.Time)
	src, dst := p.SrcAddrPort(), p.DstAddrPort()
	m, _, err := ParseSSRP(p.Payload)
	toServer := p.UDP.DstPort == SSRPPort && p.UDP.SrcPort != SSRPPort || p.UDP.DstPort == SSRPPort && err == nil && m.Type != SSRPSvrResp
	if err != nil {
		var fields map[string]any
		if s.rep.WantMessages() {
			fields = map[string]any{"error": err.Error(), "length": len(p.Payload)}
		}
		if p.UDP.SrcPort == SSRPPort {
			// An undecodable reply still answers a request.
			if fields != nil {
				fields["dir"] = "response"
			}
			s.reply(p, src, dst, fields)
		}
		if fields != nil {
			s.rep.Message(health.Message{Frame: p.Frame, Time: p.Time, Flow: flowString(src, dst), Proto: "ssrp", Fields: fields})
		}
		return
	}
	var fields map[string]any
	if s.rep.WantMessages() {
		fields = map[string]any{"type": m.Type.String(), "dir": "request"}
		if m.Instance != "" || m.Type == SSRPClntUcastInst {
			fields["instance"] = m.Instance
		}
		if m.Type == SSRPClntUcastDAC || m.DACPort != 0 {
			fields["dac_version"] = m.DACVersion
		}
		if m.DACPort != 0 {
			fields["dac_port"] = m.DACPort
		}
	}
	if m.Type == SSRPSvrResp || !toServer {
		if fields != nil {
			fields["dir"] = "response"
			ins := make([]map[string]any, 0, len(m.Instances))
			for _, in := range m.Instances {
				ins = append(ins, map[string]any{"server": in.ServerName, "instance": in.InstanceName,
					"clustered": in.IsClustered, "version": in.Version, "tcp": in.TCPPort, "np": in.NamedPipe})
			}
			fields["instances"] = ins
		}
		s.reply(p, src, dst, fields)
	} else {
		s.request(p, m, src, dst)
	}
	if fields != nil {
		s.rep.Message(health.Message{Frame: p.Frame, Time: p.Time, Flow: flowString(src, dst), Proto: "ssrp", Fields: fields})
	}
}

func flowString(a, b netip.AddrPort) string { return a.String() + "->" + b.String() + "/udp" }

func (s *SSRP) request(p *layers.Packet, m SSRPMessage, src, dst netip.AddrPort) {
	if len(s.pending) >= s.cfg.MaxPending {
		s.unanswered(s.pending[0])
		s.pending = s.pending[1:]
		s.dropped++
	}
	s.pending = append(s.pending, ssrpRequest{frame: p.Frame, time: p.Time, src: src, dst: dst, typ: m.Type,
		instance: m.Instance, bcast: isBroadcast(dst.Addr()) || m.Type == SSRPClntBcastEx})
}

func (s *SSRP) reply(p *layers.Packet, src, dst netip.AddrPort, fields map[string]any) {
	for i := len(s.pending) - 1; i >= 0; i-- {
		q := s.pending[i]
		if q.src != dst || p.Time.Before(q.time) || p.Time.Sub(q.time) > s.cfg.ReplyWindow {
			continue
		}
		if fields != nil {
			fields["request_frame"] = q.frame
			fields["after_ms"] = millis(p.Time.Sub(q.time))
		}
		if !q.bcast && q.dst.Addr() != src.Addr() {
			if fields != nil {
				fields["other_address"] = true
			}
			s.events++
			if s.events <= s.cfg.MaxEvents {
				s.rep.Event(health.Event{Kind: health.TDSSSRPReplyFromOtherAddress, Severity: health.Error, Time: p.Time, Frame: p.Frame,
					Flow: flowString(src, dst),
					Message: fmt.Sprintf("SQL Browser reply from %s to a request sent to %s (frame %d, %.1f ms earlier, matched by ports): a stateful firewall or the client drops it — the server answers from its node address instead of the address it was asked on",
						src.Addr(), q.dst.Addr(), q.frame, p.Time.Sub(q.time).Seconds()*1000),
					Evidence: map[string]any{"requested": q.dst.Addr().String(), "replied": src.Addr().String(),
						"request_frame": q.frame, "client": dst.String(), "instance": q.instance}})
			}
		}
		s.pending = append(s.pending[:i], s.pending[i+1:]...)
		return
	}
}

// expire moves requests older than the reply window to the unanswered
// summaries.
func (s *SSRP) expire(now time.Time) {
	n := 0
	for _, q := range s.pending {
		if now.Sub(q.time) <= s.cfg.ReplyWindow {
			break
		}
		s.unanswered(q)
		n++
	}
	if n > 0 {
		s.pending = append(s.pending[:0], s.pending[n:]...)
	}
}

func (s *SSRP) unanswered(q ssrpRequest) {
	a := q.dst.Addr()
	sv := s.servers[a]
	if sv == nil {
		if len(s.servers) >= s.cfg.MaxServers {
			s.dropped++
			return
		}
		sv = &ssrpServer{addr: a, byType: map[SSRPType]int{}, clients: map[netip.Addr]bool{}, firstFrame: q.frame, first: q.time}
		s.servers[a] = sv
		s.order = append(s.order, a)
	}
	sv.requests++
	sv.byType[q.typ]++
	if sv.instance == "" {
		sv.instance = q.instance
	}
	sv.lastFrame, sv.last = q.frame, q.time
	if len(sv.clients) < 64 {
		sv.clients[q.src.Addr()] = true
	}
}

// Finish ends the capture: every request still waiting is unanswered, and
// one tds.ssrp_unanswered event per server address summarises them.
func (s *SSRP) Finish(at tcpstate.Position) {
	for _, q := range s.pending {
		s.unanswered(q)
	}
	s.pending = s.pending[:0]
	for _, a := range s.order {
		sv := s.servers[a]
		types := make([]string, 0, len(sv.byType))
		for t, n := range sv.byType {
			types = append(types, fmt.Sprintf("%s ×%d", t, n))
		}
		sort.Strings(types)
		clients := make([]string, 0, len(sv.clients))
		for c := range sv.clients {
			clients = append(clients, c.String())
		}
		sort.Strings(clients)
		inst := ""
		if sv.instance != "" {
			inst = fmt.Sprintf(" for instance %q", sv.instance)
		}
		s.rep.Event(health.Event{Kind: health.TDSSSRPUnanswered, Severity: health.Warning, Time: sv.first, Frame: sv.firstFrame,
			Flow: fmt.Sprintf("%s->%s/udp", strings.Join(clients, ","), netip.AddrPortFrom(a, SSRPPort)),
			Message: fmt.Sprintf("%d SQL Browser (SSRP) requests to %s:1434%s got no reply (%s) over %.1f s: no SQL Browser, a firewall, or replies from another address being dropped",
				sv.requests, a, inst, strings.Join(types, ", "), sv.last.Sub(sv.first).Seconds()),
			Evidence: map[string]any{"requests": sv.requests, "instance": sv.instance, "server": a.String(),
				"first_frame": sv.firstFrame, "last_frame": sv.lastFrame, "types": strings.Join(types, ", ")}})
	}
	s.servers = map[netip.Addr]*ssrpServer{}
	s.order = s.order[:0]
}
