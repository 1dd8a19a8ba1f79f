package tcpstate

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
)

// TestRetransmissionCause checks the cause given in a retransmission's
// evidence (beyond tshark, from SACK/DSACK blocks and timestamps).
func TestRetransmissionCause(t *testing.T) {
	cli := netip.MustParseAddrPort("10.0.0.1:40000")
	srv := netip.MustParseAddrPort("10.0.0.2:80")
	const c, s = 100, 5000 // ISNs
	ms := time.Millisecond
	// handshake: 1 ms initial RTT, timestamps on.
	handshake := func(b *anaSynth) {
		b.add(anaSeg{at: 0, src: cli, dst: srv, flags: "S", seq: c, wscale: -1, tsval: 1})
		b.add(anaSeg{at: ms / 2, src: srv, dst: cli, flags: "SA", seq: s, ack: c + 1, wscale: -1, tsval: 1000, tsecr: 1})
		b.add(anaSeg{at: ms, src: cli, dst: srv, flags: "A", seq: c + 1, ack: s + 1, tsval: 2, tsecr: 1000})
		b.add(anaSeg{at: 2 * ms, src: cli, dst: srv, flags: "PA", seq: c + 1, ack: s + 1, payload: 100, tsval: 3, tsecr: 1000})
	}
	data := func(b *anaSynth, at time.Duration, i int, tsval uint32) {
		b.add(anaSeg{at: at, src: srv, dst: cli, flags: "A", seq: s + 1 + uint32(i)*1000, ack: c + 101, payload: 1000, tsval: tsval, tsecr: 3})
	}
	ackTo := func(b *anaSynth, at time.Duration, i int, tsecr uint32, sack ...[2]uint32) {
		b.add(anaSeg{at: at, src: cli, dst: srv, flags: "A", seq: c + 101, ack: s + 1 + uint32(i)*1000, tsval: 4, tsecr: tsecr, sack: sack})
	}
	// fastRetransmit: segment 1 of 0..4 is missing at the receiver, three
	// SACKing dup ACKs, then the fast retransmission (TSval 1010).
	fastRetransmit := func(b *anaSynth) {
		handshake(b)
		for i := 0; i < 5; i++ {
			data(b, 10*ms+time.Duration(i)*ms/10, i, uint32(1001+i))
		}
		ackTo(b, 11*ms, 1, 1001)
		for i := 2; i < 5; i++ {
			ackTo(b, 11*ms+time.Duration(i)*ms/10, 1, 1001, [2]uint32{s + 2001, s + 1001 + uint32(i+1)*1000})
		}
		data(b, 12*ms, 1, 1010)
	}
	tests := []struct {
		name      string
		build     func(b *anaSynth)
		kind      health.Kind
		cause     string
		evidence  string
		duplicate bool
	}{
		{name: "fast retransmission, original arrived late (timestamps)", kind: health.TCPFastRetransmission,
			build: func(b *anaSynth) {
				fastRetransmit(b)
				ackTo(b, 13*ms, 5, 1002) // echoes the original's TSval
			}, cause: "reorder", evidence: "timestamps"},
		{name: "fast retransmission, DSACK", kind: health.TCPFastRetransmission,
			build: func(b *anaSynth) {
				fastRetransmit(b)
				ackTo(b, 13*ms, 5, 1010, [2]uint32{s + 1001, s + 2001})
			}, cause: "reorder", evidence: "dsack"},
		{name: "fast retransmission repairs a loss", kind: health.TCPFastRetransmission,
			build: func(b *anaSynth) {
				fastRetransmit(b)
				ackTo(b, 13*ms, 5, 1010)
			}, cause: "loss", evidence: "acked"},
		{name: "RTO too early (timestamps)", kind: health.TCPRetransmission,
			build: func(b *anaSynth) {
				handshake(b)
				data(b, 10*ms, 0, 2000)
				data(b, 310*ms, 0, 2300)
				ackTo(b, 311*ms, 1, 2000)
			}, cause: "spurious", evidence: "timestamps"},
		{name: "RTO repairs a loss", kind: health.TCPRetransmission,
			build: func(b *anaSynth) {
				handshake(b)
				data(b, 10*ms, 0, 2000)
				data(b, 310*ms, 0, 2300)
				ackTo(b, 311*ms, 1, 2300)
			}, cause: "loss", evidence: "acked"},
		{name: "network duplicate", kind: health.TCPRetransmission,
			build: func(b *anaSynth) {
				handshake(b)
				data(b, 10*ms, 0, 2000)
				data(b, 10*ms+ms/10, 0, 2000)
			}, cause: "spurious", evidence: "duplicate", duplicate: true},
		{name: "segment delayed past later ones", kind: health.TCPRetransmission,
			build: func(b *anaSynth) {
				handshake(b)
				data(b, 10*ms, 1, 2001) // segment 0 overtaken
				data(b, 20*ms, 0, 2000)
			}, cause: "reorder", evidence: "timestamps"},
		{name: "never answered", kind: health.TCPRetransmission,
			build: func(b *anaSynth) {
				handshake(b)
				data(b, 10*ms, 0, 2000)
				data(b, 310*ms, 0, 2300)
			}, cause: "loss", evidence: "end"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newAnaSynth(t)
			tc.build(b)
			col := &health.Collector{}
			flags := anaRunDirect(b.frames, col)
			evs := col.OfKind(tc.kind)
			if len(evs) != 1 {
				t.Fatalf("%d %s events (flags %v); events %v", len(evs), tc.kind, flags, col.Events)
			}
			got := map[string]any{"cause": evs[0].Evidence["cause"], "cause_evidence": evs[0].Evidence["cause_evidence"], "duplicate": evs[0].Evidence["duplicate"] == true}
			want := map[string]any{"cause": tc.cause, "cause_evidence": tc.evidence, "duplicate": tc.duplicate}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cause (-want +got):\n%s\n%s", diff, evs[0].Message)
			}
		})
	}
}
