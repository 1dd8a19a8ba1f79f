package pair_test

import (
	"fmt"
	"log"

	"github.com/nettrace/nettrace/pair"
)

// Compare a capture taken at the client with one taken at the server of
// the same connection (casebook C1): the SYN-ACK gained 2 bytes between
// the two capture points.
func ExampleAnalyzeFiles() {
	rep, err := pair.AnalyzeFiles("../testdata/pair/c01-synack-payload-client.pcap", "../testdata/pair/c01-synack-payload-server.pcap", pair.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range rep.Matches {
		fmt.Println(m)
	}
	for _, e := range rep.Events {
		fmt.Printf("%-8s %s capture %s frame %d\n", e.Severity, e.Kind, e.Evidence["capture"], e.Frame)
	}
	// Output:
	// 10.200.1.10:49874->10.200.3.20:443 (a, frame 1) = 10.200.1.10:49874->10.200.3.20:443 (b, frame 1), matched by client ISN and SYN TSval
	// info     pair.matched capture a frame 1
	// warning  pair.packet_changed capture a frame 2
	// info     pair.delay_split capture a frame 4
}
