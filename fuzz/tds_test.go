package fuzz

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tds"
)

// addTDSSeeds adds the client and server bytes of the small TDS captures.
func addTDSSeeds(f *testing.F) {
	addStreamSeeds(f, "../testdata/tds/*.pcap", 0, func(c, srv []byte) bool { return len(c)+len(srv) > 0 })
}

// tdsTLSSink is the TLS hand-off target: it swallows the bytes.
type tdsTLSSink struct{ n int }

func (s *tdsTLSSink) Feed(_ tcpstate.Dir, b []byte, _ tcpstate.Position) { s.n += len(b) }
func (s *tdsTLSSink) Gap(tcpstate.Dir, int, tcpstate.Position)           {}
func (s *tdsTLSSink) Close(tcpstate.CloseReason, tcpstate.Position)      {}

// FuzzTDSStream feeds arbitrary client and server bytes to a tds.Conn in
// chunks of a fuzzed size, with a gap at a fuzzed offset, TLS hand-off on
// and messages wanted: it must never panic, and every event must name a
// frame that was delivered.
func FuzzTDSStream(f *testing.F) {
	addTDSSeeds(f)
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16, gapAt uint32) {
		col := &health.Collector{KeepMessages: true}
		ctx := &tcpstate.StreamContext{Flow: "fuzz", Reporter: col, RTT: time.Millisecond}
		cfg := tds.DefaultConfig()
		cfg.TLS = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return &tdsTLSSink{} }
		cfg.Limits.MaxMessage = 8192
		c := tds.NewConn(ctx, cfg)
		frame := feedStream(c, client, server, chunk, gapAt)
		checkFrames(t, col.Events, frame)
		_ = c.Stats()
		tds.Detect(tcpstate.ClientToServer, client)
		tds.Detect(tcpstate.ServerToClient, server)
	})
}

// FuzzSSRP feeds arbitrary datagrams to the SQL Browser tracker as requests
// and replies between a few addresses: it must never panic.
func FuzzSSRP(f *testing.F) {
	f.Add([]byte("\x04SQLPROD\x00"), []byte("\x05\x2a\x00ServerName;A;InstanceName;B;tcp;1433;;"), true)
	f.Add([]byte{3}, []byte("\x05\x06\x00\x01\x39\x05\x00\x00\x00"), false)
	f.Add([]byte("\x0f\x01MSSQLSERVER\x00"), []byte{5, 0, 0}, true)
	f.Fuzz(func(t *testing.T, req, resp []byte, other bool) {
		col := &health.Collector{KeepMessages: true}
		s := tds.NewSSRP(col, tds.DefaultSSRPConfig())
		client := netip.MustParseAddrPort("10.0.0.1:50000")
		server := netip.MustParseAddrPort("10.0.0.47:1434")
		replier := server
		if other {
			replier = netip.MustParseAddrPort("10.0.0.49:1434")
		}
		t0 := time.Unix(0, 0)
		var p layers.Packet
		for i := 0; i < 3; i++ {
			p = layers.Packet{Frame: int64(2*i + 1), Time: t0.Add(time.Duration(i) * time.Second), Src: client.Addr(), Dst: server.Addr(),
				Transport: layers.TransportUDP, UDP: layers.UDPHeader{SrcPort: client.Port(), DstPort: server.Port()}, Payload: req}
			s.Datagram(&p)
			p = layers.Packet{Frame: int64(2*i + 2), Time: t0.Add(time.Duration(i)*time.Second + time.Millisecond), Src: replier.Addr(), Dst: client.Addr(),
				Transport: layers.TransportUDP, UDP: layers.UDPHeader{SrcPort: replier.Port(), DstPort: client.Port()}, Payload: resp}
			s.Datagram(&p)
		}
		s.Finish(tcpstate.Position{Frame: 7, Time: t0.Add(10 * time.Second)})
	})
}
