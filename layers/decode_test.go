package layers

import (
	"strings"
	"testing"
)

// TestAgreesWithTshark decodes captures and compares every frame with
// tshark 4.0's fields (testdata/layers/*.frames.tsv, made by gen.sh): frame
// count, src/dst, ports, raw seq/ack, tcp.len, tcp.flags, ICMP type, ARP op.
func TestAgreesWithTshark(t *testing.T) {
	for _, name := range []string{
		"c06-frag.pcap", "c10-tso.pcap", "c14-arp.pcap", "c16-dns.pcap", "tcp-syn-icmp.pcap",
		"tls12-gcm.pcap", "tls12-gcm-snap60.pcap", "zeek-ipv6-fragmented-dns.pcap",
		"zeek-icmp-icmp6-toobig.pcap", "zeek-icmp-icmp-destunreach-udp.pcap",
		"zeek-tcp-option-sack.pcap", "zeek-tcp-truncated-header.pcap",
	} {
		t.Run(name, func(t *testing.T) {
			got, _ := decodeFile(t, testdata(name))
			ref := readTSV(t, testdata(strings.TrimSuffix(name, ".pcap")+".frames.tsv"))
			agree := compareTshark(t, ref, got)
			t.Logf("%s: %d of %d frames agree with tshark", name, agree, len(ref))
		})
	}
}
