package http_test

import (
	"fmt"

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
