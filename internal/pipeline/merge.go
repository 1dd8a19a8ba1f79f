package pipeline

import "github.com/nettrace/nettrace/health"

// mergeLoop replays each batch, in order, once its jobs have run.
func (pl *Pipeline) mergeLoop() {
	defer close(pl.merged)
	m := pl.cfg.Merger
	for b := range pl.merge {
		b.pending.Wait()
		for _, rec := range b.recs {
			switch rec.kind {
			case recEvent:
				m.Event(b.events[rec.i])
			case recPacket:
				pr := &b.packets[rec.i]
				pr.p.Payload = b.payload[pr.off : pr.off+pr.n : pr.off+pr.n]
				m.Packet(&pr.p, pr.tag)
			case recMessage:
				m.Message(b.msgs[rec.i])
			case recJob:
				pt := &b.parts[rec.w]
				j := &pt.jobs[rec.i]
				for k := j.out; k < j.end; k++ {
					apply(m, &pt.out[k])
				}
			case recFlow:
				mergeFlow(m, &b.flows[rec.i])
			}
		}
		b.reset()
		pl.free <- b
	}
}

func apply(m Merger, it *item) {
	switch it.kind {
	case itemEvent:
		m.Event(it.ev)
	case itemMessage:
		m.Message(it.msg)
	case itemNote:
		m.Note(it.id, it.note)
	}
}

// mergeFlow adds the events the connection's decoders raised to its
// summary's counts — in a single-worker run they are counted as raised —
// then hands over the summary event and the FlowStats.
func mergeFlow(m Merger, fr *flowRecord) {
	if fr.conn != nil {
		if cr := fr.conn.ctx.Reporter.(*connReporter); len(cr.counts) > 0 {
			counts := make(map[health.Kind]int, len(fr.stats.Counts)+len(cr.counts))
			for k, n := range fr.stats.Counts {
				counts[k] = n
			}
			for k, n := range cr.counts {
				counts[k] += n
			}
			fr.stats.Counts = counts
			if fr.event.Evidence != nil {
				byName := make(map[string]int, len(counts))
				for k, n := range counts {
					byName[string(k)] = n
				}
				fr.event.Evidence["events"] = byName
			}
		}
	}
	if fr.event.Kind != "" {
		m.Event(fr.event)
	}
	if fr.stats.Client.IsValid() {
		m.Flow(&fr.stats)
	}
}
