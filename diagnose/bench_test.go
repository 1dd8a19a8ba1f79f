package diagnose

import (
	"net/netip"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// BenchmarkNetDiagnoserInterleaved feeds the network diagnoser packets of
// 1024 connections in turn, both directions, so that its connection table
// is looked up on every packet (the last-connection shortcut never hits),
// as on a busy capture.
func BenchmarkNetDiagnoserInterleaved(b *testing.B) {
	d := NewNetwork(NetworkConfig{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const conns = 1024
	srv := netip.MustParseAddrPort("10.1.0.1:445")
	var cli [conns]netip.AddrPort
	for i := range cli {
		cli[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), uint16(40000+i))
	}
	var p layers.Packet
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := cli[i%conns]
		s := spec{Frame: int64(i), Time: t0.Add(time.Duration(i) * time.Microsecond), Proto: protoTCP, IPLen: 1500, PayloadLen: 1448, TCPFlags: layers.FlagACK, TCPSeq: uint32(i/conns) * 1448}
		if i/conns%2 == 0 {
			s.Src, s.Dst = c, srv
		} else {
			s.Src, s.Dst, s.PayloadLen, s.IPLen = srv, c, 0, 52
		}
		p = s.packet()
		d.Packet(&p)
	}
}

// BenchmarkTCPDiagnoserFlow measures recording one closed connection and,
// per 4096 connections, the end-of-capture diagnoses over them.
func BenchmarkTCPDiagnoserFlow(b *testing.B) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := netip.MustParseAddrPort("10.1.0.1:1433")
	b.ReportAllocs()
	var d *Connections
	for i := 0; b.Loop(); i++ {
		if i%4096 == 0 {
			if d != nil {
				d.Finish(health.Discard)
			}
			d = NewConnections(DefaultConnectionsConfig())
		}
		at := t0.Add(time.Duration(i) * time.Millisecond)
		s := health.FlowStats{
			ID: uint64(i), Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), uint16(40000+i%20000)),
			Server: srv, FirstFrame: int64(i) * 10, LastFrame: int64(i)*10 + 9, FirstTime: at, LastTime: at.Add(time.Second),
			Packets: [2]int64{5, 5}, SYNs: 1, SYNACKs: 1, Established: i%7 != 0, CloseReason: "fin",
		}
		d.Flow(&s)
	}
	d.Finish(health.Discard)
}
