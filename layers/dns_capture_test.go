package layers

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestDNSSectionsAgreeWithTshark parses every DNS, mDNS (port 5353) and
// LLMNR (port 5355) message of a real loopback capture
// (testdata/layers/dns, made by gen.sh there) and compares with tshark's
// dns.* fields: header, counts of every section, query name, the type of
// every record of the answer, authority and additional sections in order,
// the A and AAAA addresses and the SRV port and target of all sections.
func TestDNSSectionsAgreeWithTshark(t *testing.T) {
	dir := filepath.Join("..", "testdata", "layers", "dns")
	frames, err := readFrames(t, filepath.Join(dir, "dns-mdns-llmnr.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	ref := readTSV(t, filepath.Join(dir, "dns-mdns-llmnr.dns.tsv"))
	if len(ref) != len(frames) {
		t.Fatalf("tshark %d frames, capture %d", len(ref), len(frames))
	}
	d := NewDecoder(nil, DefaultLimits())
	agree := 0
	for i := range frames {
		p, ok := d.Decode(&frames[i])
		if !ok || p.Transport != TransportUDP {
			t.Fatalf("frame %d not UDP", frames[i].Number)
		}
		m, err := ParseDNS(p.Payload)
		if err != nil {
			t.Errorf("frame %d: %v", frames[i].Number, err)
			continue
		}
		if diff := dnsDiff(ref[i], m); diff != "" {
			t.Errorf("frame %d: %s", frames[i].Number, diff)
			continue
		}
		agree++
	}
	t.Logf("%d of %d DNS/mDNS/LLMNR messages agree with tshark on every section", agree, len(frames))
}

// dnsDiff compares a message with tshark's row.
func dnsDiff(r tsharkRow, m DNSMessage) string {
	var types, a, aaaa, srvPort, srvTarget []string
	for _, sec := range [][]DNSAnswer{m.Answers, m.Authority, m.Additional} {
		for _, rr := range sec {
			types = append(types, strconv.Itoa(int(rr.Type)))
			switch rr.Type {
			case DNSTypeA:
				a = append(a, rr.Addr.String())
			case DNSTypeAAAA:
				aaaa = append(aaaa, rr.Addr.String())
			case DNSTypeSRV:
				srvPort = append(srvPort, strconv.Itoa(int(rr.Port)))
				srvTarget = append(srvTarget, rr.Host)
			}
		}
	}
	qname := ""
	if len(m.Questions) > 0 {
		qname = m.Questions[0].Name
	}
	got := map[string]string{
		"dns.id": fmt.Sprintf("0x%04x", m.ID), "dns.flags.response": map[bool]string{true: "1", false: "0"}[m.Response],
		"dns.qry.name": qname, "dns.count.queries": strconv.Itoa(int(m.QDCount)), "dns.count.answers": strconv.Itoa(int(m.ANCount)),
		"dns.count.auth_rr": strconv.Itoa(int(m.NSCount)), "dns.count.add_rr": strconv.Itoa(int(m.ARCount)),
		"dns.resp.type": strings.Join(types, "|"), "dns.a": strings.Join(a, "|"), "dns.aaaa": strings.Join(aaaa, "|"),
		"dns.srv.port": strings.Join(srvPort, "|"), "dns.srv.target": strings.Join(srvTarget, "|"),
	}
	var diffs []string
	for k, v := range got {
		if r[k] != v {
			diffs = append(diffs, fmt.Sprintf("%s: tshark %q, we %q", k, r[k], v))
		}
	}
	return strings.Join(diffs, "; ")
}
