package tds

import (
	"fmt"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// clientMessage handles a complete client message: it decodes the message
// of its type and makes it the session's pending request. ATTENTION is
// not a request, and neither is a message with the IGNORE status bit.
func (c *Conn) clientMessage(sess *session, ms *msgState, at tcpstate.Position) {
	var m *Message // nil unless messages are wanted
	if c.want {
		m = c.newMessage(tcpstate.ClientToServer, sess.id, ms, at)
	}
	req := &request{start: ms.start}
	req.Frame, req.Time, req.Type, req.Session = at.Frame, at.Time, ms.first.Type, sess.id
	req.Database = c.stats.Database
	var err error
	switch ms.first.Type {
	case TypePrelogin:
		err = c.clientPrelogin(req, ms, m, at)
	case TypeLogin7:
		err = c.login7(req, ms, m)
	case TypeSQLBatch:
		err = c.sqlBatch(req, ms, m)
	case TypeRPC:
		err = c.rpc(req, ms, m)
	case TypeAttention:
		c.attention(sess, m, at)
	case TypeTransactionManager:
		err = c.tmRequest(req, ms, m)
	case TypeBulkLoad:
		req.Text = "BULK LOAD"
		if m != nil {
			m.DataBytes, m.HasDataBytes = ms.dataBytes(), true
		}
	case TypeSSPI, TypeFedAuthToken:
		c.authMessage(req, ms, m)
	default:
		req.Text = ms.first.Type.String()
	}
	if err != nil {
		c.messageError(tcpstate.ClientToServer, m, at, err)
	}
	if m != nil {
		c.message(m)
	}
	if ms.first.Type != TypeAttention && ms.first.Status&StatusIgnore == 0 {
		c.track(sess, ms, req)
	}
}

// sqlBatch records a SQL batch ([MS-TDS] 2.2.6.7): its text, cut to
// Limits.MaxSQLText.
func (c *Conn) sqlBatch(req *request, ms *msgState, m *Message) error {
	q, _, err := ParseSQLBatch(ms.payload, c.lim.MaxSQLText)
	if err != nil {
		return err
	}
	req.Text = q.SQL
	if m != nil {
		m.SQL = &q
	}
	return nil
}

// rpc records an RPC request ([MS-TDS] 2.2.6.6): the procedure, and the
// statement of sp_executesql and its kin as the request's text.
func (c *Conn) rpc(req *request, ms *msgState, m *Message) error {
	r, _, err := ParseRPC(ms.payload, c.lim.MaxParams, c.lim.MaxSQLText)
	if err != nil {
		return err
	}
	req.Proc = r.ProcName
	req.Text = r.ProcName
	if r.Statement != "" {
		req.Text = r.Statement
	}
	if m != nil {
		r.Params = withoutValues(r.Params)
		m.RPC = &r
	}
	return nil
}

// rpcParams returns the names and types of RPC parameters for a decoded
// message, marking output parameters (fByRefValue).
func rpcParams(params []Param) []map[string]any {
	ps := make([]map[string]any, 0, len(params))
	for _, p := range params {
		pm := map[string]any{"name": p.Name, "type": p.Type.String()}
		if p.Status&0x01 != 0 {
			pm["output"] = true
		}
		ps = append(ps, pm)
	}
	return ps
}

// tmRequest records a transaction manager request ([MS-TDS] 2.2.6.9).
func (c *Conn) tmRequest(req *request, ms *msgState, m *Message) error {
	t, _, err := ParseTMRequest(ms.payload)
	if err != nil {
		return err
	}
	req.Text = t.RequestName()
	if m != nil {
		m.TMRequest = t.RequestName()
	}
	return nil
}

// track makes req the session's pending request. The one it replaces is
// unanswered unless its response began; the time since the session's last
// response is the client's think time.
func (c *Conn) track(sess *session, ms *msgState, req *request) {
	c.unanswered(sess)
	if sess.hasLastResp {
		c.thinkTimes = appendCapped(c.thinkTimes, ms.start.Time.Sub(sess.lastRespEnd.Time), c.lim.MaxRequests)
	}
	sess.pending = req
	c.stats.RequestCount++
}

// unanswered counts and keeps the session's pending request when no
// response to it began, and reports whether it did so.
func (c *Conn) unanswered(sess *session) bool {
	p := sess.pending
	if p == nil || p.gotResp {
		return false
	}
	c.stats.Unanswered++
	c.keepRequest(&p.Request)
	return true
}

// serverMessage handles a complete server message: the response to the
// session's pending request.
func (c *Conn) serverMessage(sess *session, ms *msgState, at tcpstate.Position) {
	var m *Message // nil unless messages are wanted
	if c.want {
		m = c.newMessage(tcpstate.ServerToClient, sess.id, ms, at)
	}
	req := sess.pending
	if ms.prelogin {
		c.serverPrelogin(ms, m, at)
	} else {
		c.endTokens(ms, at)
		c.applyTokens(req, ms, at)
		if m != nil {
			c.tokenResponse(m, &ms.tok)
		}
	}
	if req != nil && req.gotResp {
		c.answer(req, m, at)
		sess.pending = nil
	}
	sess.lastRespEnd, sess.hasLastResp = at, true
	if m != nil {
		c.message(m)
	}
}

// answer completes req with the response that ended at at: server time
// runs from the request's last byte to the response's first, transfer time
// from there to the response's last byte.
func (c *Conn) answer(req *request, m *Message, at tcpstate.Position) {
	req.Answered = true
	req.ResponseFrame = at.Frame
	req.ServerTime = max(0, req.firstResp.Time.Sub(req.Time))
	req.TransferTime = max(0, at.Time.Sub(req.firstResp.Time))
	if m != nil {
		m.Answer = &Answer{RequestFrame: req.Frame, ServerTime: req.ServerTime, TransferTime: req.TransferTime}
	}
	c.serverTimes = appendCapped(c.serverTimes, req.ServerTime, c.lim.MaxRequests)
	if c.cfg.SlowQuery > 0 && req.ServerTime > c.cfg.SlowQuery && !req.prelogin {
		c.limitedEvent(health.Event{Kind: health.TDSSlowQuery, Severity: health.Notice, Time: at.Time, Frame: req.Frame,
			Message: fmt.Sprintf("%s (frame %d) took %.0f ms of server time before the first response byte (frame %d); threshold %.0f ms",
				req.Type, req.Frame, req.ServerTime.Seconds()*1000, at.Frame, c.cfg.SlowQuery.Seconds()*1000),
			Evidence: map[string]any{"server_ms": millis(req.ServerTime), "sql": req.Text, "response_frame": at.Frame, "rows": req.Rows}})
	}
	c.keepRequest(&req.Request)
}

// appendCapped appends d to s unless s holds n durations.
func appendCapped(s []time.Duration, d time.Duration, n int) []time.Duration {
	if len(s) >= n {
		return s
	}
	return append(s, d)
}

// keepRequest keeps r in Stats.Requests, up to Limits.MaxRequests.
func (c *Conn) keepRequest(r *Request) {
	if len(c.stats.Requests) < c.lim.MaxRequests {
		c.stats.Requests = append(c.stats.Requests, *r)
	}
}
