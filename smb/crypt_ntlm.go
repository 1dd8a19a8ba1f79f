package smb

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rc4"
	"strings"
	"unicode/utf16"

	"github.com/nettrace/nettrace/internal/wire"
	"golang.org/x/crypto/md4" //nolint:staticcheck // NTLM's NT hash is MD4 by definition ([MS-NLMP] 3.3.1)
)

// NTLMSSP_NEGOTIATE_KEY_EXCH ([MS-NLMP] 2.2.2.5, flag W).
const ntlmFlagKeyExch = 0x40000000

// ntlmAuthKeys is what deriving a session key needs from an NTLMSSP
// AUTHENTICATE message ([MS-NLMP] 2.2.1.3): copies, kept only inside the
// connection's crypto state and never output.
type ntlmAuthKeys struct {
	user, domain string
	flags        uint32
	ntResponse   []byte // NtChallengeResponse: NTProofStr (16 bytes) then the NTLMv2 client challenge
	encKey       []byte // EncryptedRandomSessionKey
}

// findNTLMChallenge returns the ServerChallenge of the NTLMSSP CHALLENGE
// message inside a security blob ([MS-NLMP] 2.2.1.2).
func findNTLMChallenge(blob []byte) ([8]byte, bool) {
	var ch [8]byte
	i := bytes.Index(blob, ntlmSignature)
	if i < 0 {
		return ch, false
	}
	r := wire.Reader(blob[i:])
	var typ uint32
	if !r.Skip(8) || !r.ReadUint32(&typ) || typ != uint32(NTLMChallenge) || !r.Skip(8+4) || !r.CopyBytes(ch[:]) {
		return ch, false
	}
	return ch, true
}

// findNTLMAuthKeys copies the fields of the NTLMSSP AUTHENTICATE message
// inside a security blob that deriving its session key needs. It reports
// false when there is none, or when it is not NTLMv2 (an NT response of at
// most 24 bytes: anonymous or NTLMv1).
func findNTLMAuthKeys(blob []byte) (ntlmAuthKeys, bool) {
	i := bytes.Index(blob, ntlmSignature)
	if i < 0 {
		return ntlmAuthKeys{}, false
	}
	b := blob[i:]
	r := wire.Reader(b)
	var typ uint32
	var lm, nt, dom, user, ws, key field
	var a ntlmAuthKeys
	if !r.Skip(8) || !r.ReadUint32(&typ) || typ != uint32(NTLMAuthenticate) || !lm.read(&r) || !nt.read(&r) ||
		!dom.read(&r) || !user.read(&r) || !ws.read(&r) || !key.read(&r) || !r.ReadUint32(&a.flags) {
		return ntlmAuthKeys{}, false
	}
	var ok1, ok2 bool
	uni := a.flags&NTLMFlagUnicode != 0
	a.domain, ok1 = dom.str(b, uni)
	a.user, ok2 = user.str(b, uni)
	ntr, ok3 := wire.Field(b, int(nt.off), int(nt.len))
	if !ok1 || !ok2 || !ok3 || len(ntr) <= 24 {
		return ntlmAuthKeys{}, false
	}
	a.ntResponse = bytes.Clone(ntr)
	if key.len > 0 {
		k, ok := wire.Field(b, int(key.off), int(key.len))
		if !ok {
			return ntlmAuthKeys{}, false
		}
		a.encKey = bytes.Clone(k)
	}
	return a, true
}

// utf16le encodes s as UTF-16LE.
func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

// ntowfv2 is NTOWFv2(Passwd, User, UserDom) = HMAC_MD5(MD4(UNICODE(Passwd)),
// UNICODE(Uppercase(User) || UserDom)) ([MS-NLMP] 3.3.2).
func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	m := hmac.New(md5.New, h.Sum(nil))
	m.Write(utf16le(strings.ToUpper(user) + domain))
	return m.Sum(nil)
}

// ntlmv2SessionKey derives the session key of an NTLMv2 authentication
// ([MS-NLMP] 3.3.2, 3.4.5.1) from the first password that produces the
// NTProofStr the client sent: SessionBaseKey = HMAC_MD5(ResponseKeyNT,
// NTProofStr), the KeyExchangeKey of NTLMv2; with NEGOTIATE_KEY_EXCH the
// exported session key is RC4(KeyExchangeKey, EncryptedRandomSessionKey),
// else the KeyExchangeKey itself. Each password is tried with the
// AUTHENTICATE's domain and, as some clients compute it, with none. It
// reports false when no password matches.
func ntlmv2SessionKey(passwords []string, challenge [8]byte, a ntlmAuthKeys) ([]byte, bool) {
	if len(a.ntResponse) <= 16 {
		return nil, false
	}
	proof, blob := a.ntResponse[:16], a.ntResponse[16:]
	domains := []string{a.domain}
	if a.domain != "" {
		domains = append(domains, "")
	}
	for _, pw := range passwords {
		for _, dom := range domains {
			key := ntowfv2(pw, a.user, dom)
			m := hmac.New(md5.New, key)
			m.Write(challenge[:])
			m.Write(blob)
			if !hmac.Equal(m.Sum(nil), proof) {
				continue
			}
			m = hmac.New(md5.New, key)
			m.Write(proof)
			base := m.Sum(nil)
			if a.flags&ntlmFlagKeyExch == 0 || len(a.encKey) != 16 {
				return base, true
			}
			rc, err := rc4.NewCipher(base)
			if err != nil {
				return nil, false
			}
			exported := make([]byte, 16)
			rc.XORKeyStream(exported, a.encKey)
			return exported, true
		}
	}
	return nil, false
}
