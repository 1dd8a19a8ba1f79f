package tls

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Conn decodes one TLS connection (or any byte stream of TLS records, such
// as the records a TDS PRELOGIN exchange carries). It implements
// tcpstate.StreamHandler: it reassembles records across Feed calls,
// handshake messages across records, decrypts with the Config's KeyLog,
// emits tls.* events and "tls" messages, and hands decrypted application
// data to the Config's Plaintext decoder with the Position of the frame
// that completed each record. It is a tcpstate.Finisher: a close_notify
// ends a session cleanly. A Conn is not safe for concurrent use.
type Conn struct {
	ctx  *tcpstate.StreamContext
	cfg  Config
	lim  Limits
	half [2]halfConn
	// held are the events saying why the connection is not decrypted, said
	// at Close with how much was not (releaseHeld).
	held []health.Event

	haveCH        bool
	chPos         tcpstate.Position
	serverFedAtCH int64 // server bytes delivered before the last ClientHello
	clientRandom  [32]byte
	sni           string
	offered13     bool
	earlyData     bool

	haveSH       bool
	hrr          bool
	version      Version
	suiteID      uint16
	suite        *suite
	serverRandom [32]byte
	etm          bool
	certs        []CertInfo
	certPos      tcpstate.Position
	hostChecked  bool
	hostScanned  int

	alpn        string // the protocol the server selected (RFC 7301)
	closeNotify bool   // a close_notify alert was seen (RFC 8446, 6.1)

	failed      bool                   // a fatal alert or handshake failure was reported
	noKeyDone   bool                   // tls.no_key was said (once per connection)
	failDone    bool                   // tls.decrypt_failed was said: an unsupported suite or a key that does not authenticate (once per connection)
	plain       tcpstate.StreamHandler // Config.Plaintext's decoder
	plainOpened bool
	notPlain    string            // why the plaintext is not handed to Config.Plaintext
	notPlainPos tcpstate.Position // the first application data not handed over
	notPlainDir tcpstate.Dir
	notPlainN   int                    // bytes of application data not handed over
	raw         tcpstate.StreamHandler // Config.Decrypted's receiver
	rawOpened   bool
	closed      bool

	// onRecord, when set (by tests), is told of every whole record: the
	// frame that completed it, its type on the wire, its content type
	// (the inner one once decrypted), its length on the wire and the
	// length of its plaintext (-1 for a record in clear, -2 for a
	// protected record not decrypted).
	onRecord   func(dir tcpstate.Dir, frame int64, outer, inner ContentType, wireLen, plainLen int)
	tellRecord func(inner ContentType, plainLen int)
}

// halfConn is the state of one direction.
type halfConn struct {
	buf      []byte  // an incomplete record carried to the next Feed
	box      *[]byte // recordPool entry that buf came from (nil when buf is not pooled)
	bufPos   tcpstate.Position
	hs       []byte // handshake bytes not yet forming a whole message
	hsPos    tcpstate.Position
	hsBroken bool
	hsLost   bool // after a gap or a start inside the handshake: the next bytes may continue a lost message

	fed     int64             // bytes delivered by Feed
	gaps    int               // Gap calls: bytes the capture missed
	synced  bool              // the last bytes parsed ended a record
	lastEnd tcpstate.Position // where the last whole record ended
	lostWhy string            // why the direction scans for a record start
	lostPos tcpstate.Position // where it lost its place
	skipped int               // bytes dropped while scanning
	stopWhy string            // why decoding stopped (err is set)
	stopPos tcpstate.Position // where it stopped

	// What a direction sent after the ServerHello when its records could
	// not be read: how much the handshake did, as far as the capture shows.
	protected     int  // application_data records while protected (TLS 1.3: every protected record)
	protectedLate int  // of those, the ones sent after the peer's first
	protectedHS   bool // TLS 1.2: a protected handshake record, the Finished (RFC 5246, 7.4.9)

	encrypted   bool        // records from now on are protected
	dec         *halfCipher // nil: cannot decrypt
	pending     *halfCipher // TLS 1.2: installed at ChangeCipherSpec
	next        *halfCipher // TLS 1.3: installed after the current record
	finished    bool
	failed      bool  // decryption failed and stopped
	afterGap    bool  // the next protected record may have skipped sequence numbers
	resync      bool  // scan for a record start before parsing
	err         error // the first error; set when decoding stopped
	ignored     int   // bytes not decoded after err
	records     int
	undecrypted int // bytes of protected records not decrypted
	undecRecs   int // those records
	undecLast   tcpstate.Position
	trials      int // records tried with the application key (trialAppKey)
	gapMisses   int // records after a gap that did not decrypt
}

// NewConn returns a Conn for one connection. ctx.Reporter receives the
// events and messages; cfg.Plaintext (if set) receives decrypted data.
func NewConn(ctx *tcpstate.StreamContext, cfg Config) *Conn {
	if ctx.Reporter == nil {
		ctx.Reporter = health.Discard
	}
	return &Conn{ctx: ctx, cfg: cfg, lim: cfg.Limits.withDefaults()}
}

// Version returns the negotiated version, 0 before the ServerHello.
func (c *Conn) Version() Version { return c.version }

// CipherSuite returns the selected cipher suite, 0 before the ServerHello.
func (c *Conn) CipherSuite() uint16 { return c.suiteID }

// ServerName returns the SNI of the ClientHello.
func (c *Conn) ServerName() string { return c.sni }

// Certificates returns the decoded server certificate chain, leaf first.
func (c *Conn) Certificates() []CertInfo { return c.certs }

func (c *Conn) stage() string {
	switch {
	case !c.haveSH:
		return "client_hello"
	case !c.half[1].finished:
		return "server_flight"
	default:
		return "client_finished"
	}
}

// malformed reports bytes nettrace could not parse as TLS: a notice about
// its coverage (malformedSev with Warning when they are provably invalid).
func (c *Conn) malformed(dir tcpstate.Dir, at tcpstate.Position, err error) {
	c.malformedSev(dir, at, err, health.DefaultSeverity(health.TLSMalformed))
}

func (c *Conn) malformedSev(dir tcpstate.Dir, at tcpstate.Position, err error, sev health.Severity) {
	var pe *ParseError
	if errors.As(err, &pe) && pe.Frame == 0 {
		pe.Frame = at.Frame
	}
	c.event(health.TLSMalformed, sev, at,
		fmt.Sprintf("unparseable TLS from the %s: %v", dir, err),
		map[string]any{"error": err.Error(), "from": dir.String()})
}

func (c *Conn) event(k health.Kind, sev health.Severity, at tcpstate.Position, msg string, ev map[string]any) {
	c.ctx.Event(health.Event{Kind: k, Severity: sev, Time: at.Time, Frame: at.Frame, Message: msg, Evidence: ev})
}

// record handles one whole record: it decrypts it when the direction is
// protected, then dispatches its content.
func (c *Conn) record(dir tcpstate.Dir, rec Record, start, end tcpstate.Position) {
	if c.onRecord != nil {
		told := false
		c.tellRecord = func(inner ContentType, plainLen int) {
			if !told {
				told = true
				c.onRecord(dir, end.Frame, rec.Type, inner, len(rec.Fragment), plainLen)
			}
		}
		defer c.tellRecord(rec.Type, -1)
	}
	h := &c.half[dir&1]
	h.records++
	if h.records == 1 && !c.haveCH && !c.haveSH && !h.encrypted {
		switch {
		case protectedFirst(rec):
			// The capture started after this direction's handshake: its
			// records are protected, and opaque without the handshake.
			h.encrypted = true
		case rec.Type == TypeHandshake && !startsWithHello(dir, rec.Fragment):
			// It started inside the handshake, or after it (a protected
			// renegotiation): the first bytes may not be a message.
			h.hsLost = true
		}
	}
	if rec.Type == TypeChangeCipherSpec {
		c.changeCipherSpec(h)
		return
	}
	if !h.encrypted || (c.version == VersionTLS13 && rec.Type != TypeApplicationData) {
		c.content(dir, rec.Type, rec.Fragment, start, end)
		return
	}
	c.protected(dir, h, rec, start, end)
}

// changeCipherSpec handles a ChangeCipherSpec record of h's direction.
func (c *Conn) changeCipherSpec(h *halfConn) {
	if c.version == VersionTLS13 || c.hrr {
		return // TLS 1.3 middlebox compatibility (RFC 8446, D.4)
	}
	if c.version == 0 && c.offered13 {
		// No ServerHello seen (a one-sided capture): TLS 1.3's
		// compatibility record, before the protected flight or 0-RTT
		// data, or TLS 1.2's; either way what follows is protected.
		h.encrypted = true
		return
	}
	if h.encrypted && h.pending == nil {
		return // a repeated ChangeCipherSpec changes nothing
	}
	// First handshake, or a renegotiation (RFC 5246, 7.1): the keys
	// prepared at the ServerHello take effect after this record.
	h.encrypted = true
	h.dec, h.pending = h.pending, nil
}

// protected handles a protected record of h's direction: decrypted when
// a key is known, else counted as not decrypted.
func (c *Conn) protected(dir tcpstate.Dir, h *halfConn, rec Record, start, end tcpstate.Position) {
	switch rec.Type {
	case TypeApplicationData:
		h.protected++
		if c.half[dir.Other()&1].protected > 0 {
			h.protectedLate++
		}
	case TypeHandshake:
		h.protectedHS = true
	}
	if h.dec == nil && c.version == VersionTLS13 && !h.failed && !h.finished && h.trials < c.lim.MaxSeqSkip {
		c.trialAppKey(dir, h, rec)
	}
	if h.dec == nil {
		c.undecryptable(dir, h, rec, end)
		return
	}
	plain, typ, err := c.open(h, rec)
	if err != nil {
		c.openFailed(dir, h, rec, start, end, err)
		return
	}
	h.afterGap = false
	h.gapMisses = 0
	if c.onRecord != nil {
		c.tellRecord(typ, len(plain))
	}
	c.content(dir, typ, plain, start, end)
	if h.next != nil {
		h.dec, h.next = h.next, nil
	}
}

// undecryptable counts a protected record of h's direction for which no
// key is known, and tells the plaintext handler of the bytes it misses.
func (c *Conn) undecryptable(dir tcpstate.Dir, h *halfConn, rec Record, end tcpstate.Position) {
	if c.onRecord != nil {
		c.tellRecord(rec.Type, -2)
	}
	if rec.Type == TypeApplicationData || h.encrypted && rec.Type != TypeChangeCipherSpec {
		h.notDecrypted(rec, end)
	}
	if rec.Type == TypeApplicationData {
		if c.plain != nil && c.version != VersionTLS13 || (c.plain != nil && h.finished) {
			c.plain.Gap(dir, len(rec.Fragment), end)
		}
	}
}

// open decrypts rec with h's key; after a gap it tries the next sequence
// numbers (records may have been lost with it).
func (c *Conn) open(h *halfConn, rec Record) ([]byte, ContentType, error) {
	plain, typ, err := h.dec.open(rec.Type, rec.Version, rec.Fragment)
	if err != nil && h.afterGap {
		for s := h.dec.seq + 1; s <= h.dec.seq+uint64(c.lim.MaxSeqSkip); s++ {
			if plain, typ, err = h.dec.openSeq(s, rec.Type, rec.Version, rec.Fragment); err == nil {
				h.dec.seq = s + 1
				break
			}
		}
	}
	return plain, typ, err
}

// openFailed handles a record of h's direction that did not decrypt.
func (c *Conn) openFailed(dir tcpstate.Dir, h *halfConn, rec Record, start, end tcpstate.Position, err error) {
	if c.onRecord != nil {
		c.tellRecord(rec.Type, -2)
	}
	if h.afterGap && h.gapMisses < c.lim.MaxSeqSkip {
		// After a gap the "record" may be a false header found inside
		// ciphertext: skip it rather than give up on the direction.
		h.gapMisses++
		return
	}
	if dir == tcpstate.ClientToServer && c.version == VersionTLS13 && !h.finished && c.earlyData {
		return // 0-RTT data under the early traffic secret: not decrypted
	}
	c.decryptFailed(dir, start, h.dec.label, err.Error())
	h.notDecrypted(rec, end)
	h.failed = true
	h.dec = nil
}

// protectedFirst reports whether rec, the first record of a direction
// whose handshake the capture did not show, can only be protected:
// application data and heartbeats are never sent in clear before a
// handshake, and an alert in clear is two bytes of level 1 or 2 (RFC 5246,
// 7.2).
func protectedFirst(rec Record) bool {
	switch rec.Type {
	case TypeApplicationData, TypeHeartbeat:
		return true
	case TypeAlert:
		return len(rec.Fragment) != 2 || (rec.Fragment[0] != 1 && rec.Fragment[0] != 2)
	}
	return false
}

// startsWithHello reports whether a handshake fragment starts with the
// hello message of dir: a ClientHello from the client, a ServerHello
// (or HelloRetryRequest) from the server.
func startsWithHello(dir tcpstate.Dir, b []byte) bool {
	if dir == tcpstate.ClientToServer {
		return len(b) > 0 && HandshakeType(b[0]) == TypeClientHello
	}
	return len(b) > 0 && HandshakeType(b[0]) == TypeServerHello
}

// trialAppKey handles a TLS 1.3 key log holding the application traffic
// secret but not the handshake secret of dir: the end of the handshake
// cannot be seen, so each protected record is tried with the application
// key (sequence 0) until one opens; from then on that key is used.
func (c *Conn) trialAppKey(dir tcpstate.Dir, h *halfConn, rec Record) {
	id := secretClientTraffic0
	if dir == tcpstate.ServerToClient {
		id = secretServerTraffic0
	}
	secret := c.cfg.KeyLog.lookup(c.clientRandom[:], id)
	if secret == nil || c.suite == nil || !c.suite.tls13 {
		h.trials = c.lim.MaxSeqSkip
		return
	}
	h.trials++
	hc, err := newHalf13(c.suite, secret, secretLabels[id])
	if err != nil {
		return
	}
	if _, _, err := hc.openSeq(0, rec.Type, rec.Version, rec.Fragment); err == nil {
		h.dec = hc
		h.finished = true
	}
}

// decryptFailed reports, once per connection, that a record did not
// authenticate with the key logged for it. Why a connection is not
// decrypted is said once: tls.no_key when the key log lacks its keys,
// tls.decrypt_failed when its suite is not supported (unsupportedSuite) or
// a logged key does not authenticate its records. Only a TLS 1.3 key log
// that lacks one direction's secret and holds a wrong one for the other
// says both.
func (c *Conn) decryptFailed(dir tcpstate.Dir, at tcpstate.Position, label, reason string) {
	if c.failDone {
		return
	}
	c.failDone = true
	c.hold(health.TLSDecryptFailed, health.Error, at,
		fmt.Sprintf("a record from the %s did not decrypt with the %s key logged for client random %s…: %s; the rest of the connection's records that key protects are not decrypted (wrong key log, or a key for another connection)",
			dir, label, c.randomPrefix(), reason),
		map[string]any{"reason": reason, "key": label, "client_random": c.randomPrefix(), "from": dir.String()})
}

// notDecrypted counts a protected record of h that was not decrypted
// (application data, or a handshake or alert record sent protected).
func (h *halfConn) notDecrypted(rec Record, end tcpstate.Position) {
	h.undecrypted += len(rec.Fragment)
	h.undecRecs++
	h.undecLast = end
}

// hold keeps an event about why the connection is not decrypted until
// Close, which adds how much was not decrypted: one event per connection
// saying what, where and how much.
func (c *Conn) hold(k health.Kind, sev health.Severity, at tcpstate.Position, msg string, ev map[string]any) {
	c.held = append(c.held, health.Event{Kind: k, Severity: sev, Time: at.Time, Frame: at.Frame, Message: msg, Evidence: ev})
}

// releaseHeld reports the held events with the records and bytes of both
// directions that were not decrypted.
func (c *Conn) releaseHeld() {
	if len(c.held) == 0 {
		return
	}
	recs, n := 0, 0
	var last tcpstate.Position
	for d := range c.half {
		h := &c.half[d]
		recs += h.undecRecs
		n += h.undecrypted
		if h.undecLast.Frame > last.Frame {
			last = h.undecLast
		}
	}
	for _, e := range c.held {
		e.Evidence["records_not_decrypted"] = recs
		e.Evidence["bytes_not_decrypted"] = n
		if recs > 0 {
			e.Evidence["last_frame"] = last.Frame
			e.Message += fmt.Sprintf(" (%d protected records, %d bytes, not decrypted, up to frame %d)", recs, n, last.Frame)
		} else {
			e.Message += " (no record in the capture needed it)"
		}
		c.ctx.Event(e)
	}
	c.held = nil
}

func (c *Conn) randomPrefix() string { return hex.EncodeToString(c.clientRandom[:8]) }

// content dispatches the (decrypted) content of one record.
func (c *Conn) content(dir tcpstate.Dir, typ ContentType, b []byte, start, end tcpstate.Position) {
	switch typ {
	case TypeHandshake:
		c.handshakeBytes(dir, b, end)
	case TypeAlert:
		for len(b) >= 2 {
			a, rest, _ := ParseAlert(b)
			c.alert(dir, a, end)
			b = rest
		}
	case TypeApplicationData:
		if !c.half[dir&1].encrypted {
			// Application data before the direction is protected is 0-RTT
			// data under the early traffic secret (RFC 8446, 2.3), which
			// is not decrypted: it is not plaintext.
			return
		}
		c.appData(dir, b, end)
	case TypeHeartbeat:
		c.heartbeat(dir, b, start)
	case TypeChangeCipherSpec:
	default:
		c.malformed(dir, start, malformed("record", fmt.Sprintf("inner content type %d", typ)))
	}
}

func (c *Conn) appData(dir tcpstate.Dir, b []byte, at tcpstate.Position) {
	if len(b) == 0 {
		return
	}
	if dir == tcpstate.ClientToServer && !c.hostChecked && len(c.certs) > 0 && c.sni == "" {
		c.scanHost(b, at)
	}
	if c.cfg.Decrypted != nil {
		if !c.rawOpened {
			c.rawOpened = true
			c.raw = c.cfg.Decrypted(c.ctx)
		}
		if c.raw != nil {
			c.raw.Feed(dir, b, at)
		}
	}
	if c.cfg.Plaintext == nil && c.cfg.HTTP2 == nil {
		return
	}
	if !c.plainOpened {
		c.plainOpened = true
		why := notHTTP1(c.alpn, dir, b)
		switch {
		case why != "" && isHTTP2(c.alpn, dir, b) && c.cfg.HTTP2 != nil:
			c.plain = c.cfg.HTTP2(c.ctx)
		case why != "" || c.cfg.Plaintext == nil:
			if why == "" {
				why = "HTTP/1 not decoded"
			}
			c.notPlain, c.notPlainPos, c.notPlainDir = why, at, dir
		default:
			c.plain = c.cfg.Plaintext(c.ctx)
		}
	}
	if c.plain != nil {
		c.plain.Feed(dir, b, at)
	} else if c.notPlain != "" {
		c.notPlainN += len(b)
	}
}

// http2Preface is the first bytes an HTTP/2 client sends (RFC 9113, 3.4).
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// notHTTP1 says why decrypted application data is not HTTP/1, the protocol
// Config.Plaintext decodes, or returns "". alpn is the protocol the server
// selected (RFC 7301, 3.2), "" when none was or it was not seen; b is the
// first application data, from dir.
func notHTTP1(alpn string, dir tcpstate.Dir, b []byte) string {
	switch {
	case alpn == "h2":
		return "HTTP/2 (ALPN h2) not decoded"
	case alpn != "" && !strings.HasPrefix(alpn, "http/1.") && alpn != "http/0.9":
		return fmt.Sprintf("ALPN %q is not HTTP/1: not decoded", alpn)
	case alpn == "" && dir == tcpstate.ClientToServer && len(b) >= 4 &&
		bytes.HasPrefix([]byte(http2Preface), b[:min(len(b), len(http2Preface))]):
		return "HTTP/2 (connection preface) not decoded"
	}
	return ""
}

// isHTTP2 reports whether the decrypted application data is HTTP/2, the
// protocol Config.HTTP2 decodes: the server selected h2 with ALPN (RFC
// 9113, 3.2), or none was seen and b, the first data, from the client,
// starts the HTTP/2 connection preface (RFC 9113, 3.4).
func isHTTP2(alpn string, dir tcpstate.Dir, b []byte) bool {
	return alpn == "h2" || alpn == "" && dir == tcpstate.ClientToServer && len(b) >= 4 &&
		bytes.HasPrefix([]byte(http2Preface), b[:min(len(b), len(http2Preface))])
}

// scanHost looks for an HTTP Host header in the first decrypted client
// bytes, to check the certificate when the ClientHello had no SNI.
func (c *Conn) scanHost(b []byte, at tcpstate.Position) {
	if room := c.lim.MaxHostScan - c.hostScanned; len(b) > room {
		b = b[:room]
	}
	c.hostScanned += len(b)
	if c.hostScanned >= c.lim.MaxHostScan {
		c.hostChecked = true
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) > 5 && strings.EqualFold(string(line[:5]), "host:") {
			host := strings.TrimSpace(string(line[5:]))
			if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
				host = host[:i]
			}
			host = strings.Trim(host, "[]")
			c.hostChecked = true
			c.checkName(host, "HTTP Host", at)
			return
		}
	}
}

