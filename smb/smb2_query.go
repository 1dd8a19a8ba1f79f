package smb

// parseQueryDirectoryRequest2 reads an SMB2 QUERY_DIRECTORY request ([MS-SMB2]
// 2.2.33): the information class, FileId and search pattern.
func parseQueryDirectoryRequest2(p body2) (Body2, error) {
	var b Body2
	var off, n uint16
	// Flags 1, FileIndex 4.
	if !p.r.ReadUint8(&b.InfoClass) || !p.r.Skip(1+4) || !p.readFileID(&b.FileID) || !p.r.ReadUint16(&off) || !p.r.ReadUint16(&n) {
		return Body2{}, p.short()
	}
	var err error
	if b.Pattern, err = p.utf16Buffer("pattern", off, n); err != nil {
		return Body2{}, err
	}
	return b, nil
}

// parseChangeNotifyRequest2 reads an SMB2 CHANGE_NOTIFY request ([MS-SMB2]
// 2.2.35): FileId and completion filter.
func parseChangeNotifyRequest2(p body2) (Body2, error) {
	var b Body2
	// Flags 2, OutputBufferLength 4.
	if !p.r.Skip(2+4) || !p.readFileID(&b.FileID) || !p.r.ReadUint32(&b.CompletionFilter) {
		return Body2{}, p.short()
	}
	return b, nil
}

// parseQueryInfoRequest2 reads an SMB2 QUERY_INFO request ([MS-SMB2] 2.2.37):
// info type and class, and FileId.
func parseQueryInfoRequest2(p body2) (Body2, error) {
	// OutputBufferLength 4, InputBufferOffset 2, Reserved 2,
	// InputBufferLength 4, AdditionalInformation 4, Flags 4.
	return parseInfoRequest2(p, 4+2+2+4+4+4)
}

// parseSetInfoRequest2 reads an SMB2 SET_INFO request ([MS-SMB2] 2.2.39): info
// type and class, and FileId.
func parseSetInfoRequest2(p body2) (Body2, error) {
	// BufferLength 4, BufferOffset 2, Reserved 2, AdditionalInformation 4.
	return parseInfoRequest2(p, 4+2+2+4)
}

// parseInfoRequest2 reads InfoType and InfoClass, skips the skip bytes
// between them and the FileId, and reads the FileId.
func parseInfoRequest2(p body2, skip int) (Body2, error) {
	var b Body2
	if !p.r.ReadUint8(&b.InfoType) || !p.r.ReadUint8(&b.InfoClass) || !p.r.Skip(skip) || !p.readFileID(&b.FileID) {
		return Body2{}, p.short()
	}
	return b, nil
}

// parseQueryResponse2 reads an SMB2 QUERY_DIRECTORY or QUERY_INFO response
// ([MS-SMB2] 2.2.34, 2.2.38): OutputBufferOffset (16 bits),
// OutputBufferLength and the output as far as it is present, into Output.
// Its layout depends on the request's information class (see
// DirectoryNames, InfoFileName).
func parseQueryResponse2(p body2) (Body2, error) {
	var b Body2
	var off uint16
	var n uint32
	if !p.r.ReadUint16(&off) || !p.r.ReadUint32(&n) {
		return Body2{}, p.short()
	}
	b.Output = p.partial(uint32(off), n)
	return b, nil
}
