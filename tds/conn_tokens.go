package tds

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// feedTokens decodes the tokens of one response packet payload ([MS-TDS]
// 2.2.7). A token may span packets: its start is kept (up to
// Limits.MaxToken) until complete.
func (c *Conn) feedTokens(ms *msgState, payload []byte, at tcpstate.Position) {
	ts := &ms.tok
	if ts.stopped {
		ts.skipped += len(payload)
		return
	}
	whole := join(&ts.pending, payload)
	b := whole
	for len(b) > 0 {
		if ts.count >= c.lim.MaxTokensPerMessage {
			b = ts.stop(b)
			break
		}
		tok, rest, err := ParseToken(b, &ts.ctx)
		if errors.Is(err, ErrTruncated) {
			break
		}
		if err != nil {
			ts.err = err
			b = ts.stop(b)
			break
		}
		ts.count++
		c.token(ts, &tok, at)
		b = rest
	}
	if len(b) > c.lim.MaxToken {
		b = ts.stop(b)
	}
	ts.pending = keepTail(ts.pending, whole, len(whole)-len(b))
}

// stop gives up decoding the rest of the response: b and what follows it
// are counted as skipped. It returns what is left of b (nothing).
func (ts *tokenStream) stop(b []byte) []byte {
	ts.stopped = true
	ts.skipped += len(b)
	return nil
}

// endTokens finishes a response's token stream at EOM.
func (c *Conn) endTokens(ms *msgState, at tcpstate.Position) {
	ts := &ms.tok
	if len(ts.pending) > 0 && c.version == 0 && ts.ctx.Version == 0 && !ts.stopped {
		c.retryTDS71(ts, at)
	}
	if len(ts.pending) > 0 {
		c.leftover(ts, at)
	}
	if ts.err != nil && errors.Is(ts.err, ErrMalformed) {
		c.emitMalformed(tcpstate.ServerToClient, at, ts.err)
	}
}

// retryTDS71 decodes the bytes left at the end of a response of unknown
// version (picked up mid-stream) with the TDS 7.1 layout: a 7.0/7.1
// server's 9-byte DONE tokens leave bytes over under the 7.2 layout. The
// tokens count, and the version becomes 7.1, only when the rest parses
// whole as DONE* and RETURNSTATUS tokens.
func (c *Conn) retryTDS71(ts *tokenStream, at tcpstate.Position) {
	ctx := ts.ctx
	ctx.Version = TDS71
	b := ts.pending
	var toks []Token
	for len(b) > 0 {
		tok, rest, err := ParseToken(b, &ctx)
		if err != nil || (tok.Type != TokenDone && tok.Type != TokenDoneProc && tok.Type != TokenDoneInProc && tok.Type != TokenReturnStatus) {
			break
		}
		toks = append(toks, tok)
		b = rest
	}
	if len(b) > 0 {
		return
	}
	c.version = TDS71
	for i := range toks {
		c.token(ts, &toks[i], at)
	}
	ts.pending = ts.pending[:0]
}

// leftover handles bytes at the end of a complete response that do not
// form a token. With the version known from the login, a complete response
// must end on a token boundary: bytes over are a broken token stream.
// Picked up mid-stream (version unknown) they may be a layout we guessed
// wrong, so they are only counted.
func (c *Conn) leftover(ts *tokenStream, at tcpstate.Position) {
	ts.skipped += len(ts.pending)
	if ts.err == nil {
		ts.err = truncated("token stream", 0)
		ts.err.(*ParseError).Detail = fmt.Sprintf("%d bytes at the end of the response do not form a token", len(ts.pending))
	}
	ts.pending = ts.pending[:0]
	if c.version != 0 && !ts.stopped {
		c.emitMalformed(tcpstate.ServerToClient, at, ts.err)
	}
}

// addName lists a token in the decoded message; runs of ROW or NBCROW
// become one entry ("ROW×12").
func (c *Conn) addName(ts *tokenStream, name string) {
	if name == ts.lastName && (name == "ROW" || name == "NBCROW") {
		ts.repeat++
		return
	}
	c.flushName(ts)
	ts.lastName, ts.repeat = name, 1
}