// heartbeat reports a heartbeat record b (RFC 6520) as a message: its
// type when it is not encrypted, and its length.
func (c *Conn) heartbeat(dir tcpstate.Dir, b []byte, at tcpstate.Position) {
	if !c.ctx.Reporter.WantMessages() {
		return
	}
	hb := "heartbeat"
	if len(b) > 0 && !c.half[dir&1].encrypted {
		hb = map[uint8]string{1: "heartbeat_request", 2: "heartbeat_response"}[b[0]]
	}
	m := c.newMessage(KindHeartbeat, dir, at)
	m.Heartbeat = &Heartbeat{Type: hb, Length: len(b)}
	c.message(m)
}

func (c *Conn) alert(dir tcpstate.Dir, a Alert, at tcpstate.Position) {
	desc := AlertDescription(a.Description)
	sev := health.Notice
	switch {
	case a.Level == 2:
		sev = health.Warning
	case a.Description == 0:
		sev = health.Info
	}
	c.event(health.TLSAlert, sev, at, fmt.Sprintf("the %s sent a TLS alert: %s", dir, a),
		map[string]any{"level": a.Level, "description": desc, "code": a.Description, "from": dir.String()})
	if c.ctx.Reporter.WantMessages() {
		m := c.newMessage(KindAlert, dir, at)
		m.Alert = a
		c.message(m)
	}
	if a.Description == 0 {
		c.closeNotify = true // RFC 8446, 6.1
	}
	if a.Level == 2 && !c.handshakeDone() && !c.failed {
		c.failed = true
		c.event(health.TLSHandshakeFailed, health.Error, at,
			fmt.Sprintf("the TLS handshake failed: the %s sent fatal alert %s during %s", dir, desc, c.stage()),
			map[string]any{"alert": desc, "stage": c.stage(), "from": dir.String()})
	}
}

