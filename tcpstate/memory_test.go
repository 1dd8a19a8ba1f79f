package tcpstate

import "testing"

// holder is a connection whose decoders hold n bytes and drop them all
// when asked.
type holder struct {
	name  string
	n     int
	sheds int
}

func (h *holder) Reclaim(Position) (string, int) {
	freed := h.n
	h.n, h.sheds = 0, h.sheds+1
	return h.name, freed
}

// TestBudgetShedsTheQuietestFirst: growth past the limit sheds the
// connections whose last delivery is the oldest, never the one growing
// while others can give back enough, and the budget's count never
// exceeds its limit.
func TestBudgetShedsTheQuietestFirst(t *testing.T) {
	b := NewBudget(1 << 20)
	hs := make([]*holder, 4)
	ms := make([]*Meter, 4)
	for i := range hs {
		hs[i] = &holder{name: "x"}
		ms[i] = b.NewMeter(hs[i])
	}
	grow := func(i, n int, frame int64) {
		hs[i].n += n
		ms[i].Sync(hs[i].n, Position{Frame: frame})
		if b.Used() > 1<<20 {
			t.Fatalf("frame %d: %d bytes counted, over the limit", frame, b.Used())
		}
	}
	grow(0, 300<<10, 1)
	grow(1, 300<<10, 2)
	grow(2, 300<<10, 3)
	grow(0, 0, 4) // connection 0 is active again: 1 is now the quietest
	grow(3, 200<<10, 5)
	if hs[1].sheds != 1 || hs[0].sheds+hs[2].sheds+hs[3].sheds != 0 {
		t.Fatalf("sheds %d %d %d %d, want only connection 1's", hs[0].sheds, hs[1].sheds, hs[2].sheds, hs[3].sheds)
	}
	st := b.Stats()
	if st.Sheds != 1 || st.ShedConns != 1 || st.Shed != 300<<10 || st.ByDecoder["x"] != 300<<10 || st.FirstFrame != 5 {
		t.Errorf("stats %+v", st)
	}
	if b.Used() != 800<<10 || st.HighWater != 900<<10 {
		t.Errorf("used %d, high-water %d", b.Used(), st.HighWater)
	}
}

// TestBudgetShedsTheGrowerLast: a connection that alone would take the
// budget past its limit has its own state shed once nothing else is left.
func TestBudgetShedsTheGrowerLast(t *testing.T) {
	b := NewBudget(1 << 20)
	small, big := &holder{name: "a", n: 100}, &holder{name: "b", n: 2 << 20}
	ms, mb := b.NewMeter(small), b.NewMeter(big)
	ms.Sync(small.n, Position{Frame: 1})
	mb.Sync(big.n, Position{Frame: 2})
	if small.sheds != 1 || big.sheds != 1 || b.Used() != 0 || mb.Held() != 0 {
		t.Fatalf("sheds %d %d, used %d", small.sheds, big.sheds, b.Used())
	}
	// Close gives back what a connection held.
	mb.Sync(1000, Position{Frame: 3})
	mb.Close()
	if b.Used() != 0 {
		t.Errorf("used %d after Close", b.Used())
	}
	var nilMeter *Meter
	nilMeter.Sync(1<<30, Position{}) // no budget: nothing counted, no panic
	nilMeter.Close()
}
