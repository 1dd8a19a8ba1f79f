package rpc

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
)

// refFrame is one frame of a *.ref.json reference: tshark's dcerpc.* and
// epm.* fields for a frame it decodes as DCERPC (a string, or a list when
// the field occurs several times).
type refFrame map[string]any

func loadRef(t testing.TB, path string) map[int64]refFrame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read reference: %v", err)
	}
	var doc struct {
		Frames []refFrame `json:"frames"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse reference %s: %v", path, err)
	}
	out := map[int64]refFrame{}
	for _, f := range doc.Frames {
		n, _ := strconv.ParseInt(fmt.Sprint(f["frame.number"]), 10, 64)
		out[n] = f
	}
	return out
}

func (f refFrame) list(key string) []string {
	switch v := f[key].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = fmt.Sprint(x)
		}
		return out
	}
	return nil
}

// frameView is what we decoded in one frame, in tshark's field shapes.
type frameView struct {
	PktType, CallID, Opnum, BindUUID []string
	TCPPort, IP, Pipe, Floors        []string
}

var ptypeNumber = func() map[string]string {
	m := map[string]string{}
	for i := 0; i < 21; i++ {
		m[PacketType(i).String()] = strconv.Itoa(i)
	}
	return m
}()

func views(col *health.Collector) map[int64]*frameView {
	out := map[int64]*frameView{}
	get := func(n int64) *frameView {
		if out[n] == nil {
			out[n] = &frameView{}
		}
		return out[n]
	}
	for _, m := range col.Messages {
		v := get(m.Frame)
		switch m.Proto {
		case "dcerpc":
			v.PktType = append(v.PktType, ptypeNumber[m.Fields["pkt_type"].(string)])
			v.CallID = append(v.CallID, fmt.Sprint(m.Fields["call_id"]))
			if op, ok := m.Fields["opnum"]; ok {
				v.Opnum = append(v.Opnum, fmt.Sprint(op))
			}
			if cs, ok := m.Fields["contexts"].([]map[string]any); ok {
				for _, c := range cs {
					v.BindUUID = append(v.BindUUID, c["interface_uuid"].(string))
				}
			}
		case "epm":
			for _, tw := range m.Fields["towers"].([]map[string]any) {
				v.Floors = append(v.Floors, fmt.Sprint(tw["floors"]))
				if tw["protocol"] == "tcp" {
					v.TCPPort = append(v.TCPPort, fmt.Sprint(tw["port"]))
				}
				if ip, ok := tw["ip"]; ok {
					v.IP = append(v.IP, ip.(string))
				}
				if p, ok := tw["pipe"]; ok {
					v.Pipe = append(v.Pipe, p.(string))
				}
			}
		}
	}
	return out
}

// agreement compares decoded frames with tshark's and returns counts and
// the differences found.
type agreement struct {
	frames, pdus, opnums, opnumExtra, uuids, towers int
	diffs                                           []string
	extra                                           []int64 // frames we decode that tshark does not decode as DCERPC
}

func compareRef(ref map[int64]refFrame, got map[int64]*frameView) agreement {
	var a agreement
	frames := make([]int64, 0, len(ref))
	for n := range ref {
		frames = append(frames, n)
	}
	sort.Slice(frames, func(i, j int) bool { return frames[i] < frames[j] })
	for _, n := range frames {
		r := ref[n]
		v := got[n]
		if v == nil || len(v.PktType) == 0 {
			a.diffs = append(a.diffs, fmt.Sprintf("frame %d: tshark decodes DCERPC %v, we decoded nothing", n, r.list("dcerpc.pkt_type")))
			continue
		}
		a.frames++
		check := func(what string, want, have []string) bool {
			if d := cmp.Diff(want, have); d != "" {
				a.diffs = append(a.diffs, fmt.Sprintf("frame %d %s (-tshark +ours):\n%s", n, what, d))
				return false
			}
			return true
		}
		if check("pkt_type", r.list("dcerpc.pkt_type"), v.PktType) && check("call_id", r.list("dcerpc.cn_call_id"), v.CallID) {
			a.pdus += len(v.PktType)
		}
		if want := r.list("dcerpc.opnum"); len(want) > 0 || len(v.Opnum) > 0 {
			switch {
			case len(want) == 0:
				a.opnumExtra += len(v.Opnum) // tshark could not match the request (no bind seen)
			case check("opnum", want, v.Opnum):
				a.opnums += len(want)
			}
		}
		if want := r.list("dcerpc.cn_bind_to_uuid"); len(want) > 0 || len(v.BindUUID) > 0 {
			if check("bind uuid", want, v.BindUUID) {
				a.uuids += len(want)
			}
		}
		if want := r.list("epm.tower.num_floors"); len(want) > 0 || len(v.Floors) > 0 {
			ok := check("epm floors", want, v.Floors)
			ok = check("epm tcp_port", r.list("epm.proto.tcp_port"), v.TCPPort) && ok
			ok = check("epm ip", r.list("epm.proto.ip"), v.IP) && ok
			ok = check("epm named_pipe", r.list("epm.proto.named_pipe"), v.Pipe) && ok
			if ok {
				a.towers += len(want)
			}
		}
	}
	for n, v := range got {
		if _, ok := ref[n]; !ok && len(v.PktType) > 0 {
			a.extra = append(a.extra, n)
		}
	}
	return a
}

// TestAgreementWithTshark feeds every DCE/RPC-over-TCP capture of
// testdata/rpc to Conn and compares packet types, call ids, opnums, bind
// interface UUIDs and EPM towers with tshark 4.0.17's decode, for every frame
// tshark decodes as DCERPC, under three chunkings.
//
// References: testdata/rpc/*.ref.json, cut from the corpus' *.tshark.json
// (tshark -T fields -e dcerpc.pkt_type -e dcerpc.cn_call_id -e dcerpc.opnum
// -e dcerpc.cn_bind_to_uuid -e epm.tower.num_floors -e epm.proto.tcp_port
// -e epm.proto.ip -e epm.proto.named_pipe …).
func TestAgreementWithTshark(t *testing.T) {
	caps := []string{
		"c04-epm-vip-client",
		"c04-epm-vip-server",
		"epm-map-impacket-tcp135",
		"epm-lookup-rpcclient-tcp135",
		"epm-rpcdump-impacket-tcp135",
		"rpcmap-impacket-tcp135",
		"suricata-dce-gap-handling-input",
		"suricata-dcerpc-bind-no-frag-flag-input",
		"zeek-dce-rpc-bind-ack-no-inband-null",
		"zeek-dce-rpc-cs_window7-join_stream092",
		"zeek-dce-rpc-dce_rpc_ntlm",
		"zeek-dce-rpc-mapi-1-250",
	}
	for _, name := range caps {
		t.Run(name, func(t *testing.T) {
			streams := dceStreams(readTCP(t, testdataPath(name+".pcap")))
			ref := loadRef(t, testdataPath(name+".ref.json"))
			var first agreement
			var base *health.Collector
			for _, mode := range []chunking{wholeSegments, byteAtATime, randomSplits} {
				col := runStreams(streams, DefaultConfig(), mode, 1)
				if base == nil {
					base = col
				} else if d := cmp.Diff(base, col); d != "" {
					t.Errorf("chunking %s changed the result (-segments +%s):\n%s", mode, mode, d)
				}
				a := compareRef(ref, views(col))
				for _, d := range a.diffs {
					t.Errorf("%s: %s", mode, d)
				}
				for _, n := range a.extra {
					t.Errorf("%s: frame %d: we decoded DCE/RPC, tshark decodes none", mode, n)
				}
				if mode == wholeSegments {
					first = a
				}
			}
			t.Logf("agreement with tshark: %d/%d DCERPC frames, %d PDUs (pkt_type+call_id), %d opnums (+%d tshark could not match), %d bind UUIDs, %d EPM towers",
				first.frames, len(ref), first.pdus, first.opnums, first.opnumExtra, first.uuids, first.towers)
		})
	}
}

func TestAgreementWithTsharkSharedMAPI(t *testing.T) {
	p := sharedPath(t, "public-captures/zeek-dce-rpc-mapi.pcap")
	b, err := os.ReadFile(sharedPath(t, "public-captures/zeek-dce-rpc-mapi.tshark.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Frames []refFrame `json:"frames"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	streams := readTCP(t, p)
	// DCE/RPC over SMB1 named pipes (port 139/445) needs the SMB
	// hand-off; those frames are left out here.
	smbStream := map[string]bool{}
	var tcp []*tstream
	for _, s := range streams {
		if port := s.server.Port(); port == 139 || port == 445 {
			smbStream[strconv.Itoa(s.id)] = true
			continue
		}
		tcp = append(tcp, s)
	}
	ref := map[int64]refFrame{}
	skipped := 0
	for _, f := range doc.Frames {
		if _, ok := f["dcerpc.pkt_type"]; !ok {
			continue
		}
		if smbStream[fmt.Sprint(f["tcp.stream"])] {
			skipped++
			continue
		}
		n, _ := strconv.ParseInt(fmt.Sprint(f["frame.number"]), 10, 64)
		ref[n] = f
	}
	col := runStreams(dceStreams(tcp), DefaultConfig(), wholeSegments, 1)
	a := compareRef(ref, views(col))
	if len(a.diffs) > 0 {
		t.Errorf("%d differences, first: %s", len(a.diffs), strings.Join(a.diffs[:min(5, len(a.diffs))], "\n"))
	}
	sort.Slice(a.extra, func(i, j int) bool { return a.extra[i] < a.extra[j] })
	for _, n := range a.extra {
		// tshark dissects TCP port 1153 as ANSI C12.22 (by port) and
		// reports those DCE/RPC PDUs as malformed C12.22.
		if tcp := streamOfFrame(tcp, n); tcp == nil || (tcp.server.Port() != 1153 && tcp.client.Port() != 1153) {
			t.Errorf("frame %d: we decoded DCE/RPC, tshark decodes none", n)
		}
	}
	t.Logf("zeek mapi.pcap: %d/%d DCERPC-over-TCP frames agree, %d PDUs, %d opnums (+%d tshark could not match), %d bind UUIDs; %d DCERPC frames over SMB pipes left to the SMB hand-off; %d more frames decoded on port 1153, which tshark takes for C12.22",
		a.frames, len(ref), a.pdus, a.opnums, a.opnumExtra, a.uuids, skipped, len(a.extra))
}

