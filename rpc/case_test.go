package rpc

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

var netipCmp = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

var winreg = MustParseUUID("338cd001-2244-31f1-aaaa-900038001003")

// TestCaseC4_EPMAddressMismatch: casebook C4, client side. The client asks
// the EPM at the VIP 10.200.3.100 (frame 8); the reply (frame 10) names the
// node 10.200.3.20 port 49152. The mismatch is reported with both
// addresses, and the endpoint is learned with the VIP as a second address,
// which is where the client's follow-up connection (TCP stream 1) goes.
func TestCaseC4_EPMAddressMismatch(t *testing.T) {
	streams := readTCP(t, testdataPath("c04-epm-vip-client.pcap"))
	var learned []Endpoint
	cfg := DefaultConfig()
	cfg.Learned = func(e Endpoint) { learned = append(learned, e) }
	col := runStreams(streams[:1], cfg, wholeSegments, 1)

	mm := col.OfKind(health.RPCEPMAddressMismatch)
	if len(mm) != 1 {
		t.Fatalf("got %d %s events, want 1: %+v", len(mm), health.RPCEPMAddressMismatch, col.Events)
	}
	e := mm[0]
	if e.Frame != 10 || e.Severity != health.Warning {
		t.Errorf("event frame %d severity %v, want frame 10 warning", e.Frame, e.Severity)
	}
	wantEv := map[string]any{"requested_ip": "10.200.3.100", "tower_ip": "10.200.3.20", "port": uint16(49152),
		"interface": "WINREG", "interface_uuid": winreg.String(), "protocol": "tcp", "request_frame": int64(8)}
	if d := cmp.Diff(wantEv, e.Evidence); d != "" {
		t.Errorf("evidence (-want +got):\n%s", d)
	}
	for _, s := range []string{"10.200.3.100", "10.200.3.20", "49152", "load balancer or NAT"} {
		if !strings.Contains(e.Message, s) {
			t.Errorf("message %q does not mention %q", e.Message, s)
		}
	}
	t.Logf("%s frame %d: %s", e.Kind, e.Frame, e.Message)

	want := []Endpoint{{
		IP: netip.MustParseAddr("10.200.3.20"), Port: 49152, Protocol: "tcp", Protseq: "ncacn_ip_tcp",
		Interface: winreg, InterfaceName: "WINREG", Version: 1,
		Server: netip.MustParseAddrPort("10.200.3.100:135"), AddressDiffers: true, Frame: 10,
	}}
	if d := cmp.Diff(want, learned, netipCmp); d != "" {
		t.Fatalf("learned endpoints (-want +got):\n%s", d)
	}
	// The follow-up connection (stream 1) goes to one of the learned addresses.
	follow := streams[1].server
	found := false
	for _, a := range learned[0].Addrs() {
		found = found || a == follow
	}
	if !found {
		t.Errorf("stream 1 server %v not in learned addresses %v", follow, learned[0].Addrs())
	}
	if n := len(col.OfKind(health.RPCEndpointLearned)); n != 1 {
		t.Errorf("got %d %s events, want 1", n, health.RPCEndpointLearned)
	}
	if n := len(col.OfKind(health.RPCEPMNotRegistered)) + len(col.OfKind(health.RPCEPMShortReply)); n != 0 {
		t.Errorf("unexpected EPM problem events: %+v", col.Events)
	}
}

// TestCaseC4_EPMServerSideNoMismatch: the same exchange captured on the
// server after DNAT: the request went to 10.200.3.20 itself, so there is no
// mismatch, and the endpoint is learned at 10.200.3.20:49152.
func TestCaseC4_EPMServerSideNoMismatch(t *testing.T) {
	streams := readTCP(t, testdataPath("c04-epm-vip-server.pcap"))
	var learned []Endpoint
	cfg := DefaultConfig()
	cfg.Learned = func(e Endpoint) { learned = append(learned, e) }
	col := runStreams(streams[:1], cfg, wholeSegments, 1)
	if n := len(col.OfKind(health.RPCEPMAddressMismatch)); n != 0 {
		t.Errorf("got %d address mismatch events on the server side, want 0", n)
	}
	if len(learned) != 1 || learned[0].AddressDiffers || learned[0].IP != netip.MustParseAddr("10.200.3.20") || learned[0].Port != 49152 {
		t.Fatalf("learned = %+v, want 10.200.3.20:49152 without AddressDiffers", learned)
	}
	if got, want := learned[0].Addrs(), []netip.AddrPort{netip.MustParseAddrPort("10.200.3.20:49152")}; !cmp.Equal(got, want, netipCmp) {
		t.Errorf("Addrs() = %v, want %v", got, want)
	}
	if streams[1].server != learned[0].Addrs()[0] {
		t.Errorf("follow-up stream goes to %v, not the learned endpoint", streams[1].server)
	}
}

