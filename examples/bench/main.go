// Command bench measures the whole analysis on a capture: packets/s, MB/s,
// allocations per packet, the GC's share of CPU and peak RSS, next to a bare
// gopacket decode of the same file and — when tshark is on the PATH —
// tshark's TCP conversation statistics, all in the same run.
//
// Usage:
//
//	bench [-n 3] [-workers 1,2] [-tshark=true] [-memlimit=true] [-cpuprofile FILE] [-memprofile FILE] capture.pcap
//
// Each worker count is measured in turn (Options.Workers); the peak RSS is
// reset between them where the kernel allows it (/proc/self/clear_refs).
// Like doctor, bench sets Go's soft memory limit (cli.LimitMemory) unless
// -memlimit=false or GOMEMLIMIT is set.
//
// Build the benchmark input with examples/pcapsynth (see README.md).
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/internal/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	runs := fs.Int("n", 3, "analysis runs (the best is reported)")
	tshark := fs.Bool("tshark", true, "also time tshark -n -q -z conv,tcp when it is on the PATH")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the analysis runs to `file`")
	memprofile := fs.String("memprofile", "", "write an allocation profile of the analysis runs to `file`")
	fs.BoolVar(&keepNone, "keep-none", false, "keep no events nor flow summaries in the Report (default: doctor's, up to 10,000 of each)")
	memrate := fs.Int("memprofilerate", 0, "bytes per allocation sample in -memprofile (1: every allocation; 0: Go's default)")
	workerList := fs.String("workers", "1,2", "comma-separated worker counts to measure (Options.Workers)")
	memlimit := fs.Bool("memlimit", true, "set doctor's soft memory limit (15/8 of the default memory budget; GOMEMLIMIT wins)")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: bench [-n runs] [-workers 1,2] [-tshark=false] [-cpuprofile file] capture.pcap")
		return 2
	}
	workers, err := parseWorkers(*workerList)
	if err != nil {
		fmt.Fprintln(stderr, "bench: -workers:", err)
		return 2
	}
	path := fs.Arg(0)
	st, err := os.Stat(path)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	mb := float64(st.Size()) / 1e6
	if *memlimit {
		if limit, stop := cli.LimitMemory(0); limit > 0 {
			defer stop()
			fmt.Fprintf(stdout, "memory limit       %d MiB (Go's soft limit, as doctor sets it)\n", limit>>20)
		}
	}

	bare, bareCPU, frames, err := bestBareDecode(path, *runs)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	fmt.Fprintf(stdout, "capture            %s: %d packets, %.0f MB\n", path, frames, mb)
	fmt.Fprintf(stdout, "gopacket decode    %8.3f s  %9.0f packets/s  (DecodingLayerParser, zero-copy read, best of %d)\n",
		bare.Seconds(), float64(frames)/bare.Seconds(), *runs)
	fmt.Fprintf(stdout, "                   %8.3f s CPU  %9.0f packets per CPU-second\n", bareCPU.Seconds(), float64(frames)/bareCPU.Seconds())

	if *memrate > 0 {
		runtime.MemProfileRate = *memrate
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	pps1, err := measureWorkers(stdout, path, workers, *runs, frames, mb, bare)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	if *memprofile != "" {
		if f, err := os.Create(*memprofile); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	if *tshark {
		compareTshark(stdout, path, frames, workers[0], pps1)
	}
	return 0
}

// measureWorkers measures the analysis at each worker count and returns
// the packets/s of the first.
func measureWorkers(stdout io.Writer, path string, workers []int, runs int, frames int64, mb float64, bare time.Duration) (float64, error) {
	var pps1 float64
	for _, w := range workers {
		pps, err := measure(stdout, path, w, runs, frames, mb, bare)
		if err != nil {
			return 0, err
		}
		if pps1 == 0 {
			pps1 = pps
		} else {
			fmt.Fprintf(stdout, "                   %.2f× the first worker count\n", pps/pps1)
		}
	}
	return pps1, nil
}

// compareTshark times tshark on the capture and prints how many times
// faster the analysis at the first worker count (pps1 packets/s) was.
func compareTshark(stdout io.Writer, path string, frames int64, workers int, pps1 float64) {
	d, err := runTshark(path)
	if err != nil {
		fmt.Fprintf(stdout, "tshark             not measured: %v\n", err)
		return
	}
	tpps := float64(frames) / d.Seconds()
	fmt.Fprintf(stdout, "tshark conv,tcp    %8.3f s  %9.0f packets/s  → nettrace (%d worker) is %.1f× tshark\n", d.Seconds(), tpps, workers, pps1/tpps)
}

// bestBareDecode runs the bare gopacket decode runs times and returns the
// best wall and CPU times, as the analysis runs are reported.
func bestBareDecode(path string, runs int) (wall, cpu time.Duration, frames int64, err error) {
	wall, cpu = 1<<63-1, 1<<63-1
	for i := 0; i < max(runs, 1); i++ {
		cpu0 := processCPU()
		var d time.Duration
		d, frames, err = bareDecode(path)
		if err != nil {
			return 0, 0, 0, err
		}
		wall, cpu = min(wall, d), min(cpu, processCPU()-cpu0)
	}
	return wall, cpu, frames, nil
}

// measure runs the analysis with the given workers runs times and prints
// the best run; it returns its packets/s.
func measure(stdout io.Writer, path string, workers, runs int, frames int64, mb float64, bare time.Duration) (float64, error) {
	resetPeakRSS()
	best := time.Duration(1<<63 - 1)
	bestCPU := time.Duration(1<<63 - 1)
	var allocs, gcShare float64
	var mem nettrace.MemoryUse
	for i := 0; i < runs; i++ {
		cpu0 := processCPU()
		d, a, g, m, err := analyse(path, workers)
		mem = m
		if err != nil {
			return 0, err
		}
		bestCPU = min(bestCPU, processCPU()-cpu0)
		if d < best {
			best, allocs, gcShare = d, a/float64(frames), g
		}
	}
	pps := float64(frames) / best.Seconds()
	unit := "workers"
	if workers == 1 {
		unit = "worker"
	}
	fmt.Fprintf(stdout, "nettrace analysis  %8.3f s  %9.0f packets/s  %6.0f MB/s  %.2f allocs/packet  GC %.1f%% of CPU  (best of %d, %d %s)\n",
		best.Seconds(), pps, mb/best.Seconds(), allocs, 100*gcShare, runs, workers, unit)
	fmt.Fprintf(stdout, "                   %.0f%% of bare gopacket decode\n", 100*bare.Seconds()/best.Seconds())
	fmt.Fprintf(stdout, "process CPU time   %8.3f s  %9.0f packets per CPU-second (all threads, GC included; best run)\n",
		bestCPU.Seconds(), float64(frames)/bestCPU.Seconds())
	fmt.Fprintf(stdout, "peak RSS           %s\n", peakRSS())
	fmt.Fprintf(stdout, "memory budget      decoders held at most %.1f MiB of %.0f MiB; %d bytes shed on %d connections\n",
		float64(mem.HighWater)/(1<<20), float64(mem.Budget)/(1<<20), mem.Shed, mem.ShedConns)
	return pps, nil
}

// parseWorkers parses "1,2".
func parseWorkers(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a worker count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// resetPeakRSS restarts the kernel's peak-RSS count (VmHWM) so that each
// worker count reports its own; where that is not allowed the figure is
// the process's peak so far.
func resetPeakRSS() {
	runtime.GC()
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// keepNone makes the Report keep no events and no flow summaries
// (-keep-none): the cost of the analysis alone, without what doctor keeps
// to print.
var keepNone bool

// analyse runs the full analysis once and returns its wall time, the
// allocations it made, the GC's share of CPU during it and what the
// memory budget held at most.
func analyse(path string, workers int) (time.Duration, float64, float64, nettrace.MemoryUse, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	gc0, cpu0 := gcCPU()
	start := time.Now()
	opts := nettrace.Options{Workers: workers} // doctor's defaults
	if keepNone {
		opts.MaxEventsKept, opts.MaxFlowsKept = -1, -1
	}
	rep, err := nettrace.AnalyzeFile(path, opts)
	d := time.Since(start)
	gc1, cpu1 := gcCPU()
	runtime.ReadMemStats(&after)
	share := 0.0
	if cpu1 > cpu0 {
		share = (gc1 - gc0) / (cpu1 - cpu0)
	}
	var mem nettrace.MemoryUse
	if rep != nil {
		mem = rep.Memory
	}
	return d, float64(after.Mallocs - before.Mallocs), share, mem, err
}

func gcCPU() (gc, total float64) {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/cpu/classes/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64(), s[1].Value.Float64()
}

// bareDecode is the reference: read every frame zero-copy and decode
// Ethernet/IP/TCP/UDP with preallocated layers, doing nothing else.
func bareDecode(path string) (time.Duration, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return 0, 0, err
	}
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var ip6 layers.IPv6
	var tcp layers.TCP
	var udp layers.UDP
	var payload gopacket.Payload
	p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &udp, &payload)
	p.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	var n int64
	start := time.Now()
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, n, err
		}
		n++
		_ = p.DecodeLayers(data, &decoded)
	}
	return time.Since(start), n, nil
}

func runTshark(path string) (time.Duration, error) {
	bin, err := exec.LookPath("tshark")
	if err != nil {
		return 0, errors.New("tshark is not on the PATH (apt-get install tshark)")
	}
	start := time.Now()
	cmd := exec.Command(bin, "-n", "-q", "-z", "conv,tcp", "-r", path)
	cmd.Stdout = io.Discard
	if err := cmd.Run(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// processCPU is the user+system CPU time the process has used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS reads the process's peak resident set size from /proc.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown (no /proc)"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%.0f MB", float64(kb)/1024)
		}
	}
	return "unknown"
}
