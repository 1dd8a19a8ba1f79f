package smb_test

import (
	"fmt"

	"github.com/nettrace/nettrace/smb"
)

// A key table in the key-file format: the session ID as tshark shows
// smb2.sesid, the session key, then optionally the server-to-client and
// client-to-server keys ("-" when unknown).
func ExampleKeys_Parse() {
	keys := smb.NewKeys()
	err := keys.Parse([]byte(`# alice's session
000000000fd95115 1448fac36a0463c2a0c940299fe31221
0000000095491e49 - 40afdcc854a520840bb5b8b323b5e267 5ed06adaea986ebc20fef0ac638e8114
`))
	s, ok := keys.Lookup(0x0fd95115)
	fmt.Println(keys.Len(), err, ok, len(s.SessionKey), s.ServerToClient == nil)
	// Output: 2 <nil> true 16 true
}

// Decompress decodes an SMB 3.1.1 compressed message (here chained: the
// SMB2 header sent as is, then a Pattern_V1 run) within a size limit.
func ExampleDecompress() {
	msg := []byte{0xfc, 'S', 'M', 'B', 12, 0, 0, 0, // ProtocolId, OriginalCompressedSegmentSize
		0, 0, 1, 0, 4, 0, 0, 0, 'H', 'D', 'R', ':', // NONE (first, chained), "HDR:"
		4, 0, 0, 0, 8, 0, 0, 0, 'z', 0, 0, 0, 8, 0, 0, 0} // Pattern_V1: 'z' x 8
	out, size, err := smb.Decompress(nil, msg, 1<<20, false)
	fmt.Printf("%q %d %v\n", out, size, err)
	// Output: "HDR:zzzzzzzz" 12 <nil>
}
