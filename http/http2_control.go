package http

import (
	"fmt"
	"slices"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// This file holds the frames that control an HTTP/2 connection or end a
// stream: SETTINGS (RFC 9113, 6.5), RST_STREAM (6.4) and GOAWAY (6.8).

// settings applies a SETTINGS frame from dir (RFC 9113, 6.5): the header
// table size bounds the other direction's HPACK encoder, the maximum
// frame size the other direction's frames. Values are taken as the
// largest advertised, so that a frame sent before an update is not judged
// by it.
func (c *H2Conn) settings(dir tcpstate.Dir, h *h2half, f *Frame, at tcpstate.Position, fields map[string]any) {
	if fields != nil && len(f.Settings) > 0 {
		list := map[string]any{}
		for _, s := range f.Settings {
			list[s.ID.String()] = s.Value
		}
		fields["settings"] = list
	}
	if err := c.applySettings(dir, f.Settings); err != nil {
		c.malformed(dir, h, at, f.FrameHeader, err, true)
	}
}

// applySettings applies the settings sent by dir and returns an error for
// the first value RFC 9113, 6.5.2 forbids.
func (c *H2Conn) applySettings(dir tcpstate.Dir, settings []Setting) error {
	other := &c.half[dir^1]
	var first error
	for _, s := range settings {
		var bad string
		switch s.ID {
		case SettingHeaderTableSize:
			other.tableMax = max(other.tableMax, s.Value)
			if other.dec != nil {
				other.dec.SetAllowedMaxDynamicTableSize(uint32(min(int64(other.tableMax), int64(c.lim.MaxHPACKTableBytes))))
			}
		case SettingEnablePush:
			if s.Value > 1 {
				bad = "ENABLE_PUSH other than 0 or 1"
			}
		case SettingInitialWindowSize:
			if s.Value > 1<<31-1 {
				bad = "INITIAL_WINDOW_SIZE over 2^31-1"
			}
		case SettingMaxFrameSize:
			if s.Value < defaultMaxFrameSize || s.Value > MaxFrameLen {
				bad = "MAX_FRAME_SIZE outside 16384..16777215"
			} else {
				other.maxFrame = max(other.maxFrame, s.Value)
			}
		}
		if bad != "" && first == nil { // RFC 9113, 6.5.2
			first = perr2.Malformf("SETTINGS frame", "%s: %d", bad, s.Value)
		}
	}
	return first
}

// rstStream handles RST_STREAM (RFC 9113, 6.4): http2.stream_reset, and a
// message in progress on the stream is incomplete ("reset").
func (c *H2Conn) rstStream(dir tcpstate.Dir, f *Frame, at tcpstate.Position) {
	id := f.StreamID
	ev := map[string]any{"stream": id, "error_code": uint32(f.ErrCode), "error": f.ErrCode.String(), "from": dir.String()}
	sev := health.Warning
	switch f.ErrCode {
	case ErrCodeNo:
		sev = health.Info
	case ErrCodeCancel, ErrCodeRefusedStream:
		sev = health.Notice
	}
	var state string
	s := c.streams[id]
	switch {
	case s == nil:
		r, ok := c.recentStream(id)
		if !ok {
			state = "on a stream nettrace does not track"
			break
		}
		ev["request"] = r.request
		if r.status != 0 {
			ev["status"] = r.status
		}
		if r.complete {
			state, sev = "after the exchange was complete", health.Info
		} else {
			state = "on a stream already reset"
		}
	case s.refused:
		ev["request"] = s.request()
		state, sev = "on a stream the server's GOAWAY had left unprocessed", health.Info
	default:
		ev["request"] = s.request()
		resp := &s.msg[1]
		switch {
		case resp.ended:
			state = "after the response"
			if s.msg[0].ended {
				sev = health.Info
			}
		case resp.started:
			state = fmt.Sprintf("inside the response body (%d bytes received)", resp.bodyWire)
			ev["status"] = resp.status
		case s.msg[0].ended:
			state = "before the response"
		default:
			state = "while the request was being sent"
		}
	}
	ev["state"] = state
	req := ""
	if r, _ := ev["request"].(string); r != "" {
		req = " (" + r + ")"
	}
	c.event(health.HTTP2StreamReset, sev, at, fmt.Sprintf("the %s reset stream %d%s with %s, %s", dir, id, req, f.ErrCode, state), ev)
	if s == nil {
		return
	}
	for d := range s.msg {
		if m := &s.msg[d]; m.started && !m.ended {
			m.gap, m.cut = true, "reset"
			c.report(tcpstate.Dir(d), s, at)
		}
	}
	c.forget(s) // remembers which sides had ended it: frames in flight from the other are expected
}

// goAway handles GOAWAY (RFC 9113, 6.8): http2.goaway, naming the streams
// the receiver opened above last_stream_id (not processed; safe to retry).
func (c *H2Conn) goAway(dir tcpstate.Dir, f *Frame, at tcpstate.Position) {
	c.goaway[dir&1], c.lastID[dir&1] = true, f.LastStreamID
	var unprocessed []uint32
	for id, s := range c.streams {
		if (id%2 == 1) == (dir == tcpstate.ServerToClient) && id > f.LastStreamID {
			unprocessed = append(unprocessed, id)
			s.refused = true
		}
	}
	slices.Sort(unprocessed)
	sev := health.Warning
	if f.ErrCode == ErrCodeNo {
		sev = health.Info
	}
	ev := map[string]any{"error_code": uint32(f.ErrCode), "error": f.ErrCode.String(), "last_stream_id": f.LastStreamID, "from": dir.String()}
	msg := fmt.Sprintf("the %s sent GOAWAY with %s, last stream %d", dir, f.ErrCode, f.LastStreamID)
	if len(f.Debug) > 0 {
		ev["debug"] = printable(f.Debug)
		msg += fmt.Sprintf(" (%q)", ev["debug"])
	}
	if len(unprocessed) > 0 {
		ev["unprocessed"] = unprocessed
		msg += fmt.Sprintf("; streams %v were not processed (safe to retry)", unprocessed)
	}
	c.event(health.HTTP2GoAway, sev, at, msg, ev)
}

// printable returns b as text for an event, at most 64 bytes, with bytes
// outside printable ASCII as '.'.
func printable(b []byte) string {
	b = b[:min(len(b), 64)]
	out := make([]byte, len(b))
	for i, x := range b {
		if x < 0x20 || x > 0x7e {
			x = '.'
		}
		out[i] = x
	}
	return string(out)
}
