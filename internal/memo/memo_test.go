package memo

import "testing"

// TestCacheKeepsWhatIsUsedAndStaysBounded: a value used in every
// generation stays; the cache never holds more than two generations.
func TestCacheKeepsWhatIsUsedAndStaysBounded(t *testing.T) {
	c := New[int, string](4)
	c.Put(-1, "hot")
	for i := range 100 {
		c.Put(i, "cold")
		if v, ok := c.Get(-1); !ok || v != "hot" {
			t.Fatalf("after %d puts the value in use is gone", i+1)
		}
		if _, _, n := c.Stats(); n > 8 {
			t.Fatalf("%d entries held, want at most 8", n)
		}
	}
	if _, ok := c.Get(0); ok {
		t.Error("an entry unused for many generations is still held")
	}
	hits, misses, _ := c.Stats()
	if hits != 100 || misses != 1 {
		t.Errorf("hits %d misses %d", hits, misses)
	}
}