// TestLearnedPortDissected feeds the follow-up connection of C4 (stream 1,
// to the learned port 49152) to a Conn configured with the interface the
// EPM announced, as the Analyzer does for a learned endpoint: the bind with
// NTLMSSP, auth3 and WINREG OpenLocalMachine (2) and BaseRegCloseKey (5) are
// decoded.
func TestLearnedPortDissected(t *testing.T) {
	streams := readTCP(t, testdataPath("c04-epm-vip-client.pcap"))
	cfg := DefaultConfig()
	cfg.Interface = winreg
	col := runStreams(streams[1:2], cfg, wholeSegments, 1)
	var ops []string
	for _, m := range col.Messages {
		if op, ok := m.Fields["operation"]; ok && m.Fields["pkt_type"] == "request" {
			ops = append(ops, op.(string))
		}
	}
	if d := cmp.Diff([]string{"OpenLocalMachine", "BaseRegCloseKey"}, ops); d != "" {
		t.Errorf("operations (-want +got):\n%s", d)
	}
	for _, m := range col.Messages {
		if m.Frame == 17 && (m.Fields["auth_type"] != "ntlmssp" || m.Fields["auth_level"] != "integrity") {
			t.Errorf("bind frame 17: auth %v/%v, want ntlmssp/integrity", m.Fields["auth_type"], m.Fields["auth_level"])
		}
	}
	if len(col.Events) != 0 {
		t.Errorf("unexpected events: %+v", col.Events)
	}
}

// synthConn runs a list of synthetic PDUs (client or server, one frame
// each) through a Conn between 10.11.1.5 and the EPM at 10.11.2.2:135.
type synthPDU struct {
	dir tcpstate.Dir
	b   []byte
}

func runSynth(cfg Config, pdus []synthPDU) *health.Collector {
	col := &health.Collector{KeepMessages: true}
	ctx := &tcpstate.StreamContext{Client: netip.MustParseAddrPort("10.11.1.5:50000"),
		Server: netip.MustParseAddrPort("10.11.2.2:135"), Flow: "10.11.1.5:50000->10.11.2.2:135/tcp", Reporter: col}
	c := NewConn(ctx, cfg)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var at tcpstate.Position
	for i, p := range pdus {
		at = tcpstate.Position{Frame: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond)}
		c.Feed(p.dir, p.b, at)
		ctx.Visibility.Packets[p.dir]++
	}
	ctx.Visibility.Packets[tcpstate.ServerToClient]++ // the server's SYN-ACK: both sides captured
	c.Close(tcpstate.CloseFIN, at)
	return col
}

var mapi = MustParseUUID("a4f1db00-ca47-1067-b31f-00dd010662da")

// c4Exchange builds casebook C4 from its figures: bind to EPM, ept_map
// (call id 2) for MAPI with a 5-floor tower (port 135, IP 0.0.0.0, max
// towers 15), and the given response.
func c4Exchange(be bool, resp []byte) []synthPDU {
	req := mapRequestStub(be, towerBytes(mapi, 0, 135, netip.MustParseAddr("0.0.0.0")), 15)
	return []synthPDU{
		{tcpstate.ClientToServer, pdu(be, PTBind, flagsFirstAndLastFrag, 1, bindBody(be, 0, EPMInterface, 3), 0)},
		{tcpstate.ServerToClient, pdu(be, PTBindAck, flagsFirstAndLastFrag, 1, bindAckBody(be, "135", Acceptance, 0), 0)},
		{tcpstate.ClientToServer, pdu(be, PTRequest, flagsFirstAndLastFrag, 2, requestBody(be, 0, EPMOpMap, req), 0)},
		{tcpstate.ServerToClient, resp},
	}
}