// handshakeBytes reassembles handshake messages across records. at is the
// frame that completed the current record: like tshark, a message is
// reported at the frame that completes it. After a gap, or in a direction
// whose capture started inside the handshake, the first bytes may continue
// a message whose start was lost (or be protected): until one message is
// handled, bytes that do not parse are dropped silently.
func (c *Conn) handshakeBytes(dir tcpstate.Dir, b []byte, at tcpstate.Position) {
	h := &c.half[dir&1]
	if h.hsBroken {
		return
	}
	buf := b
	fromHS := len(h.hs) > 0
	if fromHS {
		h.hs = append(h.hs, b...)
		buf = h.hs
	} else {
		h.hsPos = at
	}
	for len(buf) > 0 {
		max := c.lim.MaxHandshakeBytes
		if HandshakeType(buf[0]) == TypeCertificate {
			max = c.lim.MaxCertificateBytes
		}
		m, rest, err := ParseHandshake(buf, max)
		if errors.Is(err, ErrTruncated) {
			break
		}
		if err != nil { // the framing: later bytes cannot be placed
			if !h.hsLost {
				c.malformed(dir, h.hsPos, err)
				h.hsBroken = true
			}
			h.hs = h.hs[:0]
			return
		}
		if _, known := handshakeNames[m.Type]; h.hsLost && !known {
			h.hs = h.hs[:0]
			return
		}
		if err := c.handshake(dir, m, at); err != nil && h.hsLost {
			h.hs = h.hs[:0]
			return
		}
		h.hsLost = false
		buf = rest
	}
	if len(buf) == 0 {
		h.hs = h.hs[:0]
		return
	}
	if fromHS {
		h.hs = h.hs[:copy(h.hs, buf)]
	} else {
		h.hs = append(h.hs[:0], buf...)
	}
}

