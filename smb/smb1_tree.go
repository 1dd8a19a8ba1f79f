package smb

// treeConnectRequest reads an SMB1 TREE_CONNECT_ANDX request ([MS-CIFS]
// 2.2.4.55.1): the share path and service, skipping the password.
func (k *block1) treeConnectRequest(b *Body1) error {
	var pw uint16
	k.words.Skip(2) // Flags
	k.words.ReadUint16(&pw)
	if !k.bytes.Skip(int(pw)) {
		return truncated(k.what()+" password", 0)
	}
	b.Path = k.str()
	b.Service, _ = readOEMZ(&k.bytes)
	return nil
}

// treeConnectResponse reads an SMB1 TREE_CONNECT_ANDX response ([MS-CIFS]
// 2.2.4.55.2): the service ("A:", "IPC", ...).
func (k *block1) treeConnectResponse(b *Body1) {
	b.Service, _ = readOEMZ(&k.bytes)
}
