package layers

import (
	"encoding/binary"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
)

// encapPath returns a file of testdata/layers/encap (see gen.go there).
func encapPath(name string) string { return filepath.Join("..", "testdata", "layers", "encap", name) }

// wantEncap derives the encapsulations of a frame from tshark's
// frame.protocols ("eth:ethertype:ip:gre:erspan:eth:ethertype:ip:tcp").
func wantEncap(protocols string) Encap {
	var e Encap
	ps := strings.Split(protocols, ":")
	for i, p := range ps {
		switch p {
		case "vlan", "ieee8021ad":
			e |= EncapVLAN
		case "pppoes":
			e |= EncapPPPoE
		case "mpls":
			e |= EncapMPLS
		case "gre":
			e |= EncapGRE
		case "vxlan":
			e |= EncapVXLAN
		case "erspan":
			e |= EncapERSPAN
		case "ip", "ipv6":
			if i+1 < len(ps) && (ps[i+1] == "ip" || ps[i+1] == "ipv6") {
				e |= EncapIPinIP
			}
		}
	}
	return e
}

// TestEncapsulationsAgreeWithTshark decodes every frame of the
// encapsulation captures (PPPoE, QinQ and 0x9100 stacked VLANs, MPLS with
// IP and pseudowire payloads, GRE with key, sequence number and checksum,
// over IPv4 and IPv6, transparent Ethernet bridging, VXLAN, ERSPAN types
// I, II and III, IPv4-in-IPv4 and 6in4, PPTP's enhanced GRE, Linux SLL2,
// BSD NULL and LOOP) and compares the innermost packet with tshark's:
// addresses, ports, sequence numbers, lengths, DNS query names, and the
// encapsulations it went through.
func TestEncapsulationsAgreeWithTshark(t *testing.T) {
	for _, name := range []string{"encap-ethernet", "encap-sll2", "encap-null", "encap-loop"} {
		t.Run(name, func(t *testing.T) {
			frames, err := readFrames(t, encapPath(name+".pcap"))
			if err != nil {
				t.Fatal(err)
			}
			ref := readTSV(t, encapPath(name+".inner.tsv"))
			if len(ref) != len(frames) {
				t.Fatalf("tshark has %d frames, the capture %d", len(ref), len(frames))
			}
			col := &health.Collector{}
			d := NewDecoder(col, DefaultLimits())
			agree := 0
			for i := range frames {
				p, ok := d.Decode(&frames[i])
				if diffs := compareInner(ref[i], p, ok); len(diffs) > 0 {
					t.Errorf("frame %d (%s): %s", frames[i].Number, ref[i]["frame.protocols"], strings.Join(diffs, "; "))
					continue
				}
				agree++
			}
			d.Flush(frames[len(frames)-1].Time)
			for _, e := range col.Events {
				t.Errorf("event %s at frame %d: %s", e.Kind, e.Frame, e.Message)
			}
			t.Logf("%s: %d of %d frames agree with tshark on the inner packet and its encapsulations", name, agree, len(frames))
		})
	}
}

