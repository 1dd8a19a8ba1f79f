package layers

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// decodeNth decodes the capture up to frame n and returns a copy of it.
func decodeNth(t *testing.T, name string, n int) Packet {
	t.Helper()
	frames, err := readFrames(t, testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(nil, DefaultLimits())
	for i := range frames[:n] {
		p, ok := d.Decode(&frames[i])
		if i == n-1 {
			if !ok {
				t.Fatalf("%s frame %d not decoded", name, n)
			}
			c := *p
			c.Raw, c.Payload = nil, nil
			return c
		}
	}
	t.Fatalf("%s has no frame %d", name, n)
	return Packet{}
}

// TestICMP checks type, code, MTU and the quoted packet against tshark.
func TestICMP(t *testing.T) {
	addr := mustAddr
	tests := []struct {
		name  string
		frame int
		want  ICMPHeader
	}{
		{"tcp-syn-icmp.pcap", 2, ICMPHeader{Type: 3, Code: 13, IsError: true, Quoted: Quoted{Valid: true, Src: addr("10.200.1.10"), Dst: addr("10.200.3.20"),
			Proto: 6, SrcPort: 43202, DstPort: 8443, TCPSeq: 1181265104, IPLen: 60}}},
		{"zeek-icmp-icmp6-toobig.pcap", 1, ICMPHeader{V6: true, Type: 2, Code: 0, MTU: 1280, IsError: true, Quoted: Quoted{Valid: true,
			Src: addr("fe80::beef"), Dst: addr("fe80::dead"), Proto: 17, SrcPort: 30000, DstPort: 13000, IPLen: 52}}},
		{"zeek-icmp-icmp-destunreach-udp.pcap", 1, ICMPHeader{Type: 3, Code: 3, IsError: true, Quoted: Quoted{Valid: true,
			Src: addr("192.168.1.1"), Dst: addr("192.168.1.102"), Proto: 17, SrcPort: 53, DstPort: 59207, IPLen: 163}}},
		{"c06-frag.pcap", 17, ICMPHeader{Type: 3, Code: 3, IsError: true, Quoted: Quoted{Valid: true,
			Src: addr("10.200.3.20"), Dst: addr("10.200.1.66"), Proto: 17, SrcPort: 2976, DstPort: 10647, IPLen: 8220}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := decodeNth(t, tc.name, tc.frame)
			if p.Transport != TransportICMP {
				t.Fatalf("transport %d", p.Transport)
			}
			if diff := cmp.Diff(tc.want, p.ICMP, cmpopts.EquateComparable(addr("::"))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if p.L4Checksum != ChecksumGood {
				t.Errorf("checksum %d", p.L4Checksum)
			}
		})
	}
}

func TestParseICMPFragNeeded(t *testing.T) {
	// RFC 1191 frag needed, next-hop MTU 1400, quoting a TCP header cut to 8 bytes.
	msg := []byte{3, 4, 0, 0, 0, 0, 0x05, 0x78,
		0x45, 0, 0x05, 0xdc, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x04, 0xd2, 0x00, 0x50, 0, 0, 0x10, 0}
	var h ICMPHeader
	if err := ParseICMP(msg, false, &h); err != nil {
		t.Fatal(err)
	}
	want := ICMPHeader{Type: 3, Code: 4, MTU: 1400, IsError: true, Quoted: Quoted{Valid: true, Src: mustAddr("10.0.0.1"),
		Dst: mustAddr("10.0.0.2"), Proto: 6, SrcPort: 1234, DstPort: 80, TCPSeq: 0x1000, IPLen: 1500}}
	if diff := cmp.Diff(want, h, cmpopts.EquateComparable(mustAddr("::"))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for i := 0; i < len(msg); i++ { // no prefix panics; shorter than 8 fails
		err := ParseICMP(msg[:i], false, &h)
		if (err != nil) != (i < 8) {
			t.Errorf("prefix %d: err %v", i, err)
		}
	}
}

// TestParseDNS decodes the C16 CNAME chain (frame 3: A query answered by two
// CNAMEs and an A record, as tshark shows).
func TestParseDNS(t *testing.T) {
	frames, _ := readFrames(t, testdata("c16-dns.pcap"))
	d := NewDecoder(nil, DefaultLimits())
	var msgs []DNSMessage
	for i := range frames[:4] {
		p, ok := d.Decode(&frames[i])
		if !ok || p.Transport != TransportUDP {
			t.Fatalf("frame %d", i+1)
		}
		m, err := ParseDNS(p.Payload)
		if err != nil {
			t.Fatalf("frame %d: %v", i+1, err)
		}
		msgs = append(msgs, m)
	}
	m := msgs[2]
	if m.ID != 0x48a3 || !m.Response || m.RCode != 0 || m.ANCount != 3 || len(m.Questions) != 1 || m.Questions[0].Name != "crl.example.test" || m.Questions[0].Type != DNSTypeA {
		t.Errorf("header/question: %+v", m)
	}
	got := DNSFields(m)
	want := map[string]any{"id": 0x48a3, "response": true, "opcode": 0, "rcode": 0, "count_queries": 1, "count_answers": 3, "count_auth_rr": 0, "count_add_rr": 0,
		"qry_name": "crl.example.test", "qry_type": 1, "cname": []string{"crl.cdn.example.test", "crl-edge.cdn.example.net"},
		"a": []string{"10.200.3.80"}, "ttl": m.Answers[0].TTL}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DNSFields (-want +got):\n%s", diff)
	}
	if f := DNSFields(msgs[3]); f["aaaa"] != nil || f["count_answers"] != 2 || msgs[1].Questions[0].Type != DNSTypeAAAA {
		t.Errorf("AAAA answer: %+v", f)
	}
	// Every strict prefix fails with ErrTruncated and never panics.
	frames2 := frames[2]
	p, _ := NewDecoder(nil, DefaultLimits()).Decode(&frames2)
	full := append([]byte(nil), p.Payload...)
	for i := 0; i < len(full); i++ {
		if _, err := ParseDNS(full[:i]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("prefix %d: %v", i, err)
		}
	}
}

func TestRejectDNSPointerLoop(t *testing.T) {
	// Header with one question whose name is a pointer to itself.
	msg := []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}
	if _, err := ParseDNS(msg); !errors.Is(err, ErrMalformed) {
		t.Errorf("pointer loop: %v", err)
	}
	msg = []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 200, 0, 1, 0, 1}
	if _, err := ParseDNS(msg); !errors.Is(err, ErrMalformed) {
		t.Errorf("pointer outside: %v", err)
	}
	// A name longer than 255 bytes through pointers.
	long := []byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for i := 0; i < 5; i++ {
		long = append(long, 63)
		long = append(long, make([]byte, 63)...)
	}
	long = append(long, 0, 0, 1, 0, 1)
	if _, err := ParseDNS(long); !errors.Is(err, ErrMalformed) {
		t.Errorf("long name: %v", err)
	}
}

