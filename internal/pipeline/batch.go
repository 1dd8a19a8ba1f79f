package pipeline

import (
	"sync"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// batch is a stretch of the ordered record and the jobs it refers to.
type batch struct {
	recs    []record
	events  []health.Event
	msgs    []health.Message
	flows   []flowRecord
	packets []packetRecord
	payload []byte // the packets' payload prefixes
	parts   []part // one per worker
	pending sync.WaitGroup
}

func (b *batch) reset() {
	b.recs = b.recs[:0]
	clear(b.events)
	b.events = b.events[:0]
	clear(b.msgs)
	b.msgs = b.msgs[:0]
	clear(b.flows)
	b.flows = b.flows[:0]
	clear(b.packets)
	b.packets = b.packets[:0]
	b.payload = b.payload[:0]
	for i := range b.parts {
		b.parts[i].reset()
	}
}

// part is one worker's share of a batch.
type part struct {
	jobs  []job
	data  []byte   // copies of the stream bytes the jobs feed
	waits []uint64 // per job, the marked jobs issued to each worker before it
	out   []item   // what the jobs reported, filled by the worker
}

func (p *part) reset() {
	clear(p.jobs)
	p.jobs = p.jobs[:0]
	p.data = p.data[:0]
	p.waits = p.waits[:0]
	clear(p.out)
	p.out = p.out[:0]
}

type recordKind uint8

const (
	recEvent recordKind = iota
	recMessage
	recJob
	recFlow
	recPacket
)

// record is one entry of the ordered record: an index into the batch's
// events, messages, flows or packets, or into part w's jobs.
type record struct {
	kind recordKind
	w    int32
	i    int32
}

// flowRecord is a closed connection: its flow.summary event and FlowStats,
// completed at merge time with the events its decoders raised.
type flowRecord struct {
	event health.Event
	stats health.FlowStats
	conn  *conn
}

// packetRecord is one recorded packet, with the part of its payload that
// was kept copied to batch.payload[off:off+n].
type packetRecord struct {
	p      layers.Packet
	off, n int
	tag    uint8
}

type itemKind uint8

const (
	itemEvent itemKind = iota
	itemMessage
	itemNote
)

// item is something a job reported.
type item struct {
	kind itemKind
	ev   health.Event
	msg  health.Message
	id   uint64 // itemNote
	note string
}
