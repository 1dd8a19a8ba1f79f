package smb

// parseSessionSetupRequest1 reads an SMB1 SESSION_SETUP_ANDX request: with
// extended security ([MS-SMB] 2.2.4.6.1, 12 words) the security blob; in
// the NT LM 0.12 (13 words) and LANMAN (10 words) forms ([MS-CIFS]
// 2.2.4.53.1) the account and domain, skipping the passwords, which are
// never decoded. Both give the native OS.
func parseSessionSetupRequest1(k block1, b Body1) (Body1, error) {
	w := &k.words
	switch k.wc {
	case 12:
		var n uint16
		w.Skip(2 + 2 + 2 + 4) // MaxBufferSize, MaxMpxCount, VcNumber, SessionKey
		w.ReadUint16(&n)
		k.bytes.ReadBytes(&b.SecurityBlob, int(n))
		b.NativeOS = k.str()
	case 13, 10:
		var oemLen, uniLen uint16
		w.Skip(2 + 2 + 2 + 4)
		w.ReadUint16(&oemLen)
		if k.wc == 13 {
			w.ReadUint16(&uniLen)
		}
		if !k.bytes.Skip(int(oemLen)) || !k.bytes.Skip(int(uniLen)) {
			return b, truncated(k.what()+" passwords", 0)
		}
		b.Account = k.str()
		b.Domain = k.str()
		b.NativeOS = k.str()
	}
	return b, nil
}

// parseSessionSetupResponse1 reads an SMB1 SESSION_SETUP_ANDX response
// ([MS-CIFS] 2.2.4.53.2; [MS-SMB] 2.2.4.6.2 with extended security, 4
// words): the action, the security blob and the native OS.
func parseSessionSetupResponse1(k block1, b Body1) (Body1, error) {
	if k.wc < 3 {
		return b, nil
	}
	k.words.ReadUint16(&b.Action)
	if k.wc == 4 {
		var n uint16
		k.words.ReadUint16(&n)
		k.bytes.ReadBytes(&b.SecurityBlob, int(n))
	}
	b.NativeOS = k.str()
	return b, nil
}
