package nettrace

import (
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tds"
)

// ssrpPort is the SQL Server Browser's UDP port ([MC-SQLR] 2.1.1).
const ssrpPort = 1434

// udpRouter hands UDP datagrams to the datagram decoders.
type udpRouter struct {
	a    *Analyzer
	ssrp *tds.SSRP
	dce  *rpc.Datagrams
}

func newUDPRouter(a *Analyzer) udpRouter {
	return udpRouter{a: a, ssrp: tds.NewSSRP(a.rep, tds.DefaultSSRPConfig()),
		dce: rpc.NewDatagrams(a.rep, rpc.CLConfig{})}
}

func (u *udpRouter) datagram(p *layers.Packet) {
	if p.UDP.SrcPort == ssrpPort || p.UDP.DstPort == ssrpPort {
		u.ssrp.Datagram(p)
		return
	}
	// Connectionless DCE/RPC (ncadg_ip_udp) runs on any port: recognised by
	// its header, as tshark's heuristic dissector does (rpc.DetectCL).
	u.dce.Datagram(p.SrcAddrPort(), p.DstAddrPort(), p.Payload, p.PayloadLen, tcpstate.Position{Frame: p.Frame, Time: p.Time})
}

func (u *udpRouter) finish(at tcpstate.Position) {
	u.ssrp.Finish(at)
	u.dce.Finish(at)
}