func streamOfFrame(streams []*tstream, frame int64) *tstream {
	for _, s := range streams {
		for _, sg := range s.segs {
			if sg.pos.Frame == frame {
				return s
			}
		}
	}
	return nil
}

// loadSharedRef reads a corpus *.tshark.json, keeping the frames tshark
// decodes as DCERPC.
func loadSharedRef(t testing.TB, rel string) map[int64]refFrame {
	b, err := os.ReadFile(sharedPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Frames []refFrame `json:"frames"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	ref := map[int64]refFrame{}
	for _, f := range doc.Frames {
		if _, ok := f["dcerpc.pkt_type"]; ok {
			n, _ := strconv.ParseInt(fmt.Sprint(f["frame.number"]), 10, 64)
			ref[n] = f
		}
	}
	return ref
}

// TestAgreementWithTsharkShared repeats the agreement check on the corpus
// files themselves (skipped without ../shared), so a regenerated corpus is
// checked too. The pcapng and the full MAPI trace have their own tests.
func TestAgreementWithTsharkShared(t *testing.T) {
	for _, rel := range []string{
		"captures/cases/c04-epm-vip-client",
		"captures/cases/c04-epm-vip-server",
		"captures/dcerpc/epm-map-impacket-tcp135",
		"captures/dcerpc/epm-lookup-rpcclient-tcp135",
		"captures/dcerpc/epm-rpcdump-impacket-tcp135",
		"captures/dcerpc/rpcmap-impacket-tcp135",
		"public-captures/suricata-dce-gap-handling-input",
		"public-captures/suricata-dcerpc-bind-no-frag-flag-input",
		"public-captures/zeek-dce-rpc-bind-ack-no-inband-null",
		"public-captures/zeek-dce-rpc-cs_window7-join_stream092",
	} {
		t.Run(rel, func(t *testing.T) {
			ref := loadSharedRef(t, rel+".tshark.json")
			col := runStreams(dceStreams(readTCP(t, sharedPath(t, rel+".pcap"))), DefaultConfig(), wholeSegments, 1)
			a := compareRef(ref, views(col))
			for _, d := range a.diffs {
				t.Error(d)
			}
			for _, n := range a.extra {
				t.Errorf("frame %d: we decoded DCE/RPC, tshark decodes none", n)
			}
			t.Logf("%d/%d DCERPC frames agree (%d PDUs, %d opnums, %d bind UUIDs, %d EPM towers)", a.frames, len(ref), a.pdus, a.opnums, a.uuids, a.towers)
		})
	}
}
