package layers

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/health"
)

// Offsets in the frames tcp4 builds: Ethernet (14), IPv4 without options
// (20), TCP without options (20).
const (
	offIPSum  = 14 + 10
	offIPSrc  = 14 + 12
	offIPDst  = 14 + 16
	offTCPSum = 14 + 20 + 16
)

// tcp6 builds an Ethernet/IPv6/TCP frame.
func tcp6(t testing.TB, src, dst string, sport, dport uint16, seq uint32, payload []byte) []byte {
	t.Helper()
	ip := &glayers.IPv6{Version: 6, HopLimit: 64, NextHeader: glayers.IPProtocolTCP, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	tcp := &glayers.TCP{SrcPort: glayers.TCPPort(sport), DstPort: glayers.TCPPort(dport), Seq: seq, Ack: 1, ACK: true, Window: 502}
	tcp.SetNetworkLayerForChecksum(ip)
	return serialize(t, &glayers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: glayers.EthernetTypeIPv6}, ip, tcp, gopacket.Payload(payload))
}

// conversation builds n frames of a TCP exchange between client a (TTL
// ttlA) and server b (TTL ttlB), alternating, with right checksums: frames
// 1, 3, 5… come from a.
func conversation(t testing.TB, n int, a, b string, ttlA, ttlB uint8) [][]byte {
	t.Helper()
	out := make([][]byte, 0, n)
	for i := range n {
		payload := []byte(fmt.Sprintf("message %d", i))
		if i%2 == 0 {
			out = append(out, tcp4(t, a, b, ttlA, 40000, 80, uint32(1000+i), uint32(5000+i), false, payload))
		} else {
			out = append(out, tcp4(t, b, a, ttlB, 80, 40000, uint32(5000+i), uint32(1000+i), false, payload))
		}
	}
	return out
}

// rewriteAddrs changes the IPv4 addresses of a tcp4 frame without fixing a
// checksum, as an anonymising or NAT tool that leaves them stale does.
func rewriteAddrs(b []byte, src, dst string) []byte {
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[offIPSrc:], s[:])
	copy(b[offIPDst:], d[:])
	return b
}

// offPayload is where the payload of a tcp4 frame starts.
const offPayload = 14 + 20 + 20

// corruptPayload flips bits of the first payload byte (the last byte may be
// Ethernet padding): the TCP checksum no longer matches, the IPv4 header
// one still does.
func corruptPayload(b []byte) []byte { b[offPayload] ^= 0x5a; return b }

// decodeAll decodes frames numbered from 1 and ends the capture.
func decodeAll(t testing.TB, d *Decoder, frames [][]byte) (ip, l4 []Checksum) {
	t.Helper()
	for i, b := range frames {
		p, ok := d.Decode(eframe(int64(i+1), b))
		if !ok {
			t.Fatalf("frame %d not decoded", i+1)
		}
		ip, l4 = append(ip, p.IPChecksum), append(l4, p.L4Checksum)
	}
	d.Flush(t0.Add(time100ms * 100))
	return ip, l4
}

const time100ms = 100_000_000

// ipKinds returns the kinds of the ip.* events, in order.
func ipKinds(col *health.Collector) []health.Kind {
	var out []health.Kind
	for _, e := range col.Events {
		if strings.HasPrefix(string(e.Kind), "ip.") {
			out = append(out, e.Kind)
		}
	}
	return out
}

