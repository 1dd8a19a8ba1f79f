package nettrace

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/nettrace/nettrace/internal/testcap"
)

// seriesCapture holds three connections open at once, a clean connection
// opened meanwhile, then a long connection with one retransmission (a
// finding).
func seriesCapture() []byte {
	b := testcap.NewBuilder(0)
	var open []*testcap.Conv
	for i := range 3 {
		c := b.Conv("10.0.0.1", "10.0.0.9", uint16(41000+i), 8080, 100, 200)
		c.Handshake()
		open = append(open, c)
	}
	clean := b.Conv("10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000)
	clean.Handshake()
	clean.Send(true, bytes.Repeat([]byte("a"), 3000), 1000)
	clean.Fin()
	for _, c := range open {
		c.Fin()
	}
	long := b.Conv("10.0.0.1", "10.0.0.3", 40001, 80, 7000, 9000)
	long.Handshake()
	long.Send(false, bytes.Repeat([]byte("b"), 3000*100), 100)
	// The server sends the first 100 bytes again, 3000 packets later.
	b.Raw(b.TCPFrame(long.Srv, long.Cli, long.SPort, long.CPort, 9001, long.CSeq, "PA", bytes.Repeat([]byte("b"), 100)))
	long.Send(false, bytes.Repeat([]byte("c"), 100), 100)
	long.Fin()
	return b.Buf.Bytes()
}

// TestSeriesBounded: only the connection with a finding keeps its series;
// a long one is thinned to MaxSamples with its retransmission kept;
// connections opened while MaxOpen are recorded are counted as skipped.
func TestSeriesBounded(t *testing.T) {
	a, err := New(Options{Series: &SeriesOptions{MaxSamples: 256, MaxOpen: 3}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("series.pcap", bytes.NewReader(seriesCapture()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Series) != 1 {
		t.Fatalf("%d series kept, want the one connection with a finding", len(rep.Series))
	}
	s := rep.Series[0]
	if s.Server.Port() != 80 || s.Server.Addr().String() != "10.0.0.3" {
		t.Fatalf("kept %s, want the long connection", s.Flow)
	}
	if len(s.Samples) > 256 || s.Stride < 2 || s.Thinned == 0 {
		t.Errorf("%d samples, stride %d, %d thinned: want at most 256, thinned", len(s.Samples), s.Stride, s.Thinned)
	}
	resent := 0
	for _, smp := range s.Samples {
		if smp.Flags&SampleResent != 0 {
			resent++
			if smp.Seq != 1 || smp.Len != 100 {
				t.Errorf("retransmission sampled at seq %d len %d, want 1 and 100", smp.Seq, smp.Len)
			}
		}
	}
	if resent != 1 {
		t.Errorf("%d retransmitted samples, want 1 (kept through thinning)", resent)
	}
	if rep.SeriesSkipped != 1 {
		t.Errorf("SeriesSkipped = %d, want 1 (the clean connection opened while three were recorded)", rep.SeriesSkipped)
	}
}

// TestSeriesSameForAnyWorkers: the kept series do not depend on the
// number of workers.
func TestSeriesSameForAnyWorkers(t *testing.T) {
	for _, path := range []string{"testdata/health/c02-nat-per-source-limit-server.pcap", "testdata/tcpstate/analysis/tcp-lossy-netem-curl-client-head.pcap"} {
		var got [2][]ConnSeries
		for i, w := range []int{1, 3} {
			rep, err := AnalyzeFile(path, Options{Workers: w, Series: &SeriesOptions{MaxKept: 4}})
			if err != nil {
				t.Fatal(err)
			}
			got[i] = rep.Series
		}
		if len(got[0]) == 0 || !reflect.DeepEqual(got[0], got[1]) {
			t.Errorf("%s: %d series with 1 worker, %d with 3, or they differ", path, len(got[0]), len(got[1]))
		}
	}
}
