package smb

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/wire"
	"github.com/nettrace/nettrace/tcpstate"
)

// SMB 3.x decryption ([MS-SMB2] 3.1.4.3, 3.2.5.1.1.1, 3.3.5.2.1.1) and
// decompression ([MS-SMB2] 3.1.4.4, 3.2.5.1.1.2) inside a Conn.
//
// A Conn decrypts when Config.Keys or Config.NTPasswords is set. It
// follows, per connection, the negotiated dialect and cipher and the SMB
// 3.1.1 preauthentication integrity hash (SHA-512 over NEGOTIATE and
// SESSION_SETUP requests and responses), and per session its NTLMSSP
// challenge and AUTHENTICATE. The keys of a session come from Config.Keys
// (derived keys as given, or derived from its session key), else from the
// first password that reproduces the session's NTLMv2 response. A
// decrypted message goes through the same decoding as a clear one, with
// the transform PDU's frames; "encrypted": true marks its messages.
// Compressed messages (clear or decrypted) are always decompressed.
//
// Secrets (keys, password-derived hashes, passwords) stay inside this
// state: events and messages name sessions, ciphers and where the key came
// from, never a key.

// Limits of the crypto state (fixed: the numbers of sessions and session
// setups in flight on one connection are small in practice).
const (
	maxCryptSessions = 1024
	maxCryptSetups   = 64
)

// Where a session's key came from (the key_source evidence of events).
const (
	keySourceTable    = "key_table"
	keySourcePassword = "password"
)

// Why a session cannot be decrypted (the reason evidence of smb.no_key).
const (
	noKeyUnknown  = "no_key"        // neither the key table nor a password gives its key
	noKeyPreauth  = "no_preauth"    // SMB 3.1.1 session key, but its session setup is not in the capture
	noKeyOneSided = "no_dir_key"    // the key table gives only the other direction's key
	noKeyCipher   = "bad_key_len"   // the key's length fits no possible cipher
	noKeyLimit    = "session_limit" // more than maxCryptSessions sessions on the connection
)

// cryptState is a Conn's decryption state; the zero value is ready.
type cryptState struct {
	dialect  Dialect
	cipher   Cipher
	negReq   [preauthHashLen]byte // hash after the latest SMB2 NEGOTIATE request
	connHash [preauthHashLen]byte // Connection.PreauthIntegrityHashValue
	hashing  bool                 // SMB 3.1.1 negotiated: keep preauth hashes
	setups   map[uint64]*cryptSetup
	sessions map[uint64]*cryptSession
	order    []*cryptSession // in order of creation, for Close
	wrapped  uint8           // while decoding the inside of a transform: wrap* bits
	dropped  int64           // transform PDUs of sessions beyond maxCryptSessions
}

const (
	wrapEncrypted = 1 << iota
	wrapCompressed
)

// cryptSetup is a SESSION_SETUP request awaiting its response.
type cryptSetup struct {
	sessionID uint64
	hash      [preauthHashLen]byte // preauth hash through this request
	hashed    bool
	auth      *ntlmAuthKeys
}

// cryptSession is one session's keys and counts.
type cryptSession struct {
	id           uint64
	preauth      [preauthHashLen]byte
	hasPreauth   bool
	challenge    [8]byte
	hasChallenge bool
	established  bool
	auth         *ntlmAuthKeys // the AUTHENTICATE that established the session
	sessionKey   []byte        // from a password
	noKeyDetail  string        // why no password gave the key

	prepared bool
	source   string
	noKey    string
	cands    []cryptCand
	verified bool // a message authenticated with cands[0]

	decrypted, failed, missing int64
	first, last                tcpstate.Position
	noKeySaid, failSaid        bool
}

// cryptCand is one cipher and its keys, by tcpstate.Dir (ClientToServer
// messages are encrypted with the client-to-server key).
type cryptCand struct {
	cipher Cipher
	key    [2][]byte
	aead   [2]cipher.AEAD
}

// plainPool holds plaintext and decompression buffers for all Conns, so
// that an idle connection keeps none.
var plainPool = sync.Pool{New: func() any { return new([]byte) }}

// cryptOn reports whether decryption was asked for.
func (c *Conn) cryptOn() bool { return len(c.cfg.NTPasswords) > 0 || c.cfg.Keys.Len() > 0 }

