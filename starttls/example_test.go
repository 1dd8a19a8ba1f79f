package starttls_test

import (
	"fmt"
	"net/netip"

	"github.com/nettrace/nettrace/starttls"
	"github.com/nettrace/nettrace/tcpstate"
)

// tlsBytes counts what the TLS decoder would receive.
type tlsBytes struct{ n [2]int }

func (t *tlsBytes) Feed(dir tcpstate.Dir, b []byte, _ tcpstate.Position) { t.n[dir] += len(b) }
func (t *tlsBytes) Gap(tcpstate.Dir, int, tcpstate.Position)             {}
func (t *tlsBytes) Close(tcpstate.CloseReason, tcpstate.Position)        {}

// Example follows an SMTP connection through STARTTLS: after the server's
// 220 the rest of each direction goes to the TLS decoder.
func Example() {
	ctx := &tcpstate.StreamContext{Server: netip.MustParseAddrPort("192.0.2.25:25")}
	rec := &tlsBytes{}
	c := starttls.NewConn(ctx, starttls.Config{TLS: func(*tcpstate.StreamContext) tcpstate.StreamHandler { return rec }})
	at := tcpstate.Position{Frame: 1}
	c.Feed(tcpstate.ServerToClient, []byte("220 mx.example ESMTP\r\n"), at)
	c.Feed(tcpstate.ClientToServer, []byte("EHLO client\r\n"), at)
	c.Feed(tcpstate.ServerToClient, []byte("250-mx.example\r\n250 STARTTLS\r\n"), at)
	c.Feed(tcpstate.ClientToServer, []byte("STARTTLS\r\n"), at)
	c.Feed(tcpstate.ServerToClient, []byte("220 2.0.0 Ready to start TLS\r\n"), at)
	c.Feed(tcpstate.ClientToServer, []byte("\x16\x03\x01\x00\x04HELO"), at)
	fmt.Println("upgraded:", c.Upgraded(), "TLS bytes from the client:", rec.n[tcpstate.ClientToServer])
	// Output: upgraded: true TLS bytes from the client: 9
}
