package nettrace

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// maxAutoWorkers is the most workers AutoWorkers chooses: past four, the
// calling goroutine (reading, decoding and tracking every packet) is the
// limit, not the decoders.
const maxAutoWorkers = 4

// AutoWorkers returns the Options.Workers that makes an analysis fastest on
// this machine now: one per CPU that is idle (runtime.GOMAXPROCS, which
// follows the container's CPU limit, less the system's one-minute load
// average where the system says it, as Linux does), at most four, and 1
// when fewer than two CPUs are idle. A parallel run needs a second core
// to gain: on a machine whose other cores are busy, the hand-over between
// goroutines only costs (measured: 2.1 s with two workers against 1.1 s
// with one on a busy 2-vCPU machine).
func AutoWorkers() int {
	return autoWorkers(runtime.GOMAXPROCS(0), loadAverage())
}

func autoWorkers(cpus int, load float64) int {
	idle := cpus - int(load+0.5)
	if idle < 2 {
		return 1
	}
	return min(idle, maxAutoWorkers)
}

// loadAverage returns the one-minute load average, or 0 where the system
// does not say it.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}
