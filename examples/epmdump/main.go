// Command epmdump prints every endpoint that DCE/RPC endpoint mappers
// advertise in a capture, built only on the public API: per ept_map and
// ept_lookup reply, the EPM server, the interface (name and UUID), the
// protocol, the address and port (or pipe), and whether the advertised
// address differs from the address the client asked — the load balancer or
// NAT of casebook C4, which RPC filters that check the tower address reject.
//
// Usage:
//
//	epmdump capture.pcap
package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/tcpstate"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type row struct {
	server, iface, uuid, proto, ip, endpoint, differs string
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: epmdump capture")
		return 2
	}
	var rows []row
	seen := map[row]bool{}
	learned := func(e rpc.Endpoint) {
		r := row{server: e.Server.String(), iface: e.InterfaceName, uuid: fmt.Sprintf("%s v%d.%d", e.Interface, e.Version, e.VersionMinor),
			proto: e.Protseq, ip: "-", endpoint: "-", differs: "no"}
		if r.iface == "" {
			r.iface = e.Annotation
		}
		if r.iface == "" {
			r.iface = "?"
		}
		if r.proto == "" {
			r.proto = e.Protocol
		}
		if e.IP.IsValid() {
			r.ip = e.IP.String()
		}
		switch {
		case e.Port != 0:
			r.endpoint = fmt.Sprint(e.Port)
		case e.Pipe != "":
			r.endpoint = e.Pipe
		}
		if e.AddressDiffers {
			r.differs = "YES (asked " + e.Server.Addr().String() + ")"
		}
		if !seen[r] {
			seen[r] = true
			rows = append(rows, r)
		}
	}
	dec := nettrace.Decoder{
		Name:   nettrace.ProtoDCERPC,
		Ports:  []uint16{135},
		Detect: rpc.Detect,
		New: func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			cfg := rpc.DefaultConfig()
			cfg.Learned = learned
			return rpc.NewConn(ctx, cfg)
		},
	}
	rep, err := nettrace.AnalyzeFile(args[0], nettrace.Options{Decoders: []nettrace.Decoder{dec}, MaxEventsKept: -1})
	if err != nil {
		fmt.Fprintln(stderr, "epmdump:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d frames, %d endpoints advertised\n", rep.Capture.Name, rep.Capture.Frames, len(rows))
	if len(rows) > 0 {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVER\tINTERFACE\tUUID\tPROTOCOL\tIP\tPORT/PIPE\tDIFFERS FROM SERVER")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.server, r.iface, r.uuid, r.proto, r.ip, r.endpoint, r.differs)
		}
		tw.Flush()
	}
	for _, f := range rep.Findings {
		switch f.Kind {
		case health.RPCEPMAddressMismatch, health.RPCEPMNotRegistered, health.RPCEPMShortReply:
			fmt.Fprintf(stdout, "%s x%d (first at frame %d): %s\n", f.Kind, f.Count, f.Example.Frame, f.Example.Message)
		}
	}
	return 0
}
