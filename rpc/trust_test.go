package rpc

import (
	"bytes"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Tests of the rules that keep findings true on captures made elsewhere:
// one side only, started mid-stream, with gaps, with rewritten addresses,
// or carrying another protocol where DCE/RPC was expected. A finding is a
// claim about the network; nettrace not understanding bytes is a notice
// about its own coverage.

// runOne feeds segs to one Conn over s's addresses; prep sets what the
// tracker would (Visibility, Altered) on the context before Close, which
// comes with reason.
func runOne(s *tstream, segs []seg, cfg Config, mode chunking, reason tcpstate.CloseReason, prep func(*tcpstate.StreamContext)) (*health.Collector, *Conn) {
	col := &health.Collector{KeepMessages: true}
	ctx := &tcpstate.StreamContext{ID: uint64(s.id), Client: s.client, Server: s.server,
		Flow: s.client.String() + "->" + s.server.String() + "/tcp", Reporter: col}
	ctx.Visibility.Packets = s.packets
	c := NewConn(ctx, cfg)
	feed(c, segs, mode, rand.New(rand.NewSource(1)))
	if prep != nil {
		prep(ctx)
	}
	last := tcpstate.Position{}
	if n := len(segs); n > 0 {
		last = segs[n-1].pos
	}
	c.Close(reason, last)
	return col, c
}

// kinds returns the events' kinds and severities, in order.
func kinds(col *health.Collector) []string {
	var out []string
	for _, e := range col.Events {
		if e.Kind != health.RPCEndpointLearned {
			out = append(out, string(e.Kind)+"/"+e.Severity.String())
		}
	}
	return out
}

// TestNoResponseNeedsTheServerSide: rpc.no_response is a claim that the
// server never answered. It holds only when the capture shows the server's
// side (tcpstate.Visibility.Captured), nothing of that side went undecoded
// after the request, and the capture did not start inside the call.
// epm-map-impacket-tcp135.pcap stream 0 without its ept_map response
// (frame 10): the bind (frame 4) was answered (frame 6), the ept_map
// request (frame 8) was not.
func TestNoResponseNeedsTheServerSide(t *testing.T) {
	s := readTCP(t, testdataPath("epm-map-impacket-tcp135.pcap"))[0]
	noAnswer := s.segs[:3] // bind, bind_ack, ept_map request
	tests := []struct {
		name   string
		segs   []seg
		vis    tcpstate.Visibility
		reason tcpstate.CloseReason
		want   []string
	}{
		{"both sides captured", noAnswer, tcpstate.Visibility{Packets: [2]int64{7, 5}}, tcpstate.CloseFIN,
			[]string{"rpc.no_response/warning"}},
		{"both sides captured, the capture ends", noAnswer, tcpstate.Visibility{Packets: [2]int64{7, 5}}, tcpstate.CloseEndOfCapture,
			[]string{"rpc.no_response/notice"}},
		{"tracker's visibility not filled in", noAnswer, tcpstate.Visibility{}, tcpstate.CloseFIN,
			[]string{"rpc.no_response/warning"}},
		{"not filled in, nothing from the server", noAnswer[:1], tcpstate.Visibility{}, tcpstate.CloseFIN, nil},
		{"one-sided capture (client only)", noAnswer, tcpstate.Visibility{Packets: [2]int64{7, 0}, OneSided: true}, tcpstate.CloseFIN, nil},
		{"server bytes acknowledged but not captured", noAnswer, tcpstate.Visibility{Packets: [2]int64{7, 5}, Unseen: [2]int64{0, 152}}, tcpstate.CloseFIN, nil},
		{"gap in the server's bytes after the call", append(append([]seg(nil), noAnswer...),
			seg{dir: tcpstate.ServerToClient, gap: 152, pos: tcpstate.Position{Frame: 10}}),
			tcpstate.Visibility{Packets: [2]int64{7, 5}}, tcpstate.CloseFIN, nil},
		{"answered", s.segs, tcpstate.Visibility{Packets: [2]int64{7, 6}}, tcpstate.CloseFIN, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			col, _ := runOne(s, tc.segs, DefaultConfig(), wholeSegments, tc.reason, func(ctx *tcpstate.StreamContext) { ctx.Visibility = tc.vis })
			if d := cmp.Diff(tc.want, kinds(col)); d != "" {
				t.Errorf("events (-want +got):\n%s\n%+v", d, col.Events)
			}
			if ev := col.OfKind(health.RPCNoResponse); len(ev) == 1 && (ev[0].Frame != 8 || ev[0].Evidence["opnum"] != EPMOpMap) {
				t.Errorf("no_response names frame %d opnum %v, want frame 8 opnum 3", ev[0].Frame, ev[0].Evidence["opnum"])
			}
		})
	}

	// The capture started inside the call: only its last fragment was seen.
	t.Run("capture started inside the call", func(t *testing.T) {
		col := &health.Collector{}
		ctx := synthCtx(col)
		c := NewConn(ctx, DefaultConfig())
		c.Feed(tcpstate.ClientToServer, pdu(false, PTRequest, FlagLastFrag, 9, requestBody(false, 0, 1, make([]byte, 8)), 0), tcpstate.Position{Frame: 1})
		ctx.Visibility.Packets = [2]int64{3, 2}
		c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 2})
		if n := len(col.OfKind(health.RPCNoResponse)); n != 0 {
			t.Errorf("%d no_response events for a call whose start was not captured", n)
		}
		if c.Stats().NotShown != 1 {
			t.Errorf("NotShown = %d, want 1", c.Stats().NotShown)
		}
	})
}