// compareInner lists how our packet differs from tshark's reference row.
func compareInner(r tsharkRow, p *Packet, ok bool) []string {
	if !ok {
		return []string{"not decoded"}
	}
	var diffs []string
	check := func(field, want, have string) {
		if want != have {
			diffs = append(diffs, field+": tshark "+strconv.Quote(want)+", we "+strconv.Quote(have))
		}
	}
	check("source", r["_ws.col.Source"], p.Src.String())
	check("destination", r["_ws.col.Destination"], p.Dst.String())
	check("encap", wantEncap(r["frame.protocols"]).String(), p.Encap.String())
	switch {
	case r["tcp.srcport"] != "":
		check("transport", "tcp", map[bool]string{true: "tcp", false: "other"}[p.Transport == TransportTCP])
		check("tcp.srcport", r["tcp.srcport"], strconv.Itoa(int(p.TCP.SrcPort)))
		check("tcp.dstport", r["tcp.dstport"], strconv.Itoa(int(p.TCP.DstPort)))
		check("tcp.seq_raw", r["tcp.seq_raw"], strconv.FormatUint(uint64(p.TCP.Seq), 10))
		check("tcp.ack_raw", r["tcp.ack_raw"], strconv.FormatUint(uint64(p.TCP.Ack), 10))
		check("tcp.len", r["tcp.len"], strconv.Itoa(p.PayloadLen))
		check("tcp checksum", "good", p.L4Checksum.String())
	case r["udp.srcport"] != "":
		check("transport", "udp", map[bool]string{true: "udp", false: "other"}[p.Transport == TransportUDP])
		check("udp.srcport", r["udp.srcport"], strconv.Itoa(int(p.UDP.SrcPort)))
		check("udp.dstport", r["udp.dstport"], strconv.Itoa(int(p.UDP.DstPort)))
		m, err := ParseDNS(p.Payload)
		if err != nil || len(m.Questions) == 0 {
			diffs = append(diffs, "dns: not parsed")
		} else {
			check("dns.qry.name", r["dns.qry.name"], m.Questions[0].Name)
		}
	}
	return diffs
}

