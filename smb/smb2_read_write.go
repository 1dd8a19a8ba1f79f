package smb

// readRequest reads an SMB2 READ request ([MS-SMB2] 2.2.19): length,
// offset and FileId.
func (p *body2) readRequest(b *Body2) error {
	// Padding 1, Flags 1.
	if !p.r.Skip(1+1) || !p.r.ReadUint32(&b.Length) || !p.r.ReadUint64(&b.Offset) || !p.readFileID(&b.FileID) {
		return p.short()
	}
	return nil
}

// readResponse reads an SMB2 READ response ([MS-SMB2] 2.2.20): the length
// read and the data that is present.
func (p *body2) readResponse(b *Body2) error {
	var off uint8
	if !p.r.ReadUint8(&off) || !p.r.Skip(1) || !p.r.ReadUint32(&b.Length) {
		return p.short()
	}
	b.Data = p.partial(uint32(off), b.Length)
	return nil
}

// writeRequest reads an SMB2 WRITE request ([MS-SMB2] 2.2.21): length,
// offset, FileId and the data that is present.
func (p *body2) writeRequest(b *Body2) error {
	var off uint16
	if !p.r.ReadUint16(&off) || !p.r.ReadUint32(&b.Length) || !p.r.ReadUint64(&b.Offset) || !p.readFileID(&b.FileID) {
		return p.short()
	}
	b.Data = p.partial(uint32(off), b.Length)
	return nil
}

// writeResponse reads an SMB2 WRITE response ([MS-SMB2] 2.2.22): the
// length written.
func (p *body2) writeResponse(b *Body2) error {
	if !p.r.Skip(2) || !p.r.ReadUint32(&b.Length) {
		return p.short()
	}
	return nil
}

// lockRequest reads an SMB2 LOCK request ([MS-SMB2] 2.2.26): the lock
// count and FileId.
func (p *body2) lockRequest(b *Body2) error {
	if !p.r.ReadUint16(&b.LockCount) || !p.r.Skip(4) || !p.readFileID(&b.FileID) {
		return p.short()
	}
	return nil
}
