package tds

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
)

// tsharkRow is one line of a testdata/tds/*.tds.tsv reference, written by
//
//	tshark -r X.pcap -d tcp.port==1433,tds -d tcp.port==14330,tds -Y tds -T fields \
//	  -E occurrence=a -E aggregator='|' -e frame.number -e tds.type -e tds.query \
//	  -e tds.rpc.name -e tds.rpc.proc_id
type tsharkRow struct {
	types  []int
	query  string
	rpc    string
	procID string
}

func readTSV(t *testing.T, path string) map[int64]tsharkRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int64]tsharkRow{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		for len(cols) < 5 {
			cols = append(cols, "")
		}
		frame, _ := strconv.ParseInt(cols[0], 10, 64)
		var r tsharkRow
		for _, v := range strings.Split(cols[1], "|") {
			if n, err := strconv.Atoi(v); err == nil {
				r.types = append(r.types, n)
			}
		}
		r.query, r.rpc, r.procID = cols[2], cols[3], cols[4]
		out[frame] = r
	}
	return out
}

func ourTypes(res runResult) map[int64][]int {
	out := map[int64][]int{}
	for f, ts := range res.packets {
		for _, t := range ts {
			out[f] = append(out[f], int(t))
		}
	}
	return out
}

// messagesByFrame indexes decoded client messages by frame.
func messagesByFrame(rep *health.Collector) map[int64][]map[string]any {
	out := map[int64][]map[string]any{}
	for _, m := range rep.Messages {
		if m.Proto == "tds" {
			out[m.Frame] = append(out[m.Frame], m.Fields)
		}
	}
	return out
}

// TestPacketTypesAgreeWithTshark compares, per frame, the TDS packet types
// we frame with tshark's tds.type, and the SQL text and RPC names with
// tds.query and tds.rpc.name / tds.rpc.proc_id, on every capture copied
// into testdata/tds.
func TestPacketTypesAgreeWithTshark(t *testing.T) {
	refs, _ := filepath.Glob(testdata("*.tds.tsv"))
	if len(refs) == 0 {
		t.Fatal("no references in testdata/tds")
	}
	for _, ref := range refs {
		name := strings.TrimSuffix(filepath.Base(ref), ".tds.tsv")
		t.Run(name, func(t *testing.T) {
			want := readTSV(t, ref)
			res := runCapture(t, testdata(name+".pcap"), DefaultConfig(), nil, nil)
			got := ourTypes(res)
			wantTypes := map[int64][]int{}
			for f, r := range want {
				wantTypes[f] = r.types
			}
			if diff := cmp.Diff(wantTypes, got); diff != "" {
				t.Errorf("packet types per frame (-tshark +ours):\n%s", diff)
			}
			msgs := messagesByFrame(res.rep)
			var sqlOK, sqlN, rpcOK, rpcN int
			frames := make([]int64, 0, len(want))
			for f := range want {
				frames = append(frames, f)
			}
			sort.Slice(frames, func(i, j int) bool { return frames[i] < frames[j] })
			for _, f := range frames {
				r := want[f]
				var sql, proc string
				var procID float64
				for _, m := range msgs[f] {
					if s, ok := m["sql"].(string); ok && m["type"] == "SQL_BATCH" {
						sql = s
					}
					if p, ok := m["rpc_proc"].(string); ok {
						proc = p
					}
					if id, ok := m["rpc_proc_id"].(uint16); ok {
						procID = float64(id)
					}
				}
				if r.query != "" {
					sqlN++
					// tshark prints newlines in fields as \n; compare trimmed.
					if strings.TrimSpace(sql) == strings.TrimSpace(strings.ReplaceAll(r.query, `\n`, "\n")) {
						sqlOK++
					} else {
						t.Errorf("frame %d: sql %q, tshark %q", f, sql, r.query)
					}
				}
				if r.rpc != "" {
					rpcN++
					if proc == r.rpc {
						rpcOK++
					} else {
						t.Errorf("frame %d: rpc %q, tshark %q", f, proc, r.rpc)
					}
				}
				if r.procID != "" {
					rpcN++
					first, _ := strconv.Atoi(strings.Split(r.procID, "|")[0])
					if int(procID) == first {
						rpcOK++
					} else {
						t.Errorf("frame %d: rpc proc id %v, tshark %q", f, procID, r.procID)
					}
				}
			}
			t.Logf("%s: %d frames with TDS packets agree with tshark (%d packets); SQL text %d/%d, RPC names/ids %d/%d",
				name, len(want), countPackets(got), sqlOK, sqlN, rpcOK, rpcN)
		})
	}
}