// TestARP: C14 frames 181 (request) and 201 (reply), as tshark shows them.
func TestARP(t *testing.T) {
	req := decodeNth(t, "c14-arp.pcap", 181)
	want := ARPHeader{Op: 1, SenderMAC: [6]byte{2, 0, 10, 200, 5, 10}, SenderIP: mustAddr("10.200.5.10"), TargetIP: mustAddr("10.200.5.101")}
	if diff := cmp.Diff(want, req.ARP, cmpopts.EquateComparable(mustAddr("::"))); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
	rep := decodeNth(t, "c14-arp.pcap", 201)
	want = ARPHeader{Op: 2, SenderMAC: [6]byte{2, 0, 10, 200, 5, 0xfe}, SenderIP: mustAddr("10.200.5.101"), TargetMAC: [6]byte{2, 0, 10, 200, 5, 10}, TargetIP: mustAddr("10.200.5.10")}
	if diff := cmp.Diff(want, rep.ARP, cmpopts.EquateComparable(mustAddr("::"))); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
	proto, f := PacketFields(&rep)
	if proto != "arp" || f["op"] != 2 || f["sender_ip"] != "10.200.5.101" || f["target_mac"] != "02:00:0a:c8:05:0a" {
		t.Errorf("PacketFields = %s %v", proto, f)
	}
}

func TestPacketFields(t *testing.T) {
	p := decodeNth(t, "tls12-gcm.pcap", 2)
	proto, f := PacketFields(&p)
	want := map[string]any{"src": "10.200.3.20", "dst": "10.200.1.10", "sport": 443, "dport": 39152, "seq": p.TCP.Seq, "ack": p.TCP.Ack,
		"flags": "SA", "win": int(p.TCP.Window), "len": 0, "mss": 1460, "wscale": int(p.TCP.WindowScale), "sack_perm": true,
		"tsval": p.TCP.TSval, "tsecr": p.TCP.TSecr, "ttl": 62, "ip_len": 60, "ip_id": 0, "df": true}
	if diff := cmp.Diff(want, f); proto != "tcp" || diff != "" {
		t.Errorf("%s (-want +got):\n%s", proto, diff)
	}
	icmp := decodeNth(t, "tcp-syn-icmp.pcap", 2)
	proto, f = PacketFields(&icmp)
	if proto != "icmp" || f["type"] != 3 || f["code"] != 13 || f["quoted"] != "10.200.1.10:43202->10.200.3.20:8443/tcp" || f["quoted_seq"] != uint32(1181265104) {
		t.Errorf("icmp: %s %v", proto, f)
	}
	frag := decodeNth(t, "c06-frag.pcap", 16)
	proto, f = PacketFields(&frag)
	if proto != "udp" || f["reassembled"] != true || f["len"] != 8192 || len(f["frag_frames"].([]int64)) != 6 {
		t.Errorf("udp: %s %v", proto, f)
	}
}