// session returns the crypto state of session id, creating it, or nil
// when maxCryptSessions are tracked.
func (s *cryptState) session(id uint64) *cryptSession {
	if cs := s.sessions[id]; cs != nil {
		return cs
	}
	if len(s.sessions) >= maxCryptSessions {
		return nil
	}
	if s.sessions == nil {
		s.sessions = map[uint64]*cryptSession{}
	}
	cs := &cryptSession{id: id}
	s.sessions[id] = cs
	s.order = append(s.order, cs)
	return cs
}

// cryptMessage follows the messages that keys depend on: NEGOTIATE (dialect,
// cipher, the start of the preauth hash) and SESSION_SETUP (the preauth
// hash of each session, the NTLMSSP challenge and AUTHENTICATE). msg is the
// whole SMB2 message, b its body when ok.
func (c *Conn) cryptMessage(h Header2, b Body2, ok bool, msg []byte) {
	if (h.Command != SMB2Negotiate && h.Command != SMB2SessionSetup) || !c.cryptOn() {
		return
	}
	s := &c.crypt
	switch {
	case h.Command == SMB2Negotiate && !h.IsResponse():
		s.negReq = preauthUpdate([preauthHashLen]byte{}, msg)
	case h.Command == SMB2Negotiate:
		if !ok || b.ErrorResponse || b.Dialect == DialectWildcard {
			return
		}
		s.dialect, s.cipher = b.Dialect, CipherUnknown
		switch b.Dialect {
		case Dialect300, Dialect302:
			s.cipher = CipherAES128CCM
		case Dialect311:
			s.cipher = negotiatedCipher(msg)
			s.connHash = preauthUpdate(s.negReq, msg)
			s.hashing = true
		}
	case !h.IsResponse():
		c.cryptSetupRequest(h, b, ok, msg)
	default:
		c.cryptSetupResponse(h, b, ok, msg)
	}
}

// cryptSetupRequest records a SESSION_SETUP request: its preauth hash and
// its NTLMSSP AUTHENTICATE ([MS-SMB2] 3.2.4.2.3, 3.3.5.5).
func (c *Conn) cryptSetupRequest(h Header2, b Body2, ok bool, msg []byte) {
	s := &c.crypt
	if s.setups == nil {
		s.setups = map[uint64]*cryptSetup{}
	}
	if len(s.setups) >= maxCryptSetups {
		clear(s.setups) // abandoned setups; those in flight lose their hash
	}
	st := &cryptSetup{sessionID: h.SessionID}
	if s.hashing {
		switch cs := s.sessions[h.SessionID]; {
		case h.SessionID == 0:
			st.hash, st.hashed = preauthUpdate(s.connHash, msg), true
		case cs != nil && cs.hasPreauth && !cs.established:
			st.hash, st.hashed = preauthUpdate(cs.preauth, msg), true
		}
	}
	if ok {
		if a, found := findNTLMAuthKeys(b.SecurityBlob); found {
			st.auth = &a
		}
	}
	s.setups[h.MessageID] = st
}

// cryptSetupResponse applies a SESSION_SETUP response: the challenge, the
// preauth hash of a session in progress, and, on success, the session key
// from a password.
func (c *Conn) cryptSetupResponse(h Header2, b Body2, ok bool, msg []byte) {
	s := &c.crypt
	st := s.setups[h.MessageID]
	delete(s.setups, h.MessageID)
	if h.Status != StatusMoreProcessingRequired && h.Status != StatusSuccess {
		return
	}
	cs := s.session(h.SessionID)
	if cs == nil || cs.established {
		return // unknown, or a re-authentication: the keys do not change
	}
	if ok {
		if ch, found := findNTLMChallenge(b.SecurityBlob); found {
			cs.challenge, cs.hasChallenge = ch, true
		}
	}
	if h.Status == StatusMoreProcessingRequired {
		if st != nil && st.hashed {
			cs.preauth, cs.hasPreauth = preauthUpdate(st.hash, msg), true
		} else {
			cs.hasPreauth = false
		}
		return
	}
	cs.established = true
	cs.prepared = false
	if st != nil && st.hashed {
		cs.preauth, cs.hasPreauth = st.hash, true // the final response is not hashed
	} else {
		cs.hasPreauth = false
	}
	if st != nil {
		cs.auth = st.auth
	}
	c.passwordKey(cs)
}