// TestCaseC4_EPMShortReplySynthetic: C4 client side, synthetic from the
// casebook figures: the ept_map reply is only 24 bytes — a response header
// with no stub — instead of ~150; and a variant where the stub itself is 24
// bytes (entry handle and num_towers, nothing after). Both are
// rpc.epm_short_reply errors naming the sizes.
func TestCaseC4_EPMShortReplySynthetic(t *testing.T) {
	for _, tc := range []struct {
		name              string
		stub              []byte
		wantFrag, wantLen int
	}{
		{"24-byte PDU", nil, 24, 0},
		{"24-byte stub", append(make([]byte, 20), 1, 0, 0, 0), 48, 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := pdu(false, PTResponse, flagsFirstAndLastFrag, 2, responseBody(false, 0, tc.stub), 0)
			if len(resp) != tc.wantFrag {
				t.Fatalf("built a %d-byte response, want %d", len(resp), tc.wantFrag)
			}
			col := runSynth(DefaultConfig(), c4Exchange(false, resp))
			ev := col.OfKind(health.RPCEPMShortReply)
			if len(ev) != 1 {
				t.Fatalf("got %d short-reply events, want 1: %+v", len(ev), col.Events)
			}
			e := ev[0]
			if e.Frame != 4 || e.Severity != health.Error || e.Evidence["stub_len"] != tc.wantLen ||
				e.Evidence["frag_len"] != uint16(tc.wantFrag) || e.Evidence["request_frame"] != int64(3) {
				t.Errorf("event = %+v", e)
			}
			t.Logf("%s", e.Message)
			if n := len(col.Events); n != 1 {
				t.Errorf("got %d events, want only the short reply: %+v", n, col.Events)
			}
		})
	}
}

// TestCaseC4_EPMAddressMismatchSynthetic: the casebook's server side: a
// 152-byte reply with one tower, TCP 41376 at 10.11.2.7, to a request sent
// to the VIP 10.11.2.2; little- and big-endian data representations.
func TestCaseC4_EPMAddressMismatchSynthetic(t *testing.T) {
	for _, be := range []bool{false, true} {
		tower := towerBytes(mapi, 0, 41376, netip.MustParseAddr("10.11.2.7"))
		resp := pdu(be, PTResponse, flagsFirstAndLastFrag, 2, responseBody(be, 0, mapResponseStub(be, [][]byte{tower}, 0)), 0)
		if len(resp) != 152 {
			t.Errorf("reply is %d bytes, the casebook's is 152", len(resp))
		}
		var learned []Endpoint
		cfg := DefaultConfig()
		cfg.Learned = func(e Endpoint) { learned = append(learned, e) }
		col := runSynth(cfg, c4Exchange(be, resp))
		mm := col.OfKind(health.RPCEPMAddressMismatch)
		if len(mm) != 1 || mm[0].Evidence["tower_ip"] != "10.11.2.7" || mm[0].Evidence["requested_ip"] != "10.11.2.2" ||
			mm[0].Evidence["port"] != uint16(41376) || mm[0].Evidence["interface"] != "EMSMDB" {
			t.Fatalf("big-endian=%v: mismatch events %+v", be, col.Events)
		}
		if len(learned) != 1 || learned[0].Port != 41376 || !learned[0].AddressDiffers {
			t.Errorf("big-endian=%v: learned %+v", be, learned)
		}
	}
}

// TestEPMNotRegisteredAndNoTowers: status 0x16c9a0d6 and a successful reply
// without towers are both rpc.epm_not_registered.
func TestEPMNotRegisteredAndNoTowers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status Status
	}{{"not registered", StatusNotRegistered}, {"no towers", StatusOK}} {
		resp := pdu(false, PTResponse, flagsFirstAndLastFrag, 2, responseBody(false, 0, mapResponseStub(false, nil, tc.status)), 0)
		col := runSynth(DefaultConfig(), c4Exchange(false, resp))
		ev := col.OfKind(health.RPCEPMNotRegistered)
		if len(ev) != 1 || ev[0].Severity != health.Warning || ev[0].Evidence["status"] != tc.status.Hex() {
			t.Errorf("%s: events %+v", tc.name, col.Events)
		}
	}
}

