package rpc

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

var writeCL = flag.Bool("write-cl", false, "rewrite testdata/rpc/cl-dcerpc-synthetic.pcap from its generator")

// clPDU builds one connectionless PDU (C706 12.5.1): an 80-byte header and
// body, little-endian unless be.
type clPDU struct {
	ptype           PacketType
	flags1, flags2  uint8
	be              bool
	object, iface   UUID
	act             UUID
	boot, ifVer     uint32
	seq             uint32
	opnum, fragnum  uint16
	body            []byte
	bodyLenOverride int // >0: the header's body length, whatever the body
}

func (p clPDU) bytes() []byte {
	var o binary.AppendByteOrder = binary.LittleEndian
	drep := byte(0x10)
	if p.be {
		o, drep = binary.BigEndian, 0
	}
	uuid := func(u UUID) []byte {
		b := u[:]
		if p.be {
			return b
		}
		// UUIDs are held in their canonical (big-endian) form; little-endian
		// headers byte-swap the first three fields.
		return []byte{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]}
	}
	h := []byte{4, byte(p.ptype), p.flags1, p.flags2, drep, 0, 0, 0}
	h = append(h, uuid(p.object)...)
	h = append(h, uuid(p.iface)...)
	h = append(h, uuid(p.act)...)
	h = o.AppendUint32(h, p.boot)
	h = o.AppendUint32(h, p.ifVer)
	h = o.AppendUint32(h, p.seq)
	h = o.AppendUint16(h, p.opnum)
	h = o.AppendUint16(h, 0xffff) // ihint
	h = o.AppendUint16(h, 0xffff) // ahint
	n := len(p.body)
	if p.bodyLenOverride > 0 {
		n = p.bodyLenOverride
	}
	h = o.AppendUint16(h, uint16(n))
	h = o.AppendUint16(h, p.fragnum)
	h = append(h, 0, 0) // auth_proto none, serial_lo
	return append(h, p.body...)
}

func statusBody(s uint32) []byte { return binary.LittleEndian.AppendUint32(nil, s) }

// fackBody builds a fack body (C706 12.5.3.4) with no selective acks.
func fackBody(window uint16, serial uint16) []byte {
	b := []byte{0, 0}
	b = binary.LittleEndian.AppendUint16(b, window)
	b = binary.LittleEndian.AppendUint32(b, 4096)
	b = binary.LittleEndian.AppendUint32(b, 1464)
	b = binary.LittleEndian.AppendUint16(b, serial)
	return binary.LittleEndian.AppendUint16(b, 0)
}

