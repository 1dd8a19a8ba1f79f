package smb

// treeConnectRequest reads an SMB2 TREE_CONNECT request ([MS-SMB2] 2.2.9):
// the share path, \\server\share.
func (p *body2) treeConnectRequest(b *Body2) error {
	var off, n uint16
	if !p.r.Skip(2) || !p.r.ReadUint16(&off) || !p.r.ReadUint16(&n) {
		return p.short()
	}
	path, err := p.buffer("path", uint32(off), uint32(n))
	if err != nil {
		return err
	}
	b.Path = utf16String(path)
	return nil
}

// treeConnectResponse reads an SMB2 TREE_CONNECT response ([MS-SMB2]
// 2.2.10): the share type and flags.
func (p *body2) treeConnectResponse(b *Body2) error {
	if !p.r.ReadUint8(&b.ShareType) || !p.r.Skip(1) || !p.r.ReadUint32(&b.ShareFlags) {
		return p.short()
	}
	return nil
}
