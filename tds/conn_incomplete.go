package tds

import (
	"fmt"
	"sort"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// incomplete counts, per direction, the messages that never ended: a new
// message of another type began before the EOM packet ([MS-TDS] 2.2.3.1.2)
// of the previous one, or the connection ended first.
type incomplete struct {
	interrupted int               // replaced by a new message before EOM
	first       tcpstate.Position // start of the first interrupted message
	firstType   PacketType
	firstBytes  int
}

// interrupt counts ms, which a packet of another type ends before its EOM.
func (c *Conn) interrupt(dir tcpstate.Dir, ms *msgState) {
	in := &c.half[dir].cut
	if in.interrupted == 0 {
		in.first, in.firstType, in.firstBytes = ms.start, ms.first.Type, ms.dataBytes()
	}
	in.interrupted++
}

// reportIncomplete says decode.incomplete once per direction at Close: the
// messages of dir still being reassembled (the top-level one and those of
// SMP sessions), a packet cut in its middle, and those interrupted before.
func (c *Conn) reportIncomplete(dir tcpstate.Dir, reason tcpstate.CloseReason, at tcpstate.Position) {
	h := &c.half[dir]
	if h.resync || h.dead {
		return
	}
	open := c.openMessages(h)
	n := len(open) + h.cut.interrupted
	partial := len(h.buf) > 0 && h.tlsRemain == 0
	if n == 0 && !partial {
		return
	}
	ev := map[string]any{"decoder": decoderName, "dir": dir.String(), "end": reason.String(), "messages": n}
	var msg string
	var where tcpstate.Position
	switch {
	case len(open) > 0:
		ms := open[0]
		where = ms.start
		ev["what"], ev["bytes"], ev["packets"], ev["start_frame"] = ms.first.Type.String()+" message", ms.dataBytes(), ms.packets, ms.start.Frame
		msg = fmt.Sprintf("a %s message from the %s starting at frame %d (%d packets, %d bytes) never got its last packet (EOM) before the connection ended (%s)",
			ms.first.Type, dir, ms.start.Frame, ms.packets, ms.dataBytes(), reason)
	case partial:
		where = h.start
		ev["what"], ev["bytes"], ev["start_frame"] = "tds packet", len(h.buf), h.start.Frame
		msg = fmt.Sprintf("a TDS packet from the %s starting at frame %d has only %d bytes when the connection ended (%s)", dir, h.start.Frame, len(h.buf), reason)
	default:
		in := &h.cut
		where = in.first
		ev["what"], ev["bytes"], ev["start_frame"], ev["end"] = in.firstType.String()+" message", in.firstBytes, in.first.Frame, "interrupted"
		msg = fmt.Sprintf("a %s message from the %s starting at frame %d (%d bytes) was followed by a message of another type before its last packet (EOM)",
			in.firstType, dir, in.first.Frame, in.firstBytes)
	}
	if h.cut.interrupted > 0 && len(open)+btoi(partial) > 0 {
		msg += fmt.Sprintf("; %d earlier message(s) never ended either (the first at frame %d)", h.cut.interrupted, h.cut.first.Frame)
	}
	sev := health.Notice
	if len(open)+btoi(partial) > 0 && reason == tcpstate.CloseFIN && h.losses == 0 && c.ctx.Visibility.Captured(dir) {
		sev = health.Warning
		msg += ": the connection was closed with FIN, every byte captured, so the sender stopped in the middle of it"
	}
	c.ctx.Event(health.Event{Kind: health.DecodeIncomplete, Severity: sev, Time: where.Time, Frame: where.Frame,
		Message: msg + "; it is not decoded", Evidence: ev})
}

// openMessages returns the messages of h still being reassembled, SMP
// sessions by id.
func (c *Conn) openMessages(h *half) []*msgState {
	var out []*msgState
	if h.top.active {
		out = append(out, &h.top)
	}
	ids := make([]int, 0, len(h.smp))
	for id, f := range h.smp {
		if f.msg.active {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	for _, id := range ids {
		out = append(out, &h.smp[id].msg)
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
