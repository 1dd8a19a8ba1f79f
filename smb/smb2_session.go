package smb

// sessionSetupRequest reads an SMB2 SESSION_SETUP request ([MS-SMB2]
// 2.2.5): the capabilities and the security buffer (SPNEGO/NTLMSSP).
func (p *body2) sessionSetupRequest(b *Body2) error {
	r := &p.r
	var off, n uint16
	// Flags 1, SecurityMode 1, Capabilities, Channel 4, offset, length.
	if !r.Skip(1+1) || !r.ReadUint32(&b.Capabilities) || !r.Skip(4) || !r.ReadUint16(&off) || !r.ReadUint16(&n) {
		return p.short()
	}
	return p.securityBuffer(b, off, n)
}

// sessionSetupResponse reads an SMB2 SESSION_SETUP response ([MS-SMB2]
// 2.2.6): the session flags and the security buffer.
func (p *body2) sessionSetupResponse(b *Body2) error {
	var off, n uint16
	if !p.r.ReadUint16(&b.SessionFlags) || !p.r.ReadUint16(&off) || !p.r.ReadUint16(&n) {
		return p.short()
	}
	return p.securityBuffer(b, off, n)
}

// securityBuffer sets b.SecurityBlob to the buffer at off with n bytes.
func (p *body2) securityBuffer(b *Body2, off, n uint16) error {
	var err error
	b.SecurityBlob, err = p.buffer("security buffer", uint32(off), uint32(n))
	return err
}
