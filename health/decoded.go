package health

import (
	"iter"
	"time"
)

// Decoded is implemented by the decoders' typed messages (*smb.Message,
// *rpc.Message, *tds.Message, *tls.Message, *http.Message). Fields returns
// the message's JSON form — the "fields" object of a dissect record — as a
// new map: each type's Fields is the one place its JSON is defined, so the
// typed value and the JSON cannot disagree.
type Decoded interface {
	Fields() map[string]any
}

// Origin says where a typed message was seen; every typed message embeds
// it. Frame and Time are those of the Message that carries the value.
type Origin struct {
	// Frame is the frame the message is reported at, as tshark counts.
	Frame int64
	// Time is that frame's capture time.
	Time time.Time
	// Flow is the connection, "10.1.1.1:1099->172.16.1.1:445/tcp".
	Flow string
}

// Values returns the typed values of type T among ms, in order: for
// example Values[*smb.Message](collector.Messages) ranges over the SMB
// messages a Collector kept, with no type assertion in the caller.
func Values[T Decoded](ms []Message) iter.Seq[T] {
	return func(yield func(T) bool) {
		for i := range ms {
			if v, ok := ms[i].Value.(T); ok && !yield(v) {
				return
			}
		}
	}
}
