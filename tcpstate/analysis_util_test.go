package tcpstate

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Test helpers of the TCP analysis (prefixed ana to stay apart from the
// tracker's helpers in the same package).

// anaRepoDir returns the repository root.
func anaRepoDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

// anaShared returns ../shared (next to the repository), or "" when absent
// or when NETTRACE_NO_SHARED is set (to check what a fresh clone tests).
func anaShared() string {
	if os.Getenv("NETTRACE_NO_SHARED") != "" {
		return ""
	}
	dir := filepath.Join(anaRepoDir(), "..", "shared")
	if _, err := os.Stat(dir); err != nil {
		return ""
	}
	return dir
}

// anaTestdata is where this package's analysis test captures live.
func anaTestdata() string { return filepath.Join(anaRepoDir(), "testdata", "tcpstate", "analysis") }

func be32(d []byte) uint32 {
	return uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])
}

// anaDecode converts one frame to a layers.Packet; ok is false for frames
// that are not unfragmented TCP over IP.
func anaDecode(data []byte, link gopacket.Decoder, ci gopacket.CaptureInfo, frame int64) (layers.Packet, bool) {
	pkt := gopacket.NewPacket(data, link, gopacket.DecodeOptions{NoCopy: true})
	p := layers.Packet{Frame: frame, Time: ci.Timestamp, CapLen: len(data), WireLen: ci.Length}
	ipLen, hdr := -1, 0
	switch ip := pkt.NetworkLayer().(type) {
	case *glayers.IPv4:
		p.Network = 4
		p.Src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		p.Dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		p.IPProto = uint8(ip.Protocol)
		p.IPLen = int(ip.Length)
		p.IPID = uint32(ip.Id)
		if raw := ip.Contents; len(raw) >= 4 && raw[2] == 0 && raw[3] == 0 {
			p.IPLen, p.TSO = 0, true
		} else if ip.Length != 0 {
			ipLen, hdr = int(ip.Length), int(ip.IHL)*4
		}
		if ip.Flags&glayers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return layers.Packet{}, false
		}
	case *glayers.IPv6:
		p.Network = 6
		p.Src, _ = netip.AddrFromSlice(ip.SrcIP)
		p.Dst, _ = netip.AddrFromSlice(ip.DstIP)
		p.IPProto = uint8(ip.NextHeader)
		p.IPLen = int(ip.Length) + 40
	default:
		return layers.Packet{}, false
	}
	// Only a TCP header directly inside IP: the quoted header inside an
	// ICMP error is not a segment of the connection.
	if pkt.Layer(glayers.LayerTypeICMPv4) != nil || pkt.Layer(glayers.LayerTypeICMPv6) != nil {
		return layers.Packet{}, false
	}
	tcp, ok := pkt.TransportLayer().(*glayers.TCP)
	if !ok {
		return layers.Packet{}, false
	}
	p.Transport = layers.TransportTCP
	h := &p.TCP
	h.SrcPort, h.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
	h.Seq, h.Ack, h.Window, h.DataOffset = tcp.Seq, tcp.Ack, tcp.Window, tcp.DataOffset
	h.WindowScale = -1
	for _, f := range []struct {
		on bool
		f  layers.TCPFlags
	}{{tcp.FIN, layers.FlagFIN}, {tcp.SYN, layers.FlagSYN}, {tcp.RST, layers.FlagRST},
		{tcp.PSH, layers.FlagPSH}, {tcp.ACK, layers.FlagACK}, {tcp.URG, layers.FlagURG},
		{tcp.ECE, layers.FlagECE}, {tcp.CWR, layers.FlagCWR}, {tcp.NS, layers.FlagNS}} {
		if f.on {
			h.Flags |= f.f
		}
	}
	for _, o := range tcp.Options {
		d := o.OptionData
		switch o.OptionType {
		case glayers.TCPOptionKindMSS:
			if len(d) == 2 {
				h.MSS = uint16(d[0])<<8 | uint16(d[1])
			}
		case glayers.TCPOptionKindWindowScale:
			if len(d) == 1 {
				h.WindowScale = int8(d[0])
			}
		case glayers.TCPOptionKindSACKPermitted:
			h.SACKPermitted = true
		case glayers.TCPOptionKindTimestamps:
			if len(d) == 8 {
				h.HasTimestamps, h.TSval, h.TSecr = true, be32(d), be32(d[4:])
			}
		case glayers.TCPOptionKindSACK:
			for len(d) >= 8 && h.NumSACK < 4 {
				h.SACK[h.NumSACK] = layers.SACKBlock{Left: be32(d), Right: be32(d[4:])}
				h.NumSACK++
				d = d[8:]
			}
		}
	}
	p.Payload = append([]byte(nil), tcp.Payload...)
	if p.TSO {
		// gopacket sizes a total-length-0 datagram from the frame but
		// keeps the length in 16 bits: take the payload from the frame.
		if ll := pkt.LinkLayer(); ll != nil {
			if b := ll.LayerPayload(); len(b) > 20 {
				if off := int(b[0]&0x0f)*4 + int(tcp.DataOffset)*4; off <= len(b) {
					p.Payload = append([]byte(nil), b[off:]...)
				}
			}
		}
	}
	p.PayloadLen = len(p.Payload)
	if ipLen >= 0 {
		if n := ipLen - hdr - int(tcp.DataOffset)*4; n > p.PayloadLen {
			p.PayloadLen = n
			p.Truncated = true
		}
	}
	return p, true
}

