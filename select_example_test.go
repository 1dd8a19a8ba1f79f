package nettrace_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/layers"
)

// Analyse only the frames a tcpdump-syntax filter matches; frames keep
// their numbers in the whole capture.
func ExampleOptions_filter() {
	rep, err := nettrace.AnalyzeFile("testdata/root/c04-epm-vip-client.pcap", nettrace.Options{Filter: "tcp port 135"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d of %d frames left out\n", rep.Skipped.Frames, rep.Capture.Frames)
	for _, fl := range rep.Flows {
		fmt.Printf("stream %d %s -> %s, frames %d-%d\n", fl.ID, fl.Client, fl.Server, fl.FirstFrame, fl.LastFrame)
	}
	// Output:
	// 17 of 30 frames left out
	// stream 0 10.200.1.10:59336 -> 10.200.3.100:135, frames 1-13
}

// Analyse one TCP connection by its tshark tcp.stream number: the others
// are tracked, so the numbers do not change, but not reported.
func ExampleOptions_streams() {
	rep, err := nettrace.AnalyzeFile("testdata/root/c04-epm-vip-client.pcap", nettrace.Options{Streams: []uint64{1}})
	if err != nil {
		log.Fatal(err)
	}
	for _, fl := range rep.Flows {
		fmt.Printf("stream %d %s -> %s\n", fl.ID, fl.Client, fl.Server)
	}
	fmt.Printf("%d other connection left out, %d of its frames\n", rep.Skipped.Streams, rep.Skipped.Packets)
	// Output:
	// stream 1 10.200.1.10:58192 -> 10.200.3.100:49152
	// 1 other connection left out, 13 of its frames
}

// A bad filter fails New with the position of the fault.
func ExampleNew_badFilter() {
	_, err := nettrace.New(nettrace.Options{Filter: "host 10.0.0.1 and port"})
	var fe *layers.FilterError
	if errors.As(err, &fe) {
		fmt.Printf("position %d: %s\n", fe.Pos, fe.Msg)
	}
	// Output: position 23: expression ends where a port was expected
}
