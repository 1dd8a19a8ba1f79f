package smb

// parseNTCreateRequest1 reads an SMB1 NT_CREATE_ANDX request ([MS-CIFS]
// 2.2.4.64.1): access, disposition and the file name.
func parseNTCreateRequest1(k block1, b Body1) (Body1, error) {
	if k.wc < 24 {
		return b, malformed(k.what(), "word count %d", k.wc)
	}
	w := &k.words
	var nameLen uint16
	w.Skip(1) // Reserved
	w.ReadUint16(&nameLen)
	w.Skip(4 + 4) // Flags, RootDirectoryFID
	w.ReadUint32(&b.DesiredAccess)
	w.Skip(8 + 4 + 4) // AllocationSize, ExtFileAttributes, ShareAccess
	w.ReadUint32(&b.Disposition)
	if !k.h.Unicode() {
		b.FileName = k.str()
		return b, nil
	}
	if k.bytesOff%2 == 1 {
		k.bytes.Skip(1)
	}
	var name []byte
	if !k.bytes.ReadBytes(&name, min(int(nameLen), k.bytes.Len())) {
		return b, truncated(k.what()+" name", 0)
	}
	b.FileName = utf16String(name)
	return b, nil
}

// parseNTCreateResponse1 reads an SMB1 NT_CREATE_ANDX response ([MS-CIFS]
// 2.2.4.64.2): the FID, the create action and the end of file.
func parseNTCreateResponse1(k block1, b Body1) (Body1, error) {
	if k.wc < 34 {
		return b, nil
	}
	w := &k.words
	w.Skip(1) // OplockLevel
	w.ReadUint16(&b.FID)
	w.ReadUint32(&b.Disposition)
	w.Skip(32 + 4 + 8) // four times, ExtFileAttributes, AllocationSize
	w.ReadUint64(&b.EndOfFile)
	b.HasFID = true
	return b, nil
}

// parseCloseRequest1 reads an SMB1 CLOSE request ([MS-CIFS] 2.2.4.5.1): the FID.
func parseCloseRequest1(k block1, b Body1) (Body1, error) {
	if k.wc >= 1 {
		k.words.ReadUint16(&b.FID)
		b.HasFID = true
	}
	return b, nil
}