// TestEPMMismatchNotOnRewrittenCapture: casebook C4 client side
// (c04-epm-vip-client.pcap, reply in frame 10). On the capture as taken
// the tower address differing from the VIP is a warning; when the
// capture's checksums show its packets were changed after they were
// computed (StreamContext.Altered: addresses rewritten by an anonymiser),
// the addresses in the headers prove nothing and the event is a notice
// that says why.
func TestEPMMismatchNotOnRewrittenCapture(t *testing.T) {
	s := readTCP(t, testdataPath("c04-epm-vip-client.pcap"))[0]
	for _, tc := range []struct {
		name       string
		altered    bool
		want       health.Severity
		wantReason string
	}{
		{"as captured", false, health.Warning, ""},
		{"addresses rewritten", true, health.Notice, rewrittenReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := &health.Collector{}
			ctx := &tcpstate.StreamContext{Client: s.client, Server: s.server, Flow: "c04", Reporter: col, Altered: tc.altered}
			ctx.Visibility.Packets = s.packets
			c := NewConn(ctx, DefaultConfig())
			feed(c, s.segs, wholeSegments, nil)
			c.Close(tcpstate.CloseFIN, s.segs[len(s.segs)-1].pos)
			ev := col.OfKind(health.RPCEPMAddressMismatch)
			if len(ev) != 1 || ev[0].Frame != 10 || ev[0].Severity != tc.want {
				t.Fatalf("mismatch events %+v, want one %v at frame 10", ev, tc.want)
			}
			if got, _ := ev[0].Evidence["reason"].(string); got != tc.wantReason {
				t.Errorf("reason %q, want %q", got, tc.wantReason)
			}
			if tc.altered && !strings.Contains(ev[0].Message, "look rewritten") {
				t.Errorf("message %q does not say the addresses look rewritten", ev[0].Message)
			}
			for _, e := range col.Events {
				if e.Severity >= health.Warning && tc.altered {
					t.Errorf("warning on a rewritten capture: %+v", e)
				}
			}
		})
	}
}