// TestZeroChecksumIsNotComputedNotBad: a TCP (IPv4 or IPv6) or IPv4 header
// checksum field of 0 that does not verify is ChecksumNotComputed, never an
// error, even among right checksums of the same source; UDP's 0 stays "no
// checksum" (ChecksumUnchecked); a right checksum that happens to be 0
// stays ChecksumGood.
func TestZeroChecksumIsNotComputedNotBad(t *testing.T) {
	zeroTCP := func(b []byte) []byte { b[offTCPSum], b[offTCPSum+1] = 0, 0; return b }
	zeroIP := func(b []byte) []byte { b[offIPSum], b[offIPSum+1] = 0, 0; return b }

	// A TCP segment whose right checksum is 0: the payload word is chosen
	// to bring the sum to 0xffff with the field at 0.
	base := tcp4(t, "192.0.2.1", "192.0.2.2", 61, 1, 2, 3, 4, false, []byte{0, 0})
	c := binary.BigEndian.Uint16(base[offTCPSum:])
	rightZero := append([]byte(nil), base...)
	binary.BigEndian.PutUint16(rightZero[offPayload:], c)
	binary.BigEndian.PutUint16(rightZero[offTCPSum:], 0)

	v6 := tcp6(t, "2001:db8::1", "2001:db8::2", 1, 2, 3, []byte("x"))
	v6[14+40+16], v6[14+40+17] = 0, 0
	udp := udp6(t, "2001:db8::1", "2001:db8::2", 53, 53, []byte("query"))
	udp[14+40+6], udp[14+40+7] = 0, 0

	tests := []struct {
		name   string
		frame  []byte
		ip, l4 Checksum
	}{
		{"tcp over ipv4, field 0", zeroTCP(tcp4(t, "192.0.2.1", "192.0.2.2", 61, 1, 2, 3, 4, false, []byte("data"))), ChecksumGood, ChecksumNotComputed},
		{"ipv4 header, field 0", zeroIP(tcp4(t, "192.0.2.1", "192.0.2.2", 61, 1, 2, 3, 4, false, nil)), ChecksumNotComputed, ChecksumGood},
		{"both 0", zeroIP(zeroTCP(tcp4(t, "192.0.2.1", "192.0.2.2", 61, 1, 2, 3, 4, false, nil))), ChecksumNotComputed, ChecksumNotComputed},
		{"tcp over ipv6, field 0", v6, ChecksumUnchecked, ChecksumNotComputed},
		{"udp over ipv6, field 0: no checksum", udp, ChecksumUnchecked, ChecksumUnchecked},
		{"tcp whose right checksum is 0", rightZero, ChecksumGood, ChecksumGood},
		{"tcp with a wrong non-zero value", corruptPayload(tcp4(t, "192.0.2.1", "192.0.2.2", 61, 1, 2, 3, 4, false, []byte("data"))), ChecksumGood, ChecksumBad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := NewDecoder(nil, Limits{}).Decode(eframe(1, tc.frame))
			if !ok {
				t.Fatal("not decoded")
			}
			if p.IPChecksum != tc.ip || p.L4Checksum != tc.l4 {
				t.Errorf("IPChecksum %v, L4Checksum %v; want %v, %v", p.IPChecksum, p.L4Checksum, tc.ip, tc.l4)
			}
			if want := tc.l4 == ChecksumBad || tc.l4 == ChecksumNotComputed; p.L4Checksum.Wrong() != want {
				t.Errorf("Wrong() = %v, want %v", p.L4Checksum.Wrong(), want)
			}
		})
	}

	// Zero checksums among right ones of the same source: not an error.
	t.Run("among right ones", func(t *testing.T) {
		frames := conversation(t, 12, "10.1.1.1", "172.16.1.1", 64, 61)
		zeroTCP(frames[5])
		zeroIP(frames[7])
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		decodeAll(t, d, frames)
		if k := ipKinds(col); len(k) != 0 {
			t.Errorf("ip events %v, want none: %+v", k, col.Events)
		}
		want := ChecksumStats{Frames: 12, NotComputed: 2}
		if diff := cmp.Diff(want, d.ChecksumStats()); diff != "" {
			t.Errorf("ChecksumStats (-want +got):\n%s", diff)
		}
	})

	// Never computed on every frame of both ends (a crafted capture, or
	// checksums cleared): one notice, no error.
	t.Run("on every frame", func(t *testing.T) {
		frames := conversation(t, 6, "10.1.1.1", "172.16.1.1", 64, 61)
		for _, b := range frames {
			zeroIP(zeroTCP(b))
		}
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		decodeAll(t, d, frames)
		if diff := cmp.Diff([]health.Kind{health.IPChecksumsUnverifiable}, ipKinds(col)); diff != "" {
			t.Errorf("ip events (-want +got):\n%s", diff)
		}
		want := ChecksumStats{Frames: 6, NotComputed: 6, UnverifiableSources: 2, UnverifiableFrames: 6, Rewritten: true}
		if diff := cmp.Diff(want, d.ChecksumStats()); diff != "" {
			t.Errorf("ChecksumStats (-want +got):\n%s", diff)
		}
	})
}

