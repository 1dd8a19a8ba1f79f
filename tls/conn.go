package tls

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
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
// that completed each record. A Conn is not safe for concurrent use.
type Conn struct {
	ctx  *tcpstate.StreamContext
	cfg  Config
	lim  Limits
	half [2]halfConn

	haveCH       bool
	chPos        tcpstate.Position
	clientRandom [32]byte
	sni          string
	offered13    bool
	earlyData    bool

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

	failed      bool // a fatal alert or handshake failure was reported
	noKeyDone   bool
	plain       tcpstate.StreamHandler
	plainOpened bool
	closed      bool
}

// halfConn is the state of one direction.
type halfConn struct {
	buf      []byte  // an incomplete record carried to the next Feed
	box      *[]byte // recordPool entry that buf came from (nil when buf is not pooled)
	bufPos   tcpstate.Position
	hs       []byte // handshake bytes not yet forming a whole message
	hsPos    tcpstate.Position
	hsBroken bool

	encrypted   bool        // records from now on are protected
	dec         *halfCipher // nil: cannot decrypt
	pending     *halfCipher // TLS 1.2: installed at ChangeCipherSpec
	next        *halfCipher // TLS 1.3: installed after the current record
	finished    bool
	failed      bool // decryption failed and stopped
	afterGap    bool // the next protected record may have skipped sequence numbers
	resync      bool // scan for a record header before parsing
	err         error
	ignored     int
	records     int
	undecrypted int
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

// Feed consumes bytes of one direction.
func (c *Conn) Feed(dir tcpstate.Dir, data []byte, at tcpstate.Position) {
	h := &c.half[dir&1]
	if h.err != nil {
		h.ignored += len(data)
		return
	}
	if len(data) == 0 {
		return
	}
	buf, pend := h.join(data, at)
	fromBuf := pend > 0
	if h.resync {
		var found bool
		if buf, pend, found = c.resyncStart(dir, h, buf, pend, at, fromBuf); !found {
			return
		}
	}
	buf, pend, abandoned := c.records(dir, h, buf, pend, at)
	if abandoned {
		return
	}
	if h.err != nil {
		h.buf = h.buf[:0]
		h.release()
		return
	}
	c.keep(h, buf, pend, at, fromBuf)
	h.release()
}

// join returns the bytes to parse and how many of them (pend) arrived
// before this Feed: data itself when nothing is carried over (no copy,
// bufPos becomes at), else h.buf with data appended.
func (h *halfConn) join(data []byte, at tcpstate.Position) ([]byte, int) {
	pend := len(h.buf)
	if pend == 0 {
		h.bufPos = at
		return data, 0
	}
	h.buf = append(h.buf, data...)
	return h.buf, pend
}

// resyncStart drops the bytes before the first plausible record header of
// a direction that lost its place. When there is none it reports false,
// after keeping buf for the next Feed or, past MaxResyncBytes, abandoning
// the direction.
func (c *Conn) resyncStart(dir tcpstate.Dir, h *halfConn, buf []byte, pend int, at tcpstate.Position, fromBuf bool) ([]byte, int, bool) {
	i := findRecordHeader(buf, c.lim.MaxResyncBytes)
	if i < 0 {
		if len(buf) > c.lim.MaxResyncBytes {
			c.abandon(dir, at, len(buf))
			return nil, 0, false
		}
		c.keep(h, buf, pend, at, fromBuf)
		return nil, 0, false
	}
	h.resync = false
	return buf[i:], pend - i, true
}

// records handles the whole records at the front of buf (pend of whose
// bytes arrived before this Feed, at bufPos) and returns the tail that does
// not yet form a record, with its pend. abandoned reports that the
// direction was given up on (nothing is to be kept).
func (c *Conn) records(dir tcpstate.Dir, h *halfConn, buf []byte, pend int, at tcpstate.Position) ([]byte, int, bool) {
	for len(buf) > 0 && h.err == nil {
		start := h.bufPos
		if pend <= 0 {
			start = at
		}
		if recordIncomplete(buf) {
			break // fast path: no error value for a record still arriving
		}
		rec, rest, err := ParseRecord(buf)
		if errors.Is(err, ErrTruncated) {
			break
		}
		if err != nil {
			n, next := c.badRecord(dir, h, buf, start, at, err)
			if next == recoverAbandon {
				return nil, 0, true
			}
			if next == recoverWait {
				break
			}
			pend -= n
			buf = buf[n:]
			continue
		}
		n := len(buf) - len(rest)
		end := at
		if n <= pend {
			end = h.bufPos
		}
		c.record(dir, rec, start, end)
		pend -= n
		buf = rest
	}
	return buf, pend, false
}

// recovery says how records goes on after a record that did not parse.
type recovery uint8

const (
	recoverSkip    recovery = iota // skip the returned number of bytes and parse on
	recoverWait                    // stop; keep the bytes for the next Feed
	recoverAbandon                 // the direction was abandoned
)

// badRecord handles bytes at the front of buf that are not a TLS record
// (err from ParseRecord, at stream position start). The first bytes a
// client sends may be an SSLv2-compatible ClientHello (RFC 5246, E.2);
// anything else is reported as malformed and skipped up to the next
// plausible record header, or, when none is within MaxResyncBytes, the
// direction resynchronises on later bytes or is abandoned.
func (c *Conn) badRecord(dir tcpstate.Dir, h *halfConn, buf []byte, start, at tcpstate.Position, err error) (int, recovery) {
	if dir == tcpstate.ClientToServer && h.records == 0 && buf[0]&0x80 != 0 {
		if v2, r2, err2 := ParseSSLv2ClientHello(buf); err2 == nil {
			c.sslv2Hello(v2, start)
			h.records++
			return len(buf) - len(r2), recoverSkip
		} else if errors.Is(err2, ErrTruncated) {
			return 0, recoverWait
		}
	}
	c.malformed(dir, start, err)
	i := findRecordHeader(buf[1:], c.lim.MaxResyncBytes)
	if i < 0 {
		if len(buf) > c.lim.MaxResyncBytes {
			c.abandon(dir, at, len(buf))
			return 0, recoverAbandon
		}
		h.resync = true
		return 0, recoverWait
	}
	return i + 1, recoverSkip
}

// keep stores the unparsed tail (at most one record) for the next Feed.
// fromBuf says buf is a suffix of h.buf.
func (c *Conn) keep(h *halfConn, buf []byte, pend int, at tcpstate.Position, fromBuf bool) {
	if len(buf) == 0 {
		h.buf = h.buf[:0]
		return
	}
	if pend <= 0 {
		h.bufPos = at
	}
	if fromBuf {
		n := copy(h.buf, buf)
		h.buf = h.buf[:n]
		return
	}
	h.acquire()
	h.buf = append(h.buf[:0], buf...)
}

// recordPool holds empty carry-over buffers for all Conns: a direction
// needs one only while a record spans deliveries, so one is taken when a
// partial record is kept and given back when a Feed leaves nothing over.
var recordPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledRecordBuf is the largest carry-over buffer returned to recordPool
// (a whole record of the largest size with room for a following segment).
const maxPooledRecordBuf = 4 * (recordHeaderLen + maxRecordLen)

// acquire makes buf a pooled buffer (kept as is when it already has room).
func (h *halfConn) acquire() {
	if h.box != nil {
		return
	}
	h.box = recordPool.Get().(*[]byte)
	if cap(h.buf) == 0 {
		h.buf = (*h.box)[:0]
	}
}

// release gives an empty buf back to recordPool.
func (h *halfConn) release() {
	if len(h.buf) != 0 || h.box == nil {
		return
	}
	if cap(h.buf) <= maxPooledRecordBuf {
		*h.box = h.buf[:0]
		recordPool.Put(h.box)
	}
	h.box, h.buf = nil, nil
}

// recordIncomplete reports whether b holds a plausible record header (or
// less) whose body has not fully arrived.
func recordIncomplete(b []byte) bool {
	if len(b) < recordHeaderLen {
		return len(b) == 0 || b[0]&0x80 == 0 // an SSLv2 hello is checked by its parser
	}
	n := int(b[3])<<8 | int(b[4])
	return ContentType(b[0]).known() && b[1] == 3 && n <= maxRecordLen && len(b) < recordHeaderLen+n
}

// findRecordHeader returns the offset of the first plausible record header
// (known type, version 3.0–3.4, length within bounds) in the first limit
// bytes of b, or -1.
func findRecordHeader(b []byte, limit int) int {
	for i := 0; i+5 <= len(b) && i < limit; i++ {
		t, maj, min := b[i], b[i+1], b[i+2]
		n := int(b[i+3])<<8 | int(b[i+4])
		if ContentType(t).known() && maj == 3 && min <= 4 && n > 0 && n <= maxRecordLen {
			return i
		}
	}
	return -1
}

// Gap marks n bytes of dir as lost: the partial record and handshake
// message are dropped, the direction resynchronises on the next record
// header, and the plaintext decoder is told of a gap.
func (c *Conn) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) {
	h := &c.half[dir&1]
	h.buf = h.buf[:0]
	h.hs = h.hs[:0]
	h.resync = true
	h.afterGap = true
	if c.plain != nil {
		c.plain.Gap(dir, n, at)
	}
}

