package tcpstate

import (
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Flags is a set of tcp.analysis flags of one segment, named as Wireshark
// names them.
type Flags uint32

// Analysis flags (Wireshark's tcp.analysis.*).
const (
	FlagRetransmission Flags = 1 << iota
	FlagFastRetransmission
	FlagSpuriousRetransmission
	FlagOutOfOrder
	FlagLostSegment
	FlagAckLostSegment
	FlagDuplicateAck
	FlagZeroWindow
	FlagZeroWindowProbe
	FlagZeroWindowProbeAck
	FlagWindowFull
	FlagWindowUpdate
	FlagKeepAlive
	FlagKeepAliveAck
	FlagReusedPorts
)

// seqAnalysis is the per-connection TCP analysis: Wireshark-compatible
// per-segment flags and the lifecycle findings. The zero value is ready.
// (analysis.go is being written; this is its contract with the tracker.)
type seqAnalysis struct{}

// analyze is called by the tracker for every segment of the connection, in
// capture order, before reassembly. It returns the segment's flags and
// emits the per-segment events through ctx.
func (a *seqAnalysis) analyze(ctx *StreamContext, dir Dir, p *layers.Packet) Flags {
	return 0
}

// finish is called once when the connection ends (before its flow.summary
// is emitted). It emits end-of-connection findings and fills the
// measurement fields of st.
func (a *seqAnalysis) finish(ctx *StreamContext, reason CloseReason, at Position, st *health.FlowStats) {
}