func countPackets(m map[int64][]int) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

// TestSharedCapturesAgreeWithTshark compares packet types per frame with
// the tshark.json references of ../shared (skipped when absent): every
// capture in captures/tds, the public mssql_tds capture and the TDS cases.
func TestSharedCapturesAgreeWithTshark(t *testing.T) {
	dir := sharedDir(t)
	var pcaps []string
	m, _ := filepath.Glob(filepath.Join(dir, "captures", "tds", "*.pcap"))
	pcaps = append(pcaps, m...)
	m, _ = filepath.Glob(filepath.Join(dir, "public-captures", "*mssql_tds*.pcap"))
	pcaps = append(pcaps, m...)
	m, _ = filepath.Glob(filepath.Join(dir, "captures", "cases", "c15-*.pcap"))
	pcaps = append(pcaps, m...)
	for _, p := range pcaps {
		t.Run(filepath.Base(p), func(t *testing.T) {
			want := readTsharkJSON(t, strings.TrimSuffix(p, ".pcap")+".tshark.json")
			res := runCapture(t, p, DefaultConfig(), nil, nil)
			got := ourTypes(res)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("packet types per frame (-tshark +ours):\n%s", diff)
			}
			t.Logf("%s: %d frames, %d TDS packets agree with tshark's tds.type", filepath.Base(p), len(want), countPackets(got))
		})
	}
}

