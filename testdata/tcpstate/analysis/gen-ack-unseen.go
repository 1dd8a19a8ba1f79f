//go:build ignore

// gen-ack-unseen writes synthetic-ack-unseen-*.pcap: a client segment the
// capture missed (a hole), then the server acknowledging it again and
// again while the client sends pure ACKs, duplicate ACKs, data or its FIN,
// to check against tshark 4.0.17 when "ACKed unseen segment" is flagged
// (once per hole, again only after the client sent a segment with a new
// ACK). Run from the repository root:
//
//	go run ./testdata/tcpstate/analysis/gen-ack-unseen.go
//
// then, in testdata/tcpstate/analysis, the flags references with tshark
// (see README.md).
package main

import (
	"log"
	"os"

	"github.com/nettrace/nettrace/internal/testcap"
)

// Steps: D client data acknowledged, H a client segment not captured, s
// server data, A server pure ACK, c client pure ACK, e client data, F the
// FIN exchange.
var scenarios = map[string]string{
	"ack":      "D H s s s A c d F",
	"fin":      "D H s s s A F",
	"dupack":   "D H s s s A c c d F",
	"data":     "D H s s s A e d F",
	"two-data": "D H s s s A c d d F",
}

func main() {
	for name, steps := range scenarios {
		c := testcap.NewBuilder(0)
		v := c.Conv("10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000)
		v.Handshake()
		for _, st := range steps {
			switch st {
			case 'D':
				v.Send(true, make([]byte, 100), 1460)
			case 'H':
				v.CSeq += 100
			case 's', 'd':
				c.Raw(c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, v.SSeq, v.CSeq, "PA", make([]byte, 50)))
				v.SSeq += 50
			case 'A':
				c.Raw(c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, v.SSeq, v.CSeq, "A", nil))
			case 'c':
				c.Raw(c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "A", nil))
			case 'e':
				c.Raw(c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "PA", make([]byte, 10)))
				v.CSeq += 10
			case 'F':
				v.Fin()
			}
		}
		if err := os.WriteFile("testdata/tcpstate/analysis/synthetic-ack-unseen-"+name+".pcap", c.Buf.Bytes(), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
