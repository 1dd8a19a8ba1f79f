package smb

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// sharedDir returns ../shared relative to the repository root, or "" when
// it is absent.
func sharedDir() string {
	_, file, _, _ := runtime.Caller(0)
	d := filepath.Join(filepath.Dir(file), "..", "..", "shared")
	if _, err := os.Stat(d); err != nil {
		return ""
	}
	return d
}

// findCapture finds a capture in testdata/smb, else in ../shared (sub is
// the folder there), or returns "".
func findCapture(sub, name string) string {
	p := filepath.Join("..", "testdata", "smb", name+".pcap")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if s := sharedDir(); s != "" {
		p = filepath.Join(s, sub, name+".pcap")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// capturePath is findCapture that skips the test when the capture is absent.
func capturePath(t testing.TB, sub, name string) string {
	t.Helper()
	p := findCapture(sub, name)
	if p == "" {
		t.Skipf("capture %s not available (needs ../shared)", name)
	}
	return p
}

// splitter cuts one segment into the chunks given to Feed.
type splitter func(b []byte) [][]byte

func whole(b []byte) [][]byte { return [][]byte{b} }

func bytewise(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// randomSplit cuts at pseudo-random points (deterministic).
func randomSplit(seed uint32) splitter {
	return func(b []byte) [][]byte {
		var out [][]byte
		for len(b) > 0 {
			seed = seed*1664525 + 1013904223
			n := int(seed>>24)%97 + 1
			n = min(n, len(b))
			out = append(out, b[:n])
			b = b[n:]
		}
		return out
	}
}

type runResult struct {
	col   *health.Collector
	conns []*Conn
}

// runCapture feeds every SMB connection of a capture to a Conn.
func runCapture(t testing.TB, path string, cfg Config, rtt time.Duration, split splitter) runResult {
	t.Helper()
	streams, err := testcap.ReadStreams(path)
	if err != nil {
		t.Fatalf("ReadStreams(%s): %v", path, err)
	}
	col := &health.Collector{KeepMessages: true}
	var res runResult
	res.col = col
	for id, s := range streams {
		if len(s.Segments) == 0 {
			continue
		}
		first := s.Segments[0]
		dir := tcpstate.ServerToClient
		if first.ClientToServer {
			dir = tcpstate.ClientToServer
		}
		if !Detect(dir, first.Data) {
			continue
		}
		ctx := &tcpstate.StreamContext{ID: uint64(id), Client: s.Client, Server: s.Server,
			Flow: s.Client.String() + "->" + s.Server.String() + "/tcp", Reporter: col, RTT: rtt}
		c := NewConn(ctx, cfg)
		var last tcpstate.Position
		for _, seg := range s.Segments {
			d := tcpstate.ServerToClient
			if seg.ClientToServer {
				d = tcpstate.ClientToServer
			}
			last = tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
			for _, ch := range split(seg.Data) {
				c.Feed(d, ch, last)
			}
		}
		c.Close(tcpstate.CloseEndOfCapture, last)
		res.conns = append(res.conns, c)
	}
	return res
}

// refFrames loads tshark per-frame fields: testdata/smb/<name>.ref.json
// (an extract of the SMB fields of ../shared's <name>.tshark.json), else
// the shared reference itself.
func refFrames(t testing.TB, sub, name string) []map[string]any {
	t.Helper()
	p := filepath.Join("..", "testdata", "smb", name+".ref.json")
	b, err := os.ReadFile(p)
	if err != nil {
		s := sharedDir()
		if s == "" {
			t.Skipf("no reference for %s", name)
		}
		b, err = os.ReadFile(filepath.Join(s, sub, name+".tshark.json"))
		if err != nil {
			t.Skipf("no reference for %s: %v", name, err)
		}
	}
	var ref struct {
		Frames []map[string]any `json:"frames"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("reference %s: %v", name, err)
	}
	return ref.Frames
}

// list returns a reference field as a list of strings.
func list(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

func frameOf(m health.Message) int64 {
	if ef, ok := m.Fields["end_frame"].(int64); ok {
		return ef
	}
	return m.Frame
}

// agreement compares our SMB/SMB2 messages with tshark's per-frame fields
// (command, response flag, status, message id; file name for CREATE /
// NT_CREATE_ANDX requests). tshark shows a PDU in the frame holding its
// last byte, so our messages are keyed by end_frame.
type agreement struct {
	frames, agree, explained int
	files, filesOK           int
	diffs                    []string
}

func compareWithTshark(msgs []health.Message, ref []map[string]any, skip []int64) agreement {
	ours := map[int64][]health.Message{}
	for _, m := range msgs {
		if m.Proto != "smb" && m.Proto != "smb2" {
			continue
		}
		if _, chained := m.Fields["andx_index"]; chained {
			continue
		}
		ours[frameOf(m)] = append(ours[frameOf(m)], m)
	}
	var a agreement
	for _, fr := range ref {
		n, _ := strconv.ParseInt(fmt.Sprint(fr["frame.number"]), 10, 64)
		var want []string
		if cmds := list(fr["smb2.cmd"]); len(cmds) > 0 {
			resp, st, ids := list(fr["smb2.flags.response"]), list(fr["smb2.nt_status"]), list(fr["smb2.msg_id"])
			si := 0
			for i, c := range cmds {
				code, _ := strconv.Atoi(c)
				r := i < len(resp) && resp[i] == "1"
				s := ""
				if r && si < len(st) {
					s = st[si]
					si++
				}
				id := ""
				if i < len(ids) {
					id = ids[i]
				}
				want = append(want, fmt.Sprintf("smb2 %s resp=%v status=%s id=%s", Command2(code), r, s, id))
			}
		}
		if mids := list(fr["smb.mid"]); len(mids) > 0 {
			cmds, resp, st := list(fr["smb.cmd"]), list(fr["smb.flags.response"]), list(fr["smb.nt_status"])
			for i, id := range mids {
				c := ""
				if len(mids) == 1 && len(cmds) > 0 {
					v, _ := strconv.ParseUint(strings.TrimPrefix(cmds[0], "0x"), 16, 8)
					c = Command1(v).String()
				}
				r := i < len(resp) && resp[i] == "1"
				s := ""
				if r && i < len(st) {
					s = st[i]
				}
				want = append(want, fmt.Sprintf("smb %s resp=%v status=%s id=%s", c, r, s, id))
			}
		}
		if len(want) == 0 {
			continue
		}
		if slices.Contains(skip, n) {
			a.explained++
			continue
		}
		a.frames++
		var got []string
		ms := ours[n]
		for _, m := range ms {
			r := m.Fields["is_response"] == true
			s := ""
			if r {
				s, _ = m.Fields["status_code"].(string)
			}
			c, _ := m.Fields["cmd"].(string)
			if m.Proto == "smb" && len(list(fr["smb.mid"])) > 1 {
				c = ""
			}
			if m.Proto == "smb" && r && list(fr["smb.nt_status"]) == nil {
				s = "" // DOS error: tshark has no nt_status
			}
			got = append(got, fmt.Sprintf("%s %s resp=%v status=%s id=%v", m.Proto, c, r, s, m.Fields["msg_id"]))
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(want, "|") == strings.Join(got, "|") {
			a.agree++
		} else if len(a.diffs) < 20 {
			a.diffs = append(a.diffs, fmt.Sprintf("frame %d:\n  tshark %q\n  ours   %q", n, want, got))
		}
		// File names of CREATE requests.
		var creates []health.Message
		for _, m := range ms {
			if (m.Fields["cmd"] == "CREATE" || m.Fields["cmd"] == "NT_CREATE_ANDX") && m.Fields["is_response"] == false {
				creates = append(creates, m)
			}
		}
		tf := list(fr["smb2.filename"])
		if len(tf) == 0 {
			tf = list(fr["smb.file"])
		}
		if len(creates) == 1 && len(tf) == 1 {
			a.files++
			got := fmt.Sprint(creates[0].Fields["filename"])
			if got == tf[0] {
				a.filesOK++
			} else if len(a.diffs) < 20 {
				a.diffs = append(a.diffs, fmt.Sprintf("frame %d: file name tshark %q ours %q", n, tf[0], got))
			}
		}
	}
	return a
}
