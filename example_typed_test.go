package nettrace_test

import (
	"fmt"
	"log"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tds"
	"github.com/nettrace/nettrace/tls"
)

// Receive SMB messages as typed values: the failed requests of a session
// denied access to a share.
func ExampleHandlers_smb() {
	h := nettrace.Handlers{SMB: func(m *smb.Message) {
		if m.Response && m.Status != 0 {
			fmt.Printf("frame %d: %s %q %q -> %s (request at frame %d)\n", m.Frame, m.Command, m.Tree, m.FileName,
				m.StatusName, m.RequestFrame)
		}
	}}
	if _, err := nettrace.AnalyzeFile("testdata/smb/smb3-access-denied.pcap", nettrace.Options{Handlers: h}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// frame 11: SESSION_SETUP "" "" -> STATUS_MORE_PROCESSING_REQUIRED (request at frame 10)
	// frame 17: IOCTL "\\\\10.200.3.20\\IPC$" "" -> STATUS_NOT_FOUND (request at frame 16)
	// frame 21: TREE_CONNECT "\\\\10.200.3.20\\restricted" "" -> STATUS_ACCESS_DENIED (request at frame 20)
	// frame 23: TREE_DISCONNECT "" "" -> STATUS_NETWORK_NAME_DELETED (request at frame 22)
	// frame 37: SESSION_SETUP "" "" -> STATUS_MORE_PROCESSING_REQUIRED (request at frame 36)
	// frame 43: IOCTL "\\\\10.200.3.20\\IPC$" "" -> STATUS_NOT_FOUND (request at frame 42)
	// frame 49: CREATE "\\\\10.200.3.20\\data" "secret.txt" -> STATUS_ACCESS_DENIED (request at frame 48)
	// frame 65: SESSION_SETUP "" "" -> STATUS_MORE_PROCESSING_REQUIRED (request at frame 64)
	// frame 71: IOCTL "\\\\10.200.3.20\\IPC$" "" -> STATUS_NOT_FOUND (request at frame 70)
	// frame 77: CREATE "\\\\10.200.3.20\\readonly" "policy-new.txt" -> STATUS_ACCESS_DENIED (request at frame 76)
}

// Receive DCE/RPC calls with their interface and operation names, here
// over SMB named pipes.
func ExampleHandlers_rpc() {
	n := 0
	h := nettrace.Handlers{RPC: func(m *rpc.Message) {
		if m.Response != nil && n < 4 {
			n++
			fmt.Printf("frame %d: %s %s answered in %v\n", m.Frame, m.InterfaceName, m.Operation, m.Latency)
		}
	}}
	if _, err := nettrace.AnalyzeFile("testdata/rpc/rpc-over-smb-pipes-rpcclient.pcap", nettrace.Options{Handlers: h}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// frame 24: SRVSVC NetrServerGetInfo answered in 187µs
	// frame 33: SAMR SamrConnect5 answered in 398µs
	// frame 35: SAMR SamrEnumerateDomainsInSamServer answered in 253µs
	// frame 37: SAMR SamrLookupDomainInSamServer answered in 221µs
}

// Receive TDS messages: a LOGIN7 (its password is never decoded) and the
// server's answer to it.
func ExampleHandlers_tds() {
	h := nettrace.Handlers{TDS: func(m *tds.Message) {
		switch {
		case m.Login != nil:
			fmt.Printf("frame %d: login as %q from %q (%s), password of %d characters not shown\n",
				m.Frame, m.Login.UserName, m.Login.AppName, m.Login.HostName, m.Login.PasswordLen)
		case m.Response != nil:
			for _, e := range m.Response.Errors {
				fmt.Printf("frame %d: error %d: %s\n", m.Frame, e.Number, e.Message)
			}
		}
	}}
	if _, err := nettrace.AnalyzeFile("testdata/tds/tds-tsql-login7-failed-fakeserver.pcap", nettrace.Options{Handlers: h}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// frame 8: login as "sa" from "TSQL" (vm), password of 11 characters not shown
	// frame 9: error 18456: Login failed for user 'sa'.
}

// Receive TLS handshake messages: the hellos' fingerprints and the
// server's certificate.
func ExampleHandlers_tls() {
	h := nettrace.Handlers{TLS: func(m *tls.Message) {
		switch {
		case m.ClientHello != nil:
			fmt.Printf("frame %d: ClientHello for %q, JA4 %s\n", m.Frame, m.ClientHello.ServerName, m.ClientHello.JA4())
		case m.ServerHello != nil:
			fmt.Printf("frame %d: ServerHello %s %s, JA4S %s\n", m.Frame, m.Version, tls.CipherSuiteName(m.ServerHello.CipherSuite), m.ServerHello.JA4S())
		case m.Certificate != nil && len(m.Certificate.Certs) > 0:
			fmt.Printf("frame %d: certificate %s, names %v, name check %q\n", m.Frame, m.Certificate.Certs[0].Subject,
				m.Certificate.Certs[0].Names(), m.Certificate.NameMatch)
		}
	}}
	if _, err := nettrace.AnalyzeFile("testdata/tls/c03-wildcard-cert-match.pcap", nettrace.Options{Handlers: h}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// frame 4: ClientHello for "web.example.test", JA4 t12d2807h1_d943125447b4_a44c6288192a
	// frame 6: ServerHello TLS 1.2 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, JA4S t1205h1_c030_8763c20bf469
	// frame 8: certificate CN=*.example.test,OU=Web Publishing,O=Steering Test Lab,C=XX, names [*.example.test], name check "wildcard"
}

// Receive HTTP/1 exchanges: each response with its request and body.
func ExampleHandlers_http() {
	h := nettrace.Handlers{HTTP: func(m *http.Message) {
		if m.Response && m.Body != nil {
			fmt.Printf("frame %d: %s %s -> %d, %q body: %d bytes on the wire, %d decoded\n", m.Frame, m.Method, m.URI,
				m.Status, m.Body.Encoding, m.Body.WireBytes, m.Body.DecodedBytes)
		}
	}}
	if _, err := nettrace.AnalyzeFile("testdata/http/http-gzip-chunked-nginx-curl.pcap", nettrace.Options{Handlers: h}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// frame 78: GET /big.txt -> 200, "gzip" body: 66038 bytes on the wire, 307200 decoded
	// frame 93: GET /data.json -> 200, "gzip" body: 11302 bytes on the wire, 74798 decoded
	// frame 96: GET /small.txt -> 200, "" body: 180 bytes on the wire, 180 decoded
	// frame 142: GET /image.bin -> 200, "" body: 40960 bytes on the wire, 40960 decoded
}

// Keep the decoded messages with a health.Collector and range over those
// of one protocol as typed values, with health.Values: no type assertion.
func Example_values() {
	col := &health.Collector{KeepMessages: true}
	if _, err := nettrace.AnalyzeFile("testdata/smb/smb3-access-denied.pcap", nettrace.Options{Reporter: col, Messages: true}); err != nil {
		log.Fatal(err)
	}
	for m := range health.Values[*smb.Message](col.Messages) {
		if m.TreeConnect == nil {
			continue
		}
		if m.Response {
			fmt.Printf("frame %d: %s answered %s\n", m.Frame, m.Tree, m.StatusName)
		} else {
			fmt.Printf("frame %d: %s %s\n", m.Frame, m.Command, m.Tree)
		}
	}
	// Output:
	// frame 14: TREE_CONNECT \\10.200.3.20\IPC$
	// frame 15: \\10.200.3.20\IPC$ answered STATUS_SUCCESS
	// frame 20: TREE_CONNECT \\10.200.3.20\restricted
	// frame 40: TREE_CONNECT \\10.200.3.20\IPC$
	// frame 41: \\10.200.3.20\IPC$ answered STATUS_SUCCESS
	// frame 46: TREE_CONNECT \\10.200.3.20\data
	// frame 47: \\10.200.3.20\data answered STATUS_SUCCESS
	// frame 68: TREE_CONNECT \\10.200.3.20\IPC$
	// frame 69: \\10.200.3.20\IPC$ answered STATUS_SUCCESS
	// frame 74: TREE_CONNECT \\10.200.3.20\readonly
	// frame 75: \\10.200.3.20\readonly answered STATUS_SUCCESS
}