// Close ends the connection: a ClientHello never answered becomes
// tls.handshake_stalled, a handshake cut by a reset tls.handshake_failed.
func (c *Conn) Close(reason tcpstate.CloseReason, at tcpstate.Position) {
	if c.closed {
		return
	}
	c.closed = true
	switch {
	case c.haveCH && !c.haveSH && !c.failed:
		waited := at.Time.Sub(c.chPos.Time)
		c.event(health.TLSHandshakeStalled, health.Error, c.chPos,
			fmt.Sprintf("ClientHello (SNI %q) was never answered by a ServerHello: waited %s until the connection ended (%s)",
				c.sni, waited.Round(time.Millisecond), reason),
			map[string]any{"waited_ms": waited.Milliseconds(), "client_hello_frame": c.chPos.Frame,
				"sni": c.sni, "close": reason.String()})
	case c.haveSH && !c.hrr && !c.failed && reason == tcpstate.CloseRST && !(c.half[0].finished && c.half[1].finished) &&
		(c.half[0].dec != nil || c.version != VersionTLS13):
		c.failed = true
		c.event(health.TLSHandshakeFailed, health.Error, at,
			"the connection was reset before the TLS handshake completed",
			map[string]any{"stage": c.stage(), "close": reason.String()})
	}
	for d := range c.half {
		if h := &c.half[d]; h.ignored > 0 && h.err != nil {
			c.event(health.TLSMalformed, health.Warning, at,
				fmt.Sprintf("%d bytes from the %s were not decoded after: %v", h.ignored, tcpstate.Dir(d), h.err),
				map[string]any{"error": h.err.Error(), "ignored_bytes": h.ignored, "from": tcpstate.Dir(d).String()})
		}
	}
	if c.plain != nil {
		c.plain.Close(reason, at)
	}
}

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