// flushName ends the current run of addName, keeping at most 64 entries.
func (c *Conn) flushName(ts *tokenStream) {
	if ts.lastName == "" || !c.want {
		ts.lastName = ""
		return
	}
	n := ts.lastName
	if ts.repeat > 1 {
		n = fmt.Sprintf("%s×%d", n, ts.repeat)
	}
	if len(ts.names) < 64 {
		ts.names = append(ts.names, n)
	} else if len(ts.names) == 64 {
		ts.names = append(ts.names, "…")
	}
	ts.lastName, ts.repeat = "", 0
}

// token records one token of a response, and its label for the decoded
// message.
func (c *Conn) token(ts *tokenStream, t *Token, at tcpstate.Position) {
	c.record(ts, t, at)
	name := t.Type.String()
	if c.want {
		name = tokenLabel(t, name, ts.ctx.Columns)
	}
	c.addName(ts, name)
}

// record applies token t to the response's state.
func (c *Conn) record(ts *tokenStream, t *Token, at tcpstate.Position) {
	switch t.Type {
	case TokenRow, TokenNBCRow:
		ts.rows++
		if c.want && len(ts.rowValues) < c.lim.MaxRowValues {
			ts.rowValues = append(ts.rowValues, rowValues(t.Row, ts.ctx.Columns))
		}
	case TokenDone, TokenDoneProc, TokenDoneInProc:
		ts.done(t.Done)
	case TokenError:
		m := t.Info
		if len(ts.errors) < 16 {
			ts.errors = append(ts.errors, ServerMessage{Number: m.Number, State: m.State, Class: m.Class, Message: m.Message})
		}
		ts.note(c.want, true, m)
	case TokenInfo:
		ts.infos++
		ts.note(c.want, false, t.Info)
	case TokenLoginAck:
		la := t.LoginAck
		ts.loginAck = &la
		ts.ctx.Version = la.TDSVersion // the rest of this response uses it
	case TokenEnvChange:
		c.envChange(t.Env, at)
	}
}

// rowValues renders the values of a ROW or NBCROW for a decoded message.
func rowValues(row []Value, cols []Column) []any {
	vals := make([]any, len(row))
	for i := range row {
		vals[i] = row[i].Interface(cols[i].Type, 64)
	}
	return vals
}

// done records the status of a DONE, DONEPROC or DONEINPROC token
// ([MS-TDS] 2.2.7.6): the row count when DONE_COUNT is set, errors, and
// the acknowledgement of an attention.
func (ts *tokenStream) done(d Done) {
	if d.Status&DoneCount != 0 {
		ts.doneRows += int64(d.RowCount)
		ts.doneCount = true
	}
	if d.Status&DoneError != 0 || d.Status&DoneSrvError != 0 {
		ts.doneError = true
	}
	if d.Status&DoneAttn != 0 {
		ts.attnAck = true
	}
}

// envChange applies an ENVCHANGE ([MS-TDS] 2.2.7.9): the current database,
// and the report of a routing to another server.
func (c *Conn) envChange(e EnvChange, at tcpstate.Position) {
	switch e.Type {
	case EnvDatabase:
		c.stats.Database = e.New
	case EnvRouting:
		c.event(health.Event{Kind: health.TDSRouting, Severity: health.Info, Time: at.Time, Frame: at.Frame,
			Message:  fmt.Sprintf("server routes the client to %s port %d (ENVCHANGE routing)", e.Server, e.Port),
			Evidence: map[string]any{"server": e.Server, "port": e.Port}})
	}
}

// tokenLabel returns how a decoded message lists token t, named name: with
// the numbers that matter for its type (cols are the columns of a
// COLMETADATA).
func tokenLabel(t *Token, name string, cols []Column) string {
	switch t.Type {
	case TokenColMetadata:
		cs := make([]string, 0, len(cols))
		for _, col := range cols {
			cs = append(cs, col.Name+" "+col.Type.String())
		}
		return fmt.Sprintf("COLMETADATA(%s)", strings.Join(cs, ", "))
	case TokenDone, TokenDoneProc, TokenDoneInProc:
		return doneLabel(name, t.Done)
	case TokenError:
		return fmt.Sprintf("ERROR(%d,class=%d,state=%d)", t.Info.Number, t.Info.Class, t.Info.State)
	case TokenInfo:
		return fmt.Sprintf("INFO(%d)", t.Info.Number)
	case TokenEnvChange:
		return fmt.Sprintf("ENVCHANGE(%s=%s)", t.Env.Name(), t.Env.New)
	case TokenReturnStatus:
		return fmt.Sprintf("RETURNSTATUS(%d)", t.ReturnStatus)
	case TokenReturnValue:
		return fmt.Sprintf("RETURNVALUE(%s %s)", t.ReturnValue.Name, t.ReturnValue.Type)
	case TokenFeatureExtAck:
		return fmt.Sprintf("FEATUREEXTACK(%s)", strings.Join(featureList(t.Features), ","))
	}
	return name
}

