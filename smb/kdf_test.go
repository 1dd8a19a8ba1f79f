package smb

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// TestKDFSMB30: Microsoft's "Encryption in SMB 3.0: a protocol
// perspective" (session 0x8e40014000011): session key -> the client's
// EncryptionKey (ServerIn, client-to-server) and DecryptionKey (ServerOut).
func TestKDFSMB30(t *testing.T) {
	sk := mustHex(t, "b4546771b515f766a86735532dd6c4f0")
	for _, d := range []Dialect{Dialect300, Dialect302} {
		c2s, s2c := deriveCipherKeys(sk, d, nil, CipherAES128CCM)
		if want := mustHex(t, "261b72350558f2e9dcf613070383edbf"); !bytes.Equal(c2s, want) {
			t.Errorf("%s client-to-server = %x, want %x", d, c2s, want)
		}
		if want := mustHex(t, "8fe2b57ec34d2db5b1a9727f526bbdb5"); !bytes.Equal(s2c, want) {
			t.Errorf("%s server-to-client = %x, want %x", d, s2c, want)
		}
	}
}

// TestKDFSMB311: Microsoft's "SMB 3.1.1 Encryption in Windows 10"
// appendices A.1 (AES-128-GCM) and A.2 (AES-128-CCM): session key and
// preauthentication integrity hash -> encryption (client-to-server) and
// decryption (server-to-client) keys.
func TestKDFSMB311(t *testing.T) {
	tests := []struct {
		name, sk, preauth, c2s, s2c string
		cipher                      Cipher
	}{
		{"A.1 gcm", "419fddf34c1e001909d362ae7fb6af79",
			"b23f3cbfd69487d9832b79b1594a367cdd950909b774c3a4c412b4fcea9edddba7db256ba2ea30e977f11f9b113247578e0e915c6d2a513b8f2fca5707dc8770",
			"a2f5e80e5d59103034f32e52f698e5ec", "748c50868c90f302962a5c35f5f9a8bf", CipherAES128GCM},
		{"A.2 ccm", "07b7f69c1e2581662df6987e88f9e891",
			"decf98a420718718f22090d3580fcc5e484bd310fa1268210c6e86335a8891e767f5bcd99fa5a7859d665ad07a73ea94e1bcdb7cfa69a6962a28a244138340b1",
			"dfaaa31aae40a2485d47ac4df09fda1d", "95c544aef6072680da1ce49a68a97fa6", CipherAES128CCM},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c2s, s2c := deriveCipherKeys(mustHex(t, tc.sk), Dialect311, mustHex(t, tc.preauth), tc.cipher)
			if hex.EncodeToString(c2s) != tc.c2s || hex.EncodeToString(s2c) != tc.s2c {
				t.Errorf("keys %x %x, want %s %s", c2s, s2c, tc.c2s, tc.s2c)
			}
		})
	}
	// AES-256 derives 32 bytes from the whole session key; its first 16
	// bytes are not the AES-128 key (L is part of the PRF input).
	k256, _ := deriveCipherKeys(mustHex(t, tests[0].sk), Dialect311, mustHex(t, tests[0].preauth), CipherAES256GCM)
	if len(k256) != 32 || bytes.HasPrefix(k256, mustHex(t, tests[0].c2s)) {
		t.Errorf("AES-256 key %x", k256)
	}
}

