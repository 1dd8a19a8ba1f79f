package tds

import (
	"bufio"
	"encoding/json"
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