func (c *Conn) sslv2Hello(m SSLv2ClientHello, at tcpstate.Position) {
	c.haveCH = true
	c.chPos = at
	c.serverFedAtCH = c.half[tcpstate.ServerToClient].fed
	c.event(health.TLSVersionDowngrade, health.Warning, at,
		fmt.Sprintf("the client sent an SSL 2.0-compatible ClientHello (max version %s)", m.Version),
		map[string]any{"version": m.Version.String(), "offered_by": "client", "sslv2_hello": true})
	if c.ctx.Reporter.WantMessages() {
		msg := c.newMessage(KindHandshake, tcpstate.ClientToServer, at)
		msg.HandshakeType, msg.Version = TypeClientHello, m.Version
		m.Challenge = bytes.Clone(m.Challenge)
		msg.SSLv2Hello = &m
		c.message(msg)
	}
}

// handshake handles one whole handshake message. It reports a body that
// does not parse (unless the message may be garbage after a gap) and
// returns its error.
func (c *Conn) handshake(dir tcpstate.Dir, m Handshake, at tcpstate.Position) error {
	var msg *Message // nil unless the Reporter wants messages
	if c.ctx.Reporter.WantMessages() {
		msg = c.newMessage(KindHandshake, dir, at)
		msg.HandshakeType = m.Type
	}
	var err error
	switch {
	case m.Type == TypeClientHello && dir == tcpstate.ClientToServer:
		err = c.clientHello(m.Body, at, msg)
	case m.Type == TypeServerHello && dir == tcpstate.ServerToClient:
		err = c.serverHello(m.Body, at, msg)
	case m.Type == TypeEncryptedExtensions:
		var ee EncryptedExtensions
		if ee, err = ParseEncryptedExtensions(m.Body); err == nil && dir == tcpstate.ServerToClient && ee.ALPN != "" {
			c.alpn = ee.ALPN
			if msg != nil {
				msg.ALPN = ee.ALPN
			}
		}
	case m.Type == TypeCertificate:
		err = c.certificate(dir, m.Body, at, msg)
	case m.Type == TypeCertificateRequest:
		var cr CertificateRequest
		if cr, err = ParseCertificateRequest(m.Body, c.version); err == nil && msg != nil {
			msg.CertificateRequest = &cr
		}
	case m.Type == TypeServerKeyExchange:
		if ske, _ := ParseServerKeyExchange(m.Body); msg != nil && ske.CurveType == 3 {
			msg.Group = groupName(ske.Group)
		}
	case m.Type == TypeFinished:
		h := &c.half[dir&1]
		h.finished = true
		if c.version == VersionTLS13 {
			c.install13(dir, true)
		}
	case m.Type == TypeKeyUpdate && c.version == VersionTLS13:
		h := &c.half[dir&1]
		if h.dec != nil && c.suite != nil {
			if n, e := h.dec.update(c.suite); e == nil {
				h.next = n
			}
		}
		if msg != nil && len(m.Body) == 1 {
			requested := m.Body[0] == 1
			msg.UpdateRequested = &requested
		}
	}
	if err != nil && !c.half[dir&1].hsLost {
		c.malformed(dir, at, err)
	}
	if msg != nil {
		if msg.ClientHello == nil && msg.ServerHello == nil {
			msg.Version = c.version
		}
		c.message(msg)
	}
	return err
}

