package nettrace_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

// This file measures, frame by frame, how the whole Analyzer's DCE/RPC
// messages agree with tshark's decode: over TCP, over SMB1 and SMB2 named
// pipes (handed from the smb decoder) and connectionless over UDP. A frame
// agrees when the packet types of its DCE/RPC PDUs are tshark's, in order,
// and so are their call ids (connection-oriented), sequence numbers and
// activities (connectionless) and opnums (when tshark names one for every
// PDU of the frame).

// tsharkFrame is one frame of a tshark reference: a field's value is a
// string, or a list when the field occurs several times in the frame.
type tsharkFrame map[string]any

func (f tsharkFrame) list(key string) []string {
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

// dceRef reads a tshark reference (corpus *.tshark.json or testdata
// *.ref.json) and keeps the frames tshark decodes as DCERPC.
func dceRef(t *testing.T, path string) map[int64]tsharkFrame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Frames []tsharkFrame `json:"frames"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[int64]tsharkFrame{}
	for _, f := range doc.Frames {
		if len(f.list("dcerpc.pkt_type")) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fmt.Sprint(f["frame.number"]), 10, 64)
		out[n] = f
	}
	return out
}

// ptypeCode is a DCE/RPC packet type's number, as tshark prints it.
var ptypeCode = map[string]string{"request": "0", "ping": "1", "response": "2", "fault": "3", "working": "4",
	"nocall": "5", "reject": "6", "ack": "7", "cl_cancel": "8", "fack": "9", "cancel_ack": "10", "bind": "11",
	"bind_ack": "12", "bind_nak": "13", "alter_context": "14", "alter_context_resp": "15", "auth3": "16",
	"shutdown": "17", "co_cancel": "18", "orphaned": "19", "rts": "20"}

// dceFrame is what one side decoded in a frame.
type dceFrame struct{ types, ids, opnums []string }

func ourDCEFrames(msgs []health.Message) map[int64]*dceFrame {
	out := map[int64]*dceFrame{}
	for _, m := range msgs {
		if m.Proto != "dcerpc" {
			continue
		}
		v := out[m.Frame]
		if v == nil {
			v = &dceFrame{}
			out[m.Frame] = v
		}
		f := m.Fields
		v.types = append(v.types, ptypeCode[fmt.Sprint(f["pkt_type"])])
		if act, ok := f["activity"]; ok {
			v.ids = append(v.ids, fmt.Sprintf("%v/%v", act, f["seqnum"]))
		} else {
			v.ids = append(v.ids, fmt.Sprint(f["call_id"]))
		}
		if op, ok := f["opnum"]; ok {
			v.opnums = append(v.opnums, fmt.Sprint(op))
		} else {
			v.opnums = append(v.opnums, "")
		}
	}
	return out
}

func theirDCEFrame(f tsharkFrame) dceFrame {
	v := dceFrame{types: f.list("dcerpc.pkt_type"), opnums: f.list("dcerpc.opnum")}
	if acts := f.list("dcerpc.dg_act_id"); len(acts) > 0 {
		seqs := f.list("dcerpc.dg_seqnum")
		for i := range acts {
			if i < len(seqs) {
				v.ids = append(v.ids, acts[i]+"/"+seqs[i])
			}
		}
	} else {
		v.ids = f.list("dcerpc.cn_call_id")
	}
	return v
}

// dceAgreement is the per-frame comparison of one capture.
type dceAgreement struct {
	frames, agree int
	diffs         []string
}

func compareDCE(ref map[int64]tsharkFrame, msgs []health.Message) dceAgreement {
	ours := ourDCEFrames(msgs)
	frames := make([]int64, 0, len(ref))
	for n := range ref {
		frames = append(frames, n)
	}
	sort.Slice(frames, func(i, j int) bool { return frames[i] < frames[j] })
	var a dceAgreement
	for _, n := range frames {
		a.frames++
		want, got := theirDCEFrame(ref[n]), ours[n]
		if got == nil {
			got = &dceFrame{}
		}
		ok := strings.Join(want.types, ",") == strings.Join(got.types, ",") &&
			(len(want.ids) == 0 || strings.Join(want.ids, ",") == strings.Join(got.ids, ","))
		if ok && len(want.opnums) == len(want.types) {
			ok = strings.Join(want.opnums, ",") == strings.Join(got.opnums, ",")
		}
		if ok {
			a.agree++
		} else {
			a.diffs = append(a.diffs, fmt.Sprintf("frame %d: tshark %v ids %v opnums %v; ours %v ids %v opnums %v",
				n, want.types, want.ids, want.opnums, got.types, got.ids, got.opnums))
		}
	}
	return a
}

func analyseMessages(t *testing.T, path string) []health.Message {
	t.Helper()
	col := &health.Collector{KeepMessages: true}
	if _, err := nettrace.AnalyzeFile(path, nettrace.Options{Reporter: col, Messages: true, MaxEventsKept: -1}); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return col.Messages
}

// TestDCERPCAgreementTestdata: every frame tshark decodes as DCERPC in the
// DCE/RPC captures of testdata/rpc agrees — among them DCE/RPC over SMB1
// TransactNmPipe and READ_ANDX/WRITE_ANDX, pipes opened before the
// capture began (SMB1 and SMB2: the tree and the CREATE are not in the
// capture), binds split across several WRITEs each spanning several TCP
// segments (impacket, MTU 160), and connectionless DCE/RPC over UDP.
func TestDCERPCAgreementTestdata(t *testing.T) {
	for _, name := range []string{
		"smb1-pipes-rpcclient", "smb1-pipes-rpcclient-late", "smb2-pipes-rpcclient-late",
		"smb1-pipes-impacket-split", "smb2-pipes-impacket-split", "rpc-over-smb-pipes-rpcclient",
		"cl-dcerpc-synthetic", "ndpi-dcerpc", "zeek-dce-rpc-mapi-1-250", "suricata-dce-gap-handling-input",
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "rpc")
			ref := dceRef(t, filepath.Join(dir, name+".ref.json"))
			if len(ref) == 0 {
				t.Fatal("reference has no DCERPC frame")
			}
			a := compareDCE(ref, analyseMessages(t, filepath.Join(dir, name+".pcap")))
			for _, d := range a.diffs {
				t.Error(d)
			}
			t.Logf("%s: %d/%d DCERPC frames agree with tshark", name, a.agree, a.frames)
		})
	}
}

// TestDCERPCAgreementShared measures the agreement over every capture of
// ../shared/public-captures that tshark decodes DCERPC in (skipped without
// ../shared) and wants at least 98% of the frames.
func TestDCERPCAgreementShared(t *testing.T) {
	dir := filepath.Join(sharedDir, "public-captures")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared is absent")
	}
	caps, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	total, agree := 0, 0
	for _, c := range caps {
		if strings.HasSuffix(c, ".json") {
			continue
		}
		refPath := strings.TrimSuffix(c, ".pcap") + ".tshark.json"
		if strings.HasSuffix(c, ".pcapng") {
			refPath = c + ".tshark.json"
		}
		ref := dceRef(t, refPath)
		if len(ref) == 0 {
			continue
		}
		a := compareDCE(ref, analyseMessages(t, c))
		t.Logf("%s: %d/%d DCERPC frames agree", filepath.Base(c), a.agree, a.frames)
		for _, d := range a.diffs[:min(len(a.diffs), 5)] {
			t.Logf("  %s", d)
		}
		total += a.frames
		agree += a.agree
	}
	if total == 0 {
		t.Skip("no DCERPC capture in ../shared/public-captures")
	}
	pct := 100 * float64(agree) / float64(total)
	t.Logf("public captures: %d/%d DCERPC frames agree with tshark (%.1f%%)", agree, total, pct)
	if pct < 98 {
		t.Errorf("agreement %.1f%% < 98%%", pct)
	}
}
