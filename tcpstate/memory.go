package tcpstate

// Budget is the memory that the decoders of many connections may hold
// together in buffers (partial PDUs, reassembled messages, pending
// requests): one budget for all of them, as Suricata's app-layer memcap.
// Each connection draws on it through a Meter. When a decoder would take
// the budget past its limit, the budget sheds the buffered state of the
// connections that have been quiet the longest (their decoders drop it and
// resynchronise at the next message) until the new bytes fit; when nothing
// is left to shed, the growth is refused and the asking decoder drops the
// bytes itself. The budget is never exceeded.
//
// A Budget is used from one goroutine: the one that runs the decoders of
// its connections (in a parallel run, each worker has its own).
type Budget struct {
	limit, used, high int64
	lru               meterList // meters in order of their last growth
	stats             BudgetStats
}

// BudgetStats says what a Budget had to do.
type BudgetStats struct {
	Limit     int64 // the budget
	HighWater int64 // the most held at once
	// Shed counts the bytes dropped to stay within the budget, the times a
	// connection's state was dropped, and the connections concerned.
	Shed, Sheds int64
	ShedConns   int
	// ByDecoder splits Shed by the decoder that held the bytes.
	ByDecoder map[string]int64
	// FirstFrame is the frame being analysed when the budget was first
	// reached.
	FirstFrame int64
}

// NewBudget returns a budget of limit bytes (at least 1 MiB).
func NewBudget(limit int64) *Budget {
	return &Budget{limit: max(limit, 1<<20), stats: BudgetStats{ByDecoder: map[string]int64{}}}
}

// Stats returns what the budget did so far.
func (b *Budget) Stats() BudgetStats {
	s := b.stats
	s.Limit, s.HighWater = b.limit, b.high
	return s
}

// Used returns the bytes held now.
func (b *Budget) Used() int64 { return b.used }

// A Shedder drops the buffered state of a connection's decoders when the
// memory budget needs it back, and reports by decoder name how many bytes
// it dropped (after Releasing them from its Meter).
type Shedder interface {
	Shed(at Position) (dropped map[string]int)
}

// Meter is one connection's account on a Budget. Decoders stacked on a
// connection (TLS, then HTTP inside it) share its Meter: StreamContext.Meter.
// A nil *Meter has no budget: Grow always succeeds (decoders used on their
// own).
type Meter struct {
	b          *Budget
	owner      Shedder
	held       int64
	shed       bool // shed at least once (counted in ShedConns)
	prev, next *Meter
	listed     bool
}

// NewMeter returns a new connection's account; owner drops the
// connection's buffered state when the budget needs it.
func (b *Budget) NewMeter(owner Shedder) *Meter { return &Meter{b: b, owner: owner} }

// Grow reports whether n more bytes may be held, and counts them when so.
// at is the frame being analysed, for the budget's report.
func (m *Meter) Grow(n int, at Position) bool {
	if m == nil || n <= 0 {
		return true
	}
	b := m.b
	if b.used+int64(n) > b.limit {
		if b.stats.FirstFrame == 0 {
			b.stats.FirstFrame = at.Frame
		}
		b.reclaim(int64(n), m, at)
		if b.used+int64(n) > b.limit {
			return false
		}
	}
	m.held += int64(n)
	b.used += int64(n)
	b.high = max(b.high, b.used)
	b.lru.moveToBack(m)
	return true
}

// Release gives n bytes back.
func (m *Meter) Release(n int) {
	if m == nil || n <= 0 {
		return
	}
	n64 := min(int64(n), m.held)
	m.held -= n64
	m.b.used -= n64
	if m.held == 0 {
		m.b.lru.remove(m)
	}
}

// Held returns the bytes the connection's decoders hold.
func (m *Meter) Held() int64 {
	if m == nil {
		return 0
	}
	return m.held
}

// Close gives back everything the connection still held: its decoders are
// gone.
func (m *Meter) Close() {
	if m == nil {
		return
	}
	m.Release(int(m.held))
	m.b.lru.remove(m)
}

// reclaim sheds the connections quiet the longest, other than asking,
// until n more bytes fit.
func (b *Budget) reclaim(n int64, asking *Meter, at Position) {
	for v := b.lru.head; v != nil && b.used+n > b.limit; {
		next := v.next
		if v != asking && v.owner != nil {
			b.shedOne(v, at)
		}
		v = next
	}
}

func (b *Budget) shedOne(v *Meter, at Position) {
	dropped := v.owner.Shed(at)
	for name, n := range dropped {
		b.stats.Shed += int64(n)
		b.stats.ByDecoder[name] += int64(n)
	}
	b.stats.Sheds++
	if !v.shed {
		v.shed = true
		b.stats.ShedConns++
	}
	// Whatever the decoders did not release is written off: the budget
	// stays an upper bound of what they hold.
	if v.held > 0 {
		v.Release(int(v.held))
	}
}

// meterList is a list of meters in order of their last growth.
type meterList struct{ head, tail *Meter }

func (l *meterList) moveToBack(m *Meter) {
	if l.tail == m {
		return
	}
	l.remove(m)
	m.prev, m.next, m.listed = l.tail, nil, true
	if l.tail != nil {
		l.tail.next = m
	} else {
		l.head = m
	}
	l.tail = m
}

func (l *meterList) remove(m *Meter) {
	if !m.listed {
		return
	}
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		l.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		l.tail = m.prev
	}
	m.prev, m.next, m.listed = nil, nil, false
}
