package starttls

import (
	"bytes"
	"fmt"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Config configures a Conn.
type Config struct {
	// Protocol is the connection's protocol; Unknown means: take it from
	// the server port (ProtocolOfPort).
	Protocol Protocol
	// TLS builds the handler that receives the connection once the
	// upgrade is agreed (the tls package's decoder); nil: the TLS bytes
	// are counted, not decoded.
	TLS tcpstate.NewHandler
	// Limits bounds what the Conn buffers.
	Limits Limits
}

// state is where a Conn is.
type state uint8

const (
	stClear    state = iota // cleartext, no upgrade asked
	stAsked                 // the client asked; waiting for the server's answer
	stUpgraded              // TLS: everything goes to the TLS handler
	stGaveUp                // not followed any more
)

// chunk is client data held while the server has not answered.
type chunk struct {
	data []byte
	at   tcpstate.Position
}

// maxHeld bounds the client bytes held while the upgrade is pending: a
// ClientHello fits many times over (the client waits for the go-ahead).
const maxHeld = 64 << 10

// Conn follows one connection (a tcpstate.StreamHandler).
type Conn struct {
	ctx   *tcpstate.StreamContext
	cfg   Config
	lim   Limits
	proto Protocol
	st    state
	buf   [2][]byte // a partial line (or LDAP message) per direction
	skip  [2]bool   // after a gap: drop bytes up to the next line end

	tag      string            // IMAP tag of the pending STARTTLS
	ldapID   int64             // LDAP message ID of the pending StartTLS request
	askedAt  tcpstate.Position // the client's upgrade command
	held     []chunk           // client bytes after the command
	heldN    int
	tls      tcpstate.StreamHandler
	ignored  int64
	upgrades int
}

// NewConn returns the handler of one connection.
func NewConn(ctx *tcpstate.StreamContext, cfg Config) *Conn {
	c := &Conn{ctx: ctx, cfg: cfg, lim: cfg.Limits.withDefaults(), proto: cfg.Protocol}
	if c.proto == Unknown {
		c.proto = ProtocolOfPort(ctx.Server.Port())
	}
	return c
}

// guess sets the protocol of a connection on a port that does not name it
// from its first bytes, as Detect recognised them: a server greeting of
// IMAP or POP3, a client's first SMTP, POP3 or FTP command, or an LDAP
// message. An SMTP or FTP greeting ("220") waits for the client's command.
func (c *Conn) guess(dir tcpstate.Dir, b []byte) {
	has := func(p string) bool { return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p)) }
	switch {
	case dir == tcpstate.ServerToClient && has("* OK "):
		c.proto = IMAP
	case dir == tcpstate.ServerToClient && has("+OK"):
		c.proto = POP3
	case dir == tcpstate.ClientToServer && (has("EHLO ") || has("HELO ") || has("STARTTLS")):
		c.proto = SMTP
	case dir == tcpstate.ClientToServer && (has("CAPA") || has("STLS")):
		c.proto = POP3
	case dir == tcpstate.ClientToServer && (has("USER ") || has("AUTH ")):
		c.proto = FTP
	case dir == tcpstate.ClientToServer && len(b) > 0 && b[0] == 0x30:
		c.proto = LDAP
	}
}

// Upgraded reports whether the connection switched to TLS.
func (c *Conn) Upgraded() bool { return c.st == stUpgraded }

// Feed implements tcpstate.StreamHandler.
func (c *Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	switch c.st {
	case stUpgraded:
		c.toTLS(dir, data, at)
		return
	case stGaveUp:
		c.ignored += int64(len(data))
		return
	}
	if c.proto == Unknown {
		if c.guess(dir, data); c.proto == Unknown {
			if dir == tcpstate.ClientToServer || !bytes.HasPrefix(data, []byte("220")) {
				c.giveUp(dir, at, "neither SMTP, IMAP, POP3, FTP nor LDAP")
			}
			return // an SMTP or FTP greeting: the client's command will tell
		}
	}
	if dir == tcpstate.ClientToServer && c.st == stAsked {
		c.hold(data, at)
		return
	}
	for len(data) > 0 && c.st != stGaveUp && c.st != stUpgraded && !(dir == tcpstate.ClientToServer && c.st == stAsked) {
		var msg []byte
		var ok bool
		msg, data, ok = c.next(dir, data, at)
		if !ok {
			return
		}
		c.message(dir, msg, at)
	}
	if len(data) == 0 {
		return
	}
	switch {
	case c.st == stUpgraded: // the rest of the server's bytes after the go-ahead
		c.toTLS(dir, data, at)
	case c.st == stAsked && dir == tcpstate.ClientToServer: // bytes after the command
		c.hold(data, at)
	}
}