// passwordKey derives the session key of cs from the configured passwords.
func (c *Conn) passwordKey(cs *cryptSession) {
	if len(c.cfg.NTPasswords) == 0 {
		return
	}
	switch {
	case cs.auth == nil:
		cs.noKeyDetail = "its authentication is not an NTLMv2 AUTHENTICATE seen in the capture"
	case !cs.hasChallenge:
		cs.noKeyDetail = "the NTLMSSP challenge of its authentication is not in the capture"
	default:
		if key, ok := ntlmv2SessionKey(c.cfg.NTPasswords, cs.challenge, *cs.auth); ok {
			cs.sessionKey = key
			return
		}
		n := len(c.cfg.NTPasswords)
		cs.noKeyDetail = fmt.Sprintf("none of the %d password(s) matches the NTLMv2 response of %s\\%s", n, cs.auth.domain, cs.auth.user)
	}
}

// negotiatedCipher returns the cipher of the SMB2_ENCRYPTION_CAPABILITIES
// context of an SMB 3.1.1 NEGOTIATE response ([MS-SMB2] 2.2.4,
// 2.2.3.1.2), or CipherUnknown.
func negotiatedCipher(msg []byte) Cipher {
	var count uint16
	var off uint32
	r, ok := wire.Field(msg, header2Len+6, 2)
	if !ok || !r.ReadUint16(&count) {
		return CipherUnknown
	}
	if r, ok = wire.Field(msg, header2Len+60, 4); !ok || !r.ReadUint32(&off) || off > 1<<20 {
		return CipherUnknown
	}
	pos := int(off)
	for i := 0; i < int(count) && i < 64; i++ {
		pos = (pos + 7) &^ 7
		hdr, ok := wire.Field(msg, pos, 8)
		if !ok {
			return CipherUnknown
		}
		var typ, n uint16
		hdr.ReadUint16(&typ)
		hdr.ReadUint16(&n)
		data, ok := wire.Field(msg, pos+8, int(n))
		if !ok {
			return CipherUnknown
		}
		var nc, id uint16
		if typ == 2 && data.ReadUint16(&nc) && nc >= 1 && data.ReadUint16(&id) {
			return Cipher(id)
		}
		pos += 8 + int(n)
	}
	return CipherUnknown
}

// prepare finds the keys of cs, once: from the key table, else from the
// session key a password gave.
func (c *Conn) prepare(cs *cryptSession) {
	if cs.prepared {
		return
	}
	cs.prepared, cs.cands, cs.noKey, cs.verified = true, nil, "", false
	var sk []byte
	if k, ok := c.cfg.Keys.Lookup(cs.id); ok {
		cs.source = keySourceTable
		if k.ServerToClient != nil || k.ClientToServer != nil {
			c.directKeys(cs, k.ClientToServer, k.ServerToClient)
			return
		}
		sk = k.SessionKey
	} else if cs.sessionKey != nil {
		cs.source, sk = keySourcePassword, cs.sessionKey
	} else {
		cs.noKey = noKeyUnknown
		return
	}
	if c.crypt.dialect == Dialect311 && !cs.hasPreauth {
		cs.noKey = noKeyPreauth
		return
	}
	for _, ci := range c.cipherChoices(0) {
		c2s, s2c := deriveCipherKeys(sk, c.crypt.dialect, cs.preauth[:], ci)
		cs.addCand(ci, c2s, s2c)
	}
}

// directKeys uses derived keys from the key table as they are; their
// length chooses between the AES-128 and AES-256 ciphers.
func (c *Conn) directKeys(cs *cryptSession, c2s, s2c []byte) {
	n := max(len(c2s), len(s2c))
	for _, ci := range c.cipherChoices(n) {
		cs.addCand(ci, c2s, s2c)
	}
	if len(cs.cands) == 0 {
		cs.noKey = noKeyCipher
	}
}

// cipherChoices lists the ciphers to try: the negotiated one, else every
// cipher (whose key length is keyLen, when not 0).
func (c *Conn) cipherChoices(keyLen int) []Cipher {
	all := []Cipher{CipherAES128GCM, CipherAES128CCM, CipherAES256GCM, CipherAES256CCM}
	if c.crypt.cipher.known() {
		all = []Cipher{c.crypt.cipher}
	}
	out := all[:0]
	for _, ci := range all {
		if keyLen == 0 || ci.keyLen() == keyLen {
			out = append(out, ci)
		}
	}
	return out
}

