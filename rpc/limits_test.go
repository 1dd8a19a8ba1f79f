package rpc

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

func synthCtx(col *health.Collector) *tcpstate.StreamContext {
	return &tcpstate.StreamContext{Client: netip.MustParseAddrPort("10.0.0.2:50000"),
		Server: netip.MustParseAddrPort("10.0.0.1:135"), Flow: "10.0.0.2:50000->10.0.0.1:135/tcp", Reporter: col}
}

// TestMaxCallsEvictsOldest: beyond MaxCalls outstanding requests the oldest
// is evicted and reported, as a notice (whether it was answered later is
// not known); memory stays bounded. At Close the calls still open are
// reported when the server's side was captured.
func TestMaxCallsEvictsOldest(t *testing.T) {
	col := &health.Collector{}
	cfg := DefaultConfig()
	cfg.Limits.MaxCalls = 4
	ctx := synthCtx(col)
	c := NewConn(ctx, cfg)
	for i := uint32(1); i <= 10; i++ {
		c.Feed(tcpstate.ClientToServer, pdu(false, PTRequest, flagsFirstAndLastFrag, i, requestBody(false, 0, 1, nil), 0),
			tcpstate.Position{Frame: int64(i)})
	}
	if len(c.calls) != 4 {
		t.Errorf("%d calls kept, want 4", len(c.calls))
	}
	ev := col.OfKind(health.RPCNoResponse)
	if len(ev) != 6 || ev[0].Evidence["call_id"] != uint32(1) || ev[0].Evidence["close"] != "evicted" || ev[0].Severity != health.Notice {
		t.Fatalf("no-response events: %+v", ev)
	}
	ctx.Visibility.Packets = [2]int64{10, 1}
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 11})
	if n := len(col.OfKind(health.RPCNoResponse)); n != 10 {
		t.Errorf("%d no-response events after Close, want 10", n)
	}
}

// TestMaxStubDropsReassembly: an EPM stub growing beyond MaxStub is dropped
// with one rpc.malformed event.
func TestMaxStubDropsReassembly(t *testing.T) {
	col := &health.Collector{}
	cfg := DefaultConfig()
	cfg.Limits.MaxStub = 100
	c := NewConn(synthCtx(col), cfg)
	at := tcpstate.Position{Frame: 1}
	c.Feed(tcpstate.ClientToServer, pdu(false, PTBind, flagsFirstAndLastFrag, 1, bindBody(false, 0, EPMInterface, 3), 0), at)
	c.Feed(tcpstate.ServerToClient, pdu(false, PTBindAck, flagsFirstAndLastFrag, 1, bindAckBody(false, "135", Acceptance, 0), 0), at)
	for i := 0; i < 5; i++ {
		fl := Flags(0)
		if i == 0 {
			fl = FlagFirstFrag
		}
		c.Feed(tcpstate.ClientToServer, pdu(false, PTRequest, fl, 2, requestBody(false, 0, EPMOpMap, make([]byte, 60)), 0),
			tcpstate.Position{Frame: int64(2 + i)})
	}
	if len(c.calls[2].stub) > 100 {
		t.Errorf("stub grew to %d bytes", len(c.calls[2].stub))
	}
	// The second fragment (frame 3) crosses the limit, before the request
	// ended: the event names it, never frame 0.
	ev := col.OfKind(health.RPCMalformed)
	if len(ev) != 1 || ev[0].Frame != 3 {
		t.Errorf("malformed events %+v, want 1 at frame 3", ev)
	}
}

// TestGapMidPDUResyncs: a gap inside a PDU drops it; the next PDU after the
// gap is found by scanning and reported once, as decode.resync (Info): the
// capture missed bytes, the peer did nothing wrong.
func TestGapMidPDUResyncs(t *testing.T) {
	col := &health.Collector{KeepMessages: true}
	c := NewConn(synthCtx(col), DefaultConfig())
	req := pdu(false, PTRequest, flagsFirstAndLastFrag, 1, requestBody(false, 0, 1, make([]byte, 40)), 0)
	c.Feed(tcpstate.ClientToServer, req[:30], tcpstate.Position{Frame: 1})
	c.Gap(tcpstate.ClientToServer, 20, tcpstate.Position{Frame: 3})
	// the tail of the lost PDU, then a whole one
	req2 := pdu(false, PTRequest, flagsFirstAndLastFrag, 2, requestBody(false, 0, 1, make([]byte, 8)), 0)
	c.Feed(tcpstate.ClientToServer, append(append([]byte(nil), req[50:]...), req2...), tcpstate.Position{Frame: 3})
	if len(col.Messages) != 1 || col.Messages[0].Fields["call_id"] != uint32(2) {
		t.Fatalf("messages %+v", col.Messages)
	}
	ev := col.OfKind(health.DecodeResync)
	if len(ev) != 1 || ev[0].Evidence["skipped"] != len(req)-50 || ev[0].Severity != health.Info || ev[0].Evidence["reason"] != "gap" {
		t.Errorf("resync events %+v", ev)
	}
	if n := len(col.OfKind(health.RPCMalformed)); n != 0 {
		t.Errorf("%d malformed events after a gap, want 0", n)
	}
}