func (c *Conn) clientHello(body []byte, at tcpstate.Position, msg *Message) error {
	ch, err := ParseClientHello(body)
	if err != nil {
		return err
	}
	c.haveCH = true
	c.chPos = at
	c.serverFedAtCH = c.half[tcpstate.ServerToClient].fed
	copy(c.clientRandom[:], ch.Random)
	c.sni = ch.ServerName
	c.earlyData = ch.EarlyData
	for _, v := range ch.SupportedVersions {
		if v == VersionTLS13 {
			c.offered13 = true
		}
	}
	if mv := ch.MaxVersion(); mv < VersionTLS12 && !c.hrr {
		c.event(health.TLSVersionDowngrade, health.Warning, at,
			fmt.Sprintf("the client offers at most %s (TLS 1.2 or later expected)", mv),
			map[string]any{"version": mv.String(), "offered_by": "client"})
	}
	if msg != nil {
		msg.Version = ch.MaxVersion()
		msg.ClientHello = ownClientHello(ch)
	}
	return nil
}

func (c *Conn) serverHello(body []byte, at tcpstate.Position, msg *Message) error {
	sh, err := ParseServerHello(body)
	if err != nil {
		return err
	}
	if sh.HelloRetryRequest {
		c.hrr = true
		if msg != nil {
			msg.Version = sh.ChosenVersion()
			msg.ServerHello = ownServerHello(sh)
		}
		return nil
	}
	c.hrr = false
	c.haveSH = true
	c.version = sh.ChosenVersion()
	c.suiteID = sh.CipherSuite
	c.suite = suites[sh.CipherSuite]
	copy(c.serverRandom[:], sh.Random)
	c.etm = sh.EncryptThenMAC
	c.alpn = sh.ALPN
	if msg != nil {
		msg.Version = c.version
		msg.ServerHello = ownServerHello(sh)
	}
	if c.version < VersionTLS12 {
		c.event(health.TLSVersionDowngrade, health.Warning, at,
			fmt.Sprintf("the server selected %s (TLS 1.2 or later expected)", c.version),
			map[string]any{"version": c.version.String(), "offered_by": "server"})
	}
	// RFC 8446, 4.1.3: a TLS 1.3 server negotiating an older version ends
	// its random with "DOWNGRD"; if the client offered TLS 1.3, something
	// in the path removed it.
	if c.version < VersionTLS13 && c.offered13 && len(sh.Random) == 32 && string(sh.Random[24:31]) == "DOWNGRD" {
		c.event(health.TLSVersionDowngrade, health.Warning, at,
			fmt.Sprintf("the client offered TLS 1.3 but the server selected %s with the TLS 1.3 downgrade sentinel in its random: a middlebox may have removed TLS 1.3 from the ClientHello", c.version),
			map[string]any{"version": c.version.String(), "offered_by": "server", "sentinel": true})
	}
	if c.suite != nil && c.suite.weak != "" {
		c.event(health.TLSWeakCipher, health.Warning, at,
			fmt.Sprintf("the server selected the weak cipher suite %s: %s", c.suite.name, c.suite.weak),
			map[string]any{"suite": c.suite.name, "reason": c.suite.weak})
	}
	c.setupKeys(at)
	return nil
}

