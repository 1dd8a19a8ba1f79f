package nettrace_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// heapCap is the peak heap the analysis of any capture stays under with the
// default limits (README "Fuzzing"): tcpstate's MaxBufferTotal (64 MiB) +
// MaxRetainTotal (16 MiB) of stream bytes, MaxConns (65536) tracked
// connections (about 3.6 KiB each in tcpstate), MaxFlowsKept (10000) flow
// summaries and MaxEventsKept (10000) events, plus the decoders'
// per-connection state, times two for the garbage collector's headroom
// (GOGC=100). Measured: live heap about 430 MiB and peak HeapInuse about
// 910-990 MiB at one million connections.
const heapCap = 1536 << 20

// synthConns writes to w a pcap of n TCP connections, each a handshake and
// one 32-byte request from a distinct client address and port, none of them
// closed: the tracker must evict to stay within its connection cap. Frames
// are 1 µs apart, so no connection idles out. Checksums are valid.
func synthConns(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	bw.Write(hdr)
	t := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).UnixMicro()
	frame := make([]byte, 16+54+32)
	write := func(src, dst [4]byte, sport, dport uint16, seq, ack uint32, flags byte, payload int) {
		t++
		f := frame[:16+54+payload]
		binary.LittleEndian.PutUint32(f[0:], uint32(t/1e6))
		binary.LittleEndian.PutUint32(f[4:], uint32(t%1e6))
		binary.LittleEndian.PutUint32(f[8:], uint32(54+payload))
		binary.LittleEndian.PutUint32(f[12:], uint32(54+payload))
		e := f[16:]
		copy(e[0:6], testcap.MACB)
		copy(e[6:12], testcap.MACA)
		e[12], e[13] = 0x08, 0x00
		ip := e[14:34]
		ip[0], ip[1] = 0x45, 0
		binary.BigEndian.PutUint16(ip[2:], uint16(40+payload))
		binary.BigEndian.PutUint32(ip[4:], 0x40000000) // id 0, DF
		ip[8], ip[9] = 64, 6
		ip[10], ip[11] = 0, 0
		copy(ip[12:16], src[:])
		copy(ip[16:20], dst[:])
		binary.BigEndian.PutUint16(ip[10:], checksum(ip, 0))
		tcp := e[34:]
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		binary.BigEndian.PutUint32(tcp[8:], ack)
		tcp[12], tcp[13] = 5<<4, flags
		binary.BigEndian.PutUint16(tcp[14:], 64240)
		tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0
		for i := range payload {
			tcp[20+i] = 'a' + byte(i%26)
		}
		seg := tcp[:20+payload]
		pseudo := uint32(src[0])<<8 | uint32(src[1]) + uint32(src[2])<<8 | uint32(src[3]) +
			uint32(dst[0])<<8 | uint32(dst[1]) + uint32(dst[2])<<8 | uint32(dst[3]) + 6 + uint32(len(seg))
		binary.BigEndian.PutUint16(tcp[16:], checksum(seg, pseudo))
		bw.Write(f)
	}
	srv := [4]byte{172, 16, 0, 1}
	for i := 0; i < n; i++ {
		cli := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
		cport := uint16(1024 + i%60000)
		const sport = 7777
		cisn, sisn := uint32(i)*7919, uint32(i)*104729
		write(cli, srv, cport, sport, cisn, 0, 0x02, 0)
		write(srv, cli, sport, cport, sisn, cisn+1, 0x12, 0)
		write(cli, srv, cport, sport, cisn+1, sisn+1, 0x18, 32)
	}
	return bw.Flush()
}

func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// peakHeap samples HeapInuse every 20 ms until stop is closed.
func peakHeap(stop <-chan struct{}) func() uint64 {
	var mu sync.Mutex
	var peak uint64
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 { <-done; mu.Lock(); defer mu.Unlock(); return peak }
}

// analyseConns streams n synthetic connections through an Analyzer with the
// default limits and checks the bounds; it returns the peak HeapInuse.
func analyseConns(tb testing.TB, n int) uint64 {
	runtime.GC()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(synthConns(pw, n)) }()
	stop := make(chan struct{})
	peak := peakHeap(stop)
	maxActive := 0
	a, err := nettrace.New(nettrace.Options{
		ProgressEvery: time.Millisecond,
		Progress:      func(p nettrace.Progress) { maxActive = max(maxActive, p.Active) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	rep, err := a.Analyze("synthetic", pr)
	close(stop)
	if err != nil {
		tb.Fatal(err)
	}
	p := peak()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	tb.Logf("%d connections, %d frames in %v: peak HeapInuse %d MiB (cap %d MiB), live heap after it %d MiB, max active %d, %d flows kept, %d dropped, %d tcp.evicted",
		n, rep.Capture.Frames, time.Since(start).Round(time.Millisecond), p>>20, heapCap>>20, ms.HeapAlloc>>20, maxActive,
		len(rep.Flows), rep.FlowsDropped, findingCount(rep, health.TCPEvicted))
	if rep.Capture.Frames != int64(3*n) {
		tb.Errorf("%d frames analysed, want %d", rep.Capture.Frames, 3*n)
	}
	if p > heapCap {
		tb.Errorf("peak heap %d MiB over the %d MiB cap", p>>20, heapCap>>20)
	}
	if maxActive > tcpstate.DefaultMaxConns {
		tb.Errorf("%d active connections, MaxConns is %d", maxActive, tcpstate.DefaultMaxConns)
	}
	if got := len(rep.Flows) + rep.FlowsDropped; got != n {
		tb.Errorf("%d flows kept + dropped, want %d", got, n)
	}
	if ev := findingCount(rep, health.TCPEvicted); ev < n-tcpstate.DefaultMaxConns {
		tb.Errorf("%d tcp.evicted, want at least %d", ev, n-tcpstate.DefaultMaxConns)
	}
	runtime.KeepAlive(rep)
	return p
}

// One million connections (15 times MaxConns, 10 times MaxFlowsKept), never
// closed, streamed through a pipe (the capture is never held in memory):
// the peak heap stays under heapCap, the tracker holds at most MaxConns
// connections, every connection is accounted for. About 16 s on an idle
// 2-core machine; -short, and the race detector, run 150000 connections
// (still 2.3 times MaxConns): the analysis runs on one goroutine, so the
// detector has nothing more to check at a million, which it would take
// about 10 minutes to analyse; the plain test run keeps the full size.
func TestMemoryMillionConnections(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 150_000
	}
	analyseConns(t, n)
}

// BenchmarkMillionConnections is the same run; it reports the peak heap as
// peak-heap-MiB:
//
//	go test -run '^$' -bench MillionConnections -benchtime 1x .
func BenchmarkMillionConnections(b *testing.B) {
	for range b.N {
		p := analyseConns(b, 1_000_000)
		b.ReportMetric(float64(p>>20), "peak-heap-MiB")
	}
}

func findingCount(rep *nettrace.Report, k health.Kind) int {
	for _, f := range rep.Findings {
		if f.Kind == k {
			return f.Count
		}
	}
	return 0
}
