package smb

// parseTreeConnectRequest1 reads an SMB1 TREE_CONNECT_ANDX request ([MS-CIFS]
// 2.2.4.55.1): the share path and service, skipping the password.
func parseTreeConnectRequest1(k block1, b Body1) (Body1, error) {
	var pw uint16
	k.words.Skip(2) // Flags
	k.words.ReadUint16(&pw)
	if !k.bytes.Skip(int(pw)) {
		return b, truncated(k.what()+" password", 0)
	}
	b.Path = k.str()
	b.Service, _ = readOEMZ(&k.bytes)
	return b, nil
}

// parseTreeConnectResponse1 reads an SMB1 TREE_CONNECT_ANDX response ([MS-CIFS]
// 2.2.4.55.2): the service ("A:", "IPC", ...).
func parseTreeConnectResponse1(k block1, b Body1) (Body1, error) {
	b.Service, _ = readOEMZ(&k.bytes)
	return b, nil
}