// anaResult is what one run of the tracker (with this analysis inside)
// produced.
type anaResult struct {
	col   *health.Collector
	flows []health.FlowStats
}

// anaRun runs pkts through a Tracker and collects events and summaries.
func anaRun(pkts []layers.Packet) anaResult {
	res := anaResult{col: &health.Collector{}}
	tr := NewTracker(Config{}, res.col, nil)
	tr.OnSummary = func(s *health.FlowStats) { res.flows = append(res.flows, *s) }
	var last Position
	for i := range pkts {
		tr.Packet(&pkts[i])
		last = Position{Frame: pkts[i].Frame, Time: pkts[i].Time}
	}
	tr.Close(last)
	sort.Slice(res.flows, func(i, j int) bool { return res.flows[i].ID < res.flows[j].ID })
	return res
}

// anaKindFlags maps the per-segment event kinds to the tcp.analysis flags
// they stand for.
var anaKindFlags = map[health.Kind][]string{
	health.TCPRetransmission:         {"retransmission"},
	health.TCPFastRetransmission:     {"retransmission", "fast_retransmission"},
	health.TCPSpuriousRetransmission: {"retransmission", "spurious_retransmission"},
	health.TCPOutOfOrder:             {"out_of_order"},
	health.TCPLostSegment:            {"lost_segment"},
	health.TCPAckUnseenSegment:       {"ack_lost_segment"},
	health.TCPDupAck:                 {"duplicate_ack"},
	health.TCPZeroWindow:             {"zero_window"},
	health.TCPZeroWindowProbe:        {"zero_window_probe"},
	health.TCPWindowFull:             {"window_full"},
	health.TCPWindowUpdate:           {"window_update"},
	health.TCPKeepAlive:              {"keep_alive"},
}

// flagFrames returns, per tcp.analysis flag name, the frames our events
// flag.
func (r anaResult) flagFrames() map[string]map[int64]bool {
	out := map[string]map[int64]bool{}
	for _, e := range r.col.Events {
		for _, f := range anaKindFlags[e.Kind] {
			if out[f] == nil {
				out[f] = map[int64]bool{}
			}
			out[f][e.Frame] = true
		}
	}
	return out
}

// anaReference is tshark's view of a capture: frames per tcp.analysis flag
// and the initial RTT per stream.
type anaReference struct {
	flags      map[string]map[int64]bool
	initialRTT map[uint64]time.Duration
}