// next returns the next complete line (without CR LF) or LDAP message of
// dir from the bytes buffered and data, and the bytes after it; ok false
// when it is not complete yet (data was buffered) or the limit was
// reached (the Conn gave up).
func (c *Conn) next(dir tcpstate.Dir, data []byte, at tcpstate.Position) (msg, rest []byte, ok bool) {
	if c.proto == LDAP {
		return c.nextLDAP(dir, data, at)
	}
	i := bytes.IndexByte(data, '\n')
	if c.skip[dir] { // the rest of a line cut by a gap
		if i < 0 {
			return nil, nil, false
		}
		c.skip[dir] = false
		return nil, data[i+1:], true
	}
	if i < 0 {
		if len(c.buf[dir])+len(data) > c.lim.MaxLine {
			c.giveUp(dir, at, fmt.Sprintf("a cleartext line longer than %d bytes", c.lim.MaxLine))
			return nil, nil, false
		}
		c.buf[dir] = append(c.buf[dir], data...)
		return nil, nil, false
	}
	line := data[:i]
	if len(c.buf[dir]) > 0 {
		if len(c.buf[dir])+i > c.lim.MaxLine {
			c.giveUp(dir, at, fmt.Sprintf("a cleartext line longer than %d bytes", c.lim.MaxLine))
			return nil, nil, false
		}
		line = append(c.buf[dir], line...)
		c.buf[dir] = c.buf[dir][:0]
	}
	return bytes.TrimSuffix(line, []byte("\r")), data[i+1:], true
}

// nextLDAP is next for LDAP's BER-framed messages.
func (c *Conn) nextLDAP(dir tcpstate.Dir, data []byte, at tcpstate.Position) (msg, rest []byte, ok bool) {
	b := data
	if len(c.buf[dir]) > 0 {
		b = append(c.buf[dir], data...)
	}
	n, _, err := ldapFrame(b, c.lim.MaxLDAPMessage)
	if err != nil {
		c.giveUp(dir, at, err.Error())
		return nil, nil, false
	}
	if n == 0 || n > len(b) {
		c.buf[dir] = append(c.buf[dir][:0], b...)
		return nil, nil, false
	}
	msg, rest = b[:n], b[n:]
	if len(c.buf[dir]) > 0 {
		// b is the buffer: copy what follows the message before reusing it.
		rest = append([]byte(nil), rest...)
		msg = append([]byte(nil), msg...)
		c.buf[dir] = c.buf[dir][:0]
	}
	return msg, rest, true
}

// message handles one client or server line (or LDAP message).
func (c *Conn) message(dir tcpstate.Dir, msg []byte, at tcpstate.Position) {
	if dir == tcpstate.ClientToServer {
		if c.st == stClear && c.isUpgradeCommand(msg) {
			c.st, c.askedAt = stAsked, at
		}
		return
	}
	if c.st != stAsked {
		return
	}
	switch v := c.verdict(msg); v {
	case vAgreed:
		c.upgrade(msg, at)
	case vRefused:
		c.refused(msg, at)
	}
}

// isUpgradeCommand reports whether a client message asks for TLS.
func (c *Conn) isUpgradeCommand(msg []byte) bool {
	if c.proto == LDAP {
		id, tag, op, ok := ldapMessage(msg)
		if ok && isStartTLSRequest(tag, op) {
			c.ldapID = id
			return true
		}
		return false
	}
	tag, ok := upgradeCommand(c.proto, msg)
	c.tag = tag
	return ok
}

// verdict judges a server message while the upgrade is pending.
func (c *Conn) verdict(msg []byte) verdict {
	if c.proto == LDAP {
		id, tag, op, ok := ldapMessage(msg)
		if !ok || id != c.ldapID {
			return vNone
		}
		code, ok := extendedResult(tag, op)
		switch {
		case !ok:
			return vNone
		case code == 0:
			return vAgreed
		}
		return vRefused
	}
	return answer(c.proto, c.tag, msg)
}

// hold keeps client bytes sent after the upgrade command until the server
// answers.
func (c *Conn) hold(data []byte, at tcpstate.Position) {
	if c.heldN+len(data) > maxHeld {
		c.giveUp(tcpstate.ClientToServer, at, fmt.Sprintf("more than %d client bytes before the server answered the upgrade", maxHeld))
		return
	}
	c.heldN += len(data)
	c.held = append(c.held, chunk{data: append([]byte(nil), data...), at: at})
}

