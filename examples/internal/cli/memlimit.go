package cli

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// DefaultMemoryBudget is nettrace's default Options.MemoryBudget (128 MiB).
const DefaultMemoryBudget = 128 << 20

// LimitMemory asks Go's garbage collector to keep the process under 15/8
// of the memory budget (240 MiB for the default 128 MiB), the headroom
// above the budget being for what the analysis keeps outside it: the state
// of each open connection, the kept events and summaries, the diagnoses'
// bounded history. Without a limit the collector lets the heap grow to
// twice what is live, which on a large capture is twice the peak of all
// of those.
//
// The limit must not make the collector run without end when more than
// that is live (tens of thousands of open connections): every 50 ms it is
// raised to one and a half times the live heap when that is higher, so
// the collector then behaves as with GOGC=50 instead of collecting
// continuously. A GOMEMLIMIT in the environment wins; budget ≤ 0 means
// the default. It returns the base limit set, 0 when GOMEMLIMIT decided,
// and a function that stops the adjustment.
func LimitMemory(budget int64) (limit int64, stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, func() {}
	}
	if budget <= 0 {
		budget = DefaultMemoryBudget
	}
	limit = budget / 8 * 15
	debug.SetMemoryLimit(limit)
	done := make(chan struct{})
	go followLiveHeap(limit, done)
	return limit, func() { close(done) }
}

// followLiveHeap keeps the soft memory limit at max(base, 1.5 × live heap)
// until done is closed.
func followLiveHeap(base int64, done <-chan struct{}) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	set := base
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		want := max(base, int64(sample[0].Value.Uint64())/2*3)
		if want != set {
			debug.SetMemoryLimit(want)
			set = want
		}
	}
}