// buildCLCapture writes the synthetic connectionless DCE/RPC capture: a
// client 10.1.0.10:1030 calling DCOM's IObjectExporter and the endpoint
// mapper on a server's UDP 135, which answers from port 1031 (as servers
// may), with every packet type and the fragment, retransmission and
// failure cases C706 chapter 12 describes. Its tshark decode is
// testdata/rpc/cl-dcerpc-synthetic.ref.json.
func buildCLCapture() []byte {
	b := testcap.NewBuilder(0)
	cli, srv := net.ParseIP("10.1.0.10"), net.ParseIP("10.1.0.20")
	oxid := MustParseUUID("99fcfec4-5260-101b-bbcb-00aa0021347a")
	unknown := MustParseUUID("01234567-89ab-cdef-0123-456789abcdef")
	act := MustParseUUID("6d5e4a10-1234-4c3b-9a61-00c04fd7bd01")
	act2 := MustParseUUID("6d5e4a10-1234-4c3b-9a61-00c04fd7bd02")
	send := func(toServer bool, p clPDU, gap time.Duration) {
		b.Now = b.Now.Add(gap)
		if toServer {
			b.Raw(b.UDPFrame(cli, srv, 1030, 135, p.bytes()))
		} else {
			b.Raw(b.UDPFrame(srv, cli, 1031, 1030, p.bytes()))
		}
	}
	req := func(seq uint32, op uint16) clPDU {
		return clPDU{ptype: PTRequest, flags1: CLFlagIdempotent, iface: oxid, act: act, seq: seq, opnum: op, ifVer: 0}
	}
	resp := func(seq uint32, op uint16) clPDU {
		return clPDU{ptype: PTResponse, flags1: CLFlagNoFack, iface: oxid, act: act, seq: seq, opnum: op, boot: 0x5f000001}
	}
	stub := func(n int, c byte) []byte { return bytes.Repeat([]byte{c}, n) }
	// 1-2: ServerAlive (opnum 3), answered.
	r := req(1, 3)
	r.body = stub(8, 1)
	send(true, r, 0)
	p := resp(1, 3)
	p.body = stub(12, 2)
	send(false, p, 2*time.Millisecond)
	// 3-8: a three-fragment request, a fack after its first fragment, and a
	// two-fragment response whose fragments arrive out of order.
	for i := uint16(0); i < 3; i++ {
		f := req(2, 5)
		f.flags1 = CLFlagFrag | CLFlagIdempotent
		if i == 2 {
			f.flags1 |= CLFlagLastFrag
		}
		f.fragnum, f.body = i, stub(100, byte(i))
		send(true, f, time.Millisecond)
		if i == 0 {
			send(false, clPDU{ptype: PTFack, iface: oxid, act: act, seq: 2, opnum: 5, body: fackBody(8, 0)}, time.Millisecond)
		}
	}
	for _, i := range []uint16{1, 0} {
		f := resp(2, 5)
		f.flags1 = CLFlagFrag | CLFlagNoFack
		if i == 1 {
			f.flags1 |= CLFlagLastFrag
		}
		f.fragnum, f.body = i, stub(60, byte(i))
		send(false, f, time.Millisecond)
	}
	// 9-13: a slow call: the client pings, the server says working, then
	// answers.
	send(true, req(3, 3), time.Millisecond)
	send(true, clPDU{ptype: PTPing, flags1: CLFlagIdempotent, iface: oxid, act: act, seq: 3, opnum: 3}, 500*time.Millisecond)
	send(false, clPDU{ptype: PTWorking, iface: oxid, act: act, seq: 3, opnum: 3}, time.Millisecond)
	send(true, clPDU{ptype: PTPing, flags1: CLFlagIdempotent, iface: oxid, act: act, seq: 3, opnum: 3}, 500*time.Millisecond)
	send(false, resp(3, 3), 100*time.Millisecond)
	// 14-15: an unknown interface, rejected (nca_s_unk_if).
	u := req(4, 0)
	u.iface = unknown
	send(true, u, time.Millisecond)
	send(false, clPDU{ptype: PTReject, iface: unknown, act: act, seq: 4, body: statusBody(uint32(StatusUnknownIf))}, time.Millisecond)
	// 16-17: a fault (nca_s_fault_unspec), big-endian request.
	f := req(5, 4)
	f.be = true
	send(true, f, time.Millisecond)
	send(false, clPDU{ptype: PTFault, iface: oxid, act: act, seq: 5, opnum: 4, body: statusBody(0x1c000012)}, time.Millisecond)
	// 18-21: a request the server never answers: a ping gets nocall, the
	// request is sent again (a retransmission), still no answer.
	send(true, req(6, 3), time.Millisecond)
	send(true, clPDU{ptype: PTPing, flags1: CLFlagIdempotent, iface: oxid, act: act, seq: 6, opnum: 3}, time.Second)
	send(false, clPDU{ptype: PTNoCall, iface: oxid, act: act, seq: 6, opnum: 3}, time.Millisecond)
	send(true, req(6, 3), time.Millisecond)
	// 22-23: a maybe call and a broadcast: no reply expected, none comes.
	m := req(7, 1)
	m.flags1 = CLFlagMaybe
	send(true, m, time.Millisecond)
	bc := clPDU{ptype: PTRequest, flags1: CLFlagBroadcast | CLFlagIdempotent, iface: EPMInterface, act: act2, seq: 0, opnum: 2}
	b.Now = b.Now.Add(time.Millisecond)
	b.Raw(b.UDPFrame(cli, net.ParseIP("10.1.0.255"), 1030, 135, bc.bytes()))
	// 24-26: a second activity on EPM, answered; then an ack.
	e := clPDU{ptype: PTRequest, flags1: CLFlagIdempotent, iface: EPMInterface, act: act2, seq: 1, opnum: 3, ifVer: 3, body: stub(40, 7)}
	send(true, e, 6*time.Second)
	er := clPDU{ptype: PTResponse, flags1: CLFlagNoFack, iface: EPMInterface, act: act2, seq: 1, opnum: 3, ifVer: 3, body: stub(24, 8)}
	send(false, er, time.Millisecond)
	send(true, clPDU{ptype: PTAck, iface: EPMInterface, act: act2, seq: 1, opnum: 3}, time.Millisecond)
	// 27: a fault whose status is cut short (body of 2 bytes): malformed.
	send(false, clPDU{ptype: PTFault, iface: EPMInterface, act: act2, seq: 1, opnum: 3, body: []byte{1, 2}}, time.Millisecond)
	return b.Buf.Bytes()
}

