package tcpstate

// Budget is the memory that the decoders of many connections may hold
// together in buffers (partial PDUs, reassembled messages, pending
// requests): one budget for all of them, as Suricata's app-layer memcap.
// Each connection draws on it through a Meter. When a connection's growth
// would take the budget past its limit, the budget sheds the buffered
// state of the connections whose last delivery is the oldest (their decoders
// drop it and resynchronise at the next message) until the growth fits;
// when nothing else is left to shed, the growing connection's own state is
// shed. What is counted never exceeds the limit.
//
// A Budget is used from one goroutine: the one that runs the decoders of
// its connections (in a parallel run, each worker has its own).
type Budget struct {
	limit, used, high int64
	lru               meterList // meters holding bytes, in order of their last delivery
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

// A Holder is a stream handler that buffers bytes between deliveries
// (partial PDUs, messages being reassembled, pending requests) and can drop
// them when the memory budget needs them back. The analyzer asks Held after
// each delivery and counts it against the budget; Shed drops what is held
// and returns the bytes freed, after which the handler resynchronises on
// the next message it can frame (as after a gap).
type Holder interface {
	Held() int
	Shed(at Position) (freed int)
}

// A Reclaimer gives back a connection's buffered bytes when the budget
// needs them, and names the decoder that held them.
type Reclaimer interface {
	Reclaim(at Position) (decoder string, freed int)
}

// Meter is one connection's account on a Budget. A nil *Meter has no
// budget.
type Meter struct {
	b          *Budget
	owner      Reclaimer
	held       int64
	shed       bool // shed at least once (counted in ShedConns)
	prev, next *Meter
	listed     bool
}

// NewMeter returns a new connection's account; owner drops the
// connection's buffered state when the budget needs it.
func (b *Budget) NewMeter(owner Reclaimer) *Meter { return &Meter{b: b, owner: owner} }

// Sync records that the connection now holds held bytes. Growth that does
// not fit first sheds the connections quiet the longest; when that is not
// enough, this connection's own state is shed too. The bytes are counted
// after the delivery that buffered them, so the budget bounds what is held
// between deliveries: the memory of one delivery's growth at most comes on
// top, for the time of that delivery.
func (m *Meter) Sync(held int, at Position) {
	if m == nil {
		return
	}
	d := int64(held) - m.held
	if d <= 0 {
		m.release(-d)
		if m.held > 0 {
			m.b.lru.moveToBack(m) // active: the last to be shed
		}
		return
	}
	b := m.b
	if b.used+d > b.limit {
		if b.stats.FirstFrame == 0 {
			b.stats.FirstFrame = at.Frame
		}
		b.reclaim(d, m, at)
		if b.used+d > b.limit {
			b.shedOne(m, at)
			return
		}
	}
	m.held += d
	b.used += d
	b.high = max(b.high, b.used)
	b.lru.moveToBack(m)
}

func (m *Meter) release(n int64) {
	n = min(n, m.held)
	m.held -= n
	m.b.used -= n
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
	m.release(m.held)
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
	name, freed := v.owner.Reclaim(at)
	// Whatever was counted is given back, freed or not: the decoder may
	// report less than it held (nested buffers it cannot drop), and the
	// budget then errs on the side of what it was told at the last Sync.
	n := max(int64(freed), v.held)
	b.stats.Shed += n
	b.stats.ByDecoder[name] += n
	b.stats.Sheds++
	if !v.shed {
		v.shed = true
		b.stats.ShedConns++
	}
	v.release(v.held)
}

// meterList is a list of meters in order of their last delivery.
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