// addCand adds a cipher with its keys (a direction whose key is missing or
// of the wrong length cannot be decrypted).
func (cs *cryptSession) addCand(ci Cipher, c2s, s2c []byte) {
	cand := cryptCand{cipher: ci}
	for d, k := range [2][]byte{c2s, s2c} {
		if a, err := ci.aead(k); err == nil {
			cand.key[d], cand.aead[d] = k, a
		}
	}
	if cand.aead[0] != nil || cand.aead[1] != nil {
		cs.cands = append(cs.cands, cand)
	}
}

// transform header fields ([MS-SMB2] 2.2.41): the signature (the AEAD tag),
// then the nonce, and the authenticated part, Nonce through SessionId.
const (
	transformSigOff   = 4
	transformNonceOff = 20
)

// decryptTransform decrypts the transform PDU p and decodes what it holds.
// It reports false when the PDU stays encrypted (decryption not asked for,
// no key, or a key that does not authenticate): the caller then counts it
// as encrypted.
func (c *Conn) decryptTransform(dir tcpstate.Dir, p []byte, info pduInfo) bool {
	if !c.cryptOn() || c.crypt.wrapped != 0 || len(p) < transformHdrLen {
		return false
	}
	t, _, err := ParseTransformHeader(p)
	if err != nil {
		return false
	}
	cs := c.crypt.session(t.SessionID)
	if cs == nil {
		c.crypt.dropped++
		if c.crypt.dropped == 1 {
			c.ctx.Event(health.Event{Kind: health.SMBNoKey, Severity: health.DefaultSeverity(health.SMBNoKey), Time: info.start.Time, Frame: info.start.Frame,
				Message: fmt.Sprintf("SMB3 session 0x%016x and any later new session of this connection are not decrypted: %d sessions are already tracked", t.SessionID, maxCryptSessions),
				Evidence: map[string]any{"session_id": fmt.Sprintf("0x%016x", t.SessionID), "reason": noKeyLimit,
					"dialect": c.crypt.dialect.String(), "dir": dir.String()}})
		}
		return false
	}
	c.prepare(cs)
	if !c.hasDirKey(cs, dir) {
		cs.missing++
		c.noKeyEvent(cs, dir, info)
		return false
	}
	box := plainPool.Get().(*[]byte)
	defer func() {
		if cap(*box) <= 2*c.lim.MaxBuffered {
			plainPool.Put(box)
		}
	}()
	var plain []byte
	var ok bool
	if info.partial {
		plain, ok = cs.openHead(dir, p, box)
	} else {
		plain, ok = cs.open(dir, p, box)
	}
	if !ok {
		cs.failed++
		c.decryptFailedEvent(cs, info)
		return false
	}
	c.stats.Decrypted++
	cs.decrypted++
	if cs.decrypted == 1 {
		cs.first = info.start
	}
	cs.last = info.start
	c.crypt.wrapped |= wrapEncrypted
	defer func() { c.crypt.wrapped = 0 }()
	c.innerMessage(dir, plain, info)
	return true
}

// hasDirKey reports whether some cipher of cs has a key for dir, and
// records why not.
func (c *Conn) hasDirKey(cs *cryptSession, dir tcpstate.Dir) bool {
	for _, cand := range cs.cands {
		if cand.aead[dir] != nil {
			return true
		}
	}
	if cs.noKey == "" {
		cs.noKey = noKeyOneSided
	}
	return false
}

// open authenticates and decrypts p with the session's ciphers, into the
// buffer in box. The first cipher that authenticates is kept.
func (cs *cryptSession) open(dir tcpstate.Dir, p []byte, box *[]byte) ([]byte, bool) {
	sig, aad, ct := p[transformSigOff:transformNonceOff], p[transformNonceOff:transformHdrLen], p[transformHdrLen:]
	nonce := p[transformNonceOff : transformNonceOff+16]
	for _, cand := range cs.cands {
		a := cand.aead[dir]
		if a == nil {
			continue
		}
		buf := append(append((*box)[:0], ct...), sig...)
		*box = buf
		plain, err := a.Open(buf[:0], nonce[:cand.cipher.nonceLen()], buf, aad)
		if err != nil {
			continue
		}
		if !cs.verified {
			cs.cands, cs.verified = []cryptCand{cand}, true
		}
		return plain, true
	}
	return nil, false
}

