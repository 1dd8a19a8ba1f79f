package smb

// parseReadRequest2 reads an SMB2 READ request ([MS-SMB2] 2.2.19): length,
// offset and FileId.
func parseReadRequest2(p body2) (Body2, error) {
	var b Body2
	// Padding 1, Flags 1.
	if !p.r.Skip(1+1) || !p.r.ReadUint32(&b.Length) || !p.r.ReadUint64(&b.Offset) || !p.readFileID(&b.FileID) {
		return Body2{}, p.short()
	}
	return b, nil
}

// parseReadResponse2 reads an SMB2 READ response ([MS-SMB2] 2.2.20): the length
// read and the data that is present.
func parseReadResponse2(p body2) (Body2, error) {
	var b Body2
	var off uint8
	if !p.r.ReadUint8(&off) || !p.r.Skip(1) || !p.r.ReadUint32(&b.Length) {
		return Body2{}, p.short()
	}
	b.Data = p.partial(uint32(off), b.Length)
	return b, nil
}

// parseWriteRequest2 reads an SMB2 WRITE request ([MS-SMB2] 2.2.21): length,
// offset, FileId and the data that is present.
func parseWriteRequest2(p body2) (Body2, error) {
	var b Body2
	var off uint16
	if !p.r.ReadUint16(&off) || !p.r.ReadUint32(&b.Length) || !p.r.ReadUint64(&b.Offset) || !p.readFileID(&b.FileID) {
		return Body2{}, p.short()
	}
	b.Data = p.partial(uint32(off), b.Length)
	return b, nil
}

// parseWriteResponse2 reads an SMB2 WRITE response ([MS-SMB2] 2.2.22): the
// length written.
func parseWriteResponse2(p body2) (Body2, error) {
	var b Body2
	if !p.r.Skip(2) || !p.r.ReadUint32(&b.Length) {
		return Body2{}, p.short()
	}
	return b, nil
}

// parseLockRequest2 reads an SMB2 LOCK request ([MS-SMB2] 2.2.26): the lock
// count and FileId.
func parseLockRequest2(p body2) (Body2, error) {
	var b Body2
	if !p.r.ReadUint16(&b.LockCount) || !p.r.Skip(4) || !p.readFileID(&b.FileID) {
		return Body2{}, p.short()
	}
	return b, nil
}
