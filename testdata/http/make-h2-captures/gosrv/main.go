// Command gosrv answers POST /submit after reading the body (so net/http
// sends "100 Continue" to a client that expects it), in HTTP/1.1 on
// 127.0.0.1:8082 and in HTTP/2 over TLS (ALPN h2) on 127.0.0.1:8444.
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
)

func main() {
	http.HandleFunc("/submit", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"received\":%d}\n", n)
	})
	go func() {
		log.Fatal(http.ListenAndServeTLS("127.0.0.1:8444", "/tmp/h2cap/cert.pem", "/tmp/h2cap/key.pem", nil))
	}()
	log.Fatal(http.ListenAndServe("127.0.0.1:8082", nil))
}