// setupKeys prepares decryption after the ServerHello.
func (c *Conn) setupKeys(at tcpstate.Position) {
	if c.version == VersionTLS13 {
		// Handshake records of both directions are protected from now on.
		c.half[1].encrypted = true
		c.half[0].encrypted = true
	}
	if c.cfg.KeyLog == nil {
		return
	}
	if !c.haveCH {
		c.noClientHello(at)
		return
	}
	if c.version == VersionTLS13 {
		if c.suite == nil || c.suite.cipher == cipherNone || !c.suite.tls13 {
			if !c.cfg.KeyLog.Has(c.clientRandom[:]) {
				c.noKey(at, labelServerHandshake)
			} else {
				c.unsupportedSuite(at, labelServerHandshake)
			}
			return
		}
		c.install13(tcpstate.ServerToClient, false)
		c.install13(tcpstate.ClientToServer, false)
		return
	}
	master := c.cfg.KeyLog.lookup(c.clientRandom[:], secretMaster)
	if master == nil {
		c.noKey(at, labelClientRandom)
		return
	}
	s := c.suite
	if s == nil || s.cipher == cipherNone || s.tls13 || c.version < VersionTLS10 || c.version > VersionTLS12 {
		c.unsupportedSuite(at, labelClientRandom)
		return
	}
	macLen, ivLen := 0, 0
	switch s.cipher {
	case cipherAESGCM, cipherAESCCM:
		ivLen = 4
	case cipherChaCha:
		ivLen = 12
	case cipherAESCBC:
		macLen, ivLen = s.mac.size(), 16
	}
	kb := keysFromMasterSecret(c.version, s, master, c.clientRandom[:], c.serverRandom[:], macLen, s.keyLen, ivLen)
	cl, err1 := newHalf12(c.version, s, kb.clientMAC, kb.clientKey, kb.clientIV, c.etm)
	sv, err2 := newHalf12(c.version, s, kb.serverMAC, kb.serverKey, kb.serverIV, c.etm)
	if err1 != nil || err2 != nil {
		return
	}
	c.half[0].pending, c.half[1].pending = cl, sv
}

