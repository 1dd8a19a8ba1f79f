// Command live analyses the traffic of a Linux network interface as it
// passes, and prints what it found every few seconds: the findings so far
// and what is new since the last report. It reads the interface through
// gopacket's pure-Go pcapgo.EthernetHandle (an AF_PACKET socket, no cgo
// and no libpcap), so it needs root or CAP_NET_RAW.
//
// Usage:
//
//	live -i IFACE [-every 10s] [-for 0] [-conn]
//
// Flags:
//
//	-i IFACE     the interface to read (Ethernet or a veth)
//	-every D     time between two reports (default 10s)
//	-for D       stop after D (default 0: until interrupted)
//	-conn        also print each TCP connection as it ends, as a line of
//	             Zeek's conn.log
//	-promisc     put the interface in promiscuous mode
//
// There is no rotation: one analysis runs for the whole session, with the
// memory bounds of nettrace.Options (idle connections expire by packet
// time, kept events and connections stop at their caps, repeated events
// are folded), so a report is never lost to a file boundary. On SIGINT or
// SIGTERM, or after -for, it prints the final report.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/connlog"
)

type config struct {
	iface   string
	every   time.Duration
	forD    time.Duration
	conn    bool
	promisc bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.iface, "i", "", "the `interface` to read")
	flag.DurationVar(&cfg.every, "every", 10*time.Second, "time between two reports")
	flag.DurationVar(&cfg.forD, "for", 0, "stop after this long (0: until interrupted)")
	flag.BoolVar(&cfg.conn, "conn", false, "print each TCP connection as it ends (Zeek conn.log TSV)")
	flag.BoolVar(&cfg.promisc, "promisc", false, "put the interface in promiscuous mode")
	flag.Parse()
	if cfg.iface == "" {
		fmt.Fprintln(os.Stderr, "usage: live -i IFACE [-every 10s] [-for 0] [-conn]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.forD > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.forD)
		defer cancel()
	}
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "live:", err)
		os.Exit(1)
	}
}

// run captures on cfg.iface until ctx is done, printing a report every
// cfg.every and a final one.
func run(ctx context.Context, cfg config, out io.Writer) error {
	h, err := pcapgo.NewEthernetHandle(cfg.iface)
	if err != nil {
		return err
	}
	if err := h.SetCaptureLength(1 << 18); err != nil { // GRO merges segments beyond the MTU
		h.Close()
		return err
	}
	if cfg.promisc {
		if err := h.SetPromiscuous(true); err != nil {
			h.Close()
			return err
		}
	}
	packets, done := make(chan nettrace.Packet, 4096), make(chan struct{})
	// The reader owns the handle (gopacket's Close must not race a read):
	// a blocked read returns only with a packet or an error, so after run
	// returns the reader closes the handle at its next packet, or when the
	// interface goes away.
	go read(h, packets, done)
	defer close(done)

	opts := nettrace.Options{}
	if cfg.conn {
		tsv := connlog.NewTSVWriter(out)
		opts.OnConn = func(r connlog.Record) { tsv.Write(r); tsv.Flush() }
	}
	a, err := nettrace.New(opts)
	if err != nil {
		return err
	}
	tick := time.NewTicker(cfg.every)
	defer tick.Stop()
	return loop(ctx, a, packets, tick.C, out)
}

// read sends the interface's packets to out until reading fails. A full
// channel blocks the reader: the kernel's socket buffer then absorbs the
// burst, and drops beyond it, rather than this process's memory.
func read(h *pcapgo.EthernetHandle, out chan<- nettrace.Packet, done <-chan struct{}) {
	defer h.Close()
	defer close(out)
	for {
		data, ci, err := h.ReadPacketData() // a fresh copy per packet
		if err != nil {
			return
		}
		select {
		case out <- nettrace.Packet{Time: ci.Timestamp, LinkType: nettrace.LinkTypeEthernet, Data: data, Length: ci.Length}:
		case <-done:
			return
		}
	}
}

// loop feeds the packets to a and prints a report at every tick, then the
// final one when ctx is done or the reader stops.
func loop(ctx context.Context, a *nettrace.Analyzer, packets <-chan nettrace.Packet, tick <-chan time.Time, out io.Writer) error {
	var last map[string]int
	n := 0
	for {
		select {
		case <-ctx.Done():
			printFinal(out, a.Close(), n)
			return nil
		case p, ok := <-packets:
			if !ok {
				printFinal(out, a.Close(), n)
				return fmt.Errorf("reading the interface stopped after %d packets", n)
			}
			n++
			if err := a.Packet(p); err != nil {
				return err
			}
		case now := <-tick:
			last = printPeriodic(out, now, a.Findings(), last, n)
		}
	}
}

// printPeriodic prints the findings so far, with what changed since the
// previous report, and returns the counts to compare the next one with.
func printPeriodic(out io.Writer, now time.Time, fs []nettrace.Finding, last map[string]int, packets int) map[string]int {
	counts := make(map[string]int, len(fs))
	fmt.Fprintf(out, "== %s: %d packets, %d kinds of finding so far\n", now.Format(time.TimeOnly), packets, len(fs))
	for _, f := range fs {
		counts[string(f.Kind)] = f.Count
		since := f.Count - last[string(f.Kind)]
		mark := ""
		if since > 0 {
			mark = fmt.Sprintf(" (+%d since last report)", since)
		}
		fmt.Fprintf(out, "  %-8s %-30s %5d×%s  e.g. frame %d %s\n", f.Severity, f.Kind, f.Count, mark, f.Example.Frame, f.Example.Flow)
	}
	return counts
}

// printFinal prints the whole session's findings and connections.
func printFinal(out io.Writer, rep *nettrace.Report, packets int) {
	fmt.Fprintf(out, "== final: %d packets, %d TCP connections\n", packets, len(rep.Flows)+rep.FlowsDropped)
	for _, f := range rep.Findings {
		fmt.Fprintf(out, "  %-8s %-30s %5d×  e.g. frame %d: %s\n", f.Severity, f.Kind, f.Count, f.Example.Frame, f.Example.Message)
	}
	for _, r := range rep.Conns() {
		fmt.Fprintf(out, "  conn %s -> %s %s %s %s\n", r.Orig, r.Resp, orDash(r.Service), r.ConnState, r.History)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
