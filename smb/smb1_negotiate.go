package smb

// maxDialects1 caps the dialect strings read from one SMB1 NEGOTIATE.
const maxDialects1 = 64

// parseNegotiateRequest1 reads an SMB1 NEGOTIATE request ([MS-CIFS] 2.2.4.52.1):
// the dialect strings, each with buffer format 0x02.
func parseNegotiateRequest1(k block1, b Body1) (Body1, error) {
	for i := 0; i < maxDialects1 && k.bytes.Len() > 0; i++ {
		var format uint8
		if !k.bytes.ReadUint8(&format) || format != 0x02 {
			return b, malformed(k.what(), "dialect buffer format 0x%02x", format)
		}
		d, ok := readOEMZ(&k.bytes)
		if !ok {
			return b, truncated(k.what()+" dialect", 0)
		}
		b.Dialects = append(b.Dialects, d)
	}
	return b, nil
}

// parseNegotiateResponse1 reads an SMB1 NEGOTIATE response ([MS-CIFS]
// 2.2.4.52.2): the index of the chosen dialect, 0xFFFF for none.
func parseNegotiateResponse1(k block1, b Body1) (Body1, error) {
	if k.wc < 1 {
		return b, nil
	}
	var idx uint16
	k.words.ReadUint16(&idx)
	if idx != 0xffff {
		b.DialectIndex = int(idx)
	}
	return b, nil
}
