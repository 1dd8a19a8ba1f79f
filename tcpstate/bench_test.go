package tcpstate

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nettrace/nettrace/layers"
)

// discardHandler consumes streams without keeping them.
type discardHandler struct{ n int }

func (h *discardHandler) Feed(_ Dir, b []byte, _ Position) { h.n += len(b) }
func (h *discardHandler) Gap(Dir, int, Position)           {}
func (h *discardHandler) Close(CloseReason, Position)      {}

// TestInOrderPathDoesNotAllocate: an established connection's in-order
// segments (and their ACKs) allocate nothing in the tracker.
func TestInOrderPathDoesNotAllocate(t *testing.T) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	h := &discardHandler{}
	tr := NewTracker(Config{}, nil, func(*StreamContext) StreamHandler { return h })
	feedAll(tr, handshake(s, cli, srv, 100, 900))
	payload := make([]byte, 1448)
	data := s.pkt(srv, cli, PA, 901, 101, payload)
	ack := s.pkt(cli, srv, A, 101, 901, nil)
	seq := uint32(901)
	allocs := testing.AllocsPerRun(2000, func() {
		data.TCP.Seq = seq
		data.Frame++
		tr.Packet(&data)
		seq += 1448
		ack.TCP.Ack = seq
		ack.Frame++
		tr.Packet(&ack)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per in-order segment + ACK, want 0", allocs)
	}
	if h.n < 2000*1448 {
		t.Errorf("delivered %d bytes", h.n)
	}
}

// BenchmarkTrackerInOrder measures one established connection carrying
// in-order 1448-byte segments, each ACKed (two packets per iteration).
func BenchmarkTrackerInOrder(b *testing.B) {
	s := &synth{now: t0}
	const cli, srv = "10.0.0.1:40000", "10.0.0.2:80"
	h := &discardHandler{}
	tr := NewTracker(Config{}, nil, func(*StreamContext) StreamHandler { return h })
	feedAll(tr, handshake(s, cli, srv, 100, 900))
	data := s.pkt(srv, cli, PA, 901, 101, make([]byte, 1448))
	ack := s.pkt(cli, srv, A, 101, 901, nil)
	seq := uint32(901)
	b.ReportAllocs()
	b.SetBytes(1448)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data.TCP.Seq = seq
		data.Frame++
		tr.Packet(&data)
		seq += 1448
		ack.TCP.Ack = seq
		ack.Frame++
		tr.Packet(&ack)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/packet")
	b.ReportMetric(0, "allocs/packet") // see TestInOrderPathDoesNotAllocate
}

// BenchmarkTrackerInterleaved is BenchmarkTrackerInOrder over 1024
// established connections in turn, so that consecutive packets belong to
// different connections (the connection cache and table on every packet).
func BenchmarkTrackerInterleaved(b *testing.B) {
	s := &synth{now: t0}
	const conns = 1024
	const srv = "10.0.0.2:80"
	h := &discardHandler{}
	tr := NewTracker(Config{}, nil, func(*StreamContext) StreamHandler { return h })
	var data, ack [conns]layers.Packet
	var seq [conns]uint32
	for i := range conns {
		cli := fmt.Sprintf("10.1.%d.%d:%d", i>>8, i&0xff, 40000+i)
		feedAll(tr, handshake(s, cli, srv, 100, 900))
		data[i] = s.pkt(srv, cli, PA, 901, 101, make([]byte, 1448))
		ack[i] = s.pkt(cli, srv, A, 101, 901, nil)
		seq[i] = 901
	}
	b.ReportAllocs()
	b.SetBytes(1448)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % conns
		d, a := &data[k], &ack[k]
		d.TCP.Seq = seq[k]
		d.Frame++
		tr.Packet(d)
		seq[k] += 1448
		a.TCP.Ack = seq[k]
		a.Frame++
		tr.Packet(a)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/packet")
}

// benchCapture runs a whole capture through a new tracker per iteration
// and reports time and allocations per packet.
func benchCapture(b *testing.B, path string) {
	pkts := readPackets(b, path)
	b.ReportAllocs()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr := NewTracker(Config{}, nil, func(*StreamContext) StreamHandler { return &discardHandler{} })
		for j := range pkts {
			tr.Packet(&pkts[j])
		}
		tr.Close(Position{})
	}
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	n := float64(b.N * len(pkts))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/packet")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/packet")
}

// BenchmarkTrackerLossy runs the lossy client-side capture (3 % loss,
// reordering, duplicates): out-of-order buffering and hole filling.
func BenchmarkTrackerLossy(b *testing.B) {
	benchCapture(b, filepath.Join("..", "testdata", "tcpstate", "tcp-lossy-netem-curl-client-first116.pcap"))
}

// BenchmarkTrackerLossyFull is the same on the whole 1.7 MB capture in
// ../shared (skipped when absent).
func BenchmarkTrackerLossyFull(b *testing.B) {
	benchCapture(b, filepath.Join(sharedDir(b), "captures", "tcp", "tcp-lossy-netem-curl-client.pcap"))
}
