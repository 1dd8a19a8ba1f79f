package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// loginFailureNumbers are server errors that end a login ([MS-TDS] and SQL
// Server's documented login errors): login failed, untrusted domain,
// account locked / expired / must change password, disabled, cannot open
// the requested database, single-user / upgrade mode.
var loginFailureNumbers = map[int32]bool{18456: true, 18452: true, 18486: true, 18487: true, 18488: true,
	18470: true, 4060: true, 4064: true, 18401: true, 18451: true, 18461: true}

// clientPrelogin records the client's PRELOGIN ([MS-TDS] 2.2.6.5): the
// options the server's answer is checked against, the instance, and when
// the first one was sent (for a server that never answers).
func (c *Conn) clientPrelogin(req *request, ms *msgState, m *Message, at tcpstate.Position) error {
	pl, _, err := ParsePrelogin(ms.payload)
	if err != nil {
		return err
	}
	c.clientPL = &pl
	if pl.HasInstance {
		c.stats.Instance = pl.Instance
	}
	req.prelogin = true
	if !c.preloginSent {
		c.preloginSent, c.preloginAt = true, at
	}
	if m != nil {
		m.Prelogin = &pl
	}
	return nil
}

// serverPrelogin handles the server's PRELOGIN response.
func (c *Conn) serverPrelogin(ms *msgState, m *Message, at tcpstate.Position) {
	pl, _, err := ParsePrelogin(ms.payload)
	if err != nil {
		c.messageError(tcpstate.ServerToClient, m, at, err)
		return
	}
	c.preloginResponse(&pl, at)
	if m != nil {
		m.Prelogin = &pl
	}
}

// preloginResponse checks the server's PRELOGIN ENCRYPTION against the
// client's ([MS-TDS] 2.2.6.5): it decides whether TLS follows, and reports
// a combination that ends the connection.
func (c *Conn) preloginResponse(srv *Prelogin, at tcpstate.Position) {
	if c.clientPL == nil || !c.clientPL.HasEncryption || !srv.HasEncryption {
		if srv.HasEncryption && srv.Encryption&^EncryptClientCert != EncryptNotSup {
			c.encryptTLS = true
		}
		return
	}
	cl, sv := c.clientPL.Encryption&^EncryptClientCert, srv.Encryption&^EncryptClientCert
	mismatch := cl == EncryptNotSup && sv == EncryptReq || (cl == EncryptOn || cl == EncryptReq) && sv == EncryptNotSup
	switch {
	case mismatch:
		c.stats.Encryption = "mismatch"
		c.encryptionMismatch(srv, at)
	case cl == EncryptNotSup || sv == EncryptNotSup:
		c.stats.Encryption = "off"
	case cl == EncryptOff && sv == EncryptOff:
		c.stats.Encryption = "login only"
		c.encryptTLS = true
	default:
		c.stats.Encryption = "on"
		c.encryptTLS = true
	}
}

// encryptionMismatch reports that one end requires the encryption the
// other does not support.
func (c *Conn) encryptionMismatch(srv *Prelogin, at tcpstate.Position) {
	who := "the server requires encryption but the client does not support it: the server closes the connection"
	if srv.Encryption&^EncryptClientCert == EncryptNotSup {
		who = "the client requires encryption but the server does not support it: the client closes the connection"
	}
	c.event(health.Event{Kind: health.TDSEncryptionMismatch, Severity: health.Error, Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("PRELOGIN encryption mismatch: client %s, server %s — %s", c.clientPL.Encryption, srv.Encryption, who),
		Evidence: map[string]any{"client": c.clientPL.Encryption.String(), "server": srv.Encryption.String()}})
}

