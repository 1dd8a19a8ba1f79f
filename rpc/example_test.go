package rpc_test

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/tcpstate"
)

// The ept_map exchange of casebook C4 (testdata/rpc/c04-epm-vip-client.pcap,
// frames 4, 6, 8 and 10): the client asked the VIP 10.200.3.100.
var c4 = []struct {
	dir   tcpstate.Dir
	frame int64
	hex   string
}{
	{tcpstate.ClientToServer, 4, "05000b03100000004800000001000000b810b8100000000001000000000001000883afe11f5dc91191a408002b14a0fa03000000045d888aeb1cc9119fe808002b10486002000000"},
	{tcpstate.ServerToClient, 6, "05000c03100000003c00000001000000b810b810b927000004003133350000000100000000000000045d888aeb1cc9119fe808002b10486002000000"},
	{tcpstate.ClientToServer, 8, "05000003100000009c0000000100000084000000000003000100000000000000000000000000000000000000020000004b0000004b000000050013000d01d08c334422f131aaaa90003800100301000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b0200000001000702000000010009040000000000ab000000000000000000000000000000000000000001000000"},
	{tcpstate.ServerToClient, 10, "050002031000000098000000010000008000000000000000000000000000000000000000000000000000000001000000010000000000000001000000030000004b0000004b000000050013000d01d08c334422f131aaaa90003800100301000200000013000d045d888aeb1cc9119fe808002b10486002000200000001000b020000000100070200c00001000904000ac803140000000000"},
}

// ExampleNewConn feeds the endpoint-mapper exchange of casebook C4 to a
// Conn: the tower names 10.200.3.20, not the VIP the request went to.
func ExampleNewConn() {
	col := &health.Collector{}
	ctx := &tcpstate.StreamContext{
		Client:   netip.MustParseAddrPort("10.200.1.10:48390"),
		Server:   netip.MustParseAddrPort("10.200.3.100:135"),
		Flow:     "10.200.1.10:48390->10.200.3.100:135/tcp",
		Reporter: col,
	}
	cfg := rpc.DefaultConfig()
	cfg.Learned = func(e rpc.Endpoint) {
		fmt.Printf("learned %s %s %v (differs from the server: %v)\n", e.InterfaceName, e.Protocol, e.Addrs(), e.AddressDiffers)
	}
	c := rpc.NewConn(ctx, cfg)
	for _, p := range c4 {
		b, _ := hex.DecodeString(p.hex)
		c.Feed(p.dir, b, tcpstate.Position{Frame: p.frame, Time: time.Unix(0, 0)})
	}
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 14})
	for _, e := range col.Events {
		fmt.Println(e.Frame, e.Kind, e.Evidence["tower_ip"], e.Evidence["port"])
	}
	// Output:
	// learned WINREG tcp [10.200.3.20:49152 10.200.3.100:49152] (differs from the server: true)
	// 10 rpc.epm_address_mismatch 10.200.3.20 49152
	// 10 rpc.endpoint_learned <nil> 49152
}

// ExampleParsePDU decodes a bind PDU and names its interface.
func ExampleParsePDU() {
	b, _ := hex.DecodeString(c4[0].hex)
	p, rest, err := rpc.ParsePDU(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := p.Bind.Contexts[0]
	fmt.Println(p.Header.Type, p.Header.CallID, rpc.InterfaceName(ctx.Abstract.UUID), ctx.Abstract.UUID,
		rpc.SyntaxName(ctx.Transfers[0].UUID), len(rest))
	// Output: bind 1 EPM e1af8308-5d1f-11c9-91a4-08002b14a0fa NDR 0
}

// ExampleParseMapResponse decodes the towers of an ept_map reply.
func ExampleParseMapResponse() {
	b, _ := hex.DecodeString(c4[3].hex)
	p, _, _ := rpc.ParsePDU(b)
	m, err := rpc.ParseMapResponse(p.Stub, p.Header.DataRep, rpc.DefaultEPMLimits())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range m.Towers {
		fmt.Println(rpc.InterfaceName(t.Interface), t.String(), m.Status)
	}
	// Output: WINREG ncacn_ip_tcp:10.200.3.20[49152] success
}

// ExampleNDR decodes a small NDR stub by hand — a unique pointer to a
// conformant varying string followed by a 32-bit status — the way a
// Config.Stubs function for another interface would.
func ExampleNDR() {
	stub, _ := hex.DecodeString("00000200" + "05000000" + "00000000" + "05000000" + "49504324" + "00" + "000000" + "00000000")
	n := rpc.NewNDR(stub, rpc.LittleEndian, rpc.NDRLimits{})
	var ref, status uint32
	var share []byte
	if n.Pointer(&ref) && ref != 0 && n.ConformantVaryingString(1, &share) && n.Uint32(&status) {
		fmt.Printf("%s %s %d bytes left\n", share, rpc.Status(status), n.Len())
	}
	// Output: IPC$ success 0 bytes left
}

// clHeader builds an 80-byte little-endian connectionless header (C706
// 12.5.1) for the examples.
func clHeader(ptype byte, iface, act string, seq uint32, opnum uint16, bodyLen int) []byte {
	h := make([]byte, 80)
	h[0], h[1], h[4] = 4, ptype, 0x10
	putUUID := func(at int, s string) {
		u := rpc.MustParseUUID(s)
		copy(h[at:], []byte{u[3], u[2], u[1], u[0], u[5], u[4], u[7], u[6]})
		copy(h[at+8:], u[8:])
	}
	putUUID(24, iface)
	putUUID(40, act)
	binary.LittleEndian.PutUint32(h[64:], seq)
	binary.LittleEndian.PutUint16(h[68:], opnum)
	binary.LittleEndian.PutUint16(h[74:], uint16(bodyLen))
	return h
}

// ExampleDatagrams follows a connectionless call over UDP: a PROFINET IO
// Connect request (as in testdata/rpc/ndpi-dcerpc.pcap) answered by a
// reject.
func ExampleDatagrams() {
	col := &health.Collector{KeepMessages: true}
	d := rpc.NewDatagrams(col, rpc.CLConfig{})
	client, server := netip.MustParseAddrPort("192.168.1.11:49155"), netip.MustParseAddrPort("192.168.1.20:34964")
	const pnio, act = "dea00001-6c97-11d1-8271-00a02442df7d", "35fda900-358a-1212-8004-001c060b26ed"
	req := clHeader(0, pnio, act, 0, 0, 0)
	rej := append(clHeader(6, pnio, act, 0, 0, 4), 0x03, 0x00, 0x01, 0x1c) // nca_s_unk_if
	t0 := time.Date(2020, 10, 16, 15, 5, 9, 0, time.UTC)
	fmt.Println(d.Datagram(client, server, req, len(req), tcpstate.Position{Frame: 1, Time: t0}))
	end := tcpstate.Position{Frame: 2, Time: t0.Add(time.Millisecond)}
	d.Datagram(server, client, rej, len(rej), end)
	d.Finish(end)
	for _, m := range col.Messages {
		fmt.Println(m.Frame, m.Fields["pkt_type"], m.Fields["operation"], m.Fields["status"])
	}
	for _, e := range col.Events {
		fmt.Println(e.Kind, e.Frame)
	}
	// Output:
	// true
	// 1 request Connect <nil>
	// 2 reject Connect nca_s_unk_if
	// rpc.reject 2
}