// TestRewrittenCaptureSaysItOnce: a capture whose addresses were changed
// after the checksums were computed (anonymised, or NATed by a tool) has a
// wrong IPv4 header and TCP checksum on every frame. That is said once for
// the capture, in its first frame, as a notice with the counts; no frame is
// an error.
func TestRewrittenCaptureSaysItOnce(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ttlA, ttlB uint8
	}{
		{"routed", 64, 61},
		{"same LAN", 64, 64},
		{"no initial TTL", 50, 61},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames := conversation(t, 40, "10.1.1.1", "172.16.1.1", tc.ttlA, tc.ttlB)
			for i, b := range frames {
				if i%2 == 0 {
					rewriteAddrs(b, "198.18.1.1", "198.19.1.1")
				} else {
					rewriteAddrs(b, "198.19.1.1", "198.18.1.1")
				}
			}
			col := &health.Collector{}
			d := NewDecoder(col, Limits{})
			ip, l4 := decodeAll(t, d, frames)
			for i := range ip {
				if ip[i] != ChecksumBad || l4[i] != ChecksumBad {
					t.Fatalf("frame %d: IPChecksum %v, L4Checksum %v; want bad, bad", i+1, ip[i], l4[i])
				}
			}
			if diff := cmp.Diff([]health.Kind{health.IPChecksumsUnverifiable}, ipKinds(col)); diff != "" {
				t.Fatalf("ip events (-want +got):\n%s", diff)
			}
			e := col.OfKind(health.IPChecksumsUnverifiable)[0]
			if e.Frame != 1 || e.Severity != health.Notice || e.Evidence["rewritten"] != true || e.Evidence["edited"] != 40 ||
				e.Evidence["count"] != 40 || e.Evidence["sources"] != 2 || e.Flow != "198.18.1.1:40000->198.19.1.1:80/tcp" {
				t.Errorf("event = %+v", e)
			}
			want := ChecksumStats{Frames: 40, Wrong: 40, Edited: 40, UnverifiableSources: 2, UnverifiableFrames: 40, Rewritten: true}
			if diff := cmp.Diff(want, d.ChecksumStats()); diff != "" {
				t.Errorf("ChecksumStats (-want +got):\n%s", diff)
			}
			// Said once: ending the capture again adds nothing, and the
			// stats stay those of the capture Flush ended.
			d.Flush(t0)
			if n := len(col.Events); n != 1 {
				t.Errorf("%d events after a second Flush", n)
			}
			if diff := cmp.Diff(want, d.ChecksumStats()); diff != "" {
				t.Errorf("ChecksumStats after a second Flush (-want +got):\n%s", diff)
			}
			t.Log(e.Message)
		})
	}

	// Only the server's address was rewritten (destination NAT in the
	// capture) on some frames: the client's checksums are then right on
	// some frames and off by the address edit on others. That is no
	// corruption.
	t.Run("partly rewritten", func(t *testing.T) {
		frames := conversation(t, 20, "10.1.1.1", "172.16.1.1", 64, 61)
		for i := 10; i < 20; i += 2 {
			rewriteAddrs(frames[i], "10.1.1.1", "192.0.2.80")
		}
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		decodeAll(t, d, frames)
		if k := ipKinds(col); len(k) != 0 {
			t.Errorf("ip events %v, want none: %+v", k, col.Events)
		}
		want := ChecksumStats{Frames: 20, Wrong: 5, Edited: 5}
		if diff := cmp.Diff(want, d.ChecksumStats()); diff != "" {
			t.Errorf("ChecksumStats (-want +got):\n%s", diff)
		}
	})
}

