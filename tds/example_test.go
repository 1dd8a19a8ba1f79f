package tds_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
	"unicode/utf16"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tds"
)

// packet builds one TDS packet with the EOM bit.
func packet(t tds.PacketType, payload []byte) []byte {
	h := []byte{byte(t), 0x01, 0, 0, 0, 0, 1, 0}
	binary.BigEndian.PutUint16(h[2:], uint16(8+len(payload)))
	return append(h, payload...)
}

func ucs2(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// Feed a connection's bytes to a Conn: a SQL batch and its response (one
// DONE token with a row count), then read the per-request statistics.
func ExampleNewConn() {
	rep := &health.Collector{}
	ctx := &tcpstate.StreamContext{
		Client: netip.MustParseAddrPort("10.0.0.1:50000"), Server: netip.MustParseAddrPort("10.0.0.2:1433"),
		Flow: "10.0.0.1:50000->10.0.0.2:1433/tcp", Reporter: rep,
	}
	c := tds.NewConn(ctx, tds.DefaultConfig())
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	c.Feed(tcpstate.ClientToServer, packet(tds.TypeSQLBatch, ucs2("select 1")), tcpstate.Position{Frame: 4, Time: t0})
	done := []byte{0xFD, 0x10, 0x00, 0xC1, 0x00, 1, 0, 0, 0, 0, 0, 0, 0} // DONE, DONE_COUNT, 1 row
	c.Feed(tcpstate.ServerToClient, packet(tds.TypeResponse, done), tcpstate.Position{Frame: 5, Time: t0.Add(1500 * time.Microsecond)})
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 6, Time: t0.Add(time.Second)})

	for _, r := range c.Stats().Requests {
		fmt.Printf("frame %d %s %q: server %v, %d row(s)\n", r.Frame, r.Type, r.Text, r.ServerTime, r.Rows)
	}
	for _, e := range rep.Events {
		fmt.Println(e.Kind)
	}
	// Output:
	// frame 4 SQL_BATCH "select 1": server 1.5ms, 1 row(s)
	// tds.latency_split
}

// Detect tells TDS from other protocols by a direction's first bytes.
func ExampleDetect() {
	prelogin := []byte{0x12, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00}
	fmt.Println(tds.Detect(tcpstate.ClientToServer, prelogin))
	fmt.Println(tds.Detect(tcpstate.ClientToServer, []byte("GET / HTTP/1.1\r\n")))
	// Output:
	// true
	// false
}

// ParsePrelogin decodes the options of a PRELOGIN message ([MS-TDS] 4.1).
func ExampleParsePrelogin() {
	payload := []byte{0x00, 0x00, 0x0B, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xFF,
		0x10, 0x00, 0x10, 0x7A, 0x00, 0x00, 0x02}
	p, _, err := tds.ParsePrelogin(payload)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Version, p.Encryption)
	// Output:
	// 16.0.4218 ENCRYPT_NOT_SUP
}

// The SQL Browser tracker matches replies to requests and reports the
// requests nobody answered when the capture ends.
func ExampleSSRP() {
	rep := &health.Collector{}
	s := tds.NewSSRP(rep, tds.DefaultSSRPConfig())
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		p := layers.Packet{Frame: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Second),
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.47"), Transport: layers.TransportUDP,
			UDP: layers.UDPHeader{SrcPort: 50000, DstPort: 1434}, Payload: []byte("\x04SQLPROD\x00")}
		s.Datagram(&p)
	}
	s.Finish(tcpstate.Position{Frame: 4, Time: t0.Add(10 * time.Second)})
	for _, e := range rep.Events {
		fmt.Println(e.Kind, e.Evidence["requests"], e.Evidence["instance"])
	}
	// Output:
	// tds.ssrp_unanswered 3 SQLPROD
}