// psexecPipes is what PsExec-style remote execution (impacket's psexec
// with the RemCom service) writes and reads on its own named pipes after
// svcctl: the RemCom_communicaton pipe carries a RemCOMMessage (command
// 4096 bytes, working directory 260, priority, process id, machine 260,
// no-wait) and a RemCOMResponse (error code, return code); the
// RemCom_stdout pipe carries console text. None of it is DCE/RPC.
func psexecPipes() map[string][]seg {
	msg := &builder{}
	cmd := make([]byte, 4096)
	copy(cmd, "cmd.exe")
	msg.raw(cmd).raw(make([]byte, 260)).u32(0x20).u32(0x1000).raw(append([]byte("WS01"), make([]byte, 256)...)).u32(0)
	resp := (&builder{}).u32(0).u32(0).b
	out := []byte("Microsoft Windows [Version 10.0.19045.3803]\r\n(c) Microsoft Corporation. All rights reserved.\r\n\r\nC:\\Windows\\system32>")
	return map[string][]seg{
		"RemCom_communicaton": {
			{dir: tcpstate.ClientToServer, data: msg.b, pos: tcpstate.Position{Frame: 40}},
			{dir: tcpstate.ServerToClient, data: resp, pos: tcpstate.Position{Frame: 52}},
		},
		"RemCom_stdout": {
			{dir: tcpstate.ServerToClient, data: out[:47], pos: tcpstate.Position{Frame: 44}},
			{dir: tcpstate.ServerToClient, data: out[47:], pos: tcpstate.Position{Frame: 46}},
		},
	}
}

// TestNonDCERPCPipeGivesUp: named-pipe data that is not DCE/RPC (its first
// bytes are no PDU header, and none follows) is another protocol, not a
// malformed DCE/RPC peer: one decode.gave_up notice per pipe, nothing
// else, however the bytes are cut.
func TestNonDCERPCPipeGivesUp(t *testing.T) {
	for name, segs := range psexecPipes() {
		for _, mode := range []chunking{wholeSegments, byteAtATime, randomSplits} {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				col := &health.Collector{}
				ctx := &tcpstate.StreamContext{Client: netip.MustParseAddrPort("10.1.1.5:50123"), Server: netip.MustParseAddrPort("10.1.1.9:445"),
					Flow: "10.1.1.5:50123->10.1.1.9:445/tcp", Reporter: col}
				ctx.Visibility.Packets = [2]int64{60, 55}
				c := NewConn(ctx, DefaultConfig())
				feed(c, segs, mode, rand.New(rand.NewSource(7)))
				if c.Finished() != "" {
					t.Errorf("Finished() = %q for bytes that are not DCE/RPC", c.Finished())
				}
				c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 60})
				if d := cmp.Diff([]string{"decode.gave_up/notice"}, kinds(col)); d != "" {
					t.Fatalf("events (-want +got):\n%s\n%+v", d, col.Events)
				}
				e := col.Events[0]
				if e.Evidence["decoder"] != "dcerpc" || !strings.Contains(e.Evidence["reason"].(string), "not DCE/RPC") {
					t.Errorf("evidence %+v", e.Evidence)
				}
			})
		}
	}
}

// epm64Exchange is an ept_map exchange in NDR64, as between 64-bit Windows
// hosts: the bind proposes NDR (context 0) and NDR64 (context 1), the
// server accepts NDR64, and the call and its reply use context 1.
func epm64Exchange(opnum uint16, req, resp []byte) []synthPDU {
	return []synthPDU{
		{tcpstate.ClientToServer, pdu(false, PTBind, flagsFirstAndLastFrag, 1, bindBody64(EPMInterface, 3), 0)},
		{tcpstate.ServerToClient, pdu(false, PTBindAck, flagsFirstAndLastFrag, 1, bindAckBody64("135"), 0)},
		{tcpstate.ClientToServer, pdu(false, PTRequest, flagsFirstAndLastFrag, 2, requestBody(false, 1, opnum, req), 0)},
		{tcpstate.ServerToClient, pdu(false, PTResponse, flagsFirstAndLastFrag, 2, responseBody(false, 1, resp), 0)},
	}
}