// preloginStalled reports, at Close, a PRELOGIN the server never answered
// with any TDS byte.
//
// It is a claim that the server sent nothing, so it needs a capture that
// shows the server's side: its direction captured (packets, and no byte of
// it missed: tcpstate.Visibility.Captured) and nothing of it skipped
// undecoded. A one-sided capture cannot tell.
func (c *Conn) preloginStalled(reason tcpstate.CloseReason, at tcpstate.Position) {
	if !c.preloginSent || c.serverSpoke || c.gaveUp {
		return
	}
	srv := tcpstate.ServerToClient // the tracker's direction of the server's bytes
	if c.swapped {
		srv = tcpstate.ClientToServer
	}
	v := &c.ctx.Visibility
	// A Visibility with no packet counted was not filled in (a handler
	// driven directly, not by the tracker): judge from the bytes given.
	if v.Packets != [2]int64{} && !v.Captured(srv) || c.half[tcpstate.ServerToClient].losses > 0 {
		return
	}
	waited := at.Time.Sub(c.preloginAt.Time)
	c.event(health.Event{Kind: health.TDSPreloginStalled, Severity: health.Error, Time: at.Time, Frame: c.preloginAt.Frame,
		Message: fmt.Sprintf("PRELOGIN (frame %d) never answered: the server accepted the TCP connection but sent no TDS bytes in %.1f s before the connection ended (%s) — the client's \"timeout during ConsumePreLoginHandshake\"",
			c.preloginAt.Frame, waited.Seconds(), reason),
		Evidence: map[string]any{"waited_ms": millis(waited), "prelogin_frame": c.preloginAt.Frame, "close": reason.String()}})
}

// feedTLS hands TLS bytes, from PRELOGIN packets or raw records, to the TLS
// handler, made from Config.TLS on the first bytes.
func (c *Conn) feedTLS(dir tcpstate.Dir, b []byte, at tcpstate.Position) {
	c.tlsStarted = true
	c.stats.TLSBytes[dir] += int64(len(b))
	if !c.tlsMade {
		c.tlsMade = true
		if c.cfg.TLS != nil {
			c.tlsH = c.cfg.TLS(c.ctx)
		}
	}
	if c.tlsH != nil {
		c.tlsH.Feed(dir, b, at)
	}
}

// login7 records the client's LOGIN7 ([MS-TDS] 2.2.6.4): the TDS version
// (until LOGINACK gives the server's), the user, application, host and
// database. The password is never decoded.
func (c *Conn) login7(req *request, ms *msgState, m *Message) error {
	req.login = true
	l, _, err := ParseLogin7(ms.payload)
	if err != nil {
		return err
	}
	if c.version == 0 {
		c.version = l.TDSVersion
	}
	c.stats.User, c.stats.App, c.stats.Host = l.UserName, l.AppName, l.HostName
	if l.Database != "" {
		c.stats.Database = l.Database
	}
	req.Text = "LOGIN " + l.UserName
	if m != nil {
		m.Login = &l
	}
	return nil
}

// authMessage records an SSPI ([MS-TDS] 2.2.6.8) or federated
// authentication token (2.2.6.3) message: a step of the login, counted
// only.
func (c *Conn) authMessage(req *request, ms *msgState, m *Message) {
	req.login = true
	req.Text = ms.first.Type.String()
	if m != nil {
		m.DataBytes, m.HasDataBytes = ms.dataBytes(), true
	}
}

// loginAck applies a response's LOGINACK ([MS-TDS] 2.2.7.14): the login
// succeeded, and the server's TDS version replaces the client's.
func (c *Conn) loginAck(la *LoginAck) {
	if la == nil {
		if c.stats.TDSVersion == 0 {
			c.stats.TDSVersion = c.version
		}
		return
	}
	c.version = la.TDSVersion
	c.stats.TDSVersion = la.TDSVersion
	c.stats.ServerName = la.ProgName
	c.stats.ServerVersion = la.ServerVersion()
	c.stats.LoginsOK++
	c.loggedIn = true
}

// loginError records and reports an ERROR that ended a login.
func (c *Conn) loginError(e *ServerMessage, at tcpstate.Position) {
	if len(c.stats.LoginErrors) < 16 {
		c.stats.LoginErrors = append(c.stats.LoginErrors, *e)
	}
	c.event(health.Event{Kind: health.TDSLoginFailed, Severity: health.Error, Time: at.Time, Frame: at.Frame,
		Message:  fmt.Sprintf("login failed: error %d state %d class %d: %q (user %q)", e.Number, e.State, e.Class, e.Message, c.stats.User),
		Evidence: map[string]any{"number": e.Number, "state": e.State, "class": e.Class, "message": e.Message, "user": c.stats.User}})
}
