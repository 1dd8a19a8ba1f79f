package tls_test

import (
	"fmt"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tls"
)

// Example decodes a ClientHello and a fatal alert: the server refused the
// handshake.
func Example() {
	col := &health.Collector{KeepMessages: true}
	cfg := tls.DefaultConfig()
	cfg.KeyLog = tls.NewKeyLog() // decryption would use it; empty here
	c := tls.NewConn(&tcpstate.StreamContext{Reporter: col, Flow: "10.0.0.1:50000->10.0.0.2:443/tcp"}, cfg)
	// A minimal TLS 1.2 ClientHello with SNI "example.test".
	hello := []byte{
		0x16, 0x03, 0x01, 0x00, 0x44, // record header: handshake, 68 bytes
		0x01, 0x00, 0x00, 0x40, // client_hello, 64 bytes
		0x03, 0x03, // legacy_version TLS 1.2
	}
	hello = append(hello, make([]byte, 32)...)                      // random
	hello = append(hello, 0x00, 0x00, 0x02, 0xc0, 0x2f, 0x01, 0x00) // session id, suites, compression
	hello = append(hello, 0x00, 0x15, 0x00, 0x00, 0x00, 0x11, 0x00, 0x0f, 0x00, 0x00, 0x0c)
	hello = append(hello, "example.test"...) // extensions: server_name
	c.Feed(tcpstate.ClientToServer, hello, tcpstate.Position{Frame: 4})
	c.Feed(tcpstate.ServerToClient, []byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28}, tcpstate.Position{Frame: 6})
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 8})
	for _, m := range col.Messages {
		fmt.Println("frame", m.Frame, m.Fields["handshake_type"], m.Fields["sni"], m.Fields["alert"])
	}
	for _, e := range col.Events {
		fmt.Printf("%s: %s\n", e.Kind, e.Message)
	}
	// Output:
	// frame 4 client_hello example.test <nil>
	// frame 6 <nil> <nil> fatal handshake_failure
	// tls.alert: the server sent a TLS alert: fatal handshake_failure
	// tls.handshake_failed: the TLS handshake failed: the server sent fatal alert handshake_failure during client_hello
}

// ExampleKeyLog shows how key logs are loaded and merged.
func ExampleKeyLog() {
	k := tls.NewKeyLog()
	err := k.Add([]byte("# comment\r\nCLIENT_RANDOM " +
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff " +
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f\r\n"))
	fmt.Println(k.Len(), err)
	// Output: 1 <nil>
}