// TestNDR64TowersAreNotMalformed: endpoint-mapper calls in the NDR64
// transfer syntax ([MS-RPCE] 2.2.5: 8-byte referent ids and array counts)
// are decoded — towers, endpoints learned — and never reported as
// malformed, whether the bind was seen or the context is guessed.
func TestNDR64TowersAreNotMalformed(t *testing.T) {
	ip := netip.MustParseAddr("10.11.2.2")
	towers := [][]byte{towerBytes(winreg, 1, 49153, ip), towerBytes(mapi, 0, 49160, ip)}
	mapReq := mapRequestStub64(towerBytes(winreg, 1, 135, netip.MustParseAddr("0.0.0.0")), 4)
	// inquiry_type, null object and interface pointers, vers_option,
	// entry_handle, max_ents
	lookupReq := (&builder{}).u32(0).align(8).u64(0).u64(0).u32(1).raw(make([]byte, 20)).u32(500).b
	tests := []struct {
		name string
		pdus []synthPDU
		cfg  Config
	}{
		{"ept_map", epm64Exchange(EPMOpMap, mapReq, mapResponseStub64(towers, StatusOK)), DefaultConfig()},
		{"ept_lookup", epm64Exchange(EPMOpLookup, lookupReq, lookupResponseStub64(towers, "Remote Registry", StatusOK)), DefaultConfig()},
		{"ept_map, bind not captured", epm64Exchange(EPMOpMap, mapReq, mapResponseStub64(towers, StatusOK))[2:],
			Config{Interface: EPMInterface}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			col := runSynth(tc.cfg, tc.pdus)
			if d := cmp.Diff([]string(nil), kinds(col)); d != "" {
				t.Errorf("events other than endpoint_learned (-want +got):\n%s\n%+v", d, col.Events)
			}
			if n := len(col.OfKind(health.RPCEndpointLearned)); n != 2 {
				t.Errorf("%d endpoints learned, want 2", n)
			}
			var ports []any
			for _, m := range col.Messages {
				if m.Proto == "epm" && m.Fields["status"] != nil {
					for _, tw := range m.Fields["towers"].([]map[string]any) {
						ports = append(ports, tw["port"])
					}
				}
			}
			if d := cmp.Diff([]any{uint16(49153), uint16(49160)}, ports); d != "" {
				t.Errorf("tower ports (-want +got):\n%s", d)
			}
		})
	}
}

// TestParseNDR64MapResponse: the NDR64 reply decodes in NDR64 and every
// strict prefix fails; NDR64 bytes read as NDR 2.0 do not decode.
func TestParseNDR64MapResponse(t *testing.T) {
	stub := mapResponseStub64([][]byte{towerBytes(winreg, 1, 49153, netip.MustParseAddr("10.0.0.7"))}, StatusOK)
	m, err := ParseMapResponse64(stub, LittleEndian, DefaultEPMLimits())
	if err != nil || len(m.Towers) != 1 || m.Towers[0].Port != 49153 || m.Towers[0].Interface != winreg {
		t.Fatalf("ParseMapResponse(NDR64) = %+v, %v", m, err)
	}
	for i := range stub {
		if _, err := ParseMapResponse64(stub[:i], LittleEndian, DefaultEPMLimits()); err == nil {
			t.Fatalf("prefix of %d bytes decoded", i)
		}
	}
	if _, err := ParseMapResponse(stub, LittleEndian, DefaultEPMLimits()); err == nil {
		t.Errorf("NDR64 stub decoded as NDR 2.0")
	}
	req := mapRequestStub64(towerBytes(winreg, 1, 135, netip.MustParseAddr("0.0.0.0")), 4)
	if r, err := ParseMapRequest64(req, LittleEndian, DefaultEPMLimits()); err != nil || !r.HasTower || r.MaxTowers != 4 {
		t.Errorf("ParseMapRequest(NDR64) = %+v, %v", r, err)
	}
}

