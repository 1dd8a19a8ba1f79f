// Command h2csrv serves /tmp/h2cap/www over cleartext HTTP/2 reached by
// the HTTP/1.1 Upgrade: h2c mechanism (RFC 7540, 3.2), with
// golang.org/x/net/http2/h2c.
package main

import (
	"log"
	"net/http"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func main() {
	h := h2c.NewHandler(http.FileServer(http.Dir("/tmp/h2cap/www")), &http2.Server{})
	log.Fatal(http.ListenAndServe("127.0.0.1:8000", h))
}
