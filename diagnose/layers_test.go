package diagnose

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// runNetDiag decodes a capture with the layers Decoder and feeds every
// packet and the decoder's events to a Network, as the Analyzer does.
func runNetDiag(t *testing.T, path string) (*Network, *health.Collector) {
	t.Helper()
	c, err := layers.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	col := &health.Collector{}
	dec := layers.NewDecoder(col, layers.DefaultLimits())
	nd := NewNetwork(NetworkConfig{})
	for {
		fr, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := dec.Decode(fr); ok {
			nd.Packet(p)
		}
	}
	for _, e := range col.Events {
		nd.Event(e)
	}
	nd.Finish(col)
	return nd, col
}

func oneEvent(t *testing.T, col *health.Collector, k health.Kind) health.Event {
	t.Helper()
	evs := col.OfKind(k)
	if len(evs) != 1 {
		t.Fatalf("%d %s events, want 1", len(evs), k)
	}
	return evs[0]
}

func TestNetDiagThroughLayers(t *testing.T) {
	t.Run("C19 frag needed", func(t *testing.T) {
		_, col := runNetDiag(t, netTestdata("tcp-pmtu-frag-needed-server-cut.pcap"))
		icmp := oneEvent(t, col, health.NetICMPFragNeeded)
		if icmp.Evidence["mtu"] != 1400 || icmp.Evidence["count"] != 9 || icmp.Frame != 12 {
			t.Errorf("icmp %+v", icmp)
		}
		e := oneEvent(t, col, health.NetPMTUReduced)
		if e.Evidence["mtu"] != 1400 || e.Evidence["resent"] != 11 {
			t.Errorf("reduced %+v", e)
		}
	})
	t.Run("C19 blackhole", func(t *testing.T) {
		_, col := runNetDiag(t, netTestdata("tcp-pmtu-blackhole-server.pcap"))
		e := oneEvent(t, col, health.NetPMTUBlackhole)
		if e.Evidence["size"] != 1500 || e.Evidence["retransmissions"] != 5 {
			t.Errorf("blackhole %+v", e)
		}
	})
	t.Run("C16 DNS", func(t *testing.T) {
		nd, col := runNetDiag(t, netTestdata("c16-dns-cname-then-http-crl-client.pcap"))
		if n, ok := nd.NameOf(netip.MustParseAddr("10.200.3.80")); !ok || n != "crl.example.test" {
			t.Errorf("NameOf = %q, %v", n, ok)
		}
		oneEvent(t, col, health.NetResolvedDestination)
	})
	t.Run("C14 ARP", func(t *testing.T) {
		_, col := runNetDiag(t, netTestdata("c14-arp-burst-resets-after-idle-client.pcap"))
		e := oneEvent(t, col, health.NetARPStorm)
		if e.Evidence["burst"] != 20 || e.Frame != 181 {
			t.Errorf("storm %+v", e)
		}
	})
	t.Run("C6 flood (shared)", func(t *testing.T) {
		path := filepath.Join("..", "..", "shared", "captures", "cases", "c06-udp-flood-after-webshell-server.pcap")
		if _, err := os.Stat(path); err != nil {
			t.Skip("shared captures not available")
		}
		_, col := runNetDiag(t, path)
		e := oneEvent(t, col, health.NetUDPFlood)
		// README: 200 datagrams of 6 fragments, 8.7 Mbit/s, 7 ICMP port
		// unreachable (tshark icmp 3/3 x7), after the request in frame 4.
		if e.Evidence["datagrams"] != int64(200) || e.Evidence["fragments_per_datagram"] != 6 || e.Evidence["icmp_unreachable"] != 7 ||
			e.Evidence["preceded_by_frame"] != int64(4) || e.Evidence["mbps"] != 8.7 {
			t.Errorf("flood %+v", e.Evidence)
		}
	})
	t.Run("C2 NAT", func(t *testing.T) {
		_, col := runNetDiag(t, netTestdata("c02-nat-per-source-limit-server.pcap"))
		e := oneEvent(t, col, health.NetManyConnectionsSingleSource)
		if e.Evidence["syns"] != 240 || e.Evidence["syns_unanswered"] != 211 {
			t.Errorf("nat %+v", e)
		}
	})
}