// anaLoadReference reads <base>.flags.json (the compact form kept in
// testdata) or <base>.tshark.json + <base>.summary.json (../shared).
func anaLoadReference(t testing.TB, base string) anaReference {
	t.Helper()
	ref := anaReference{flags: map[string]map[int64]bool{}, initialRTT: map[uint64]time.Duration{}}
	add := func(flag string, frame int64) {
		if ref.flags[flag] == nil {
			ref.flags[flag] = map[int64]bool{}
		}
		ref.flags[flag][frame] = true
	}
	var rtts map[string]string
	if raw, err := os.ReadFile(base + ".flags.json"); err == nil {
		var c struct {
			Flags      map[string][]int64 `json:"flags"`
			InitialRTT map[string]string  `json:"initial_rtt"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		for f, frames := range c.Flags {
			for _, fr := range frames {
				add(f, fr)
			}
		}
		rtts = c.InitialRTT
	} else {
		raw, err := os.ReadFile(base + ".tshark.json")
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Frames []map[string]json.RawMessage `json:"frames"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		for _, fr := range d.Frames {
			var n int64
			if err := json.Unmarshal(fr["frame.number"], &n); err != nil {
				t.Fatal(err)
			}
			for k := range fr {
				if f, ok := strings.CutPrefix(k, "tcp.analysis."); ok {
					add(f, n)
				}
			}
		}
		raw, err = os.ReadFile(base + ".summary.json")
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			InitialRTT map[string]string `json:"initial_rtt"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		rtts = s.InitialRTT
	}
	for id, v := range rtts {
		var n uint64
		for _, c := range id {
			n = n*10 + uint64(c-'0')
		}
		d, err := time.ParseDuration(v + "s")
		if err != nil {
			t.Fatalf("initial_rtt %q: %v", v, err)
		}
		ref.initialRTT[n] = d
	}
	return ref
}

// anaRunDirect feeds pkts straight into one seqAnalysis per 4-tuple (a
// new SYN with another ISN starts a new connection), without the tracker:
// it isolates the analysis for unit tests. It returns the flags per frame;
// events go to rep (nil: none), finish included.
func anaRunDirect(pkts []layers.Packet, rep health.Reporter) map[int64]Flags {
	type conn struct {
		ctx    StreamContext
		a      seqAnalysis
		client netip.AddrPort
		isn    uint32
	}
	conns := map[[2]netip.AddrPort]*conn{}
	var order []*conn
	out := map[int64]Flags{}
	for i := range pkts {
		p := &pkts[i]
		src, dst := p.SrcAddrPort(), p.DstAddrPort()
		k := [2]netip.AddrPort{src, dst}
		if src.Compare(dst) > 0 {
			k = [2]netip.AddrPort{dst, src}
		}
		c := conns[k]
		pureSYN := p.TCP.Flags&(layers.FlagSYN|layers.FlagACK) == layers.FlagSYN
		if c != nil && pureSYN && (src != c.client || p.TCP.Seq != c.isn) {
			c = nil
		}
		if c == nil {
			c = &conn{client: src, isn: p.TCP.Seq}
			if !pureSYN && src.Port() < dst.Port() {
				c.client = dst
			}
			c.ctx = StreamContext{Client: c.client, Reporter: rep}
			if c.client == src {
				c.ctx.Server = dst
			} else {
				c.ctx.Server = src
			}
			c.ctx.Flow = c.ctx.Client.String() + "->" + c.ctx.Server.String() + "/tcp"
			conns[k] = c
		}
		d := ClientToServer
		if src != c.client {
			d = ServerToClient
		}
		out[p.Frame] |= c.a.analyze(&c.ctx, d, p)
		if c.a.half[0].segments+c.a.half[1].segments == 1 {
			order = append(order, c)
		}
	}
	for _, c := range order {
		var st health.FlowStats
		c.a.finish(&c.ctx, CloseEndOfCapture, Position{}, &st)
	}
	return out
}