// TestRewrittenSharedCapture: zeek-tcp-retransmit-fast009 (../shared) has
// TTL 0 and IPv4 header and TCP checksums of 0 on every frame: a rewritten
// capture. One notice, no error.
func TestRewrittenSharedCapture(t *testing.T) {
	path := sharedPath(t, "public-captures/zeek-tcp-retransmit-fast009.pcap")
	frames, err := readFrames(t, path)
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, Limits{})
	for i := range frames {
		if p, ok := d.Decode(&frames[i]); ok && p.IPChecksum != ChecksumNotComputed {
			t.Errorf("frame %d: IPChecksum %v, want not computed", p.Frame, p.IPChecksum)
		}
	}
	d.Flush(frames[len(frames)-1].Time)
	if diff := cmp.Diff([]health.Kind{health.IPChecksumsUnverifiable}, ipKinds(col)); diff != "" {
		t.Fatalf("ip events (-want +got):\n%s", diff)
	}
	if e := col.OfKind(health.IPChecksumsUnverifiable)[0]; e.Frame != 1 || e.Evidence["count"] != 39 || e.Evidence["not_computed"] != 39 {
		t.Errorf("event = %+v", e)
	}
	st := d.ChecksumStats()
	if st.Frames != 39 || st.NotComputed != 39 || st.Wrong != 0 || !st.Rewritten || st.UnverifiableSources != 2 {
		t.Errorf("ChecksumStats = %+v", st)
	}
}

// TestCorruptionAmongGoodChecksumsIsAnError: a source whose checksums of a
// layer are wrong among right ones sent corrupted packets: one
// ip.bad_checksum (error) in its first wrong frame, with the right value,
// the count and the frames. A source whose frames exceed the MTU (the
// capturing host, TSO/GRO) is offload instead.
func TestCorruptionAmongGoodChecksumsIsAnError(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		frames := conversation(t, 24, "10.1.1.1", "172.16.1.1", 64, 61)
		sent := binary.BigEndian.Uint16(frames[7][offTCPSum:])
		for _, i := range []int{7, 15, 23} { // server frames 8, 16, 24
			corruptPayload(frames[i])
		}
		// The checksum the corrupted bytes of frame 8 would need.
		right := binary.BigEndian.Uint16(tcp4(t, "172.16.1.1", "10.1.1.1", 61, 80, 40000, 5007, 1007, false, frames[7][offPayload:])[offTCPSum:])
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		_, l4 := decodeAll(t, d, frames)
		if l4[7] != ChecksumBad || l4[6] != ChecksumGood {
			t.Errorf("L4Checksum of frames 7, 8: %v, %v", l4[6], l4[7])
		}
		if diff := cmp.Diff([]health.Kind{health.IPBadChecksum}, ipKinds(col)); diff != "" {
			t.Fatalf("ip events (-want +got):\n%s", diff)
		}
		e := col.OfKind(health.IPBadChecksum)[0]
		wantEv := map[string]any{
			"layer": "tcp", "src": "172.16.1.1", "count": 3, "right": 9, "frames": "8, 16, 24",
			"got": hex16(sent), "want": hex16(right),
		}
		if diff := cmp.Diff(wantEv, e.Evidence); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
		if e.Frame != 8 || e.Severity != health.Error || e.Flow != "172.16.1.1:80->10.1.1.1:40000/tcp" || !e.Time.Equal(eframe(8, nil).Time) {
			t.Errorf("event = %+v", e)
		}
		want := ChecksumStats{Frames: 24, Wrong: 3, CorruptSources: 1, CorruptFrames: 3}
		if diff := cmp.Diff(want, d.ChecksumStats()); diff != "" {
			t.Errorf("ChecksumStats (-want +got):\n%s", diff)
		}
		t.Log(e.Message)
	})

	t.Run("ip header", func(t *testing.T) {
		frames := conversation(t, 6, "10.1.1.1", "172.16.1.1", 64, 61)
		frames[3][offIPSum] ^= 0x10
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		decodeAll(t, d, frames)
		bad := col.OfKind(health.IPBadChecksum)
		if len(bad) != 1 || bad[0].Frame != 4 || bad[0].Evidence["layer"] != "ip" || len(col.Events) != 1 {
			t.Errorf("events = %+v", col.Events)
		}
	})

	// Wrong before any right one: the order does not matter at the end of
	// the capture.
	t.Run("first frame wrong", func(t *testing.T) {
		frames := conversation(t, 6, "10.1.1.1", "172.16.1.1", 64, 61)
		corruptPayload(frames[1])
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		decodeAll(t, d, frames)
		if bad := col.OfKind(health.IPBadChecksum); len(bad) != 1 || bad[0].Frame != 2 || len(col.Events) != 1 {
			t.Errorf("events = %+v", col.Events)
		}
	})

	// On the capturing host's LAN (initial TTL), one wrong among right
	// ones is still corruption.
	t.Run("unrouted, wrong the exception", func(t *testing.T) {
		frames := conversation(t, 20, "10.1.1.1", "10.1.1.2", 64, 64)
		corruptPayload(frames[5])
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		decodeAll(t, d, frames)
		if diff := cmp.Diff([]health.Kind{health.IPBadChecksum}, ipKinds(col)); diff != "" {
			t.Fatalf("ip events (-want +got):\n%s", diff)
		}
	})

	// A host that crossed no router and sends mostly wrong checksums with
	// a few right ones is the capturing host computing a few in software:
	// offload, not corruption.
	t.Run("unrouted, mostly wrong", func(t *testing.T) {
		frames := conversation(t, 20, "10.1.1.1", "172.16.1.1", 64, 61)
		for i := 4; i < 20; i += 2 { // client frames 5, 7, …, 19
			corruptPayload(frames[i])
		}
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		decodeAll(t, d, frames)
		if diff := cmp.Diff([]health.Kind{health.IPChecksumOffload}, ipKinds(col)); diff != "" {
			t.Fatalf("ip events (-want +got):\n%s", diff)
		}
		if e := col.OfKind(health.IPChecksumOffload)[0]; e.Frame != 5 || e.Evidence["reason"] != "initial ttl" || e.Evidence["count"] != 8 {
			t.Errorf("event = %+v", e)
		}
	})

	t.Run("oversize source is offload", func(t *testing.T) {
		frames := conversation(t, 6, "10.1.1.1", "172.16.1.1", 64, 61)
		big := tcp4(t, "10.1.1.1", "172.16.1.1", 64, 40000, 80, 1, 1, false, make([]byte, 1600))
		frames = append(frames, corruptPayload(big))
		col := &health.Collector{}
		d := NewDecoder(col, Limits{})
		decodeAll(t, d, frames)
		if diff := cmp.Diff([]health.Kind{health.IPChecksumOffload}, ipKinds(col)); diff != "" {
			t.Fatalf("ip events (-want +got):\n%s", diff)
		}
		if e := col.OfKind(health.IPChecksumOffload)[0]; e.Frame != 7 || e.Evidence["reason"] != "segmentation offload" || e.Evidence["count"] != 1 {
			t.Errorf("event = %+v", e)
		}
	})
}