// TestPreauthIntegrityHash follows the NEGOTIATE exchange of appendix A.2
// of "SMB 3.1.1 Encryption in Windows 10": zero, then SHA-512(H ||
// request), then SHA-512(H || response).
func TestPreauthIntegrityHash(t *testing.T) {
	req := mustHex(t, "fe534d4240000100000000000000010000000000000000000000000000000000fffe000000000000"+
		"00000000000000000000000000000000000000000000000024000500010000006600000078ea16ac"+
		"6877c34a95f7160f73ea377270000000020000000202100200030203110300000100260000000000"+
		"0100200001001a05a92392e1554c072ae7b186ee7dc02cb90bef2e639ccc94b7a9dc7b3934420000"+
		"0200060000000000020001000200")
	resp := mustHex(t, "fe534d4240000100000000000000010001000000000000000000000000000000fffe000000000000"+
		"000000000000000000000000000000000000000000000000410001001103020039cbcaf329714942"+
		"bdce5d60f09ab3fb27000000000080000000800000008000d04c8443ccaed00109094ab095aed001"+
		"80004001c00100006082013c06062b0601050502a08201303082012ca01a3018060a2b0601040182"+
		"3702021e060a2b06010401823702020aa282010c048201084e45474f455854530100000000000000"+
		"60000000700000007f7cc0fd06d6362d02dde1cf343bfe2973007dcf55ca793e082b7a257defe6e8"+
		"e18291abf112c0599108c772f55cbb2a000000000000000060000000010000000000000000000000"+
		"5c33530deaf90d4db2ec4ae3786ec3084e45474f4558545303000000010000004000000098000000"+
		"7f7cc0fd06d6362d02dde1cf343bfe295c33530deaf90d4db2ec4ae3786ec3084000000058000000"+
		"3056a05430523027802530233121301f06035504031318546f6b656e205369676e696e6720507562"+
		"6c6963204b65793027802530233121301f06035504031318546f6b656e205369676e696e67205075"+
		"626c6963204b6579010026000000000001002000010088afa422ecc239cb16f30ba641ae4b6ee79f"+
		"5a4af74fe18a301e9790515d07f70000020004000000000001000100")
	h := preauthUpdate([preauthHashLen]byte{}, req)
	if want := "a3a8a769fea693b3d037406ef945e115d2b7a4a9318564d2caaa4b1fe0ec36d8d92a4802619edcf29e2410534d2d3749e71f76adf5212f959210d291097a6355"; hex.EncodeToString(h[:]) != want {
		t.Fatalf("after the request: %x", h)
	}
	h = preauthUpdate(h, resp)
	if want := "a21419ad43d5a4975326e07142734eada33d0927738f3c1b05a65b003ccaaae225b547045260356c2014a21e0a3dfa9ef7b192c375bffc5f5e766ac3261f0457"; hex.EncodeToString(h[:]) != want {
		t.Fatalf("after the response: %x", h)
	}
	// The response selects AES-128-CCM in its ENCRYPTION_CAPABILITIES.
	if c := negotiatedCipher(resp); c != CipherAES128CCM {
		t.Errorf("negotiated cipher %s, want AES-128-CCM", c)
	}
}

// ms-nlmp 4.2.4 NTLMv2 authentication: user "User", domain "Domain",
// password "Password", server challenge 0123456789abcdef, client challenge
// aa*8, time 0, target info (NbDomainName "Domain", NbComputerName
// "Server"), random session key 55*16 sent encrypted (KEY_EXCH).
func nlmpVector(t *testing.T) ([8]byte, ntlmAuthKeys) {
	t.Helper()
	var ch [8]byte
	copy(ch[:], mustHex(t, "0123456789abcdef"))
	temp := mustHex(t, "0101000000000000"+"0000000000000000"+"aaaaaaaaaaaaaaaa"+"00000000"+
		"02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"+"00000000")
	return ch, ntlmAuthKeys{user: "User", domain: "Domain", flags: ntlmFlagKeyExch | NTLMFlagUnicode,
		ntResponse: append(mustHex(t, "68cd0ab851e51c96aabc927bebef6a1c"), temp...),
		encKey:     mustHex(t, "c5dad2544fc9799094ce1ce90bc9d03e")}
}

func TestNTLMv2SessionKey(t *testing.T) {
	if got := hex.EncodeToString(ntowfv2("Password", "User", "Domain")); got != "0c868a403bfd7a93a3001ef22ef02e3f" {
		t.Fatalf("NTOWFv2 = %s (MS-NLMP 4.2.4.1.1)", got)
	}
	ch, a := nlmpVector(t)
	// KEY_EXCH: the exported session key is the client's random session key.
	key, ok := ntlmv2SessionKey([]string{"wrong", "Password"}, ch, a)
	if !ok || !bytes.Equal(key, bytes.Repeat([]byte{0x55}, 16)) {
		t.Errorf("exported session key %x, %v; want 55*16", key, ok)
	}
	// Without KEY_EXCH it is the session base key (MS-NLMP 4.2.4.1.2).
	a.flags &^= ntlmFlagKeyExch
	key, ok = ntlmv2SessionKey([]string{"Password"}, ch, a)
	if !ok || hex.EncodeToString(key) != "8de40ccadbc14a82f15cb0ad0de95ca3" {
		t.Errorf("session base key %x, %v", key, ok)
	}
	if _, ok := ntlmv2SessionKey([]string{"password", "Password1"}, ch, a); ok {
		t.Error("a wrong password produced a key")
	}
}