// upgrade switches the connection to TLS after the server's go-ahead
// reply, at at: the client's held bytes are its first TLS bytes.
func (c *Conn) upgrade(reply []byte, at tcpstate.Position) {
	c.st = stUpgraded
	c.upgrades++
	c.report("upgraded", reply, at)
	if c.cfg.TLS != nil {
		c.tls = c.cfg.TLS(c.ctx)
	}
	held := c.held
	c.held, c.heldN = nil, 0
	for _, h := range held {
		c.toTLS(tcpstate.ClientToServer, h.data, h.at)
	}
}

// refused handles a refused upgrade: the connection stays in cleartext,
// and the client bytes held are read as cleartext again.
func (c *Conn) refused(reply []byte, at tcpstate.Position) {
	c.st = stClear
	c.report("refused", reply, at)
	held := c.held
	c.held, c.heldN = nil, 0
	for _, h := range held {
		c.Feed(tcpstate.ClientToServer, h.data, h.at)
	}
}

// report emits the decoded message of an upgrade or a refusal.
func (c *Conn) report(result string, reply []byte, at tcpstate.Position) {
	r := c.ctx.Reporter
	if r == nil || !r.WantMessages() {
		return
	}
	f := map[string]any{"protocol": c.proto.String(), "result": result, "command_frame": c.askedAt.Frame}
	if c.proto != LDAP {
		f["reply"] = string(clip(reply))
	}
	r.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "starttls", Fields: f})
}

// clip shortens a reply line for a message.
func clip(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}

func (c *Conn) toTLS(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	if c.tls == nil {
		c.ignored += int64(len(data))
		return
	}
	c.tls.Feed(dir, data, at)
}

// giveUp stops following the connection, with one decode.gave_up event.
func (c *Conn) giveUp(dir tcpstate.Dir, at tcpstate.Position, reason string) {
	if c.st == stGaveUp {
		return
	}
	c.st = stGaveUp
	c.buf = [2][]byte{}
	c.held, c.heldN = nil, 0
	c.ctx.Event(health.Event{Kind: health.DecodeGaveUp, Severity: health.DefaultSeverity(health.DecodeGaveUp), Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("starttls: stopped following this %s connection at frame %d (%s direction): %s; an upgrade to TLS after it would not be decoded", c.proto, at.Frame, dir, reason),
		Evidence: map[string]any{"decoder": "starttls", "reason": reason, "dir": dir.String(), "bytes": 0}})
}

// Gap implements tcpstate.StreamHandler: after the upgrade the TLS
// decoder resynchronises; before it, a line protocol resumes at the next
// line end. LDAP's framing, and client bytes held while the upgrade is
// pending, cannot be resumed: the Conn gives up.
func (c *Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	switch {
	case c.st == stUpgraded:
		if c.tls != nil {
			c.tls.Gap(dir, n, at)
		}
	case c.st == stGaveUp:
	case c.proto == LDAP || c.st == stAsked && dir == tcpstate.ClientToServer:
		c.giveUp(dir, at, fmt.Sprintf("%d bytes not captured before the upgrade", n))
	default:
		c.buf[dir] = c.buf[dir][:0]
		c.skip[dir] = true
	}
}

// Close implements tcpstate.StreamHandler.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	if c.tls != nil {
		c.tls.Close(reason, at)
	}
	c.buf, c.held = [2][]byte{}, nil
}

// Finished implements tcpstate.Finisher for the TLS decoder after the
// upgrade.
func (c *Conn) Finished() string {
	if f, ok := c.tls.(tcpstate.Finisher); ok {
		return f.Finished()
	}
	return ""
}

// Detect recognises the cleartext start of a connection that may upgrade:
// a server greeting of SMTP or FTP ("220 "), IMAP ("* OK ") or POP3
// ("+OK"), or a client's first SMTP, POP3 or FTP command, or an LDAP
// StartTLS extended request. It is meant to confirm a well-known port
// (Ports), not to find these protocols elsewhere.
func Detect(dir tcpstate.Dir, b []byte) bool {
	if dir == tcpstate.ServerToClient {
		for _, p := range []string{"220 ", "220-", "* OK ", "+OK"} {
			if bytes.HasPrefix(b, []byte(p)) {
				return true
			}
		}
		return false
	}
	for _, p := range []string{"EHLO ", "HELO ", "CAPA\r\n", "STLS\r\n", "AUTH TLS", "USER ", "STARTTLS\r\n"} {
		if len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p)) {
			return true
		}
	}
	if n, _, err := ldapFrame(b, 1<<10); err == nil && n > 0 && n <= len(b) {
		_, tag, op, ok := ldapMessage(b[:n])
		return ok && isStartTLSRequest(tag, op)
	}
	return false
}