// TestOneEventPerSource: however many wrong checksums a source sends, it
// gets one ip.bad_checksum, which counts them and lists the first frames;
// offload gets one ip.checksum_offload for the capture.
func TestOneEventPerSource(t *testing.T) {
	// Client 10.1.1.1 is the capturing host (TTL 64, every TCP checksum
	// wrong); servers 172.16.1.1 and 172.16.2.2 corrupt every third
	// segment; 172.16.3.3 is clean.
	var frames [][]byte
	for i := range 300 {
		srv := []string{"172.16.1.1", "172.16.2.2", "172.16.3.3"}[i%3]
		frames = append(frames, corruptPayload(tcp4(t, "10.1.1.1", srv, 64, 40000, 80, uint32(i), 1, false, []byte("req"))))
		b := tcp4(t, srv, "10.1.1.1", 61, 80, 40000, uint32(i), 1, false, []byte("resp"))
		if srv != "172.16.3.3" && i%9 < 3 {
			corruptPayload(b)
		}
		frames = append(frames, b)
	}
	col := &health.Collector{}
	d := NewDecoder(col, Limits{})
	decodeAll(t, d, frames)
	want := []health.Kind{health.IPChecksumOffload, health.IPBadChecksum, health.IPBadChecksum}
	if diff := cmp.Diff(want, ipKinds(col)); diff != "" {
		t.Fatalf("ip events (-want +got):\n%s", diff)
	}
	off := col.OfKind(health.IPChecksumOffload)[0]
	if off.Frame != 1 || off.Evidence["count"] != 300 || off.Evidence["reason"] != "initial ttl" || off.Evidence["sources"] != 1 {
		t.Errorf("offload event = %+v", off)
	}
	for i, e := range col.OfKind(health.IPBadChecksum) {
		src := []string{"172.16.1.1", "172.16.2.2"}[i]
		if e.Evidence["src"] != src || e.Evidence["count"] != 34 || e.Evidence["right"] != 66 {
			t.Errorf("event %d = %+v", i, e)
		}
		if f, _ := e.Evidence["frames"].(string); strings.Count(f, ",") != maxListedFrames || !strings.HasSuffix(f, "…") {
			t.Errorf("event %d frames = %q, want %d frames and more", i, f, maxListedFrames)
		}
	}
	wantStats := ChecksumStats{Frames: 600, Wrong: 368, OffloadSources: 1, OffloadFrames: 300, CorruptSources: 2, CorruptFrames: 68}
	if diff := cmp.Diff(wantStats, d.ChecksumStats()); diff != "" {
		t.Errorf("ChecksumStats (-want +got):\n%s", diff)
	}
}

