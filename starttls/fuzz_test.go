package starttls

import (
	"net/netip"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// FuzzConn feeds arbitrary bytes, split at arbitrary points, alternately
// to both directions of a Conn of each protocol: it never panics, never
// holds more than its limits, and what reaches TLS never exceeds what was
// fed.
func FuzzConn(f *testing.F) {
	f.Add(uint8(0), []byte("220 mx\r\nSTARTTLS\r\n220 go\r\n\x16\x03\x01"), uint8(7))
	f.Add(uint8(1), []byte("* OK\r\na1 STARTTLS\r\na1 OK\r\n\x16\x03\x01"), uint8(3))
	f.Add(uint8(4), []byte(ldapReq+"\x30\x0c\x02\x01\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00\x16\x03\x01"), uint8(31))
	f.Add(uint8(5), []byte("\x30\x84\xff\xff\xff\xff"), uint8(2))
	ports := []uint16{25, 143, 110, 21, 389, 2525}
	f.Fuzz(func(t *testing.T, which uint8, data []byte, step uint8) {
		rec := &recTLS{}
		ctx := &tcpstate.StreamContext{Server: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), ports[int(which)%len(ports)]), Reporter: &health.Collector{}}
		c := NewConn(ctx, Config{TLS: func(*tcpstate.StreamContext) tcpstate.StreamHandler { return rec }})
		n := int(step%64) + 1
		for i, dir := 0, cli; len(data) > 0; i, dir = i+1, dir^1 {
			k := min(n, len(data))
			c.Feed(dir, data[:k], tcpstate.Position{Frame: int64(i + 1)})
			data = data[k:]
			if len(c.buf[0]) > c.lim.MaxLDAPMessage || len(c.buf[1]) > c.lim.MaxLDAPMessage || c.heldN > maxHeld {
				t.Fatalf("buffers %d %d, held %d", len(c.buf[0]), len(c.buf[1]), c.heldN)
			}
		}
		c.Close(tcpstate.CloseFIN, tcpstate.Position{})
	})
}

// FuzzLDAPFrame: ldapFrame never reports a length it did not check
// against the limit, and ldapMessage never panics.
func FuzzLDAPFrame(f *testing.F) {
	f.Add([]byte(ldapReq))
	f.Add([]byte("\x30\x82\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, need, err := ldapFrame(b, 1024)
		if err == nil && (n > 1024 || n < 0 || need < 0) {
			t.Fatalf("n %d need %d", n, need)
		}
		if err == nil && n > 0 && n <= len(b) {
			id, tag, op, ok := ldapMessage(b[:n])
			if ok {
				isStartTLSRequest(tag, op)
				extendedResult(tag, op)
				_ = id
			}
		}
	})
}