// install13 installs the TLS 1.3 handshake (app=false) or application
// traffic key of dir; the application key takes effect after the record
// holding the Finished.
func (c *Conn) install13(dir tcpstate.Dir, app bool) {
	if c.cfg.KeyLog == nil || c.suite == nil || !c.suite.tls13 {
		return
	}
	h := &c.half[dir&1]
	var id secretID
	switch {
	case dir == tcpstate.ServerToClient && !app:
		id = secretServerHandshake
	case dir == tcpstate.ServerToClient:
		id = secretServerTraffic0
	case !app:
		id = secretClientHandshake
	default:
		id = secretClientTraffic0
	}
	secret := c.cfg.KeyLog.lookup(c.clientRandom[:], id)
	if secret == nil {
		if !app || h.dec != nil {
			c.noKey(c.chPos, secretLabels[id])
		}
		if app {
			h.next = nil
			h.dec = nil
			h.failed = true
		}
		return
	}
	hc, err := newHalf13(c.suite, secret, secretLabels[id])
	if err != nil {
		return
	}
	if app {
		h.next = hc
	} else {
		h.dec = hc
	}
}

// noKey reports once per connection that the key log lacks this client
// random (or one of its TLS 1.3 secrets).
func (c *Conn) noKey(at tcpstate.Position, label string) {
	if c.noKeyDone {
		return
	}
	c.noKeyDone = true
	msg := fmt.Sprintf("the key log has no %s for client random %s…; this connection is not decrypted", label, c.randomPrefix())
	if c.cfg.KeyLog.Has(c.clientRandom[:]) {
		msg = fmt.Sprintf("the key log has secrets for client random %s… but not %s; records protected with it are not decrypted", c.randomPrefix(), label)
	}
	c.hold(health.TLSNoKey, health.Notice, at, msg,
		map[string]any{"client_random": c.randomPrefix(), "key": label})
}