func readTsharkJSON(t *testing.T, path string) map[int64][]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Frames []map[string]any `json:"frames"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[int64][]int{}
	for _, fr := range doc.Frames {
		v, ok := fr["tds.type"]
		if !ok {
			continue
		}
		var n int64
		switch x := fr["frame.number"].(type) {
		case string:
			n, _ = strconv.ParseInt(x, 10, 64)
		case float64:
			n = int64(x)
		}
		switch x := v.(type) {
		case string:
			i, _ := strconv.Atoi(x)
			out[n] = append(out[n], i)
		case []any:
			for _, s := range x {
				i, _ := strconv.Atoi(s.(string))
				out[n] = append(out[n], i)
			}
		}
	}
	return out
}

// TestPacketHeadersAgreeWithTshark: every TDS packet is reported at its
// own frame with its header — a packet that does not end its message as a
// partial-packet message, the last one in the message itself — and, per
// frame, the headers (type, status, length, SPID, packet id) equal
// tshark's tds.type, tds.status, tds.length, tds.channel and
// tds.packet_number (testdata/tds/*.packets.tsv).
func TestPacketHeadersAgreeWithTshark(t *testing.T) {
	refs, _ := filepath.Glob(testdata("*.packets.tsv"))
	if len(refs) == 0 {
		t.Fatal("no references in testdata/tds")
	}
	total, partial := 0, 0
	for _, ref := range refs {
		name := strings.TrimSuffix(filepath.Base(ref), ".packets.tsv")
		t.Run(name, func(t *testing.T) {
			want := readPacketsTSV(t, ref)
			res := runCapture(t, testdata(name+".pcap"), DefaultConfig(), nil, nil)
			got := map[int64][]string{}
			for _, m := range res.rep.Messages {
				f := m.Fields
				if m.Proto != "tds" || f["type_code"] == nil || f["packet_length"] == nil {
					continue
				}
				if f["partial"] == true {
					partial++
				}
				got[m.Frame] = append(got[m.Frame], fmt.Sprintf("%d 0x%02x %d %d %d", f["type_code"], f["status"], f["packet_length"], f["spid"], f["packet_id"]))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("packet headers per frame (-tshark +ours):\n%s", diff)
			}
			for _, v := range want {
				total += len(v)
			}
		})
	}
	if partial == 0 {
		t.Error("no packet that continues its message in the references: the test proves nothing")
	}
	t.Logf("%d TDS packet headers agree with tshark, %d of them reported before their message's last packet", total, partial)
}

// readPacketsTSV reads a *.packets.tsv reference: frame → "type status
// length spid packet_id" per packet.
func readPacketsTSV(t *testing.T, path string) map[int64][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) < 6 {
			continue
		}
		frame, _ := strconv.ParseInt(cols[0], 10, 64)
		types, sts, lens, spids, ids := strings.Split(cols[1], "|"), strings.Split(cols[2], "|"), strings.Split(cols[3], "|"), strings.Split(cols[4], "|"), strings.Split(cols[5], "|")
		for i := range types {
			st, _ := strconv.ParseUint(strings.TrimPrefix(sts[i], "0x"), 16, 8)
			out[frame] = append(out[frame], fmt.Sprintf("%s 0x%02x %s %s %s", types[i], st, lens[i], spids[i], ids[i]))
		}
	}
	return out
}

// TestServerMessagesAgreeWithTshark: the ERROR tokens of the captures
// with some (testdata/tds/*.msgs.tsv) keep their number, message text,
// server, procedure and line in the decoded response, as tshark's
// tds.error.* fields show them at the same frame.
func TestServerMessagesAgreeWithTshark(t *testing.T) {
	refs, _ := filepath.Glob(testdata("*.msgs.tsv"))
	if len(refs) == 0 {
		t.Fatal("no references")
	}
	n := 0
	for _, ref := range refs {
		name := strings.TrimSuffix(filepath.Base(ref), ".msgs.tsv")
		b, err := os.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}
		want := map[int64]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			c := strings.Split(line, "\t")
			for len(c) < 11 {
				c = append(c, "")
			}
			frame, _ := strconv.ParseInt(c[0], 10, 64)
			want[frame] = strings.Join(c[1:6], "/") + " " + strings.Join(c[6:11], "/")
		}
		res := runCapture(t, testdata(name+".pcap"), DefaultConfig(), nil, nil)
		got := map[int64]string{}
		for _, m := range res.rep.Messages {
			notes, ok := m.Fields["server_messages"].([]map[string]any)
			if !ok {
				continue
			}
			var errs, infos [5][]string
			for _, nm := range notes {
				proc, _ := nm["procedure"].(string)
				vals := []string{fmt.Sprint(nm["number"]), nm["error_message"].(string), nm["server"].(string), proc, fmt.Sprint(nm["line"])}
				dst := &errs
				if nm["kind"] == "info" {
					dst = &infos
				}
				for i, v := range vals {
					dst[i] = append(dst[i], v)
				}
			}
			join := func(a [5][]string) string {
				parts := make([]string, 5)
				for i := range a {
					parts[i] = strings.Join(a[i], "|")
				}
				return strings.Join(parts, "/")
			}
			got[m.Frame] = join(errs) + " " + join(infos)
			if len(errs[1]) > 0 && m.Fields["error_message"] != errs[1][0] {
				t.Errorf("%s frame %d: error_message %v", name, m.Frame, m.Fields["error_message"])
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: ERROR/INFO tokens per frame (-tshark +ours):\n%s", name, diff)
		}
		n += len(want)
	}
	t.Logf("%d responses: ERROR/INFO number, text, server, procedure and line agree with tshark", n)
}
