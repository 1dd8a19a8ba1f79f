package nettrace

import "testing"

// TestAutoWorkersNeedsAnIdleSecondCore: parallel decoding only when two
// CPUs are free; never more than four workers.
func TestAutoWorkersNeedsAnIdleSecondCore(t *testing.T) {
	for _, c := range []struct {
		cpus int
		load float64
		want int
	}{
		{1, 0, 1}, {2, 0, 2}, {2, 0.6, 1}, {2, 0.4, 2}, {4, 1, 3}, {16, 2, 4}, {8, 30, 1},
	} {
		if got := autoWorkers(c.cpus, c.load); got != c.want {
			t.Errorf("%d CPUs, load %.1f: %d workers, want %d", c.cpus, c.load, got, c.want)
		}
	}
	if n := AutoWorkers(); n < 1 || n > maxAutoWorkers {
		t.Errorf("AutoWorkers() = %d", n)
	}
}
