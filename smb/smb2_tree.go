package smb

// parseTreeConnectRequest2 reads an SMB2 TREE_CONNECT request ([MS-SMB2] 2.2.9):
// the share path, \\server\share.
func parseTreeConnectRequest2(p body2) (Body2, error) {
	var b Body2
	var off, n uint16
	if !p.r.Skip(2) || !p.r.ReadUint16(&off) || !p.r.ReadUint16(&n) {
		return Body2{}, p.short()
	}
	var err error
	if b.Path, err = p.utf16Buffer("path", off, n); err != nil {
		return Body2{}, err
	}
	return b, nil
}

// parseTreeConnectResponse2 reads an SMB2 TREE_CONNECT response ([MS-SMB2]
// 2.2.10): the share type and flags.
func parseTreeConnectResponse2(p body2) (Body2, error) {
	var b Body2
	if !p.r.ReadUint8(&b.ShareType) || !p.r.Skip(1) || !p.r.ReadUint32(&b.ShareFlags) {
		return Body2{}, p.short()
	}
	return b, nil
}
