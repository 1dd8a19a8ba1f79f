package layers

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
)

// TestCaseC10_TSOSuperSegment: frame 32 of the C10 capture (frame 9 of the
// testdata slice) has IPv4 total length 0 and 69632 bytes of TCP payload.
// Like tshark, the captured length is used; the packet is not dropped; one
// ip.tso_segment event names the flow, however many such frames it has.
func TestCaseC10_TSOSuperSegment(t *testing.T) {
	frames, err := readFrames(t, testdata("c10-tso.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, DefaultLimits())
	var tso []int64
	for i := range frames {
		p, ok := d.Decode(&frames[i])
		if !ok {
			t.Fatalf("frame %d not decoded", frames[i].Number)
		}
		if p.TSO {
			tso = append(tso, p.Frame)
			if p.IPLen != 0 || p.PayloadLen != 69632 || len(p.Payload) != 69632 || p.Transport != TransportTCP {
				t.Errorf("frame %d: IPLen %d PayloadLen %d len(Payload) %d", p.Frame, p.IPLen, p.PayloadLen, len(p.Payload))
			}
		}
	}
	// The same super-segment again (as frame 11): still one event per flow.
	again := frames[8]
	again.Number = 11
	d.Decode(&again)
	if len(tso) != 1 || tso[0] != 9 {
		t.Errorf("TSO frames = %v, want [9]", tso)
	}
	ev := col.OfKind(health.IPTSOSegment)
	if len(ev) != 1 || ev[0].Frame != 9 || ev[0].Evidence["payload_len"] != 69632 || ev[0].Severity != health.Info {
		t.Errorf("ip.tso_segment events = %+v", ev)
	}
	if ev := col.OfKind(health.CaptureDecodeError); len(ev) != 0 {
		t.Errorf("decode errors: %+v", ev)
	}
	t.Logf("%s", ev[0].Message)
}

// TestCaseC10_FullCapture runs the whole C10 capture (../shared): its
// README says 10 frames have IPv4 total length 0 and 29 of 29 segments of
// the sender 10.200.3.20 have bad TCP checksums, 0 of 29 of the receiver.
func TestCaseC10_FullCapture(t *testing.T) {
	path := sharedPath(t, "captures/cases/c10-tso-offload-sender-server.pcap")
	frames, err := readFrames(t, path)
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, DefaultLimits())
	tso, badSender, badReceiver, n := 0, 0, 0, 0
	for i := range frames {
		p, ok := d.Decode(&frames[i])
		if !ok {
			t.Fatalf("frame %d not decoded", frames[i].Number)
		}
		n++
		if p.TSO {
			tso++
		}
		if p.L4Checksum == ChecksumBad {
			if p.Src.String() == "10.200.3.20" {
				badSender++
			} else {
				badReceiver++
			}
		}
	}
	d.Flush(frames[len(frames)-1].Time)
	if tso != 10 || badSender != 29 || badReceiver != 0 {
		t.Errorf("TSO %d (want 10), bad sender checksums %d (want 29), bad receiver %d (want 0)", tso, badSender, badReceiver)
	}
	if off, bad := col.OfKind(health.IPChecksumOffload), col.OfKind(health.IPBadChecksum); len(off) != 1 || len(bad) != 0 {
		t.Errorf("offload events %d (want 1), bad checksum events %d (want 0)", len(off), len(bad))
	}
	t.Logf("%d frames: %d TSO super-segments, %d bad checksums from the sender (offload), %d from the receiver", n, tso, badSender, badReceiver)
}

// TestCaseC11_ChecksumOffloadIsInformational: the capturing host
// 10.1.1.1 (TTL 64, nothing routed) sends segments whose TCP checksums are
// all wrong (offload); the server 172.16.1.1 is 3 hops away (TTL 61) and its
// checksums are good — until one arrives corrupted. At the end of the
// capture, the sender's bad checksums give one ip.checksum_offload (info) in
// its first frame; the received bad one, among good ones from the same
// source, gives ip.bad_checksum (error) in its frame.
func TestCaseC11_ChecksumOffloadIsInformational(t *testing.T) {
	corrupt := func(b []byte) []byte { b[14+20+16] ^= 0x5a; return b }
	frames := [][]byte{
		corrupt(tcp4(t, "10.1.1.1", "172.16.1.1", 64, 1099, 80, 1000, 0, true, nil)),
		tcp4(t, "172.16.1.1", "10.1.1.1", 61, 80, 1099, 5000, 1001, true, nil),
		corrupt(tcp4(t, "10.1.1.1", "172.16.1.1", 64, 1099, 80, 1001, 5001, false, []byte("GET / HTTP/1.1\r\n\r\n"))),
		tcp4(t, "172.16.1.1", "10.1.1.1", 61, 80, 1099, 5001, 1019, false, []byte("HTTP/1.1 200 OK\r\n")),
		corrupt(tcp4(t, "172.16.1.1", "10.1.1.1", 61, 80, 1099, 5018, 1019, false, []byte("more"))),
		corrupt(tcp4(t, "10.1.1.1", "172.16.1.1", 64, 1099, 80, 1019, 5022, false, nil)),
	}
	col := &health.Collector{}
	d := NewDecoder(col, DefaultLimits())
	var states []Checksum
	for i, b := range frames {
		p, ok := d.Decode(eframe(int64(i+1), b))
		if !ok {
			t.Fatalf("frame %d not decoded", i+1)
		}
		states = append(states, p.L4Checksum)
	}
	if n := len(col.Events); n != 0 {
		t.Errorf("%d events before the end of the capture, want none: %+v", n, col.Events)
	}
	d.Flush(t0.Add(time.Second))
	want := []Checksum{ChecksumBad, ChecksumGood, ChecksumBad, ChecksumGood, ChecksumBad, ChecksumBad}
	for i := range want {
		if states[i] != want[i] {
			t.Errorf("frame %d: L4Checksum %d, want %d", i+1, states[i], want[i])
		}
	}
	off := col.OfKind(health.IPChecksumOffload)
	if len(off) != 1 || off[0].Frame != 1 || off[0].Severity != health.Info || off[0].Evidence["layer"] != "tcp" ||
		off[0].Evidence["count"] != 3 || off[0].Evidence["src"] != "10.1.1.1" {
		t.Errorf("offload events = %+v", off)
	}
	bad := col.OfKind(health.IPBadChecksum)
	if len(bad) != 1 || bad[0].Frame != 5 || bad[0].Severity != health.Error || bad[0].Evidence["count"] != 1 || bad[0].Evidence["src"] != "172.16.1.1" {
		t.Fatalf("bad checksum events = %+v", bad)
	}
	if ev := col.OfKind(health.IPChecksumsUnverifiable); len(ev) != 0 {
		t.Errorf("unverifiable events = %+v", ev)
	}
	// The reported "want" value must be the real checksum.
	good := tcp4(t, "172.16.1.1", "10.1.1.1", 61, 80, 1099, 5018, 1019, false, []byte("more"))
	if w := bad[0].Evidence["want"]; w != hex16(binary.BigEndian.Uint16(good[14+20+16:])) {
		t.Errorf("want = %v, real checksum %s", w, hex16(binary.BigEndian.Uint16(good[14+20+16:])))
	}
	t.Logf("offload: %s", off[0].Message)
	t.Logf("error: %s", bad[0].Message)
}

// TestBadIPChecksum: a bad IPv4 header checksum is recorded and classified
// like a transport one: among good ones of the same source it is an error
// about the ip layer; SkipChecksums turns verification off.
func TestBadIPChecksum(t *testing.T) {
	good := tcp4(t, "192.0.2.1", "192.0.2.2", 57, 1, 2, 3, 4, true, nil)
	b := tcp4(t, "192.0.2.1", "192.0.2.2", 57, 1, 2, 3, 4, true, nil)
	b[14+10] ^= 0xff
	col := &health.Collector{}
	d := NewDecoder(col, Limits{})
	d.Decode(eframe(1, good))
	p, ok := d.Decode(eframe(2, b))
	if !ok || p.IPChecksum != ChecksumBad || p.L4Checksum != ChecksumGood {
		t.Fatalf("ok %v IPChecksum %v L4Checksum %v", ok, p.IPChecksum, p.L4Checksum)
	}
	d.Flush(t0)
	if ev := col.OfKind(health.IPBadChecksum); len(ev) != 1 || ev[0].Evidence["layer"] != "ip" || ev[0].Frame != 2 {
		t.Errorf("events = %+v", col.Events)
	}
	p, _ = NewDecoder(col, Limits{SkipChecksums: true}).Decode(eframe(1, b))
	if p.IPChecksum != ChecksumUnchecked || p.L4Checksum != ChecksumUnchecked {
		t.Errorf("SkipChecksums: %d %d", p.IPChecksum, p.L4Checksum)
	}
}

// TestZeekBadChecksums: Zeek's single-packet traces with a bad TCP
// checksum over IPv4 and IPv6 are recorded as bad (tshark's validation
// agrees when enabled). One source whose every checksum is wrong proves no
// corruption: the capture gets one event, and it is not an error.
func TestZeekBadChecksums(t *testing.T) {
	for _, name := range []string{"zeek-chksums-ip4-tcp-bad-chksum.pcap", "zeek-chksums-ip6-tcp-bad-chksum.pcap"} {
		frames, err := readFrames(t, testdata(name))
		if err != nil {
			t.Fatal(err)
		}
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		p, ok := d.Decode(&frames[0])
		if !ok || p.L4Checksum != ChecksumBad {
			t.Errorf("%s: ok %v L4Checksum %v", name, ok, p.L4Checksum)
		}
		d.Flush(frames[0].Time)
		if len(col.Events) != 1 || col.Events[0].Severity == health.Error || col.Events[0].Frame != 1 {
			t.Errorf("%s: events %+v, want one that is not an error", name, col.Events)
		}
	}
}

func hex16(v uint16) string {
	const digits = "0123456789abcdef"
	return "0x" + string([]byte{digits[v>>12], digits[v>>8&15], digits[v>>4&15], digits[v&15]})
}