// TestCLSyntheticCaptureIsCommitted checks that the committed capture is
// the generator's output (run with -write-cl to rewrite it, then remake the
// tshark reference with testdata/rpc/mkref.py).
func TestCLSyntheticCaptureIsCommitted(t *testing.T) {
	got := buildCLCapture()
	path := testdataPath("cl-dcerpc-synthetic.pcap")
	if *writeCL {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from buildCLCapture's output: rerun with -write-cl and remake its reference", path)
	}
}

// runCL feeds the UDP datagrams of a capture to a Datagrams tracker.
func runCL(t testing.TB, path string, cfg CLConfig) (*health.Collector, *Datagrams) {
	t.Helper()
	pkts, err := testcap.ReadPackets(path)
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{KeepMessages: true}
	d := NewDatagrams(col, cfg)
	var last tcpstate.Position
	for _, p := range pkts {
		if !p.UDP {
			continue
		}
		last = tcpstate.Position{Frame: p.Frame, Time: p.Time}
		d.Datagram(p.Src, p.Dst, p.Payload, len(p.Payload), last)
	}
	d.Finish(last)
	return col, d
}

// clView is what we decoded in one frame, in tshark's field shapes.
func clView(col *health.Collector) map[int64]string {
	out := map[int64]string{}
	for _, m := range col.Messages {
		if m.Proto != "dcerpc" {
			continue
		}
		f := m.Fields
		s := fmt.Sprintf("%s %v %v %v %v", ptypeNumber[f["pkt_type"].(string)], f["seqnum"], f["opnum"], f["activity"], f["frag_num"])
		if st, ok := f["status_code"]; ok {
			s += " " + st.(string)
		}
		out[m.Frame] += s
	}
	return out
}

// tsharkCLView is tshark's decode of a frame in clView's shape.
func tsharkCLView(r refFrame) string {
	s := fmt.Sprintf("%s %s %s %s %s", r.list("dcerpc.pkt_type")[0], r.list("dcerpc.dg_seqnum")[0], r.list("dcerpc.opnum")[0],
		r.list("dcerpc.dg_act_id")[0], r.list("dcerpc.dg_frag_num")[0])
	if st := r.list("dcerpc.dg_status"); len(st) > 0 {
		s += " " + st[0]
	}
	return s
}

// TestCLAgreesWithTshark decodes the synthetic connectionless capture and
// nDPI's PROFINET IO capture and compares packet type, sequence number,
// opnum, activity, fragment number and fault/reject status of every
// datagram with tshark 4.0.17 (references made by testdata/rpc/mkref.py).
func TestCLAgreesWithTshark(t *testing.T) {
	for _, name := range []string{"cl-dcerpc-synthetic", "ndpi-dcerpc"} {
		t.Run(name, func(t *testing.T) {
			ref := loadRef(t, testdataPath(name+".ref.json"))
			col, _ := runCL(t, testdataPath(name+".pcap"), CLConfig{})
			got := clView(col)
			agree := 0
			for n, r := range ref {
				if len(r.list("dcerpc.pkt_type")) == 0 {
					continue
				}
				if w := tsharkCLView(r); got[n] != w {
					t.Errorf("frame %d: tshark %q, ours %q", n, w, got[n])
					continue
				}
				agree++
			}
			for n := range got {
				if _, ok := ref[n]; !ok {
					t.Errorf("frame %d: we decoded DCE/RPC, tshark decodes none", n)
				}
			}
			t.Logf("%s: %d/%d connectionless DCE/RPC frames agree with tshark", name, agree, len(ref))
		})
	}
}

