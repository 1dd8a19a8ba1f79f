package nettrace_test

import (
	"fmt"
	"log"
	"os"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

// Analyse a capture and print its findings, most serious first.
func ExampleAnalyzeFile() {
	rep, err := nettrace.AnalyzeFile("testdata/root/c04-epm-vip-client.pcap", nettrace.Options{})
	if err != nil {
		log.Fatal(err) // not a capture, or unreadable
	}
	fmt.Printf("%d frames, %d TCP connections\n", rep.Capture.Frames, len(rep.Flows))
	for _, f := range rep.Findings {
		fmt.Printf("%-8s %s ×%d at frame %d\n", f.Severity, f.Kind, f.Count, f.Example.Frame)
	}
	for _, fl := range rep.Flows {
		fmt.Printf("stream %d %s -> %s: %s\n", fl.ID, fl.Client, fl.Server, fl.Protocol)
	}
	// Output:
	// 30 frames, 2 TCP connections
	// warning  rpc.epm_address_mismatch ×1 at frame 10
	// info     capture.profile ×1 at frame 30
	// info     rpc.endpoint_learned ×1 at frame 10
	// stream 0 10.200.1.10:59336 -> 10.200.3.100:135: dcerpc
	// stream 1 10.200.1.10:58192 -> 10.200.3.100:49152: dcerpc
}

// Decode the streams on two workers: the Report is the same as with one.
func ExampleOptions_workers() {
	rep, err := nettrace.AnalyzeFile("testdata/root/c04-epm-vip-client.pcap", nettrace.Options{Workers: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, fl := range rep.Flows {
		fmt.Printf("stream %d -> %s: %s\n", fl.ID, fl.Server, fl.Protocol)
	}
	// Output:
	// stream 0 -> 10.200.3.100:135: dcerpc
	// stream 1 -> 10.200.3.100:49152: dcerpc
}

// Stream every event as a JSON line while the capture is analysed, as
// `doctor -json` does.
func ExampleNew() {
	sink := health.NewJSONSink(os.Stdout, true, false)
	a, err := nettrace.New(nettrace.Options{Reporter: onlyKind{sink, health.TCPRefused}})
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("testdata/root/tcp-conn-refused-rst.pcap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := a.Analyze("refused", f); err != nil {
		log.Fatal(err)
	}
	sink.Flush()
	// Output:
	// {"schema":1,"kind":"tcp.refused","severity":"warning","time":"2026-11-22T00:33:23.708232Z","frame":2,"flow":"10.200.1.10:43194->10.200.3.20:81/tcp","message":"connection refused: the server 10.200.3.20:81 answered the SYN (frame 1) with a reset: nothing listens on that port, or a firewall rejects it","evidence":{"syn_count":1,"syn_frame":1}}
}

// onlyKind passes on the events of one kind.
type onlyKind struct {
	next health.Reporter
	kind health.Kind
}

func (o onlyKind) Event(e health.Event) {
	if e.Kind == o.kind {
		o.next.Event(e)
	}
}
func (o onlyKind) Message(health.Message) {}
func (o onlyKind) WantMessages() bool     { return false }