// TestUndecodedCountedPerEncapsulation: frames that carry nothing nettrace
// decodes (LLDP, PPPoE discovery, PPP LCP, GRE of an unknown protocol
// type) are counted per encapsulation and said in one capture.undecoded
// event at Flush, a notice because the GRE payload may be IP; the TCP
// frame among them is decoded.
func TestUndecodedCountedPerEncapsulation(t *testing.T) {
	frames, err := readFrames(t, encapPath("undecoded.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, DefaultLimits())
	var decoded []int64
	for i := range frames {
		if p, ok := d.Decode(&frames[i]); ok {
			decoded = append(decoded, p.Frame)
		}
	}
	if len(col.Events) != 0 {
		t.Fatalf("events before Flush: %+v", col.Events)
	}
	st := d.UndecodedStats()
	d.Flush(frames[len(frames)-1].Time)
	if diff := cmp.Diff([]int64{5, 6}, decoded); diff != "" { // frame 5: the outer IP packet of the GRE tunnel
		t.Errorf("decoded frames (-want +got):\n%s", diff)
	}
	want := UndecodedStats{Frames: 6, MayCarryIP: 1, Kinds: []UndecodedKind{
		{Name: "LLDP (EtherType 0x88cc)", Frames: 3, First: 1, Last: 7},
		{Name: "PPPoE discovery (EtherType 0x8863)", Frames: 1, First: 2, Last: 2},
		{Name: "PPP protocol 0xc021 (control)", Frames: 1, First: 3, Last: 3},
		{Name: "GRE protocol type 0x88b5", MayCarryIP: true, Frames: 1, First: 5, Last: 5},
	}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("UndecodedStats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, d.UndecodedStats()); diff != "" {
		t.Errorf("UndecodedStats after Flush (-want +got):\n%s", diff)
	}
	ev := col.OfKind(health.CaptureUndecoded)
	if len(ev) != 1 {
		t.Fatalf("capture.undecoded events: %+v", col.Events)
	}
	e := ev[0]
	if e.Severity != health.Notice || e.Frame != 1 || e.Evidence["frames"] != int64(6) ||
		!cmp.Equal(e.Evidence["by_encapsulation"], map[string]int64{"LLDP (EtherType 0x88cc)": 3, "PPPoE discovery (EtherType 0x8863)": 1,
			"PPP protocol 0xc021 (control)": 1, "GRE protocol type 0x88b5": 1}) {
		t.Errorf("event %+v", e)
	}
	t.Log(e.Message)
}

// TestUndecodedWithoutIPIsInfo: frames of protocols without IP (LLDP)
// among frames that were analysed are said at info, since nothing that
// could be IP was skipped; a capture of nothing but such frames gets a
// notice: none of its traffic was analysed.
func TestUndecodedWithoutIPIsInfo(t *testing.T) {
	frames, _ := readFrames(t, encapPath("undecoded.pcap"))
	for _, tc := range []struct {
		frames []int // indexes into undecoded.pcap: 0 LLDP, 5 IPv4/TCP
		want   health.Severity
	}{{[]int{0, 5}, health.Info}, {[]int{0, 1, 2}, health.Notice}} {
		col := &health.Collector{}
		d := NewDecoder(col, DefaultLimits())
		for _, i := range tc.frames {
			d.Decode(&frames[i])
		}
		d.Flush(frames[0].Time)
		if ev := col.OfKind(health.CaptureUndecoded); len(ev) != 1 || ev[0].Severity != tc.want {
			t.Errorf("frames %v: events %+v, want one capture.undecoded at %v", tc.frames, col.Events, tc.want)
		}
	}
}

// TestUnsupportedLinkCounted: frames of an unknown link type are counted
// per link type in the one capture.undecoded event, with the first frame
// of each.
func TestUnsupportedLinkCounted(t *testing.T) {
	col := &health.Collector{}
	d := NewDecoder(col, Limits{})
	for i := int64(1); i <= 3; i++ {
		f := Frame{Number: i, Data: []byte{1, 2, 3, 4}, CapLen: 4, WireLen: 4, LinkType: 147, Link: 147}
		if _, ok := d.Decode(&f); ok {
			t.Fatal("decoded a frame of link type 147")
		}
	}
	f := Frame{Number: 4, Data: []byte{1}, CapLen: 1, WireLen: 1, Link: 1000}
	d.Decode(&f)
	d.Flush(time.Time{})
	ev := col.OfKind(health.CaptureUndecoded)
	if len(ev) != 1 || ev[0].Frame != 1 || ev[0].Severity != health.Notice ||
		!cmp.Equal(ev[0].Evidence["by_encapsulation"], map[string]int64{"link type 147": 3, "link type 1000": 1}) ||
		!cmp.Equal(ev[0].Evidence["first_frames"], map[string]int64{"link type 147": 1, "link type 1000": 4}) {
		t.Errorf("events = %+v, want one counting 3 frames of link type 147 from frame 1 and 1 of 1000 at frame 4", col.Events)
	}
}

// nestGRE wraps an IPv4 packet in n GRE-in-IPv4 layers.
func nestGRE(ip []byte, n int) []byte {
	for i := 0; i < n; i++ {
		outer := []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 64, 47, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
		binary.BigEndian.PutUint16(outer[2:], uint16(20+4+len(ip)))
		ip = append(append(outer, 0, 0, 0x08, 0x00), ip...)
	}
	return ip
}

// TestEncapsulationDepthBounded: up to maxEncapDepth nested tunnels are
// opened; a frame nested deeper is counted as not decoded, never walked
// without bound.
func TestEncapsulationDepthBounded(t *testing.T) {
	inner := tcp4(t, "10.9.9.1", "10.9.9.2", 64, 5000, 80, 77, 0, true, nil)[14:]
	for _, n := range []int{maxEncapDepth, maxEncapDepth + 1, 100} {
		eth := append([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0}, nestGRE(inner, n)...)
		d := NewDecoder(nil, Limits{SkipChecksums: true})
		p, ok := d.Decode(eframe(1, eth))
		st := d.UndecodedStats()
		if n <= maxEncapDepth {
			if !ok || p.Transport != TransportTCP || p.Src != mustAddr("10.9.9.1") || p.Encap != EncapGRE || st.Frames != 0 {
				t.Errorf("%d tunnels: ok %v transport %d src %v encap %v, undecoded %+v", n, ok, p.Transport, p.Src, p.Encap, st)
			}
			continue
		}
		if ok || st.MayCarryIP != 1 || st.Kinds[0].Name != "encapsulations nested deeper than 8" {
			t.Errorf("%d tunnels: ok %v, undecoded %+v", n, ok, st)
		}
	}
}

// TestVXLANPortWithoutVXLANStaysUDP: a datagram to port 4789 whose I flag
// is clear is not VXLAN (RFC 7348, 5) and stays a UDP packet.
func TestVXLANPortWithoutVXLANStaysUDP(t *testing.T) {
	eth := udp6(t, "2001:db8::1", "2001:db8::2", 1000, vxlanPort, append([]byte{0x00, 0, 0, 0, 0, 0, 1, 0}, make([]byte, 40)...))
	p, ok := NewDecoder(nil, Limits{}).Decode(eframe(1, eth))
	if !ok || p.Transport != TransportUDP || p.UDP.DstPort != vxlanPort || p.Encap != 0 {
		t.Fatalf("ok %v transport %d encap %v", ok, p.Transport, p.Encap)
	}
}

// TestEncapsulationPrefixesNeverPanic decodes every strict prefix of every
// encapsulated frame, as a capture's snapshot length would cut it and as a
// damaged frame would be: no panic, and no packet whose payload exceeds
// what its headers declare.
func TestEncapsulationPrefixesNeverPanic(t *testing.T) {
	for _, name := range []string{"encap-ethernet", "encap-sll2", "undecoded"} {
		frames, err := readFrames(t, encapPath(name+".pcap"))
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(nil, DefaultLimits())
		for _, f := range frames {
			for n := 0; n < len(f.Data) && n < 200; n++ {
				for _, wire := range []int{n, len(f.Data)} { // damaged, then cut by the snapshot length
					g := f
					g.Data, g.CapLen, g.WireLen = f.Data[:n], n, wire
					if p, ok := d.Decode(&g); ok && p.Transport == TransportTCP && len(p.Payload) > p.PayloadLen {
						t.Fatalf("%s frame %d cut to %d: payload %d > %d", name, f.Number, n, len(p.Payload), p.PayloadLen)
					}
				}
			}
		}
	}
}

// TestPlainFramesHaveNoEncap: the frames of an ordinary Ethernet capture
// carry no encapsulation, and decoding them counts nothing as undecoded.
func TestPlainFramesHaveNoEncap(t *testing.T) {
	frames, err := readFrames(t, testdata("tls12-gcm.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(nil, DefaultLimits())
	for i := range frames {
		if p, ok := d.Decode(&frames[i]); !ok || p.Encap != 0 {
			t.Fatalf("frame %d: ok %v encap %v", frames[i].Number, ok, p.Encap)
		}
	}
	if st := d.UndecodedStats(); st.Frames != 0 {
		t.Errorf("undecoded %+v", st)
	}
}

// encapFrame returns the first TCP data frame of encap-ethernet.pcap
// carried in encapsulation e.
func encapFrame(t testing.TB, e Encap) Frame {
	frames, err := readFrames(t, encapPath("encap-ethernet.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if p, ok := NewDecoder(nil, DefaultLimits()).Decode(&f); ok && p.Encap == e && p.Transport == TransportTCP && p.PayloadLen > 0 {
			return f
		}
	}
	t.Fatalf("no TCP data frame in %v", e)
	return Frame{}
}

// TestDecodeEncapsulatedAllocatesNothing: decoding a tunnelled TCP frame
// (VXLAN, ERSPAN over GRE, PPPoE, MPLS) allocates nothing either.
func TestDecodeEncapsulatedAllocatesNothing(t *testing.T) {
	for _, e := range []Encap{EncapVXLAN, EncapGRE | EncapERSPAN, EncapPPPoE, EncapMPLS, EncapVLAN} {
		f := encapFrame(t, e)
		d := NewDecoder(nil, DefaultLimits())
		d.Decode(&f)
		if allocs := testing.AllocsPerRun(200, func() { d.Decode(&f) }); allocs != 0 {
			t.Errorf("%v: %.1f allocations, want 0", e, allocs)
		}
	}
}

func BenchmarkDecodeVXLAN(b *testing.B) {
	f := encapFrame(b, EncapVXLAN)
	d := NewDecoder(nil, DefaultLimits())
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Data)))
	for b.Loop() {
		d.Decode(&f)
	}
}

func BenchmarkDecodeERSPAN(b *testing.B) {
	f := encapFrame(b, EncapGRE|EncapERSPAN)
	d := NewDecoder(nil, DefaultLimits())
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Data)))
	for b.Loop() {
		d.Decode(&f)
	}
}