// unsupportedSuite reports once per connection that its keys are logged
// but its cipher suite (or version) is not one this package decrypts.
func (c *Conn) unsupportedSuite(at tcpstate.Position, label string) {
	if c.failDone {
		return
	}
	c.failDone = true
	name := CipherSuiteName(c.suiteID)
	c.hold(health.TLSDecryptFailed, health.Warning, at,
		fmt.Sprintf("a key is logged for this connection but %s with %s is not supported for decryption; it is not decrypted",
			c.version, name),
		map[string]any{"reason": "unsupported cipher suite", "suite": name, "version": c.version.String(), "key": label})
}

// noClientHello reports once that the connection is not decrypted because
// the capture lacks its ClientHello, whose random names its keys in the key
// log.
func (c *Conn) noClientHello(at tcpstate.Position) {
	if c.noKeyDone {
		return
	}
	c.noKeyDone = true
	c.hold(health.TLSNoKey, health.Notice, at,
		"the capture has no ClientHello for this connection: the client random that names its keys in the key log is unknown, so it is not decrypted",
		map[string]any{"client_random": "", "reason": "no client hello"})
}

// certificate decodes a Certificate message and checks the server's chain
// against the capture time and the requested name.
func (c *Conn) certificate(dir tcpstate.Dir, body []byte, at tcpstate.Position, msg *Message) error {
	cert, dropped, err := ParseCertificate(body, c.version, c.lim.MaxCerts)
	if err != nil {
		return err
	}
	var infos []CertInfo
	for _, der := range cert.Raw {
		infos = append(infos, DescribeCertificate(der))
	}
	if msg != nil {
		msg.Certificate = &CertificateChain{Certs: infos, NotDecoded: dropped}
	}
	if dir != tcpstate.ServerToClient {
		return nil
	}
	c.certs = infos
	c.certPos = at
	if !at.Time.IsZero() {
		for i, ci := range infos {
			if ci.Err != "" {
				continue
			}
			role := "server certificate"
			if i > 0 {
				role = fmt.Sprintf("chain certificate %d", i)
			}
			if at.Time.After(ci.NotAfter) {
				c.event(health.TLSCertExpired, health.Error, at,
					fmt.Sprintf("the %s %q expired on %s, before this capture (%s)", role, ci.Subject,
						ci.NotAfter.UTC().Format("2006-01-02 15:04:05Z"), at.Time.UTC().Format("2006-01-02")),
					map[string]any{"subject": ci.Subject, "not_after": ci.NotAfter.UTC().Format(time.RFC3339), "index": i})
			} else if at.Time.Before(ci.NotBefore) {
				c.event(health.TLSCertNotYetValid, health.Error, at,
					fmt.Sprintf("the %s %q is valid only from %s, after this capture (%s)", role, ci.Subject,
						ci.NotBefore.UTC().Format("2006-01-02 15:04:05Z"), at.Time.UTC().Format("2006-01-02")),
					map[string]any{"subject": ci.Subject, "not_before": ci.NotBefore.UTC().Format(time.RFC3339), "index": i})
			}
		}
	}
	if c.sni != "" {
		c.hostChecked = true
		match := c.checkName(c.sni, "SNI", at)
		if msg != nil {
			msg.Certificate.NameChecked, msg.Certificate.NameMatch = true, match
		}
	}
	return nil
}

// checkName compares host with the leaf certificate's names. A mismatch is
// an event; a wildcard or exact match is reported in a message.
func (c *Conn) checkName(host, source string, at tcpstate.Position) string {
	if len(c.certs) == 0 || c.certs[0].Err != "" || host == "" {
		return ""
	}
	leaf := &c.certs[0]
	match := leaf.MatchHost(host)
	names := leaf.Names()
	if match == MatchNone {
		c.event(health.TLSCertNameMismatch, health.Error, c.certPos,
			fmt.Sprintf("the server certificate %q does not name %s %q; it names %s", leaf.Subject, source, host,
				strings.Join(names, ", ")),
			map[string]any{"host": host, "source": source, "names": strings.Join(names, ",")})
		return "mismatch"
	}
	if c.ctx.Reporter.WantMessages() && source != "SNI" {
		m := c.newMessage(KindNameCheck, 0, at)
		m.NameCheck = &NameCheck{Host: host, Source: source, Match: match, Names: names}
		c.message(m)
	}
	return match
}

// groupName names a supported group (IANA TLS Supported Groups).
func groupName(g uint16) string {
	switch g {
	case 23:
		return "secp256r1"
	case 24:
		return "secp384r1"
	case 25:
		return "secp521r1"
	case 29:
		return "x25519"
	case 30:
		return "x448"
	case 256:
		return "ffdhe2048"
	case 0x11ec:
		return "X25519MLKEM768"
	}
	if isGREASE(g) {
		return "GREASE"
	}
	return fmt.Sprintf("group(0x%04x)", g)
}

var _ tcpstate.StreamHandler = (*Conn)(nil)
