package nettrace_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// run analyses the capture's bytes with opts, collecting every event.
func run(t testing.TB, b []byte, opts nettrace.Options) (*nettrace.Report, *health.Collector) {
	t.Helper()
	col := &health.Collector{}
	if opts.Reporter == nil {
		opts.Reporter = col
	}
	a, err := nettrace.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("adversarial", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	for _, e := range col.Events {
		if e.Kind == health.InternalError {
			t.Errorf("internal.error at frame %d: %s", e.Frame, e.Message)
		}
	}
	return rep, col
}

// recorder is a stream decoder that keeps every byte and gap it is given.
type recorder struct {
	data   [2][]byte
	gaps   [2]int
	closed int
}

func (r *recorder) Feed(d tcpstate.Dir, b []byte, _ tcpstate.Position) {
	r.data[d&1] = append(r.data[d&1], b...)
}
func (r *recorder) Gap(d tcpstate.Dir, n int, _ tcpstate.Position) { r.gaps[d&1] += n }
func (r *recorder) Close(tcpstate.CloseReason, tcpstate.Position)  { r.closed++ }

// recordOn returns a Decoder claiming port that records into *rs.
func recordOn(port uint16, rs *[]*recorder) nettrace.Decoder {
	return nettrace.Decoder{Name: "recorder", Ports: []uint16{port}, New: func(*tcpstate.StreamContext) tcpstate.StreamHandler {
		r := &recorder{}
		*rs = append(*rs, r)
		return r
	}}
}

// allocated returns the bytes allocated while f runs (runtime TotalAlloc).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// nopOptions returns n NOP options, to be overwritten in the frame bytes
// (at offset 14+20+20) by options gopacket would not serialize.
func nopOptions(n int) []layers.TCPOption {
	o := make([]layers.TCPOption, n)
	for i := range o {
		o[i].OptionType = layers.TCPOptionKindNop
	}
	return o
}