// TestEPMLookupEndOfTable: rpcdump's single ept_lookup reply holds all 38
// towers and the status ept_s_not_registered (the real Samba/impacket quirk
// of the corpus): the towers are decoded and the status is reported.
func TestEPMLookupEndOfTable(t *testing.T) {
	var learned []Endpoint
	cfg := DefaultConfig()
	cfg.Learned = func(e Endpoint) { learned = append(learned, e) }
	col := runStreams(readTCP(t, testdataPath("epm-rpcdump-impacket-tcp135.pcap")), cfg, wholeSegments, 1)
	ev := col.OfKind(health.RPCEPMNotRegistered)
	if len(ev) != 1 || ev[0].Frame != 13 || ev[0].Evidence["towers"] != 38 || ev[0].Severity != health.Notice {
		t.Fatalf("not-registered events: %+v", ev)
	}
	if len(learned) != 38 {
		t.Errorf("learned %d endpoints, want 38", len(learned))
	}
	ports := 0
	for _, e := range learned {
		if e.Port != 0 {
			ports++
		}
	}
	if n := len(col.OfKind(health.RPCEndpointLearned)); n != ports {
		for _, e := range col.OfKind(health.RPCEndpointLearned) {
			t.Log(e.Message)
		}
		t.Errorf("%d endpoint_learned events for %d towers with a port", n, ports)
	}
	t.Logf("%s", ev[0].Message)
}

// TestFaultAndNoResponseEvents: the Suricata gap capture has a fault
// nca_s_fault_sec_pkg_error (frame 12) and a request after the server's FIN
// that is never answered (frame 14); the bind-no-frag-flag capture has two
// nca_s_op_rng_error faults for EPM opnum 42.
func TestFaultAndNoResponseEvents(t *testing.T) {
	col := runStreams(readTCP(t, testdataPath("suricata-dce-gap-handling-input.pcap")), DefaultConfig(), wholeSegments, 1)
	f := col.OfKind(health.RPCFault)
	if len(f) != 1 || f[0].Frame != 12 || f[0].Evidence["status"] != "nca_s_fault_sec_pkg_error" || f[0].Evidence["interface"] != "SAMR" {
		t.Errorf("faults: %+v", f)
	}
	nr := col.OfKind(health.RPCNoResponse)
	if len(nr) != 1 || nr[0].Frame != 14 || nr[0].Evidence["opnum"] != uint16(3) {
		t.Errorf("no-response: %+v", nr)
	}
	if n := len(col.OfKind(health.RPCMalformed)); n != 0 {
		t.Errorf("the gap fell between PDUs, got %d malformed events: %+v", n, col.Events)
	}

	col = runStreams(readTCP(t, testdataPath("suricata-dcerpc-bind-no-frag-flag-input.pcap")), DefaultConfig(), wholeSegments, 1)
	f = col.OfKind(health.RPCFault)
	if len(f) != 2 || f[0].Frame != 33 || f[1].Frame != 43 {
		t.Fatalf("faults: %+v", f)
	}
	for _, e := range f {
		if e.Evidence["status"] != "nca_s_op_rng_error" || e.Evidence["opnum"] != uint16(42) || e.Evidence["interface"] != "EPM" {
			t.Errorf("fault evidence %+v", e.Evidence)
		}
	}
}

// TestBindNakEvent: a synthetic bind_nak names its reason.
func TestBindNakEvent(t *testing.T) {
	nak := pdu(false, PTBindNak, flagsFirstAndLastFrag, 1, []byte{4, 0, 1, 5, 0}, 0)
	col := runSynth(DefaultConfig(), []synthPDU{
		{tcpstate.ClientToServer, pdu(false, PTBind, flagsFirstAndLastFrag, 1, bindBody(false, 0, winreg, 1), 0)},
		{tcpstate.ServerToClient, nak},
	})
	ev := col.OfKind(health.RPCBindNak)
	if len(ev) != 1 || ev[0].Evidence["reason"] != "protocol_version_not_supported" || ev[0].Evidence["interface"] != "WINREG" {
		t.Fatalf("bind_nak events: %+v", col.Events)
	}
	if n := len(col.OfKind(health.RPCNoResponse)); n != 0 {
		t.Errorf("a nak'd bind is answered; got %d no-response events", n)
	}
}

// TestMalformedResync: garbage between two PDUs is reported once and the
// second PDU is still decoded.
func TestMalformedResync(t *testing.T) {
	req := pdu(false, PTRequest, flagsFirstAndLastFrag, 7, requestBody(false, 0, 1, []byte{1, 2, 3, 4}), 0)
	bad := append([]byte{5, 0, 99, 3, 0x10, 0, 0, 0}, make([]byte, 30)...)
	stream := append(append(append([]byte(nil), req...), bad...), req...)
	col := runSynth(DefaultConfig(), []synthPDU{{tcpstate.ClientToServer, stream}})
	if n := len(col.OfKind(health.RPCMalformed)); n != 1 {
		t.Errorf("got %d malformed events, want 1: %+v", n, col.Events)
	}
	if n := len(col.Messages); n != 2 {
		t.Errorf("decoded %d PDUs, want 2", n)
	}
}