// TestFindNTLMAuthKeys reads the fields back from an AUTHENTICATE message
// inside SPNEGO, and the challenge from a CHALLENGE.
func TestFindNTLMAuthKeys(t *testing.T) {
	ch, want := nlmpVector(t)
	dom, user, ws := u16le(want.domain), u16le(want.user), u16le("COMPUTER")
	off := 64 + 8
	m := append([]byte("NTLMSSP\x00"), 3, 0, 0, 0)
	field := func(n int) {
		m = le.AppendUint16(m, uint16(n))
		m = le.AppendUint16(m, uint16(n))
		m = le.AppendUint32(m, uint32(off))
		off += n
	}
	field(24) // LM
	field(len(want.ntResponse))
	field(len(dom))
	field(len(user))
	field(len(ws))
	field(len(want.encKey))
	m = le.AppendUint32(m, want.flags)
	m = append(m, make([]byte, 8)...) // version
	m = append(m, make([]byte, 24)...)
	m = append(m, want.ntResponse...)
	m = append(append(append(m, dom...), user...), ws...)
	m = append(m, want.encKey...)
	blob := append([]byte{0xa1, 0x82, 0x01, 0x00, 0x04, 0x82}, m...) // a negTokenResp prefix
	got, ok := findNTLMAuthKeys(blob)
	if !ok || got.user != want.user || got.domain != want.domain || got.flags != want.flags ||
		!bytes.Equal(got.ntResponse, want.ntResponse) || !bytes.Equal(got.encKey, want.encKey) {
		t.Fatalf("findNTLMAuthKeys = %+v, %v", got, ok)
	}
	// Every strict prefix is rejected or reads the same fields, never panics.
	for n := range len(blob) {
		findNTLMAuthKeys(blob[:n])
	}
	chal := append([]byte("NTLMSSP\x00"), 2, 0, 0, 0)
	chal = append(chal, make([]byte, 8+4)...)
	chal = append(chal, ch[:]...)
	if got, ok := findNTLMChallenge(chal); !ok || got != ch {
		t.Errorf("challenge %x, %v", got, ok)
	}
	if _, ok := findNTLMChallenge(chal[:len(chal)-1]); ok {
		t.Error("a short CHALLENGE was accepted")
	}
}

func TestKeysParse(t *testing.T) {
	text := "# smb keys\n" +
		"\n" +
		"0000040000000005 000102030405060708090a0b0c0d0e0f   # session key only\n" +
		"0x0000000000000007\t-\t101112131415161718191a1b1c1d1e1f 202122232425262728292a2b2c2d2e2f\n" +
		"0000000000000008 " + strings.Repeat("ab", 32) + "\n"
	var k Keys
	if err := k.Parse([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if k.Len() != 3 {
		t.Fatalf("Len = %d", k.Len())
	}
	s, ok := k.Lookup(0x0000040000000005)
	if !ok || hex.EncodeToString(s.SessionKey) != "000102030405060708090a0b0c0d0e0f" || s.ServerToClient != nil {
		t.Errorf("session 5: %+v", s)
	}
	s, ok = k.Lookup(7)
	if !ok || s.SessionKey != nil || s.ServerToClient[0] != 0x10 || s.ClientToServer[0] != 0x20 {
		t.Errorf("session 7: %+v", s)
	}
	if s, _ := k.Lookup(8); len(s.SessionKey) != 32 {
		t.Errorf("session 8: %+v", s)
	}
	if _, ok := k.Lookup(9); ok {
		t.Error("unknown session found")
	}
}

// TestKeysErrorsNameLinesNotKeys: a bad line is reported by number and
// reason; the good lines are still added, and no key text appears.
func TestKeysErrorsNameLinesNotKeys(t *testing.T) {
	secret := "00112233445566778899aabbccddeeff"
	bad := []string{
		"0000000000000001",                                   // no key
		"000000000000001 " + secret,                          // 15 digits
		"000000000000000g " + secret,                         // not hex
		"0000000000000001 " + secret[:30],                    // short key
		"0000000000000001 " + secret[:31] + "z",              // key not hex
		"0000000000000001 - -",                               // no key at all
		"0000000000000001 " + secret + " " + secret + " a b", // too many fields
		strings.Repeat("0", 2000),                            // too long
	}
	for _, line := range bad {
		var k Keys
		err := k.Parse([]byte("0000000000000002 " + secret + "\n" + line + "\n"))
		if !errors.Is(err, ErrKeysLine) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: err = %v", line, err)
			continue
		}
		if strings.Contains(err.Error(), secret[:16]) || strings.Contains(err.Error(), "00112233") {
			t.Errorf("%q: error shows key material: %v", line, err)
		}
		if _, ok := k.Lookup(2); !ok {
			t.Errorf("%q: the good line was not added", line)
		}
	}
	if err := new(Keys).Load("testdata/does-not-exist.smbkeys"); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}