func (c *Conn) abandon(dir tcpstate.Dir, at tcpstate.Position, n int) {
	h := &c.half[dir&1]
	h.err = fmt.Errorf("tls: no record header found in %d bytes", n)
	h.ignored += n
}

func (c *Conn) malformed(dir tcpstate.Dir, at tcpstate.Position, err error) {
	var pe *ParseError
	if errors.As(err, &pe) && pe.Frame == 0 {
		pe.Frame = at.Frame
	}
	c.event(health.TLSMalformed, health.Warning, at,
		fmt.Sprintf("unparseable TLS from the %s: %v", dir, err),
		map[string]any{"error": err.Error(), "from": dir.String()})
}

func (c *Conn) event(k health.Kind, sev health.Severity, at tcpstate.Position, msg string, ev map[string]any) {
	c.ctx.Event(health.Event{Kind: k, Severity: sev, Time: at.Time, Frame: at.Frame, Message: msg, Evidence: ev})
}

func (c *Conn) message(at tcpstate.Position, fields map[string]any) {
	c.ctx.Reporter.Message(health.Message{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow, Proto: "tls", Fields: fields})
}

// record handles one whole record: it decrypts it when the direction is
// protected, then dispatches its content.
func (c *Conn) record(dir tcpstate.Dir, rec Record, start, end tcpstate.Position) {
	h := &c.half[dir&1]
	h.records++
	if rec.Type == TypeChangeCipherSpec {
		if c.version == VersionTLS13 || (c.version == 0 && c.offered13) {
			return // TLS 1.3 middlebox compatibility (RFC 8446, D.4)
		}
		if h.encrypted && h.pending == nil {
			return // a repeated ChangeCipherSpec changes nothing
		}
		// First handshake, or a renegotiation (RFC 5246, 7.1): the keys
		// prepared at the ServerHello take effect after this record.
		h.encrypted = true
		h.dec, h.pending = h.pending, nil
		return
	}
	if !h.encrypted || (c.version == VersionTLS13 && rec.Type != TypeApplicationData) {
		c.content(dir, rec.Type, rec.Fragment, start, end)
		return
	}
	if h.dec == nil && c.version == VersionTLS13 && !h.failed && !h.finished && h.trials < c.lim.MaxSeqSkip {
		c.trialAppKey(dir, h, rec)
	}
	if h.dec == nil {
		if rec.Type == TypeApplicationData {
			h.undecrypted += len(rec.Fragment)
			if c.plain != nil && c.version != VersionTLS13 || (c.plain != nil && h.finished) {
				c.plain.Gap(dir, len(rec.Fragment), end)
			}
		}
		return
	}
	plain, typ, err := h.dec.open(rec.Type, rec.Version, rec.Fragment)
	if err != nil && h.afterGap {
		for s := h.dec.seq + 1; s <= h.dec.seq+uint64(c.lim.MaxSeqSkip); s++ {
			if plain, typ, err = h.dec.openSeq(s, rec.Type, rec.Version, rec.Fragment); err == nil {
				h.dec.seq = s + 1
				break
			}
		}
	}
	if err != nil && h.afterGap && h.gapMisses < c.lim.MaxSeqSkip {
		// After a gap the "record" may be a false header found inside
		// ciphertext: skip it rather than give up on the direction.
		h.gapMisses++
		return
	}
	if err != nil {
		if dir == tcpstate.ClientToServer && c.version == VersionTLS13 && !h.finished && c.earlyData {
			return // 0-RTT data under the early traffic secret: not decrypted
		}
		c.decryptFailed(dir, start, h.dec.label, err.Error())
		h.failed = true
		h.dec = nil
		return
	}
	h.afterGap = false
	h.gapMisses = 0
	c.content(dir, typ, plain, start, end)
	if h.next != nil {
		h.dec, h.next = h.next, nil
	}
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

func (c *Conn) decryptFailed(dir tcpstate.Dir, at tcpstate.Position, label, reason string) {
	c.event(health.TLSDecryptFailed, health.Error, at,
		fmt.Sprintf("a record from the %s did not decrypt with the %s key logged for client random %s…: %s; the rest of that direction is not decrypted (wrong key log, or a key for another connection)",
			dir, label, c.randomPrefix(), reason),
		map[string]any{"reason": reason, "key": label, "client_random": c.randomPrefix(), "from": dir.String()})
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
		c.appData(dir, b, end)
	case TypeHeartbeat:
		if c.ctx.Reporter.WantMessages() {
			hb := "heartbeat"
			if len(b) > 0 && !c.half[dir&1].encrypted {
				hb = map[uint8]string{1: "heartbeat_request", 2: "heartbeat_response"}[b[0]]
			}
			c.message(start, map[string]any{"record": hb, "from": dir.String(), "length": len(b)})
		}
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
	if c.cfg.Plaintext == nil {
		return
	}
	if !c.plainOpened {
		c.plainOpened = true
		c.plain = c.cfg.Plaintext(c.ctx)
	}
	if c.plain != nil {
		c.plain.Feed(dir, b, at)
	}
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
		c.message(at, map[string]any{"alert": a.String(), "from": dir.String()})
	}
	handshakeDone := c.half[0].finished && c.half[1].finished
	if a.Level == 2 && !handshakeDone && !c.failed {
		c.failed = true
		c.event(health.TLSHandshakeFailed, health.Error, at,
			fmt.Sprintf("the TLS handshake failed: the %s sent fatal alert %s during %s", dir, desc, c.stage()),
			map[string]any{"alert": desc, "stage": c.stage(), "from": dir.String()})
	}
}

