package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// attention handles ATTENTION ([MS-TDS] 2.2.1.7): the client cancels the
// session's pending request, often on a client-side query timeout. It is
// not a request itself; the server acknowledges it with DONE_ATTN in the
// cancelled request's response.
func (c *Conn) attention(sess *session, m *Message, at tcpstate.Position) {
	c.stats.Attentions++
	p := sess.pending
	if p == nil {
		return
	}
	p.Attention = true
	p.attnAt = at
	after := at.Time.Sub(p.Time)
	if m != nil {
		m.AttentionAfter, m.HasAttention = after, true
	}
	c.limitedEvent(health.Event{Kind: health.TDSAttention, Severity: health.Notice, Time: at.Time, Frame: at.Frame,
		Message: fmt.Sprintf("client cancelled its %s (frame %d) after %.0f ms (attention) — often a client-side query timeout",
			p.Type, p.Frame, after.Seconds()*1000),
		Evidence: map[string]any{"after_ms": millis(after), "request_frame": p.Frame, "sql": p.Text, "answered": p.gotResp}})
}
