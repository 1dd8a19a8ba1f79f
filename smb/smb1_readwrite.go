package smb

// parseReadRequest1 reads an SMB1 READ_ANDX request ([MS-CIFS] 2.2.4.42.1, 10
// or 12 words): FID, offset and length.
func parseReadRequest1(k block1, b Body1) (Body1, error) {
	if k.wc != 10 && k.wc != 12 {
		return b, malformed(k.what(), "word count %d", k.wc)
	}
	w := &k.words
	var off, high, maxHigh uint32
	var maxCount uint16
	w.ReadUint16(&b.FID)
	w.ReadUint32(&off)
	w.ReadUint16(&maxCount)
	w.Skip(2) // MinCountOfBytesToReturn
	w.ReadUint32(&maxHigh)
	w.Skip(2) // Remaining
	if k.wc == 12 {
		w.ReadUint32(&high)
	}
	b.HasFID = true
	b.Offset = uint64(high)<<32 | uint64(off)
	b.Length = uint32(maxCount)
	if maxHigh != 0xffffffff {
		b.Length |= (maxHigh & 0xffff) << 16
	}
	return b, nil
}

// parseReadResponse1 reads an SMB1 READ_ANDX response ([MS-CIFS] 2.2.4.42.2):
// the length read and the data that is present.
func parseReadResponse1(k block1, b Body1) (Body1, error) {
	if k.wc < 12 {
		return b, nil
	}
	w := &k.words
	var n, off, high uint16
	w.Skip(2 + 2 + 2) // Available, DataCompactionMode, Reserved1
	w.ReadUint16(&n)
	w.ReadUint16(&off)
	w.ReadUint16(&high)
	b.Length = uint32(high)<<16 | uint32(n)
	b.Data = k.clip(int(off), int(b.Length))
	return b, nil
}

// parseWriteRequest1 reads an SMB1 WRITE_ANDX request ([MS-CIFS] 2.2.4.43.1, 12
// or 14 words): FID, offset, length and the data that is present.
func parseWriteRequest1(k block1, b Body1) (Body1, error) {
	if k.wc != 12 && k.wc != 14 {
		return b, malformed(k.what(), "word count %d", k.wc)
	}
	w := &k.words
	var off, high uint32
	var n, nHigh, dataOff uint16
	w.ReadUint16(&b.FID)
	w.ReadUint32(&off)
	w.Skip(4 + 2 + 2) // Timeout, WriteMode, Remaining
	w.ReadUint16(&nHigh)
	w.ReadUint16(&n)
	w.ReadUint16(&dataOff)
	if k.wc == 14 {
		w.ReadUint32(&high)
	}
	b.HasFID = true
	b.Offset = uint64(high)<<32 | uint64(off)
	b.Length = uint32(nHigh)<<16 | uint32(n)
	b.Data = k.clip(int(dataOff), int(b.Length))
	return b, nil
}

// parseWriteResponse1 reads an SMB1 WRITE_ANDX response ([MS-CIFS] 2.2.4.43.2):
// the length written.
func parseWriteResponse1(k block1, b Body1) (Body1, error) {
	if k.wc < 6 {
		return b, nil
	}
	var n, high uint16
	k.words.ReadUint16(&n)
	k.words.Skip(2) // Available
	k.words.ReadUint16(&high)
	b.Length = uint32(high)<<16 | uint32(n)
	return b, nil
}
