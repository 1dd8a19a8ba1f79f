package diagnose

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// A diagnoser fed only the PayloadUsed prefix of each payload finds the
// same HTTP request (with a Host header far into the request) as one fed
// the whole payload; payloads it never reads are not asked for.
func TestPayloadUsedIsAllThePayloadRead(t *testing.T) {
	req := []byte("GET /report HTTP/1.1\r\nX-Pad: " + strings.Repeat("a", 1400) + "\r\nHost: files.example.test\r\n\r\n" + strings.Repeat("b", 3000))
	client := netip.MustParseAddrPort("10.0.0.1:40000")
	server := netip.MustParseAddrPort("10.0.0.2:80")
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	dns := dnsResponse(7, "files.example.test", dnsRR{name: "files.example.test", addr: server.Addr()})
	run := func(cut bool) []health.Event {
		d := NewNetwork(NetworkConfig{})
		pkts := specPackets([]spec{
			{Frame: 0, Time: t0.Add(-time.Second), Src: netip.MustParseAddrPort("10.0.0.53:53"), Dst: netip.MustParseAddrPort("10.0.0.1:5353"), Proto: protoUDP, PayloadLen: len(dns), Payload: dns},
			{Frame: 1, Time: t0, Src: client, Dst: server, Proto: protoTCP, TCPFlags: layers.FlagSYN, TCPSeq: 1},
			{Frame: 2, Time: t0.Add(time.Millisecond), Src: server, Dst: client, Proto: protoTCP, TCPFlags: layers.FlagSYN | layers.FlagACK, TCPAck: 2},
			{Frame: 3, Time: t0.Add(2 * time.Millisecond), Src: client, Dst: server, Proto: protoTCP, TCPFlags: layers.FlagACK | layers.FlagPSH, TCPSeq: 2, PayloadLen: len(req), Payload: req},
		})
		for i := range pkts {
			p := pkts[i]
			if cut {
				p.Payload = bytes.Clone(p.Payload[:PayloadUsed(&p)])
			}
			d.Packet(&p)
		}
		var col health.Collector
		d.Finish(&col)
		if w := d.Workload(); len(w.Services) == 0 || w.Services[0].Requests != 1 {
			t.Errorf("cut=%v: workload %+v, want the one HTTP request", cut, w.Services)
		}
		return col.Events
	}
	whole, cut := run(false), run(true)
	if len(whole) == 0 || !strings.Contains(whole[0].Message, "GET /report HTTP/1.1 (Host files.example.test)") {
		t.Fatalf("the request is not in the findings: %+v", whole)
	}
	if len(whole) != len(cut) {
		t.Fatalf("whole payload: %d events, prefix: %d", len(whole), len(cut))
	}
	for i := range whole {
		if whole[i].Message != cut[i].Message {
			t.Errorf("event %d differs:\n whole:  %s\n prefix: %s", i, whole[i].Message, cut[i].Message)
		}
	}
	p := spec{Proto: protoTCP, Payload: req}.packet()
	if n := PayloadUsed(&p); n < bytes.Index(req, []byte("Host:"))+30 {
		t.Errorf("PayloadUsed = %d, shorter than the Host header's end", n)
	}
	p.Payload = []byte("\x16\x03\x01 a TLS record, never read")
	if n := PayloadUsed(&p); n != 0 {
		t.Errorf("PayloadUsed on a TLS record = %d, want 0", n)
	}
	p = spec{Proto: protoUDP, Src: netAP("10.0.0.1:5000"), Dst: netAP("10.0.0.2:5001"), Payload: make([]byte, 1400)}.packet()
	if n := PayloadUsed(&p); n != entropySample {
		t.Errorf("PayloadUsed on a UDP datagram = %d, want %d", n, entropySample)
	}
}
