package smb

// queryDirectoryRequest reads an SMB2 QUERY_DIRECTORY request ([MS-SMB2]
// 2.2.33): the information class, FileId and search pattern.
func (p *body2) queryDirectoryRequest(b *Body2) error {
	var off, n uint16
	// Flags 1, FileIndex 4.
	if !p.r.ReadUint8(&b.InfoClass) || !p.r.Skip(1+4) || !p.readFileID(&b.FileID) || !p.r.ReadUint16(&off) || !p.r.ReadUint16(&n) {
		return p.short()
	}
	pattern, err := p.buffer("pattern", uint32(off), uint32(n))
	if err != nil {
		return err
	}
	b.Pattern = utf16String(pattern)
	return nil
}

// changeNotifyRequest reads an SMB2 CHANGE_NOTIFY request ([MS-SMB2]
// 2.2.35): FileId and completion filter.
func (p *body2) changeNotifyRequest(b *Body2) error {
	// Flags 2, OutputBufferLength 4.
	if !p.r.Skip(2+4) || !p.readFileID(&b.FileID) || !p.r.ReadUint32(&b.CompletionFilter) {
		return p.short()
	}
	return nil
}

// queryInfoRequest reads an SMB2 QUERY_INFO request ([MS-SMB2] 2.2.37):
// info type and class, and FileId.
func (p *body2) queryInfoRequest(b *Body2) error {
	// OutputBufferLength 4, InputBufferOffset 2, Reserved 2,
	// InputBufferLength 4, AdditionalInformation 4, Flags 4.
	return p.infoRequest(b, 4+2+2+4+4+4)
}

// setInfoRequest reads an SMB2 SET_INFO request ([MS-SMB2] 2.2.39): info
// type and class, and FileId.
func (p *body2) setInfoRequest(b *Body2) error {
	// BufferLength 4, BufferOffset 2, Reserved 2, AdditionalInformation 4.
	return p.infoRequest(b, 4+2+2+4)
}

// infoRequest reads InfoType and InfoClass, skips the skip bytes between
// them and the FileId, and reads the FileId.
func (p *body2) infoRequest(b *Body2, skip int) error {
	if !p.r.ReadUint8(&b.InfoType) || !p.r.ReadUint8(&b.InfoClass) || !p.r.Skip(skip) || !p.readFileID(&b.FileID) {
		return p.short()
	}
	return nil
}