// doneLabel labels a DONE* token: "DONE(status=0x10,rows=3)".
func doneLabel(name string, d Done) string {
	name = fmt.Sprintf("%s(status=0x%x", name, d.Status)
	if d.Status&DoneCount != 0 {
		name += fmt.Sprintf(",rows=%d", d.RowCount)
	}
	if d.Status&DoneAttn != 0 {
		name += ",attn"
	}
	return name + ")"
}

// applyTokens applies a response's results to its request and raises the
// login and error events.
func (c *Conn) applyTokens(req *request, ms *msgState, at tcpstate.Position) {
	ts := &ms.tok
	rows := ts.rows
	if rows == 0 && ts.doneCount {
		rows = ts.doneRows
	}
	c.loginAck(ts.loginAck)
	isLogin := req != nil && req.login
	loginFailed := false
	for i := range ts.errors {
		e := &ts.errors[i]
		e.Frame = at.Frame
		if (isLogin && ts.loginAck == nil) || (!c.loggedIn && loginFailureNumbers[e.Number]) {
			loginFailed = true
			c.loginError(e, at)
			continue
		}
		if e.Class >= 11 {
			c.serverError(req, e, at)
		}
	}
	if loginFailed {
		c.stats.LoginsFailed++
	}
	if req != nil {
		req.Rows = rows
	}
}

// serverError records and reports an ERROR of class 11 or more (an error
// the user can correct, or worse) in the response to req (nil when none is
// pending).
func (c *Conn) serverError(req *request, e *ServerMessage, at tcpstate.Position) {
	c.stats.Errors++
	sql, rf := "", int64(0)
	if req != nil {
		req.Errors = append(req.Errors, e.Number)
		sql, rf = req.Text, req.Frame
	}
	c.limitedEvent(health.Event{Kind: health.TDSError, Severity: health.Warning, Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("SQL Server error %d (class %d, state %d): %s", e.Number, e.Class, e.State, e.Message),
		Evidence: map[string]any{"number": e.Number, "class": e.Class, "state": e.State, "message": e.Message, "sql": sql, "request_frame": rf}})
}

// maxNotes bounds the ERROR and INFO tokens listed in one decoded message.
const maxNotes = 16

// note keeps an ERROR or INFO token for the decoded message, when
// messages are wanted.
func (ts *tokenStream) note(want, isErr bool, m MessageInfo) {
	if want && len(ts.notes) < maxNotes {
		ts.notes = append(ts.notes, ServerNote{Error: isErr, MessageInfo: m})
	}
}

// noteFields renders the ERROR and INFO tokens ([MS-TDS] 2.2.7.10,
// 2.2.7.13) as tshark names their fields (tds.error.msgtext,
// servername, procname, linenumber): kind, number, state, class,
// error_message, server, procedure (when not empty) and line.
func noteFields(notes []ServerNote) []map[string]any {
	out := make([]map[string]any, len(notes))
	for i, n := range notes {
		kind := "info"
		if n.Error {
			kind = "error"
		}
		m := map[string]any{"kind": kind, "number": n.Number, "state": n.State, "class": n.Class,
			"error_message": n.Message, "server": n.Server, "line": n.Line}
		if n.Proc != "" {
			m["procedure"] = n.Proc
		}
		out[i] = m
	}
	return out
}

// tokenResponse gives a response's decoded message what its tokens said.
func (c *Conn) tokenResponse(m *Message, ts *tokenStream) {
	c.flushName(ts)
	m.Response = &Response{Tokens: ts.names, Rows: ts.rows, Errors: ts.errors, Notes: ts.notes,
		LoginAck: ts.loginAck, RowValues: ts.rowValues, UndecodedBytes: ts.skipped}
	if ts.err != nil {
		m.Error = ts.err.Error()
	}
}
