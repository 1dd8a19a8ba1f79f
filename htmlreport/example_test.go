package htmlreport_test

import (
	"bytes"
	"fmt"
	"log"
	"regexp"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/htmlreport"
)

// Analyse a capture with the packet series the graphs need, and write the
// page.
func ExampleWrite() {
	rep, err := nettrace.AnalyzeFile("../testdata/tcpstate/analysis/tcp-lossy-netem-curl-client-head.pcap",
		nettrace.Options{Series: &nettrace.SeriesOptions{}})
	if err != nil {
		log.Fatal(err)
	}
	var page bytes.Buffer // os.Create("report.html") in a program
	if err := htmlreport.Write(&page, rep, htmlreport.Options{}); err != nil {
		log.Fatal(err)
	}
	kinds := map[string]int{}
	for _, m := range regexp.MustCompile(`data-graph="([a-z-]+)"`).FindAllSubmatch(page.Bytes(), -1) {
		kinds[string(m[1])]++
	}
	fmt.Println(kinds[htmlreport.GraphSequence] > 0, kinds[htmlreport.GraphRTT] > 0, kinds[htmlreport.GraphThroughput] > 0)
	// Output: true true true
}
