package tcpstate

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// TestPipelineWithLayersDecoder runs the testdata captures the way the
// Analyzer does — layers.Capture → layers.Decoder (one reused Packet) →
// Tracker — and checks the streams against the tshark references again,
// so the tracker is known not to keep anything of a packet after Packet
// returns.
func TestPipelineWithLayersDecoder(t *testing.T) {
	refs, _ := filepath.Glob(filepath.Join("..", "testdata", "tcpstate", "*.follow.json"))
	n := 0
	for _, refPath := range refs {
		path := strings.TrimSuffix(refPath, ".follow.json")
		if _, err := os.Stat(path); err != nil {
			continue
		}
		raw, err := os.ReadFile(refPath)
		if err != nil {
			t.Fatal(err)
		}
		var ref followRef
		if err := json.Unmarshal(raw, &ref); err != nil {
			t.Fatal(err)
		}
		capture, err := layers.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var recs []*recorder
		tr := NewTracker(Config{}, health.Discard, func(ctx *StreamContext) StreamHandler {
			r := &recorder{ctx: ctx}
			recs = append(recs, r)
			return r
		})
		dec := layers.NewDecoder(health.Discard, layers.DefaultLimits())
		var last Position
		for {
			f, err := capture.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			last = Position{Frame: f.Number, Time: f.Time}
			if p, ok := dec.Decode(f); ok && p.Transport == layers.TransportTCP {
				tr.Packet(p)
			}
		}
		capture.Close()
		tr.Close(last)
		if len(recs) != ref.TCPStreams {
			t.Errorf("%s: %d connections, tshark %d", ref.Capture, len(recs), ref.TCPStreams)
			continue
		}
		for _, s := range ref.Streams {
			r := recs[s.Stream]
			d0 := ClientToServer
			if r.ctx.Client.String() != s.Node0 {
				d0 = ServerToClient
			}
			if _, special := synAckPayloadCaptures[ref.Capture]; special {
				continue // covered by TestReassemblyMatchesTsharkFollow
			}
			if sha(r.data[d0]) != s.Sha0 || sha(r.data[d0.Other()]) != s.Sha1 {
				t.Errorf("%s stream %d: streams differ from tshark's (%d/%d bytes, want %d/%d)",
					ref.Capture, s.Stream, len(r.data[d0]), len(r.data[d0.Other()]), s.Len0, s.Len1)
			}
		}
		n++
	}
	t.Logf("%d captures through layers.Decoder + Tracker match tshark's follow,tcp,raw", n)
}
