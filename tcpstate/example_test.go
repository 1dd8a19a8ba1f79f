package tcpstate_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
)

// printer is a tiny StreamHandler that prints what it gets.
type printer struct{ ctx *tcpstate.StreamContext }

func (p printer) Feed(d tcpstate.Dir, data []byte, at tcpstate.Position) {
	fmt.Printf("stream %d frame %d %s: %q\n", p.ctx.ID, at.Frame, d, data)
}

func (p printer) Gap(d tcpstate.Dir, n int, at tcpstate.Position) {
	fmt.Printf("stream %d frame %d %s: %d bytes missing\n", p.ctx.ID, at.Frame, d, n)
}

func (p printer) Close(r tcpstate.CloseReason, at tcpstate.Position) {
	fmt.Printf("stream %d frame %d: closed (%s)\n", p.ctx.ID, at.Frame, r)
}

// segment builds a TCP packet as the layers decoder would.
func segment(frame int64, src, dst string, flags layers.TCPFlags, seq, ack uint32, data string) *layers.Packet {
	s, d := netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	return &layers.Packet{
		Frame: frame, Time: time.Unix(1700000000, frame*1e6), Network: 4, Src: s.Addr(), Dst: d.Addr(),
		IPProto: layers.ProtoTCP, Transport: layers.TransportTCP, Payload: []byte(data), PayloadLen: len(data),
		TCP: layers.TCPHeader{SrcPort: s.Port(), DstPort: d.Port(), Seq: seq, Ack: ack, Flags: flags, WindowScale: -1},
	}
}

func Example() {
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	const SYN, ACK, FIN, PSH = layers.FlagSYN, layers.FlagACK, layers.FlagFIN, layers.FlagPSH

	tr := tcpstate.NewTracker(tcpstate.DefaultConfig(), health.Discard,
		func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			fmt.Printf("stream %d: %s\n", ctx.ID, ctx.Flow)
			return printer{ctx}
		})
	tr.OnSummary = func(s *health.FlowStats) {
		fmt.Printf("summary: %d+%d bytes, client %s, server %s, close %s\n",
			s.Bytes[0], s.Bytes[1], s.ClientState, s.ServerState, s.CloseReason)
	}
	for _, p := range []*layers.Packet{
		segment(1, cli, srv, SYN, 100, 0, ""),
		segment(2, srv, cli, SYN|ACK, 500, 101, ""),
		segment(3, cli, srv, ACK, 101, 501, ""),
		segment(4, cli, srv, PSH|ACK, 107, 501, "world\n"), // arrives first
		segment(5, cli, srv, PSH|ACK, 101, 501, "hello "),
		segment(6, srv, cli, PSH|ACK, 501, 113, "ok\n"),
		segment(7, cli, srv, FIN|ACK, 113, 504, ""),
		segment(8, srv, cli, FIN|ACK, 504, 114, ""),
		segment(9, cli, srv, ACK, 114, 505, ""),
	} {
		tr.Packet(p)
	}
	tr.Close(tcpstate.Position{Frame: 9})
	fmt.Println("active:", tr.Active())
	// Output:
	// stream 0: 10.0.0.1:40000->10.0.0.2:80/tcp
	// stream 0 frame 5 client: "hello "
	// stream 0 frame 4 client: "world\n"
	// stream 0 frame 6 server: "ok\n"
	// stream 0 frame 8: closed (fin)
	// summary: 12+3 bytes, client TIME_WAIT, server CLOSED, close fin
	// active: 0
}