// TestCLCallsAndEvents checks what the tracker concludes on the synthetic
// capture: reassembly, latency, retransmissions, the fault, the reject,
// the malformed fault and the one call never answered.
func TestCLCallsAndEvents(t *testing.T) {
	var stubs []string
	hook := func(c CallInfo, stub []byte) {
		stubs = append(stubs, fmt.Sprintf("seq %d req=%v %d bytes frame %d", c.CallID, c.Request, len(stub), c.Frame))
	}
	oxid := MustParseUUID("99fcfec4-5260-101b-bbcb-00aa0021347a")
	col, d := runCL(t, testdataPath("cl-dcerpc-synthetic.pcap"), CLConfig{Stubs: map[UUID]StubFunc{oxid: hook}})
	byFrame := map[int64]map[string]any{}
	for _, m := range col.Messages {
		byFrame[m.Frame] = m.Fields
	}
	if f := byFrame[2]; f["request_frame"] != int64(1) || f["latency_ms"] != 3.0 {
		t.Errorf("frame 2: response fields %v", f)
	}
	if f := byFrame[6]; f["reassembled_fragments"] != 3 || f["last_fragment"] != true {
		t.Errorf("frame 6 (last request fragment): %v", f)
	}
	if f := byFrame[8]; f["reassembled_fragments"] != 2 {
		t.Errorf("frame 8 (response fragment 0, after fragment 1): %v", f)
	}
	if f := byFrame[4]; f["window_size"] != uint16(8) {
		t.Errorf("frame 4 (fack): %v", f)
	}
	if f := byFrame[21]; f["retransmission"] != true {
		t.Errorf("frame 21 (request sent again): %v", f)
	}
	wantStubs := []string{"seq 1 req=true 8 bytes frame 1", "seq 1 req=false 12 bytes frame 2",
		"seq 2 req=true 300 bytes frame 6", "seq 2 req=false 120 bytes frame 8",
		"seq 3 req=true 0 bytes frame 9", "seq 3 req=false 0 bytes frame 13",
		"seq 5 req=true 0 bytes frame 16", "seq 6 req=true 0 bytes frame 18", "seq 7 req=true 0 bytes frame 22"}
	if strings.Join(stubs, "|") != strings.Join(wantStubs, "|") {
		t.Errorf("stubs:\n got %q\nwant %q", stubs, wantStubs)
	}
	var kinds []string
	for _, e := range col.Events {
		kinds = append(kinds, fmt.Sprintf("%s@%d/%s", e.Kind, e.Frame, e.Severity))
	}
	want := []string{"rpc.reject@15/warning", "rpc.fault@17/warning", "rpc.malformed@27/notice", "rpc.no_response@21/warning"}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Errorf("events %v, want %v", kinds, want)
	}
	st := d.Stats()
	if st.PDUs != 27 || st.Calls != 6 || st.Unanswered != 1 || st.Faults != 1 || st.Rejects != 1 || st.Retransmissions != 1 || st.Malformed != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestCLLimits: fragment numbers beyond MaxFragments and calls beyond
// MaxCalls are reported, never kept.
func TestCLLimits(t *testing.T) {
	col := &health.Collector{}
	d := NewDatagrams(col, CLConfig{Limits: CLLimits{MaxCalls: 2, MaxFragments: 4}})
	src, dst := netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:135")
	at := tcpstate.Position{Frame: 1, Time: time.Unix(0, 0)}
	for seq := uint32(0); seq < 3; seq++ {
		p := clPDU{ptype: PTRequest, seq: seq, fragnum: 9, flags1: CLFlagFrag}.bytes()
		if !d.Datagram(src, dst, p, len(p), at) {
			t.Fatal("not detected")
		}
		at.Frame++
	}
	var kinds []string
	for _, e := range col.Events {
		kinds = append(kinds, string(e.Kind))
	}
	want := "rpc.malformed rpc.malformed rpc.no_response rpc.malformed" // the third call evicts the first, then its fragment is over the limit
	if strings.Join(kinds, " ") != want {
		t.Errorf("events %v, want %s", kinds, want)
	}
	if len(d.calls) != 2 {
		t.Errorf("%d calls kept, cap 2", len(d.calls))
	}
}

// TestDetectCL: the heuristic wants version 4, a connectionless type and a
// body length that matches the datagram.
func TestDetectCL(t *testing.T) {
	p := clPDU{ptype: PTRequest, body: []byte{1, 2, 3}}.bytes()
	if !DetectCL(p, len(p)) {
		t.Fatal("request not detected")
	}
	if DetectCL(p, len(p)+1) || DetectCL(p[:79], 79) {
		t.Error("length mismatch detected")
	}
	co := clPDU{ptype: PTBind}.bytes()
	if DetectCL(co, len(co)) {
		t.Error("bind (connection-oriented type) detected")
	}
	dns := append([]byte{0x04, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00}, make([]byte, 90)...)
	if DetectCL(dns, len(dns)) {
		t.Error("DNS query detected as DCE/RPC")
	}
}
