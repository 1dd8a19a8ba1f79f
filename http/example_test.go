package http_test

import (
	"bytes"
	"fmt"

	"golang.org/x/net/http2/hpack"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/tcpstate"
)

// Example decodes a pipelined request pair and their responses from the
// two directions of a stream.
func Example() {
	col := &health.Collector{KeepMessages: true}
	c := http.NewConn(&tcpstate.StreamContext{Reporter: col, Flow: "10.0.0.1:50000->10.0.0.2:80/tcp"}, http.DefaultConfig())
	c.Feed(tcpstate.ClientToServer, []byte("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n"),
		tcpstate.Position{Frame: 4})
	c.Feed(tcpstate.ServerToClient, []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"+
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), tcpstate.Position{Frame: 6})
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 8})
	for _, m := range col.Messages {
		if st, ok := m.Fields["status"]; ok {
			fmt.Printf("frame %d: %v %v -> %v, %v bytes, sha256 %.12s…\n", m.Frame, m.Fields["method"], m.Fields["uri"], st,
				m.Fields["body_bytes"], m.Fields["body_sha256"])
		}
	}
	for _, e := range col.Events {
		fmt.Printf("%s: %s\n", e.Kind, e.Message)
	}
	// Output:
	// frame 6: GET /a -> 200, 5 bytes, sha256 2cf24dba5fb0…
	// frame 6: GET /missing -> 404, 0 bytes, sha256 e3b0c44298fc…
	// http.error_status: GET /missing was answered 404 Not Found
}

// ExampleNewH2Conn decodes an HTTP/2 exchange as it comes out of TLS with
// ALPN h2: the client's preface and HEADERS, the server's SETTINGS,
// HEADERS and DATA, then the client resetting a second stream.
func ExampleNewH2Conn() {
	frame := func(typ, flags byte, stream uint32, payload []byte) []byte {
		n := len(payload)
		return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags, byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}, payload...)
	}
	block := func(enc *hpack.Encoder, buf *bytes.Buffer, kv ...string) []byte {
		buf.Reset()
		for i := 0; i < len(kv); i += 2 {
			enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return append([]byte(nil), buf.Bytes()...)
	}
	var cb, sb bytes.Buffer
	cli, srv := hpack.NewEncoder(&cb), hpack.NewEncoder(&sb)

	col := &health.Collector{KeepMessages: true}
	c := http.NewH2Conn(&tcpstate.StreamContext{Reporter: col, Flow: "10.0.0.1:50000->10.0.0.2:443/tcp"}, http.DefaultConfig())
	client := append([]byte(http.ClientPreface), frame(0x4, 0, 0, nil)...) // SETTINGS
	client = append(client, frame(0x1, 0x5, 1, block(cli, &cb, ":method", "GET", ":scheme", "https", ":authority", "example.test", ":path", "/hello"))...)
	client = append(client, frame(0x1, 0x5, 3, block(cli, &cb, ":method", "GET", ":scheme", "https", ":authority", "example.test", ":path", "/slow"))...)
	c.Feed(tcpstate.ClientToServer, client, tcpstate.Position{Frame: 4})
	server := frame(0x4, 0, 0, nil)
	server = append(server, frame(0x1, 0x4, 1, block(srv, &sb, ":status", "200", "content-type", "text/plain"))...)
	server = append(server, frame(0x0, 0x1, 1, []byte("hello"))...) // DATA, END_STREAM
	c.Feed(tcpstate.ServerToClient, server, tcpstate.Position{Frame: 6})
	c.Feed(tcpstate.ClientToServer, frame(0x3, 0, 3, []byte{0, 0, 0, 8}), tcpstate.Position{Frame: 7}) // RST_STREAM CANCEL
	c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 9})
	for _, m := range col.Messages {
		if m.Proto == "http" {
			if st, ok := m.Fields["status"]; ok {
				fmt.Printf("frame %d: stream %v: %v %v -> %v %v, %v bytes\n", m.Frame, m.Fields["stream"], m.Fields["method"], m.Fields["uri"], st, m.Fields["content_type"], m.Fields["body_bytes"])
			} else {
				fmt.Printf("frame %d: stream %v: %v %v\n", m.Frame, m.Fields["stream"], m.Fields["method"], m.Fields["uri"])
			}
		}
	}
	for _, e := range col.Events {
		fmt.Printf("%s %s: %s\n", e.Kind, e.Severity, e.Message)
	}
	// Output:
	// frame 4: stream 1: GET /hello
	// frame 4: stream 3: GET /slow
	// frame 6: stream 1: GET /hello -> 200 text/plain, 5 bytes
	// http2.stream_reset notice: the client reset stream 3 (GET /slow) with CANCEL, before the response
}