// openHead decrypts, without authenticating, the head of a PDU too large to
// buffer whole (only its head was kept): the key stream of the cipher is
// applied to what is present. It reports false unless the result starts
// with an SMB2 or compression protocol id.
func (cs *cryptSession) openHead(dir tcpstate.Dir, p []byte, box *[]byte) ([]byte, bool) {
	nonce, ct := p[transformNonceOff:transformNonceOff+16], p[transformHdrLen:]
	for _, cand := range cs.cands {
		if cand.key[dir] == nil {
			continue
		}
		b, err := aes.NewCipher(cand.key[dir])
		if err != nil {
			continue
		}
		iv := cand.cipher.ctrIV(nonce)
		buf := append((*box)[:0], ct...)
		*box = buf
		cipher.NewCTR(b, iv[:]).XORKeyStream(buf, buf)
		if len(buf) >= 4 && ([4]byte(buf[:4]) == magicSMB2 || [4]byte(buf[:4]) == magicCompress) {
			return buf, true
		}
	}
	return nil, false
}

// innerMessage decodes the plaintext of a transform: an SMB2 message (or
// compound), or a compressed one.
func (c *Conn) innerMessage(dir tcpstate.Dir, p []byte, info pduInfo) {
	if len(p) >= 4 {
		switch [4]byte(p[:4]) {
		case magicSMB2:
			c.smb2PDU(dir, p, info)
			return
		case magicCompress:
			if !c.decompressMessage(dir, p, info) {
				c.stats.Compressed++
			}
			return
		}
	}
	c.malformed(dir, info.start, malformed("smb3 decrypted message", "protocol id %x", p[:min(4, len(p))]))
}

// decompressMessage decompresses the compressed message p (clear, or the
// plaintext of a transform) and decodes the SMB2 message it holds. One
// larger than MaxBuffered is decoded from its first HeadBytes, as large
// clear PDUs are; one declaring more than MaxPDU is not decompressed
// (smb.decompress_failed). It reports false when the message stays
// compressed.
func (c *Conn) decompressMessage(dir tcpstate.Dir, p []byte, info pduInfo) bool {
	box := plainPool.Get().(*[]byte)
	defer func() {
		if cap(*box) <= 2*c.lim.MaxBuffered {
			plainPool.Put(box)
		}
	}()
	head := info.partial
	out, size, err := Decompress((*box)[:0], p, c.lim.MaxBuffered, head)
	if errors.Is(err, ErrDecompressLimit) && size <= c.lim.MaxPDU {
		head = true
		out, size, err = Decompress((*box)[:0], p, c.lim.HeadBytes, true)
	}
	*box = out[:0]
	if err != nil {
		c.decompressFailedEvent(dir, info, size, err)
		return false
	}
	if len(out) < 4 || [4]byte(out[:4]) != magicSMB2 {
		c.decompressFailedEvent(dir, info, size, &DecompressError{Err: ErrDecompress,
			Detail: fmt.Sprintf("decompressed message starts with %x, not an SMB2 header", out[:min(4, len(out))])})
		return false
	}
	c.stats.Decompressed++
	wrapped := c.crypt.wrapped
	c.crypt.wrapped |= wrapCompressed
	defer func() { c.crypt.wrapped = wrapped }()
	info.partial = info.partial || head
	c.smb2PDU(dir, out, info)
	return true
}

// wrapFields marks the message of a command that arrived encrypted or
// compressed.
func (c *Conn) wrapFields(m *Message) {
	m.Encrypted = c.crypt.wrapped&wrapEncrypted != 0
	m.Compressed = c.crypt.wrapped&wrapCompressed != 0
}

// noKeyEvent reports smb.no_key once per session.
func (c *Conn) noKeyEvent(cs *cryptSession, dir tcpstate.Dir, info pduInfo) {
	if cs.noKeySaid {
		return
	}
	cs.noKeySaid = true
	var why string
	switch cs.noKey {
	case noKeyPreauth:
		why = "its session key is in the key table, but SMB 3.1.1 derives the keys from its session setup, which is not in the capture"
	case noKeyOneSided:
		why = fmt.Sprintf("the key table gives no key for what the %s sends", dir)
	case noKeyCipher:
		why = "the key table's keys fit no SMB 3 cipher"
	default:
		why = "the key table has no key for it"
		if len(c.cfg.NTPasswords) > 0 {
			d := cs.noKeyDetail
			if d == "" {
				d = "its session setup is not in the capture"
			}
			why += ", and no password gives it: " + d
		}
	}
	c.ctx.Event(health.Event{Kind: health.SMBNoKey, Severity: health.DefaultSeverity(health.SMBNoKey), Time: info.start.Time, Frame: info.start.Frame,
		Message: fmt.Sprintf("SMB3 session 0x%016x is encrypted and cannot be decrypted: %s", cs.id, why),
		Evidence: map[string]any{"session_id": fmt.Sprintf("0x%016x", cs.id), "reason": cs.noKey,
			"dialect": c.crypt.dialect.String(), "dir": dir.String()}})
}

