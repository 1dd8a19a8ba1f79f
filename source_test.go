package nettrace_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/layers"
)

// frameSource is a PacketSource reading a capture file: an embedder's own
// packet source, as far as the Analyzer can tell.
type frameSource struct{ c *layers.Capture }

func (s frameSource) NextPacket() (nettrace.Packet, error) {
	f, err := s.c.Next()
	if err != nil {
		return nettrace.Packet{}, err
	}
	link := f.Link
	if link == 0 {
		link = uint16(f.LinkType)
	}
	return nettrace.Packet{Time: f.Time, LinkType: link, Data: f.Data, Length: f.WireLen}, nil
}

func openSource(t *testing.T, path string) frameSource {
	t.Helper()
	c, err := layers.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return frameSource{c}
}

var sourceCaptures = []string{
	"examples/doctor/demo/branch-office.pcapng",
	"testdata/root/c04-epm-vip-client.pcap",
	"testdata/root/tcp-conn-refused-rst.pcap",
}

// TestAnalyzeSourceSameAsFile: packets fed from a source give the Report
// the file gives (findings, connections, conn.log records), on one worker
// and on three. A source carries packets only: the TLS secrets a pcapng
// holds are given through Options (here by naming the capture as a key
// log), as an embedder would give its key log.
func TestAnalyzeSourceSameAsFile(t *testing.T) {
	for _, path := range sourceCaptures {
		for _, workers := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/workers=%d", path, workers), func(t *testing.T) {
				opts := nettrace.Options{Workers: workers}
				if strings.HasSuffix(path, ".pcapng") {
					opts.KeyLogFiles = []string{path}
				}
				want, err := nettrace.AnalyzeFile(path, opts)
				if err != nil {
					t.Fatal(err)
				}
				got, err := nettrace.AnalyzeSource(context.Background(), path, openSource(t, path), opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(want.Findings) == 0 || len(want.Flows) == 0 {
					t.Fatal("the capture gives no findings or connections: nothing compared")
				}
				if !reflect.DeepEqual(got.Findings, want.Findings) {
					t.Errorf("findings differ:\n got %v\nwant %v", kinds(got), kinds(want))
				}
				if !reflect.DeepEqual(got.Conns(), want.Conns()) || !reflect.DeepEqual(got.Flows, want.Flows) {
					t.Errorf("connections differ")
				}
				if got.Capture.Frames != want.Capture.Frames {
					t.Errorf("%d frames, want %d", got.Capture.Frames, want.Capture.Frames)
				}
			})
		}
	}
}

// TestPacketFeedFindingsSoFar: Packet analyses one packet at a time,
// Findings says what was found so far, Close ends every connection and
// returns the Report the file gives; the Analyzer then refuses more.
func TestPacketFeedFindingsSoFar(t *testing.T) {
	const path = "testdata/root/tcp-conn-refused-rst.pcap"
	want, err := nettrace.AnalyzeFile(path, nettrace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := nettrace.New(nettrace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Findings(); len(got) != 0 {
		t.Fatalf("findings before any packet: %v", got)
	}
	src := openSource(t, path)
	var counts []int
	for {
		p, err := src.NextPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err := a.Packet(p); err != nil {
			t.Fatal(err)
		}
		counts = append(counts, len(a.Findings()))
	}
	if counts[0] != 0 || counts[len(counts)-1] == 0 {
		t.Errorf("findings after each packet %v: want none after the SYN and some after the reset", counts)
	}
	rep := a.Close()
	if !reflect.DeepEqual(rep.Findings, want.Findings) || !reflect.DeepEqual(rep.Conns(), want.Conns()) {
		t.Errorf("Close's Report differs from the file's")
	}
	if a.Close() != rep {
		t.Errorf("a second Close returned another Report")
	}
	if err := a.Packet(nettrace.Packet{}); err == nil {
		t.Errorf("Packet after Close: no error")
	}
	if _, err := a.AnalyzeFile(path); err == nil {
		t.Errorf("AnalyzeFile on an Analyzer fed packets: no error")
	}
}

// cancelAfter is a reader that cancels its context once n bytes were read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

// TestAnalyzeContextCancelled: a cancelled analysis stops within 1024
// frames of the cancellation and returns what it analysed with the
// context's error; a context already done stops a packet source at once.
func TestAnalyzeContextCancelled(t *testing.T) {
	b := testcap.NewBuilder(0)
	for i := range 2000 { // 2000 connections of 5 frames: 10,000 frames
		v := b.Conv("10.0.0.1", "10.0.0.2", uint16(20000+i), 80, 1000, 5000)
		v.Handshake()
		v.Send(true, []byte("hello"), 100)
	}
	total := len(b.Ends)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := nettrace.New(nettrace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cut := b.Ends[total/4] // cancelled after a quarter of the frames were read
	rep, err := a.AnalyzeContext(ctx, "synthetic", &cancelAfter{r: bytesReader(b.Buf.Bytes()), n: cut, cancel: cancel})
	if !errors.Is(err, context.Canceled) || rep == nil {
		t.Fatalf("err %v, report %v: want context.Canceled and the report so far", err, rep != nil)
	}
	if f := rep.Capture.Frames; f < int64(total/4) || f >= int64(total) || f%1024 != 0 {
		t.Errorf("%d of %d frames analysed: want the first multiple of 1024 after %d", f, total, total/4)
	}
	if len(rep.Flows) == 0 {
		t.Errorf("no connection in the report of the frames analysed")
	}

	done, stop := context.WithCancel(context.Background())
	stop()
	rep, err = nettrace.AnalyzeSource(done, "x", openSource(t, sourceCaptures[0]), nettrace.Options{})
	if !errors.Is(err, context.Canceled) || rep.Capture.Frames != 0 {
		t.Errorf("AnalyzeSource with a done context: %v, %d frames", err, rep.Capture.Frames)
	}
	if _, err := nettrace.AnalyzeFileContext(done, sourceCaptures[2], nettrace.Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("AnalyzeFileContext with a done context: %v", err)
	}
}

func bytesReader(b []byte) io.Reader { return &sliceReader{b} }

// sliceReader reads b in chunks of at most 4 KiB, like a slow file.
type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 4096)], s.b)
	s.b = s.b[n:]
	return n, nil
}

func kinds(r *nettrace.Report) []string {
	var out []string
	for _, f := range r.Findings {
		out = append(out, fmt.Sprintf("%s×%d", f.Kind, f.Count))
	}
	return out
}
