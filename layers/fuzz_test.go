package layers

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/health"
)

// seedFrames returns the frames of the small testdata captures.
func seedFrames(f *testing.F) []Frame {
	var out []Frame
	paths, _ := filepath.Glob(testdata("*.pcap"))
	for _, p := range paths {
		frames, _ := readFrames(f, p)
		for _, fr := range frames {
			if len(fr.Data) <= 4096 {
				out = append(out, fr)
			}
		}
	}
	return out
}

// FuzzDecode decodes arbitrary frame bytes of every supported link type
// (and an unsupported one). It must not panic, and a decoded Packet must be
// self-consistent.
func FuzzDecode(f *testing.F) {
	for i, fr := range seedFrames(f) {
		f.Add(uint16(1), fr.Data)
		if i%7 == 0 && len(fr.Data) > 14 {
			for _, link := range []string{"sll", "sll2", "null-le", "loop", "raw", "qinq"} {
				data, lt := relink(fr.Data, link)
				f.Add(lt, data)
			}
		}
	}
	f.Add(uint16(147), []byte{1, 2, 3})
	for name, link := range map[string]uint16{"encap-ethernet": linkEthernet, "encap-sll2": LinkTypeLinuxSLL2, "undecoded": linkEthernet} {
		frames, _ := readFrames(f, encapPath(name+".pcap"))
		for i := range frames {
			f.Add(link, frames[i].Data)
		}
	}
	f.Fuzz(func(t *testing.T, link uint16, data []byte) {
		col := &health.Collector{KeepMessages: true}
		d := NewDecoder(col, Limits{MaxDatagrams: 4, MaxFragmentBytes: 1 << 16})
		for i := int64(1); i <= 2; i++ { // twice: per-source and per-flow state
			fr := Frame{Number: i, Time: time.Unix(i, 0), Data: data, CapLen: len(data), WireLen: len(data) + int(i-1)*10,
				LinkType: glayers.LinkType(link), Link: link}
			p, ok := d.Decode(&fr)
			if !ok {
				continue
			}
			if !p.Reassembled && len(p.Payload) > p.PayloadLen && p.Transport != TransportNone {
				t.Fatalf("payload %d bytes > PayloadLen %d", len(p.Payload), p.PayloadLen)
			}
			if p.TCP.NumSACK > 4 {
				t.Fatalf("NumSACK %d", p.TCP.NumSACK)
			}
			PacketFields(p)
		}
		d.Flush(time.Unix(100, 0))
	})
}

// FuzzPcapng reads arbitrary file bytes (pcap, pcapng) and decodes what
// comes out. It must not panic or allocate beyond the caps. The gzip
// captures are not seeds: mutating them fuzzes klauspost/compress (slowly),
// not our block reader.
func FuzzPcapng(f *testing.F) {
	for _, pattern := range []string{"*.pcapng", "tcp-syn-icmp.pcap", "zeek-*.pcap"} {
		paths, _ := filepath.Glob(testdata(pattern))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) < 8<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewCapture(bytes.NewReader(data))
		if err != nil {
			return
		}
		d := NewDecoder(nil, Limits{})
		for i := 0; i < 10000; i++ {
			fr, err := c.Next()
			if err != nil {
				break
			}
			if fr.CapLen != len(fr.Data) || fr.Number != int64(i+1) {
				t.Fatalf("frame %d: CapLen %d, %d bytes", fr.Number, fr.CapLen, len(fr.Data))
			}
			d.Decode(fr)
		}
		if len(c.Secrets()) > MaxSecretsLen {
			t.Fatalf("secrets %d bytes", len(c.Secrets()))
		}
		d.Flush(c.LastTime())
	})
}

// FuzzParseDNS parses arbitrary DNS messages.
func FuzzParseDNS(f *testing.F) {
	for _, name := range []string{"c16-dns.pcap", "zeek-ipv6-fragmented-dns.pcap", "zeek-icmp-icmp-destunreach-udp.pcap"} {
		frames, _ := readFrames(f, testdata(name))
		d := NewDecoder(nil, Limits{})
		for i := range frames {
			if p, ok := d.Decode(&frames[i]); ok && p.Transport == TransportUDP {
				f.Add(append([]byte(nil), p.Payload...))
			}
		}
	}
	frames, _ := readFrames(f, filepath.Join("..", "testdata", "layers", "dns", "dns-mdns-llmnr.pcap"))
	d := NewDecoder(nil, Limits{})
	for i := range frames {
		if p, ok := d.Decode(&frames[i]); ok && p.Transport == TransportUDP {
			f.Add(append([]byte(nil), p.Payload...))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDNS(b)
		if len(m.Questions) > maxDNSQuestions || len(m.Answers) > maxDNSAnswers || len(m.Authority) > maxDNSRecords || len(m.Additional) > maxDNSRecords {
			t.Fatalf("%d questions, %d answers, %d authority, %d additional", len(m.Questions), len(m.Answers), len(m.Authority), len(m.Additional))
		}
		for _, q := range m.Questions {
			if len(q.Name) > maxDNSName {
				t.Fatalf("name of %d bytes", len(q.Name))
			}
		}
		if err == nil {
			DNSFields(m)
		}
	})
}

// FuzzICMP parses arbitrary ICMPv4/v6 messages with their quotes.
func FuzzICMP(f *testing.F) {
	for _, name := range []string{"tcp-syn-icmp.pcap", "zeek-icmp-icmp6-toobig.pcap", "zeek-icmp-icmp-destunreach-udp.pcap", "c06-frag.pcap"} {
		frames, _ := readFrames(f, testdata(name))
		d := NewDecoder(nil, Limits{})
		for i := range frames {
			if p, ok := d.Decode(&frames[i]); ok && p.Transport == TransportICMP {
				ipHdr := 20
				if p.Network == 6 {
					ipHdr = 40
				}
				f.Add(p.Network == 6, append([]byte(nil), p.Raw[14+ipHdr:]...))
			}
		}
	}
	f.Fuzz(func(t *testing.T, v6 bool, b []byte) {
		var h ICMPHeader
		err := ParseICMP(b, v6, &h)
		if err == nil && len(b) < 8 {
			t.Fatalf("accepted %d bytes", len(b))
		}
		if h.Quoted.Valid && !h.Quoted.Src.IsValid() {
			t.Fatal("valid quote without addresses")
		}
	})
}