// TestResyncAfterGap: after bytes the capture missed (a gap inside the
// ept_lookup reply of epm-rpcdump-impacket-tcp135.pcap, frame 10) or a
// capture that starts inside a PDU (the same reply from frame 10 on), the
// direction resynchronises on the next PDU header (frame 13), reports one
// decode.resync (Info) with the bytes skipped, and decodes the rest of the
// connection: the PDUs after the resync are those of the clean capture.
// Nothing is malformed and no call is claimed unanswered.
func TestResyncAfterGap(t *testing.T) {
	s := readTCP(t, testdataPath("epm-rpcdump-impacket-tcp135.pcap"))[0]
	clean, _ := runOne(s, s.segs, DefaultConfig(), wholeSegments, tcpstate.CloseFIN, nil)
	after := func(col *health.Collector, frame int64) []int64 {
		var out []int64
		for _, m := range col.Messages {
			if m.Proto == "dcerpc" && m.Frame >= frame {
				out = append(out, m.Frame)
			}
		}
		return out
	}
	gap := append(append(append([]seg(nil), s.segs[:4]...), seg{dir: tcpstate.ServerToClient, gap: len(s.segs[4].data), pos: s.segs[5].pos}), s.segs[5:]...)
	midStream := append([]seg(nil), s.segs[4:]...)
	tests := []struct {
		name, reason string
		segs         []seg
		skipped      int
	}{
		{"gap", "gap", gap, len(s.segs[5].data)},
		{"capture started inside a PDU", "mid_stream", midStream, len(s.segs[4].data) + len(s.segs[5].data)},
	}
	for _, tc := range tests {
		for _, mode := range []chunking{wholeSegments, byteAtATime, randomSplits} {
			t.Run(tc.name+"/"+mode.String(), func(t *testing.T) {
				col, c := runOne(s, tc.segs, DefaultConfig(), mode, tcpstate.CloseFIN, nil)
				rs := col.OfKind(health.DecodeResync)
				if len(rs) != 1 || rs[0].Severity != health.Info || rs[0].Frame != 13 || rs[0].Evidence["skipped"] != tc.skipped ||
					rs[0].Evidence["reason"] != tc.reason || rs[0].Evidence["dir"] != "server" {
					t.Fatalf("resync events %+v", col.Events)
				}
				for _, e := range col.Events {
					if e.Kind != health.DecodeResync && e.Kind != health.RPCEndpointLearned {
						t.Errorf("unexpected event %s %v: %s", e.Kind, e.Severity, e.Message)
					}
				}
				if d := cmp.Diff(after(clean, 13), after(col, 13)); d != "" {
					t.Errorf("PDUs after the resync (-clean +got):\n%s", d)
				}
				if c.Stats().Resyncs != 1 {
					t.Errorf("Stats.Resyncs = %d", c.Stats().Resyncs)
				}
			})
		}
	}
}

// TestFinishedAfterLastAnswer: rpc.Conn is a tcpstate.Finisher: "" while a
// call is outstanding or a PDU partial, then that every call was answered
// (epm-map-impacket-tcp135.pcap stream 0).
func TestFinishedAfterLastAnswer(t *testing.T) {
	s := readTCP(t, testdataPath("epm-map-impacket-tcp135.pcap"))[0]
	var _ tcpstate.Finisher = (*Conn)(nil)
	c := NewConn(&tcpstate.StreamContext{Client: s.client, Server: s.server, Reporter: &health.Collector{}}, DefaultConfig())
	answered := "every DCE/RPC call was answered"
	want := []string{"", answered, "", answered} // bind, bind_ack, ept_map request, reply
	for i, sg := range s.segs {
		if i == 3 {
			c.Feed(sg.dir, sg.data[:20], sg.pos) // the reply's first bytes: partial
			if got := c.Finished(); got != "" {
				t.Errorf("partial reply: Finished() = %q", got)
			}
			c.Feed(sg.dir, sg.data[20:], sg.pos)
		} else {
			c.Feed(sg.dir, sg.data, sg.pos)
		}
		if got := c.Finished(); got != want[i] {
			t.Errorf("after frame %d: Finished() = %q, want %q", sg.pos.Frame, got, want[i])
		}
	}
}

// TestResyncEventsCapped: decode.resync events stop at Limits.MaxEvents;
// the rest are counted.
func TestResyncEventsCapped(t *testing.T) {
	col := &health.Collector{}
	cfg := DefaultConfig()
	cfg.Limits.MaxEvents = 2
	c := NewConn(synthCtx(col), cfg)
	req := pdu(false, PTRequest, flagsFirstAndLastFrag, 1, requestBody(false, 0, 1, nil), 0)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		at := tcpstate.Position{Frame: int64(i + 1), Time: t0}
		c.Gap(tcpstate.ClientToServer, 10, at)
		c.Feed(tcpstate.ClientToServer, append(bytes.Repeat([]byte{0x41}, 7), req...), at)
	}
	if n := len(col.OfKind(health.DecodeResync)); n != 2 || c.Stats().Resyncs != 5 || c.Stats().EventsCapped != 3 {
		t.Errorf("%d resync events, stats %+v", n, c.Stats())
	}
}
