package diagnose_test

import (
	"errors"
	"fmt"
	"io"
	"net/netip"

	"github.com/nettrace/nettrace/diagnose"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// feed decodes a capture with the layers Decoder and gives every packet
// (and the decoder's events) to d, as the Analyzer does.
func feed(d *diagnose.Network, path string) error {
	c, err := layers.Open(path)
	if err != nil {
		return err
	}
	defer c.Close()
	var col health.Collector
	dec := layers.NewDecoder(&col, layers.DefaultLimits())
	for {
		f, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if p, ok := dec.Decode(f); ok {
			d.Packet(p)
		}
	}
	for _, e := range col.Events {
		d.Event(e)
	}
	return nil
}

// ExampleNetwork runs the network diagnoses over a real path-MTU exchange
// (casebook C19): the server's 1500-byte segments are answered by ICMP
// "fragmentation needed" with MTU 1400, and the server re-sends the data in
// 1400-byte packets.
func ExampleNetwork() {
	d := diagnose.NewNetwork(diagnose.NetworkConfig{})
	if err := feed(d, "../testdata/health/tcp-pmtu-frag-needed-server-cut.pcap"); err != nil {
		fmt.Println(err)
		return
	}
	var col health.Collector
	d.Finish(&col)
	for _, e := range col.Events {
		fmt.Println(e.Frame, e.Kind, e.Evidence["mtu"])
	}
	// Output:
	// 12 net.icmp_frag_needed 1400
	// 12 net.pmtu_reduced 1400
}

// ExampleNetwork_NameOf maps a destination back to the DNS name it was
// resolved from (casebook C16): a real capture of a DNS lookup through a
// CNAME, then an HTTP request to the address.
func ExampleNetwork_NameOf() {
	d := diagnose.NewNetwork(diagnose.NetworkConfig{})
	if err := feed(d, "../testdata/health/c16-dns-cname-then-http-crl-client.pcap"); err != nil {
		fmt.Println(err)
		return
	}
	server := netip.MustParseAddr("10.200.3.80")
	name, _ := d.NameOf(server)
	fmt.Println(name, d.ChainOf(server))
	// Output:
	// crl.example.test [crl.example.test crl.cdn.example.test crl-edge.cdn.example.net]
}