// decryptFailedEvent reports smb.decrypt_failed once per session.
func (c *Conn) decryptFailedEvent(cs *cryptSession, info pduInfo) {
	if cs.failSaid {
		return
	}
	cs.failSaid = true
	names := make([]string, 0, len(cs.cands))
	for _, cand := range cs.cands {
		names = append(names, cand.cipher.String())
	}
	what := "message"
	if info.partial {
		what = "message head (too large to buffer, decrypted without authentication)"
	}
	c.ctx.Event(health.Event{Kind: health.SMBDecryptFailed, Severity: health.DefaultSeverity(health.SMBDecryptFailed), Time: info.start.Time, Frame: info.start.Frame,
		Message: fmt.Sprintf("SMB3 session 0x%016x: an encrypted %s does not decrypt with the key from the %s (%s)", cs.id, what,
			strings.ReplaceAll(cs.source, "_", " "), strings.Join(names, ", ")),
		Evidence: map[string]any{"session_id": fmt.Sprintf("0x%016x", cs.id), "key_source": cs.source,
			"ciphers": strings.Join(names, ","), "dialect": c.crypt.dialect.String()}})
}

// decompressFailedEvent reports smb.decompress_failed (capped like
// smb.malformed).
func (c *Conn) decompressFailedEvent(dir tcpstate.Dir, info pduInfo, size int, err error) {
	c.stats.DecompressFailed++
	if c.stats.DecompressFailed > int64(c.lim.MaxErrorEvents) {
		return
	}
	reason, alg := "corrupt", ""
	var de *DecompressError
	if errors.As(err, &de) {
		alg = de.Algorithm.String()
		if de.Truncated {
			reason = "truncated"
		}
	}
	if errors.Is(err, ErrDecompressLimit) {
		reason = "limit"
	}
	ev := map[string]any{"reason": reason, "error": err.Error(), "original_size": size, "dir": dir.String()}
	if alg != "" {
		ev["algorithm"] = alg
	}
	c.ctx.Event(health.Event{Kind: health.SMBDecompressFailed, Severity: health.DefaultSeverity(health.SMBDecompressFailed), Time: info.start.Time, Frame: info.start.Frame,
		Message: fmt.Sprintf("compressed SMB message from the %s not decoded: %v", dir, err), Evidence: ev})
}

// cryptClose reports smb.decrypted (Info) once per session that was
// decrypted, with its counts.
func (c *Conn) cryptClose() {
	for _, cs := range c.crypt.order {
		if cs.decrypted == 0 {
			continue
		}
		ci := CipherUnknown
		if len(cs.cands) > 0 {
			ci = cs.cands[0].cipher
		}
		ev := map[string]any{"session_id": fmt.Sprintf("0x%016x", cs.id), "messages": cs.decrypted, "cipher": ci.String(),
			"key_source": cs.source, "dialect": c.crypt.dialect.String(), "first_frame": cs.first.Frame, "last_frame": cs.last.Frame}
		extra := ""
		if cs.failed > 0 {
			ev["failed"] = cs.failed
			extra = fmt.Sprintf(", %d did not decrypt", cs.failed)
		}
		c.ctx.Event(health.Event{Kind: health.SMBDecrypted, Severity: health.DefaultSeverity(health.SMBDecrypted), Time: cs.first.Time, Frame: cs.first.Frame,
			Message: fmt.Sprintf("SMB3 session 0x%016x decrypted (%s, key from the %s): %d messages, frames %d-%d%s", cs.id, ci,
				strings.ReplaceAll(cs.source, "_", " "), cs.decrypted, cs.first.Frame, cs.last.Frame, extra),
			Evidence: ev})
	}
}