// TestChecksumVerdictBounded: sources beyond MaxTracked are counted but not
// classified, and nothing they send is an error.
func TestChecksumVerdictBounded(t *testing.T) {
	var frames [][]byte
	for i := range 50 {
		src := fmt.Sprintf("172.16.0.%d", i+1)
		frames = append(frames, tcp4(t, src, "10.1.1.1", 61, 80, 40000, 1, 1, false, []byte("a")))
		frames = append(frames, corruptPayload(tcp4(t, src, "10.1.1.1", 61, 80, 40000, 2, 1, false, []byte("b"))))
	}
	col := &health.Collector{}
	d := NewDecoder(col, Limits{MaxTracked: 4})
	decodeAll(t, d, frames)
	if n := len(d.sources); n != 0 {
		t.Errorf("%d sources kept after Flush", n)
	}
	if bad := col.OfKind(health.IPBadChecksum); len(bad) != 4 {
		t.Errorf("%d ip.bad_checksum events, want 4 (the tracked sources)", len(bad))
	}
	if st := d.ChecksumStats(); st.Frames != 100 || st.Wrong != 50 || st.CorruptSources != 4 {
		t.Errorf("ChecksumStats = %+v", st)
	}
}

// TestDecodeWrongChecksumAllocatesNothing: counting a wrong checksum of a
// known source allocates nothing.
func TestDecodeWrongChecksumAllocatesNothing(t *testing.T) {
	f := eframe(1, corruptPayload(tcp4(t, "10.1.1.1", "172.16.1.1", 61, 1, 2, 3, 4, false, []byte("data"))))
	g := eframe(2, rewriteAddrs(tcp4(t, "10.1.1.1", "172.16.1.1", 61, 1, 2, 3, 4, false, []byte("data")), "10.1.1.1", "192.0.2.9"))
	d := NewDecoder(nil, DefaultLimits())
	d.Decode(f)
	d.Decode(g)
	allocs := testing.AllocsPerRun(1000, func() {
		f.Number++
		d.Decode(f)
		g.Number++
		d.Decode(g)
	})
	if allocs != 0 {
		t.Errorf("Decode of wrong checksums: %.1f allocations, want 0", allocs)
	}
}

// TestChecksumStatsCountFragmentFramesOnce: the frame of the fragment that
// completes a datagram is checked twice (its IPv4 header, then the
// reassembled UDP datagram) but counts once. C06's 31 frames are IPv4.
func TestChecksumStatsCountFragmentFramesOnce(t *testing.T) {
	frames, err := readFrames(t, testdata("c06-frag.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, Limits{})
	reassembled := 0
	for i := range frames {
		if p, ok := d.Decode(&frames[i]); ok && p.Reassembled {
			reassembled++
		}
	}
	d.Flush(frames[len(frames)-1].Time)
	if reassembled == 0 {
		t.Fatal("no datagram reassembled")
	}
	if diff := cmp.Diff(ChecksumStats{Frames: 31}, d.ChecksumStats()); diff != "" {
		t.Errorf("ChecksumStats (-want +got):\n%s", diff)
	}
	if k := ipKinds(col); len(k) != 0 {
		t.Errorf("ip events %v", k)
	}
}
