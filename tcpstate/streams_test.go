package tcpstate

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// countConns runs a capture through a tracker and returns the number of
// connections (flow.summary events) it made.
func countConns(t testing.TB, path string) (int, *health.Collector) {
	t.Helper()
	pkts := readPackets(t, path)
	col := &health.Collector{}
	tr := NewTracker(Config{}, col, nil)
	for i := range pkts {
		tr.Packet(&pkts[i])
	}
	tr.Close(Position{})
	return len(col.OfKind(health.FlowSummary)), col
}

// countConnsDecoder is countConns with packets from layers.Decoder.
func countConnsDecoder(t testing.TB, path string) int {
	t.Helper()
	capture, err := layers.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer capture.Close()
	col := &health.Collector{}
	tr := NewTracker(Config{}, col, nil)
	dec := layers.NewDecoder(health.Discard, layers.DefaultLimits())
	for {
		f, err := capture.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("%s: %v", path, err)
			}
			break
		}
		if p, ok := dec.Decode(f); ok && p.Transport == layers.TransportTCP {
			tr.Packet(p)
		}
	}
	tr.Close(Position{})
	return len(col.OfKind(health.FlowSummary))
}

// TestConnectionCountMatchesTsharkShared states, for every capture of
// ../shared with a *.summary.json, that the tracker makes as many
// connections as tshark has tcp.stream values.
func TestConnectionCountMatchesTsharkShared(t *testing.T) {
	root := sharedDir(t)
	var sums []string
	for _, dir := range []string{"captures", "public-captures"} {
		filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".summary.json") {
				sums = append(sums, p)
			}
			return nil
		})
	}
	if len(sums) == 0 {
		t.Skip("no summaries")
	}
	agree, streams := 0, 0
	for _, sum := range sums {
		raw, err := os.ReadFile(sum)
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Pcap       string `json:"pcap"`
			TCPStreams int    `json:"tcp_streams"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", sum, err)
		}
		pcap := filepath.Join(filepath.Dir(sum), s.Pcap)
		got, _ := countConns(t, pcap)
		viaDecoder := countConnsDecoder(t, pcap)
		streams += s.TCPStreams
		if got == s.TCPStreams && viaDecoder == got {
			agree++
			t.Logf("%-60s %4d connections = tshark %4d tcp streams", s.Pcap, got, s.TCPStreams)
		} else {
			t.Errorf("%-60s %4d connections (%d via layers.Decoder), tshark %4d tcp streams", s.Pcap, got, viaDecoder, s.TCPStreams)
		}
	}
	t.Logf("connection count (packets decoded by gopacket and by layers.Decoder) agrees with tshark's tcp.stream count on %d/%d captures (%d streams in all)", agree, len(sums), streams)
}

// TestConnectionCountMatchesTshark is the same check on the copies in
// testdata/tcpstate (their counts are in the *.follow.json references).
func TestConnectionCountMatchesTshark(t *testing.T) {
	refs, _ := filepath.Glob(filepath.Join("..", "testdata", "tcpstate", "*.follow.json"))
	n := 0
	for _, ref := range refs {
		pcap := strings.TrimSuffix(ref, ".follow.json")
		if _, err := os.Stat(pcap); err != nil {
			continue
		}
		raw, err := os.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}
		var r followRef
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		got, _ := countConns(t, pcap)
		if got != r.TCPStreams {
			t.Errorf("%s: %d connections, tshark %d tcp streams", r.Capture, got, r.TCPStreams)
		}
		n++
	}
	t.Logf("%d captures: connection counts equal tshark's", n)
}

// TestStreamIDsMatchTsharkShared compares, frame by frame, the connection
// ID the tracker gives each TCP packet with tshark's tcp.stream in the
// *.tshark.json references of ../shared (skipped when absent).
func TestStreamIDsMatchTsharkShared(t *testing.T) {
	root := sharedDir(t)
	var refs []string
	for _, dir := range []string{"captures", "public-captures"} {
		filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".tshark.json") {
				refs = append(refs, p)
			}
			return nil
		})
	}
	files, frames, mismatched := 0, 0, 0
	for _, ref := range refs {
		raw, err := os.ReadFile(ref)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Pcap   string           `json:"pcap"`
			Frames []map[string]any `json:"frames"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		want := map[int64]string{}
		for _, f := range r.Frames {
			n, _ := f["frame.number"].(float64)
			if s, ok := f["tcp.stream"].(string); ok {
				want[int64(n)] = s
			}
		}
		pkts := readPackets(t, filepath.Join(filepath.Dir(ref), r.Pcap))
		tr := NewTracker(Config{}, nil, nil)
		bad := 0
		for i := range pkts {
			p := &pkts[i]
			tr.Packet(p)
			src, dst := p.SrcAddrPort(), p.DstAddrPort()
			key := makeKey(src, dst)
			if src.Compare(dst) > 0 {
				key = makeKey(dst, src)
			}
			var id uint64
			if c := tr.conns[key]; c != nil {
				id = c.ctx.ID
			} else if tb := tr.tombs[key]; tb != nil {
				id = tb.id // a late packet of a connection that ended
			} else {
				continue
			}
			w, ok := want[p.Frame]
			if !ok {
				continue
			}
			frames++
			if got := strconv.FormatUint(id, 10); got != w {
				if bad < 3 {
					t.Errorf("%s frame %d: connection %s, tshark tcp.stream %s", r.Pcap, p.Frame, got, w)
				}
				bad++
			}
		}
		tr.Close(Position{})
		files++
		mismatched += bad
	}
	t.Logf("%d captures, %d TCP frames: %d with a connection ID different from tshark's tcp.stream", files, frames, mismatched)
}
