package pair_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/pair"
)

// Compare the client's and the server's view of one handshake (casebook
// C1): the SYN-ACK gained 2 bytes between the two capture points.
func ExampleCompare() {
	t0 := time.Date(2026, 11, 22, 1, 38, 42, 0, time.UTC)
	conn := func(synAckPayload int, synAckAfter, ackAfter time.Duration) pair.Conn {
		return pair.Conn{
			Client:    netip.MustParseAddrPort("10.200.1.10:49874"),
			Server:    netip.MustParseAddrPort("10.200.3.20:443"),
			ClientISN: 613787468, ServerISN: 3195721272, ClientSYN: true, ServerSYN: true,
			Segments: []pair.Segment{
				{Frame: 1, Time: t0, FromClient: true, Flags: layers.FlagSYN, IPTotalLen: 60, TSval: 2932086567, HasTS: true, MSS: 1460},
				{Frame: 2, Time: t0.Add(synAckAfter), Ack: 1, Flags: layers.FlagSYN | layers.FlagACK, PayloadLen: synAckPayload, IPTotalLen: 60 + synAckPayload, TSval: 1305839414, HasTS: true, MSS: 1460},
				{Frame: 3, Time: t0.Add(synAckAfter + ackAfter), FromClient: true, Seq: 1, Ack: 1, Flags: layers.FlagACK, IPTotalLen: 52, TSval: 2932086567, HasTS: true},
			},
		}
	}
	client := &pair.Capture{Label: "a", Conns: []pair.Conn{conn(2, 483*time.Microsecond, 51*time.Microsecond)}}
	server := &pair.Capture{Label: "b", Conns: []pair.Conn{conn(0, 20*time.Microsecond, 379*time.Microsecond)}}
	var col health.Collector
	matches, _ := pair.Compare(client, server, pair.Config{}, &col)
	for _, m := range matches {
		fmt.Printf("matched by %s, NAT %v, client side %s\n", m.By, m.NAT, m.ClientSide)
	}
	for _, e := range col.OfKind(health.PairPacketChanged) {
		fmt.Printf("%s frame %d: %s\n", e.Kind, e.Frame, e.Message)
	}
	// Output:
	// matched by client ISN and SYN TSval, NAT false, client side a
	// pair.packet_changed frame 2: the SYN-ACK (server→client) differs between the two capture points: IP total length 62 in a vs 60 in b, payload 2 vs 0 bytes (frame 2 in a, frame 2 in b): 2 bytes of payload added in transit
}
