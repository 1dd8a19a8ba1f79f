package nettrace_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/connlog"
)

// pcapSource adapts gopacket's pcap reader to a PacketSource: any source
// of timestamped frames works the same way (a live interface: see
// examples/live).
type pcapSource struct{ r *pcapgo.Reader }

func (s pcapSource) NextPacket() (nettrace.Packet, error) {
	data, ci, err := s.r.ZeroCopyReadPacketData()
	if err != nil {
		return nettrace.Packet{}, err // io.EOF at the end
	}
	return nettrace.Packet{Time: ci.Timestamp, LinkType: uint16(s.r.LinkType()), Data: data, Length: ci.Length}, nil
}

// Analyse packets from the embedder's own source, with a deadline.
func ExampleAnalyzeSource() {
	f, err := os.Open("testdata/root/tcp-conn-refused-rst.pcap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := nettrace.AnalyzeSource(ctx, "my source", pcapSource{r}, nettrace.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, fd := range rep.Findings {
		fmt.Println(fd.Severity, fd.Kind)
	}
	// Output:
	// warning tcp.refused
	// info capture.profile
}

// Feed packets one at a time and ask what was found so far, as a live
// capture's periodic report does; Close ends the analysis.
func ExampleAnalyzer_Packet() {
	f, err := os.Open("testdata/root/tcp-conn-refused-rst.pcap")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	a, err := nettrace.New(nettrace.Options{})
	if err != nil {
		log.Fatal(err)
	}
	src := pcapSource{r}
	for n := 1; ; n++ {
		p, err := src.NextPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err := a.Packet(p); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("after packet %d: %d findings\n", n, len(a.Findings()))
	}
	rep := a.Close()
	fmt.Println(rep.Conns()[0].ConnState, rep.Conns()[0].History)
	// Output:
	// after packet 1: 0 findings
	// after packet 2: 1 findings
	// REJ Sr
}

// Stop a long analysis when the context is done: the Report holds what
// was analysed until then.
func ExampleAnalyzeFileContext() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // e.g. the user pressed Ctrl-C
	rep, err := nettrace.AnalyzeFileContext(ctx, "testdata/root/c04-epm-vip-client.pcap", nettrace.Options{})
	fmt.Println(err, rep != nil)
	// Output:
	// context canceled true
}

// Every TCP connection as a line of Zeek's conn.log, as it ends.
func ExampleOptions_onConn() {
	_, err := nettrace.AnalyzeFile("testdata/root/c04-epm-vip-client.pcap", nettrace.Options{
		OnConn: func(r connlog.Record) {
			fmt.Println(r.Orig, "->", r.Resp, r.Service, r.ConnState, r.History, r.OrigBytes, r.RespBytes)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// 10.200.1.10:59336 -> 10.200.3.100:135 dce_rpc SF ShADadFf 228 212
	// 10.200.1.10:58192 -> 10.200.3.100:49152 dce_rpc SF ShADadFf 534 358
}
