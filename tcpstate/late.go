package tcpstate

import (
	"fmt"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// lateAcks is what a tombstone keeps of one direction's sequence analysis
// to tell a duplicate ACK among the packets that come after the
// connection ended with FIN — a peer repeating its last ACK in TIME_WAIT,
// or a lost final ACK answered again — as tshark flags them
// (tcp.analysis.duplicate_ack: no data, the same sequence number, ACK and
// window as the sender's previous segment).
type lateAcks struct {
	set        bool
	nextSeq    uint32
	lastAck    uint32
	win        uint16
	base       uint32 // of the other direction, for relative ACK numbers
	dupAcks    int32
	lastNonDup int64
}

// from copies what h, one direction's analysis, knows at the end.
func (l *lateAcks) from(h *half) {
	*l = lateAcks{set: h.nextSeqSet && h.winSet, nextSeq: h.nextSeq, lastAck: h.lastAck, win: h.win,
		dupAcks: h.dupAcks, lastNonDup: h.lastNonDupAck}
}

// lateAck analyses a late packet p of direction d of the ended connection
// tb: a duplicate ACK is reported as tcp.dup_ack on the connection's flow;
// any packet updates what the next one is compared with. A second copy of
// a packet (duplicate) is left out, as during the connection.
func (t *Tracker) lateAck(tb *tomb, d Dir, p *layers.Packet) {
	l := &tb.acks[d]
	if !l.set || t.duplicateOf(tb.id, d, p) {
		return
	}
	tcp := &p.TCP
	ctl := tcp.Flags&(layers.FlagSYN|layers.FlagFIN|layers.FlagRST) != 0
	dup := p.PayloadLen == 0 && tcp.Window != 0 && tcp.Window == l.win && tcp.Seq == l.nextSeq && tcp.Ack == l.lastAck && !ctl
	switch {
	case dup:
		l.dupAcks++
		ack := tcp.Ack - tb.base[d.Other()]
		ev := map[string]any{"dup_ack_num": l.dupAcks, "ack": ack, "late": true}
		if l.lastNonDup != 0 {
			ev["dup_of_frame"] = l.lastNonDup
		}
		t.rep.Event(health.Event{Kind: health.TCPDupAck, Severity: health.DefaultSeverity(health.TCPDupAck), Time: p.Time, Frame: p.Frame, Flow: tb.flow,
			Message:  fmt.Sprintf("duplicate ACK #%d of frame %d after the connection closed: %s repeats its last ACK (seq %d)", l.dupAcks, l.lastNonDup, d, ack),
			Evidence: ev})
	case tcp.Ack != l.lastAck:
		l.dupAcks, l.lastNonDup = 0, p.Frame
	}
	l.lastAck, l.win = tcp.Ack, tcp.Window
	if end := tcp.Seq + uint32(p.PayloadLen); p.PayloadLen > 0 && seqGT(end, l.nextSeq) {
		l.nextSeq = end
	}
}
