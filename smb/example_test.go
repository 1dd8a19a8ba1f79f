package smb_test

import (
	"fmt"

	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tcpstate"
)

func ExampleParseNBSS() {
	// A NetBIOS keep-alive followed by the start of the next packet.
	p, rest, err := smb.ParseNBSS([]byte{0x85, 0, 0, 0, 0x00, 0x00})
	fmt.Println(p.Type, len(rest), err)
	// Output: SESSION_KEEP_ALIVE 2 <nil>
}

func ExampleParseSessionRequest() {
	// Called "FS1<20>", calling "WKS7<00>" (first-level encoded, RFC 1001 14.1).
	b := []byte(" EGFDDBCACACACACACACACACACACACACA\x00 FHELFDDHCACACACACACACACACACACAAA\x00")
	req, err := smb.ParseSessionRequest(b)
	fmt.Println(req.Called, req.Calling, err)
	// Output: FS1<20> WKS7<00> <nil>
}

func ExampleDetect() {
	negotiate := []byte{0, 0, 0, 0x54, 0xff, 'S', 'M', 'B', 0x72}
	fmt.Println(smb.Detect(tcpstate.ClientToServer, negotiate))
	fmt.Println(smb.Detect(tcpstate.ClientToServer, []byte("GET / HTTP/1.1\r\n")))
	// Output:
	// true
	// false
}

func ExampleStatus_String() {
	fmt.Println(smb.Status(0xc0000022), smb.Status(0xc000006d), smb.Status(0xc0001234))
	// Output: STATUS_ACCESS_DENIED STATUS_LOGON_FAILURE Status(0xc0001234)
}
