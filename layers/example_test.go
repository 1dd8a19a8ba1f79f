package layers_test

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/gopacket"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Example reads a capture, decodes every frame and prints the TCP segments:
// the loop the root Analyzer runs.
func Example() {
	c, err := layers.Open("../testdata/layers/tcp-syn-icmp.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	events := &health.Collector{}
	d := layers.NewDecoder(events, layers.DefaultLimits())
	for {
		f, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil { // a *layers.CaptureError: report it and stop
			fmt.Println(err)
			break
		}
		p, ok := d.Decode(f)
		if !ok {
			continue
		}
		switch p.Transport {
		case layers.TransportTCP:
			fmt.Printf("%d %s %s seq=%d len=%d\n", p.Frame, layers.FlowOf(p), p.TCP.Flags.FlagString(), p.TCP.Seq, p.PayloadLen)
		case layers.TransportICMP:
			fmt.Printf("%d icmp type %d code %d about %s\n", p.Frame, p.ICMP.Type, p.ICMP.Code, layers.QuotedFlow(&p.ICMP.Quoted))
		}
	}
	d.Flush(c.LastTime())
	fmt.Println(len(events.Events), "events")
	// Output:
	// 1 10.200.1.10:43202->10.200.3.20:8443/tcp S seq=1181265104 len=0
	// 2 icmp type 3 code 13 about 10.200.1.10:43202->10.200.3.20:8443/tcp
	// 0 events
}

// ExamplePacketFields prints the dissect fields of a decoded packet.
func ExamplePacketFields() {
	c, _ := layers.Open("../testdata/layers/tls12-gcm.pcap")
	defer c.Close()
	d := layers.NewDecoder(nil, layers.Limits{})
	f, _ := c.Next()
	p, _ := d.Decode(f)
	proto, fields := layers.PacketFields(p)
	fmt.Println(proto, fields["flags"], fields["mss"], fields["wscale"], fields["sack_perm"], fields["dport"])
	// Output: tcp S 1460 10 true 443
}

// ExampleParseDNS parses a DNS response from a UDP payload.
func ExampleParseDNS() {
	c, _ := layers.Open("../testdata/layers/c16-dns.pcap")
	defer c.Close()
	d := layers.NewDecoder(nil, layers.Limits{})
	for {
		f, err := c.Next()
		if err != nil {
			return
		}
		p, ok := d.Decode(f)
		if !ok || p.Transport != layers.TransportUDP || p.UDP.SrcPort != 53 {
			continue
		}
		m, err := layers.ParseDNS(p.Payload)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(m.Questions[0].Name, layers.DNSFields(m)["cname"], layers.DNSFields(m)["a"])
		return
	}
	// Output: crl.example.test [crl.cdn.example.test crl-edge.cdn.example.net] [10.200.3.80]
}

// Example_layerTypes decodes an NBSS + SMB2 header from one TCP payload
// with gopacket, using the LayerTypes this package registers.
func Example_layerTypes() {
	payload := []byte{
		0x00, 0x00, 0x00, 0x44, // NBSS session message, 68 bytes
		0xfe, 'S', 'M', 'B', 64, 0, 1, 0, 0, 0, 0, 0, // SMB2 magic, structure size, credit charge, status
		0, 0, 31, 0, 0, 0, 0, 0, 0, 0, 0, 0, // command NEGOTIATE (0), credits 31, flags, next command
		7, 0, 0, 0, 0, 0, 0, 0, // message id 7
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x24, 0, 0, 0, // start of the NEGOTIATE body
	}
	var nbss layers.NBSS
	var smb2 layers.SMB2
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeNBSS, &nbss, &smb2)
	parser.IgnoreUnsupported = true // stop quietly at the SMB2 body
	var decoded []gopacket.LayerType
	if err := parser.DecodeLayers(payload, &decoded); err != nil {
		fmt.Println(err)
	}
	fmt.Println(decoded, nbss.Length, smb2.Command, smb2.MessageID, smb2.Credits, len(smb2.Payload))

	// The same through gopacket.NewPacket.
	pkt := gopacket.NewPacket(payload, layers.LayerTypeNBSS, gopacket.Default)
	fmt.Println(pkt.Layer(layers.LayerTypeSMB2).(*layers.SMB2).MessageID)
	// Output:
	// [NBSS SMB2] 68 0 7 31 4
	// 7
}

// ExampleNewCaptureReadAhead counts the frames of a gzip-compressed capture
// while its reading and inflating run on a goroutine of their own.
func ExampleNewCaptureReadAhead() {
	f, err := os.Open("../testdata/layers/tls12-gcm.pcap.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	c, err := layers.NewCaptureReadAhead(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close() // stops the reading goroutine
	var frames, bytes int
	for {
		fr, err := c.Next()
		if err != nil {
			break // io.EOF, or a *layers.CaptureError
		}
		frames++
		bytes += fr.CapLen
	}
	fmt.Println(frames, "frames,", bytes, "bytes")
	// Output:
	// 15 frames, 3221 bytes
}

// ExampleDecoder_ChecksumStats ends a capture whose only frame has a wrong
// TCP checksum: one source, no right checksum to compare with, so no error,
// and one notice for the capture.
func ExampleDecoder_ChecksumStats() {
	c, err := layers.Open("../testdata/layers/zeek-chksums-ip4-tcp-bad-chksum.pcap")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	events := &health.Collector{}
	d := layers.NewDecoder(events, layers.DefaultLimits())
	for {
		f, err := c.Next()
		if err != nil {
			break
		}
		if p, ok := d.Decode(f); ok {
			fmt.Println(p.Frame, "tcp checksum", p.L4Checksum)
		}
	}
	d.Flush(c.LastTime())
	for _, e := range events.Events {
		fmt.Println(e.Kind, e.Severity, "frame", e.Frame)
	}
	st := d.ChecksumStats()
	fmt.Printf("frames %d, wrong %d, not computed %d, unverifiable sources %d, rewritten %v\n",
		st.Frames, st.Wrong, st.NotComputed, st.UnverifiableSources, st.Rewritten)
	// Output:
	// 1 tcp checksum bad
	// ip.checksums_unverifiable notice frame 1
	// frames 1, wrong 1, not computed 0, unverifiable sources 1, rewritten true
}