// TestResyncGivesUp: a direction with no header within MaxResync bytes is
// abandoned and its bytes are counted. When nothing in the connection ever
// framed as a PDU the bytes are not DCE/RPC: one decode.gave_up (Notice).
// After PDUs that decoded, junk without a gap is rpc.malformed (a notice
// about nettrace's coverage).
func TestResyncGivesUp(t *testing.T) {
	req := pdu(false, PTRequest, flagsFirstAndLastFrag, 1, requestBody(false, 0, 1, nil), 0)
	junk := bytes.Repeat([]byte{0x41}, 600)
	for _, tc := range []struct {
		name      string
		first     []byte
		wantKind  health.Kind
		wantBytes int64
	}{
		{"junk only", nil, health.DecodeGaveUp, 2400},
		{"junk after a PDU", req, health.RPCMalformed, 2400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := &health.Collector{}
			cfg := DefaultConfig()
			cfg.Limits.MaxResync = 1000
			c := NewConn(synthCtx(col), cfg)
			if tc.first != nil {
				c.Feed(tcpstate.ClientToServer, tc.first, tcpstate.Position{Frame: 1})
			}
			for i := 0; i < 4; i++ {
				c.Feed(tcpstate.ClientToServer, junk, tcpstate.Position{Frame: int64(i + 2)})
			}
			c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 6})
			if !c.half[tcpstate.ClientToServer].dead {
				t.Fatal("direction not abandoned")
			}
			if st := c.Stats(); st.BytesIgnored != tc.wantBytes {
				t.Errorf("BytesIgnored = %d, want %d", st.BytesIgnored, tc.wantBytes)
			}
			if len(col.Events) != 1 || col.Events[0].Kind != tc.wantKind || col.Events[0].Severity != health.Notice {
				t.Errorf("events %+v, want one %s notice", col.Events, tc.wantKind)
			}
		})
	}
}

// TestOrphanedCallNotReported: an orphaned call is abandoned by the client
// and is not a missing response.
func TestOrphanedCallNotReported(t *testing.T) {
	col := &health.Collector{}
	c := NewConn(synthCtx(col), DefaultConfig())
	c.Feed(tcpstate.ClientToServer, pdu(false, PTRequest, flagsFirstAndLastFrag, 5, requestBody(false, 0, 1, nil), 0), tcpstate.Position{Frame: 1})
	c.Feed(tcpstate.ClientToServer, pdu(false, PTOrphaned, flagsFirstAndLastFrag, 5, nil, 0), tcpstate.Position{Frame: 2})
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 3})
	if len(col.Events) != 0 {
		t.Errorf("events %+v", col.Events)
	}
}

// TestStatsLatency: answered calls count and their latency is measured from
// the last request byte to the first response byte.
func TestStatsLatency(t *testing.T) {
	streams := readTCP(t, testdataPath("epm-map-impacket-tcp135.pcap"))
	col := &health.Collector{}
	var st Stats
	for _, s := range streams {
		c := NewConn(&tcpstate.StreamContext{Client: s.client, Server: s.server, Reporter: col}, DefaultConfig())
		feed(c, s.segs, wholeSegments, nil)
		c.Close(tcpstate.CloseFIN, tcpstate.Position{})
		st.Calls += c.Stats().Calls
		st.Towers += c.Stats().Towers
		st.LatencyMax = max(st.LatencyMax, c.Stats().LatencyMax)
	}
	if st.Calls != 6 || st.Towers != 3 || st.LatencyMax <= 0 {
		t.Errorf("stats = %+v, want 6 calls (3 binds, 3 maps), 3 towers, a latency", st)
	}
	t.Logf("max latency %v", st.LatencyMax)
}

// TestStubsHook: Config.Stubs receives the reassembled stubs of the
// interfaces it names: here srvsvc over the SMB2 pipes capture, whose
// NetrShareEnum response lists the shares (UTF-16 strings found with NDR).
func TestStubsHook(t *testing.T) {
	srvsvc := MustParseUUID("4b324fc8-1670-01d3-1278-5a47bf6ee188")
	var got []string
	cfg := DefaultConfig()
	cfg.Stubs = map[UUID]StubFunc{srvsvc: func(ci CallInfo, stub []byte) {
		got = append(got, fmt.Sprintf("%d/%v/%d", ci.Opnum, ci.Request, len(stub)))
		if ci.Opnum == 15 && !ci.Request && !bytes.Contains(stub, []byte("r\x00e\x00s\x00t\x00r\x00i\x00c\x00t\x00e\x00d\x00")) {
			t.Errorf("NetrShareEnum response stub lacks the share 'restricted'")
		}
	}}
	var pipes []*tstream
	for _, s := range readTCP(t, testdataPath("rpc-over-smb-pipes-rpcclient.pcap")) {
		for _, p := range smb2Pipes(t, s) {
			pipes = append(pipes, &tstream{client: s.client, server: s.server, segs: p.segs})
		}
	}
	runStreams(pipes, cfg, byteAtATime, 1)
	if len(got) != 4 || got[0][:5] != "21/tr" || got[2][:5] != "15/tr" {
		t.Errorf("stubs handed over: %v, want NetrServerGetInfo and NetrShareEnum requests and responses", got)
	}
}
