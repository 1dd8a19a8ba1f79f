// Command epmdump prints every endpoint that DCE/RPC endpoint mappers
// advertise in a capture, built only on the public API: per ept_map and
// ept_lookup reply, the EPM server, the interface (name and UUID), the
// protocol, the address and port (or pipe), and whether the advertised
// address differs from the address the client asked — the load balancer or
// NAT of casebook C4, which RPC filters that check the tower address reject.
//
// Usage:
//
//	epmdump [-json] [selection flags] capture
//
// -json prints the same as one JSON document. -filter, -flow, -from and -to
// select what is analysed; a capture is a pcap or pcapng file, optionally
// gzip-compressed, or "-" for standard input.
//
// Exit status: 0 analysed; 1 analysed, but the capture was damaged (said on
// standard error with where it stopped) or the analysis shed or gave
// something up; 2 usage error or an input that is not a capture.
package main

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/tcpstate"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// row is one advertised endpoint.
type row struct {
	server, iface, uuid, proto, ip, endpoint, differs string
}

var examples = []string{
	"epmdump capture.pcapng",
	"epmdump -json capture.pcap | jq '.endpoints[] | select(.differs)'",
	"tcpdump -r big.pcap -w - 'tcp port 135' | epmdump -",
}

// epmKinds are the findings epmdump lists.
func epmKind(k health.Kind) bool {
	switch k {
	case health.RPCEPMAddressMismatch, health.RPCEPMNotRegistered, health.RPCEPMShortReply:
		return true
	}
	return false
}

func run(args []string, stdout, stderr io.Writer) int {
	t := cli.New("epmdump", "[flags] capture",
		"Prints every endpoint that DCE/RPC endpoint mappers advertise in a capture (ept_map and ept_lookup "+
			"replies): the EPM server, the interface, the protocol, the address and port or pipe, and whether the "+
			"address differs from the one the client asked (a load balancer or NAT that RPC filters checking the "+
			"tower address reject).", examples, stdout, stderr)
	t.SetJSONUsage("write the endpoints and findings as one JSON document")
	in, status, ok := t.ParseOne(args)
	if !ok {
		return status
	}
	defer in.Close()
	var tab table
	dec := nettrace.Decoder{
		Name:   nettrace.ProtoDCERPC,
		Ports:  []uint16{135},
		Detect: rpc.Detect,
		New: func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			cfg := rpc.DefaultConfig()
			cfg.Learned = tab.learned
			return rpc.NewConn(ctx, cfg)
		},
	}
	res, err := t.Analyze(in, nettrace.Options{Decoders: []nettrace.Decoder{dec}, MaxEventsKept: -1})
	if err != nil {
		return t.Fail(err)
	}
	if t.JSON {
		if err := tab.writeJSON(stdout, res.Report); err != nil {
			return t.Fail(err)
		}
		return res.Check()
	}
	tab.print(stdout, res.Report)
	return res.Check()
}

// table is the endpoints advertised, each once, in the order first seen.
type table struct {
	rows      []row
	endpoints []endpointJSON
	seen      map[row]bool
}

// learned adds an endpoint the endpoint mapper advertised.
func (tab *table) learned(e rpc.Endpoint) {
	r := row{server: e.Server.String(), iface: cmp.Or(e.InterfaceName, e.Annotation, "?"),
		uuid:  fmt.Sprintf("%s v%d.%d", e.Interface, e.Version, e.VersionMinor),
		proto: cmp.Or(e.Protseq, e.Protocol), ip: "-", endpoint: "-", differs: "no"}
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
	if tab.seen[r] {
		return
	}
	if tab.seen == nil {
		tab.seen = map[row]bool{}
	}
	tab.seen[r] = true
	tab.rows = append(tab.rows, r)
	tab.endpoints = append(tab.endpoints, endpointJSON{Server: r.server, Interface: r.iface, InterfaceUUID: e.Interface.String(),
		Version: fmt.Sprintf("%d.%d", e.Version, e.VersionMinor), Protocol: r.proto, IP: optional(r.ip), Port: e.Port,
		Pipe: e.Pipe, Differs: e.AddressDiffers})
}

// writeJSON writes the endpoints and the endpoint mapper's findings as one
// JSON document.
func (tab *table) writeJSON(w io.Writer, rep *nettrace.Report) error {
	endpoints := tab.endpoints
	if endpoints == nil {
		endpoints = []endpointJSON{}
	}
	doc := struct {
		Capture   cli.CaptureJSON   `json:"capture"`
		Endpoints []endpointJSON    `json:"endpoints"`
		Findings  []cli.FindingJSON `json:"findings"`
	}{cli.Capture(rep), endpoints, cli.Findings(rep, epmKind)}
	return cli.WriteJSON(w, doc)
}

// print writes the endpoints as a table, then the endpoint mapper's
// findings.
func (tab *table) print(w io.Writer, rep *nettrace.Report) {
	fmt.Fprintf(w, "%s: %d frames, %d endpoints advertised\n", rep.Capture.Name, rep.Capture.Frames, len(tab.rows))
	if len(tab.rows) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SERVER\tINTERFACE\tUUID\tPROTOCOL\tIP\tPORT/PIPE\tDIFFERS FROM SERVER")
		for _, r := range tab.rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.server, r.iface, r.uuid, r.proto, r.ip, r.endpoint, r.differs)
		}
		tw.Flush()
	}
	for _, f := range rep.Findings {
		if epmKind(f.Kind) {
			fmt.Fprintf(w, "%s x%d (first at frame %d): %s\n", f.Kind, f.Count, f.Example.Frame, f.Example.Message)
		}
	}
}

// endpointJSON is one advertised endpoint in epmdump -json.
type endpointJSON struct {
	Server        string `json:"server"`    // the endpoint mapper asked (address:port)
	Interface     string `json:"interface"` // name, annotation or "?"
	InterfaceUUID string `json:"interface_uuid"`
	Version       string `json:"version"`  // major.minor
	Protocol      string `json:"protocol"` // protocol sequence (ncacn_ip_tcp, ncacn_np, …)
	IP            string `json:"ip,omitempty"`
	Port          uint16 `json:"port,omitempty"`
	Pipe          string `json:"pipe,omitempty"`
	// Differs is set when the advertised address is not the address the
	// client asked (casebook C4).
	Differs bool `json:"differs"`
}

func optional(s string) string {
	if s == "-" {
		return ""
	}
	return s
}
