//go:build ignore

// gen makes dns-mdns-llmnr.pcap: real UDP exchanges over the loopback
// interface between a small responder and client written with
// golang.org/x/net/dns/dnsmessage, captured by tcpdump:
//
//   - a DNS query to port 53 answered with an A record, an NS record in
//     the authority section and its glue A/AAAA records plus an EDNS OPT
//     record in the additional section;
//   - an mDNS (RFC 6762) DNS-SD query to port 5353 for
//     _http._tcp.local PTR, answered with the PTR and, in the additional
//     section, the instance's SRV, TXT, A and AAAA records;
//   - an LLMNR (RFC 4795) query to port 5355 for "fileserver", answered
//     with an A record.
//
// Run as root from the repository root: sh testdata/layers/dns/gen.sh
package main

import (
	"log"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func main() {
	for _, port := range []int{53, 5353, 5355} {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			log.Fatal(err)
		}
		go serve(conn, port)
	}
	time.Sleep(200 * time.Millisecond)
	query(53, "www.example.test.", dnsmessage.TypeA, 0x1001)
	query(5353, "_http._tcp.local.", dnsmessage.TypePTR, 0)
	query(5355, "fileserver.", dnsmessage.TypeA, 0x2002)
	time.Sleep(200 * time.Millisecond)
}

func query(port int, name string, typ dnsmessage.Type, id uint16) {
	c, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: port == 53})
	b.EnableCompression()
	must(b.StartQuestions())
	must(b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}))
	msg, err := b.Finish()
	must(err)
	if _, err := c.Write(msg); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(buf); err != nil {
		log.Fatal(err)
	}
}

func serve(c *net.UDPConn, port int) {
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		must(err)
		q, err := p.Question()
		must(err)
		resp := answer(port, h, q)
		if _, err := c.WriteToUDP(resp, from); err != nil {
			log.Fatal(err)
		}
	}
}

func a(ip string) dnsmessage.AResource {
	return dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()}
}

func aaaa(ip string) dnsmessage.AAAAResource {
	return dnsmessage.AAAAResource{AAAA: netip.MustParseAddr(ip).As16()}
}

func hdr(name string, typ dnsmessage.Type, ttl uint32) dnsmessage.ResourceHeader {
	return dnsmessage.ResourceHeader{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET, TTL: ttl}
}

func answer(port int, h dnsmessage.Header, q dnsmessage.Question) []byte {
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: port != 53, RecursionDesired: h.RecursionDesired, RecursionAvailable: port == 53}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if port != 5353 { // mDNS responses carry no question (RFC 6762, 6)
		must(b.StartQuestions())
		must(b.Question(q))
	}
	must(b.StartAnswers())
	switch port {
	case 53:
		must(b.AResource(hdr("www.example.test.", dnsmessage.TypeA, 300), a("192.0.2.80")))
		must(b.StartAuthorities())
		must(b.NSResource(hdr("example.test.", dnsmessage.TypeNS, 3600), dnsmessage.NSResource{NS: dnsmessage.MustNewName("ns1.example.test.")}))
		must(b.StartAdditionals())
		must(b.AResource(hdr("ns1.example.test.", dnsmessage.TypeA, 3600), a("192.0.2.53")))
		must(b.AAAAResource(hdr("ns1.example.test.", dnsmessage.TypeAAAA, 3600), aaaa("2001:db8::53")))
		var opt dnsmessage.ResourceHeader
		must(opt.SetEDNS0(1232, dnsmessage.RCodeSuccess, false))
		must(b.OPTResource(opt, dnsmessage.OPTResource{}))
	case 5353:
		must(b.PTRResource(hdr("_http._tcp.local.", dnsmessage.TypePTR, 4500), dnsmessage.PTRResource{PTR: dnsmessage.MustNewName("printer._http._tcp.local.")}))
		must(b.StartAdditionals())
		must(b.SRVResource(hdr("printer._http._tcp.local.", dnsmessage.TypeSRV, 120), dnsmessage.SRVResource{Port: 631, Target: dnsmessage.MustNewName("printer.local.")}))
		must(b.TXTResource(hdr("printer._http._tcp.local.", dnsmessage.TypeTXT, 4500), dnsmessage.TXTResource{TXT: []string{"path=/"}}))
		must(b.AResource(hdr("printer.local.", dnsmessage.TypeA, 120), a("192.0.2.31")))
		must(b.AAAAResource(hdr("printer.local.", dnsmessage.TypeAAAA, 120), aaaa("fe80::31")))
	case 5355:
		must(b.AResource(hdr("fileserver.", dnsmessage.TypeA, 30), a("192.0.2.45")))
	}
	msg, err := b.Finish()
	must(err)
	return msg
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
