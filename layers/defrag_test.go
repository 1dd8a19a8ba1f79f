package layers

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
)

// TestDefragC06 reassembles the first three UDP flood datagrams of C6
// (6 IPv4 fragments each, 8200 bytes of UDP; README: offsets 0, 1480 ...
// 7400, last fragment total length 820).
func TestDefragC06(t *testing.T) {
	frames, err := readFrames(t, testdata("c06-frag.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, DefaultLimits())
	var got [][]int64
	for i := range frames {
		p, ok := d.Decode(&frames[i])
		n := frames[i].Number
		if (n >= 11 && n <= 15) || (n >= 18 && n <= 22) || (n >= 25 && n <= 29) {
			if ok {
				t.Errorf("frame %d: a waiting fragment was returned", n)
			}
			continue
		}
		if !ok {
			t.Fatalf("frame %d not decoded", n)
		}
		if p.Reassembled {
			if p.Transport != TransportUDP || p.UDP.SrcPort != 2976 || p.UDP.DstPort != 10647 || p.UDP.Length != 8200 ||
				p.PayloadLen != 8192 || len(p.Payload) != 8192 || p.L4Checksum != ChecksumGood || p.IPLen != 8220 {
				t.Errorf("frame %d: %+v len %d", n, p.UDP, len(p.Payload))
			}
			got = append(got, append([]int64(nil), p.FragFrames...))
		}
	}
	want := [][]int64{{11, 12, 13, 14, 15, 16}, {18, 19, 20, 21, 22, 23}, {25, 26, 27, 28, 29, 30}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FragFrames (-want +got):\n%s", diff)
	}
	d.Flush(frames[len(frames)-1].Time)
	if len(col.Events) != 0 {
		t.Errorf("events: %+v", col.Events)
	}
}

// TestDefragC06Full reassembles all 200 datagrams of the C6 capture (../shared).
func TestDefragC06Full(t *testing.T) {
	frames, err := readFrames(t, sharedPath(t, "captures/cases/c06-udp-flood-after-webshell-server.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, DefaultLimits())
	n := 0
	for i := range frames {
		if p, ok := d.Decode(&frames[i]); ok && p.Reassembled && len(p.FragFrames) == 6 && p.PayloadLen == 8192 {
			n++
		}
	}
	d.Flush(frames[len(frames)-1].Time)
	if n != 200 || len(col.Events) != 0 {
		t.Errorf("%d datagrams reassembled (want 200), events %+v", n, col.Events)
	}
	t.Logf("C6: %d of 200 datagrams reassembled from 6 fragments each", n)
}

// frag6 splits an Ethernet/IPv6/UDP frame into IPv6 fragments of size
// bytes (a multiple of 8) with identification id.
func frag6(full []byte, size int, id uint32) [][]byte {
	hdr := full[:14+40]
	body := full[14+40:]
	var out [][]byte
	for off := 0; off < len(body); off += size {
		end := min(off+size, len(body))
		f := append([]byte(nil), hdr...)
		binary.BigEndian.PutUint16(f[14+4:], uint16(8+end-off))
		f[14+6] = 44
		m := uint16(0)
		if end < len(body) {
			m = 1
		}
		f = append(f, 17, 0)
		f = binary.BigEndian.AppendUint16(f, uint16(off)|m)
		f = binary.BigEndian.AppendUint32(f, id)
		out = append(out, append(f, body[off:end]...))
	}
	return out
}

func TestDefragIPv6(t *testing.T) {
	payload := bytes.Repeat([]byte("nettrace"), 375) // 3000 bytes
	full := udp6(t, "2001:db8::1", "2001:db8::2", 5353, 53, payload)
	frags := frag6(full, 1232, 0xabcdef) // offsets 0, 1232, 2464
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	type step struct {
		frag int
		at   time.Duration
	}
	tests := []struct {
		name       string
		lim        Limits
		steps      []step
		flush      bool
		wantFrames []int64 // FragFrames of the reassembled packet; nil: none
		wantKinds  []health.Kind
	}{
		{"in order", Limits{}, []step{{0, 0}, {1, 0}, {2, 0}}, false, []int64{1, 2, 3}, nil},
		{"reverse order", Limits{}, []step{{2, 0}, {1, 0}, {0, 0}}, false, []int64{3, 2, 1}, nil},
		{"duplicate ignored", Limits{}, []step{{0, 0}, {0, 0}, {1, 0}, {2, 0}}, false, []int64{1, 3, 4}, nil},
		{"overlap", Limits{}, []step{{0, 0}, {-1, 0}, {1, 0}, {2, 0}}, true, nil, []health.Kind{health.NetFragmentOverlap}},
		{"missing middle at flush", Limits{}, []step{{0, 0}, {2, 0}}, true, nil, []health.Kind{health.NetFragmentIncomplete}},
		{"timeout", Limits{FragmentTimeout: time.Second}, []step{{0, 0}, {1, 0}, {2, 2 * time.Second}}, false, nil, []health.Kind{health.NetFragmentIncomplete}},
		{"too large", Limits{MaxDatagramLen: 2000}, []step{{0, 0}, {1, 0}, {2, 0}}, true, nil, []health.Kind{health.NetFragmentIncomplete}},
		{"too many fragments", Limits{MaxFragments: 2}, []step{{0, 0}, {1, 0}, {2, 0}}, true, nil, []health.Kind{health.NetFragmentIncomplete}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			col := &health.Collector{}
			d := NewDecoder(col, tc.lim)
			var gotFrames []int64
			for i, s := range tc.steps {
				var b []byte
				if s.frag < 0 { // fragment 1 shifted by 8 bytes and altered: overlaps fragment 0
					b = append([]byte(nil), frags[1]...)
					binary.BigEndian.PutUint16(b[14+40+2:], uint16(1232-8)|1)
					b[len(b)-1] ^= 1
				} else {
					b = frags[s.frag]
				}
				f := eframe(int64(i+1), b)
				f.Time = t0.Add(s.at)
				p, ok := d.Decode(f)
				if ok {
					if !p.Reassembled || p.Transport != TransportUDP || p.UDP.DstPort != 53 || !bytes.Equal(p.Payload, payload) || p.L4Checksum != ChecksumGood {
						t.Fatalf("frame %d: reassembled %v transport %d len %d checksum %d", i+1, p.Reassembled, p.Transport, len(p.Payload), p.L4Checksum)
					}
					gotFrames = append([]int64(nil), p.FragFrames...)
				}
			}
			if tc.flush {
				d.Flush(t0.Add(time.Minute))
			}
			if diff := cmp.Diff(tc.wantFrames, gotFrames); diff != "" {
				t.Errorf("FragFrames (-want +got):\n%s", diff)
			}
			var kinds []health.Kind
			for _, e := range col.Events {
				kinds = append(kinds, e.Kind)
				t.Logf("%s frame %d: %s", e.Kind, e.Frame, e.Message)
			}
			if diff := cmp.Diff(tc.wantKinds, kinds); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefragEvictsOldest: with MaxDatagrams 2, a third datagram evicts the
// oldest, which is reported incomplete; memory stays bounded.
func TestDefragEvictsOldest(t *testing.T) {
	col := &health.Collector{}
	d := NewDecoder(col, Limits{MaxDatagrams: 2})
	full := udp6(t, "2001:db8::1", "2001:db8::2", 1, 2, make([]byte, 100))
	for id := uint32(1); id <= 3; id++ {
		d.Decode(eframe(int64(id), frag6(full, 64, id)[0]))
	}
	ev := col.OfKind(health.NetFragmentIncomplete)
	if len(ev) != 1 || ev[0].Frame != 1 || ev[0].Evidence["id"] != uint32(1) {
		t.Fatalf("events = %+v", col.Events)
	}
	if len(d.defrag.m) != 2 {
		t.Errorf("%d datagrams held", len(d.defrag.m))
	}
	d.Flush(t0)
	if len(col.OfKind(health.NetFragmentIncomplete)) != 3 || len(d.defrag.m) != 0 || d.defrag.bytes != 0 {
		t.Errorf("after Flush: %d events, %d held, %d bytes", len(col.Events), len(d.defrag.m), d.defrag.bytes)
	}
}

// TestDefragIPv4Overlap: a C6 fragment repeated with different bytes is an
// inconsistent overlap: net.fragment_overlap, the datagram is dropped and
// its later fragments are absorbed silently (no incomplete event).
func TestDefragIPv4Overlap(t *testing.T) {
	frames, err := readFrames(t, testdata("c06-frag.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, DefaultLimits())
	bad := frameCopy(&frames[11]) // frame 12: offset 1480
	bad.Data[len(bad.Data)-1] ^= 0xff
	bad.Number = 100
	seq := []Frame{frames[10], frames[11], bad, frames[12], frames[13], frames[14], frames[15]}
	for i := range seq {
		if _, ok := d.Decode(&seq[i]); ok {
			t.Fatalf("frame %d completed a dropped datagram", seq[i].Number)
		}
	}
	d.Flush(frames[15].Time)
	if len(col.Events) != 1 || col.Events[0].Kind != health.NetFragmentOverlap || col.Events[0].Frame != 100 ||
		col.Events[0].Flow != "10.200.3.20:2976->10.200.1.66:10647/udp" {
		t.Fatalf("events = %+v", col.Events)
	}
	t.Log(col.Events[0].Message)
}
