package smb

// parseSessionSetupRequest2 reads an SMB2 SESSION_SETUP request ([MS-SMB2]
// 2.2.5): the capabilities and the security buffer (SPNEGO/NTLMSSP).
func parseSessionSetupRequest2(p body2) (Body2, error) {
	var b Body2
	r := &p.r
	var off, n uint16
	// Flags 1, SecurityMode 1, Capabilities, Channel 4, offset, length.
	if !r.Skip(1+1) || !r.ReadUint32(&b.Capabilities) || !r.Skip(4) || !r.ReadUint16(&off) || !r.ReadUint16(&n) {
		return Body2{}, p.short()
	}
	var err error
	if b.SecurityBlob, err = p.buffer("security buffer", uint32(off), uint32(n)); err != nil {
		return Body2{}, err
	}
	return b, nil
}

// parseSessionSetupResponse2 reads an SMB2 SESSION_SETUP response ([MS-SMB2]
// 2.2.6): the session flags and the security buffer.
func parseSessionSetupResponse2(p body2) (Body2, error) {
	var b Body2
	var off, n uint16
	if !p.r.ReadUint16(&b.SessionFlags) || !p.r.ReadUint16(&off) || !p.r.ReadUint16(&n) {
		return Body2{}, p.short()
	}
	var err error
	if b.SecurityBlob, err = p.buffer("security buffer", uint32(off), uint32(n)); err != nil {
		return Body2{}, err
	}
	return b, nil
}