// handshakeBytes reassembles handshake messages across records. at is the
// frame that completed the current record: like tshark, a message is
// reported at the frame that completes it.
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
		if err != nil {
			c.malformed(dir, h.hsPos, err)
			h.hsBroken = true
			h.hs = h.hs[:0]
			return
		}
		c.handshake(dir, m, at)
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
	c.event(health.TLSVersionDowngrade, health.Warning, at,
		fmt.Sprintf("the client sent an SSL 2.0-compatible ClientHello (max version %s)", m.Version),
		map[string]any{"version": m.Version.String(), "offered_by": "client", "sslv2_hello": true})
	if c.ctx.Reporter.WantMessages() {
		c.message(at, map[string]any{"handshake_type": "client_hello", "version": m.Version.String(), "sslv2": true,
			"cipher_suites": len(m.CipherSuites)})
	}
}

// handshake handles one whole handshake message.
func (c *Conn) handshake(dir tcpstate.Dir, m Handshake, at tcpstate.Position) {
	want := c.ctx.Reporter.WantMessages()
	var fields map[string]any
	if want {
		fields = map[string]any{"handshake_type": m.Type.String(), "from": dir.String()}
	}
	var err error
	switch {
	case m.Type == TypeClientHello && dir == tcpstate.ClientToServer:
		err = c.clientHello(m.Body, at, fields)
	case m.Type == TypeServerHello && dir == tcpstate.ServerToClient:
		err = c.serverHello(m.Body, at, fields)
	case m.Type == TypeEncryptedExtensions:
		var ee EncryptedExtensions
		if ee, err = ParseEncryptedExtensions(m.Body); err == nil && want && ee.ALPN != "" {
			fields["alpn"] = ee.ALPN
		}
	case m.Type == TypeCertificate:
		err = c.certificate(dir, m.Body, at, fields)
	case m.Type == TypeCertificateRequest:
		var cr CertificateRequest
		if cr, err = ParseCertificateRequest(m.Body, c.version); err == nil && want {
			fields["signature_algorithms"] = len(cr.SignatureSchemes)
			fields["ca_names"] = cr.CANames
		}
	case m.Type == TypeServerKeyExchange:
		if ske, _ := ParseServerKeyExchange(m.Body); want && ske.CurveType == 3 {
			fields["group"] = groupName(ske.Group)
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
		if want && len(m.Body) == 1 {
			fields["update_requested"] = m.Body[0] == 1
		}
	}
	if err != nil {
		c.malformed(dir, at, err)
	}
	if want {
		if c.version != 0 {
			if _, ok := fields["version"]; !ok {
				fields["version"] = c.version.String()
			}
		}
		c.message(at, fields)
	}
}

func (c *Conn) clientHello(body []byte, at tcpstate.Position, fields map[string]any) error {
	ch, err := ParseClientHello(body)
	if err != nil {
		return err
	}
	c.haveCH = true
	c.chPos = at
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
	if fields != nil {
		fields["version"] = ch.MaxVersion().String()
		fields["sni"] = ch.ServerName
		if len(ch.ALPN) > 0 {
			fields["alpn"] = strings.Join(ch.ALPN, ",")
		}
		fields["cipher_suites"] = len(ch.CipherSuites)
		ja3, hash := ch.JA3()
		fields["ja3"] = ja3
		fields["ja3_hash"] = hash
		var groups []string
		for _, g := range ch.KeyShareGroups {
			if !isGREASE(g) {
				groups = append(groups, groupName(g))
			}
		}
		if len(groups) > 0 {
			fields["key_share"] = strings.Join(groups, ",")
		}
		if ch.ExtendedMasterSecret {
			fields["extended_master_secret"] = true
		}
		if ch.EncryptThenMAC {
			fields["encrypt_then_mac"] = true
		}
		if ch.PSK {
			fields["psk_identities"] = ch.PSKIdentities
		}
		if ch.SessionTicket {
			fields["session_ticket"] = ch.SessionTicketLen
		}
	}
	return nil
}

func (c *Conn) serverHello(body []byte, at tcpstate.Position, fields map[string]any) error {
	sh, err := ParseServerHello(body)
	if err != nil {
		return err
	}
	if sh.HelloRetryRequest {
		c.hrr = true
		if fields != nil {
			fields["handshake_type"] = "hello_retry_request"
			fields["version"] = sh.ChosenVersion().String()
			fields["cipher_suite"] = CipherSuiteName(sh.CipherSuite)
			fields["key_share"] = groupName(sh.KeyShareGroup)
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
	if fields != nil {
		fields["version"] = c.version.String()
		fields["cipher_suite"] = CipherSuiteName(sh.CipherSuite)
		if sh.ALPN != "" {
			fields["alpn"] = sh.ALPN
		}
		if sh.ExtendedMasterSecret {
			fields["extended_master_secret"] = true
		}
		if sh.EncryptThenMAC {
			fields["encrypt_then_mac"] = true
		}
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
	if c.version == VersionTLS13 {
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
		c.event(health.TLSDecryptFailed, health.Warning, at,
			fmt.Sprintf("a key is logged for this connection but %s with %s is not supported for decryption",
				c.version, CipherSuiteName(c.suiteID)),
			map[string]any{"reason": "unsupported cipher suite", "suite": CipherSuiteName(c.suiteID), "key": labelClientRandom})
		return
	}
	macLen, ivLen := 0, 0
	switch s.cipher {
	case cipherAESGCM:
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
	c.event(health.TLSNoKey, health.Notice, at, msg,
		map[string]any{"client_random": c.randomPrefix(), "key": label})
}

// certificate decodes a Certificate message and checks the server's chain
// against the capture time and the requested name.
func (c *Conn) certificate(dir tcpstate.Dir, body []byte, at tcpstate.Position, fields map[string]any) error {
	cert, dropped, err := ParseCertificate(body, c.version, c.lim.MaxCerts)
	if err != nil {
		return err
	}
	var infos []CertInfo
	for _, der := range cert.Raw {
		infos = append(infos, DescribeCertificate(der))
	}
	if fields != nil {
		var subj, issuers, names []string
		for _, ci := range infos {
			subj = append(subj, ci.Subject)
			issuers = append(issuers, ci.Issuer)
		}
		fields["cert_subjects"] = subj
		fields["cert_issuers"] = issuers
		if len(infos) > 0 {
			names = infos[0].Names()
			fields["cert_names"] = names
			fields["cert_not_before"] = infos[0].NotBefore.UTC().Format(time.RFC3339)
			fields["cert_not_after"] = infos[0].NotAfter.UTC().Format(time.RFC3339)
			fields["cert_key"] = infos[0].KeyType
		}
		if dropped > 0 {
			fields["certs_not_decoded"] = dropped
		}
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
		if fields != nil {
			fields["cert_name_match"] = match
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
		c.message(at, map[string]any{"cert_name_match": match, "host": host, "source": source,
			"cert_names": names})
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
