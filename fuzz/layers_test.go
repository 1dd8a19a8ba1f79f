package fuzz

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// FuzzLayersCapture runs the packet tier's public entry points
// (layers.NewCapture, Capture.Next, Decoder.Decode, Decoder.Flush,
// PacketFields, ParseDNS on UDP payloads) over arbitrary capture bytes.
func FuzzLayersCapture(f *testing.F) {
	addFileSeeds(f, 8<<10, "../testdata/layers/*.pcap", "../testdata/layers/*.pcapng")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := layers.NewCapture(bytes.NewReader(data))
		if err != nil {
			return
		}
		col := &health.Collector{KeepMessages: true}
		d := layers.NewDecoder(col, layers.Limits{MaxDatagrams: 8, MaxFragmentBytes: 1 << 18})
		for i := 0; i < 5000; i++ {
			fr, err := c.Next()
			if err != nil {
				break
			}
			p, ok := d.Decode(fr)
			if !ok {
				continue
			}
			layers.PacketFields(p)
			if p.Transport == layers.TransportUDP {
				if m, err := layers.ParseDNS(p.Payload); err == nil {
					layers.DNSFields(m)
				}
			}
		}
		d.Flush(c.LastTime())
		_ = c.Secrets()
	})
}

// addFileSeeds adds the files matching patterns, up to max bytes each, as
// seeds.
func addFileSeeds(f *testing.F, max int, patterns ...string) {
	for _, pattern := range patterns {
		paths, _ := filepath.Glob(pattern)
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) <= max {
				f.Add(b)
			}
		}
	}
}

// FuzzLayersCaptureReadAhead reads the same input with and without read-ahead
// (256 KiB blocks: small inputs sit in one block, larger ones found by the
// fuzzer straddle): the frames, their bytes and the error must be the same.
func FuzzLayersCaptureReadAhead(f *testing.F) {
	addFileSeeds(f, 8<<10, "../testdata/layers/*.pcap", "../testdata/layers/*.pcapng", "../testdata/layers/*.gz")
	f.Fuzz(func(t *testing.T, data []byte) {
		plain, err := layers.NewCapture(bytes.NewReader(data))
		ahead, aerr := layers.NewCaptureReadAhead(bytes.NewReader(data))
		if (err == nil) != (aerr == nil) {
			t.Fatalf("NewCapture error %v, with read-ahead %v", err, aerr)
		}
		if err != nil {
			return
		}
		defer ahead.Close()
		for i := 0; i < 5000; i++ {
			f1, e1 := plain.Next()
			f2, e2 := ahead.Next()
			if (e1 == nil) != (e2 == nil) || e1 != nil && e1.Error() != e2.Error() {
				t.Fatalf("frame %d: error %v, with read-ahead %v", i+1, e1, e2)
			}
			if e1 != nil {
				break
			}
			if f1.Number != f2.Number || !f1.Time.Equal(f2.Time) || !bytes.Equal(f1.Data, f2.Data) {
				t.Fatalf("frame %d differs with read-ahead", f1.Number)
			}
		}
		if !bytes.Equal(plain.Secrets(), ahead.Secrets()) {
			t.Fatal("secrets differ with read-ahead")
		}
	})
}

// FuzzLayersFragments feeds a sequence of raw IPv4/IPv6 packets (each
// prefixed by a 2-byte length) to one Decoder with small reassembly limits:
// fragments in any order, overlapping, oversized, never completed.
func FuzzLayersFragments(f *testing.F) {
	ip4frag := func(off uint16, mf bool, payload []byte) []byte {
		h := []byte{0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
		binary.BigEndian.PutUint16(h[2:], uint16(20+len(payload)))
		fo := off / 8
		if mf {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(h[6:], fo)
		return append(h, payload...)
	}
	seq := func(pkts ...[]byte) []byte {
		var b []byte
		for _, p := range pkts {
			b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
			b = append(b, p...)
		}
		return b
	}
	udp := append([]byte{0, 53, 0, 53, 0, 24, 0, 0}, make([]byte, 16)...)
	f.Add(seq(ip4frag(0, true, udp[:16]), ip4frag(16, false, udp[16:])))
	f.Add(seq(ip4frag(16, false, udp[16:]), ip4frag(0, true, udp[:16]), ip4frag(8, true, udp[:8])))
	f.Add(seq(ip4frag(0, true, udp[:16])))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := layers.NewDecoder(health.Discard, layers.Limits{MaxDatagrams: 3, MaxFragments: 8, MaxDatagramLen: 4096, MaxFragmentBytes: 8192, FragmentTimeout: 2 * time.Second})
		n := int64(0)
		for len(data) >= 2 && n < 1000 {
			l := int(binary.BigEndian.Uint16(data))
			data = data[2:]
			if l > len(data) {
				l = len(data)
			}
			n++
			fr := layers.Frame{Number: n, Time: time.Unix(n, 0), Data: data[:l], CapLen: l, WireLen: l, LinkType: glayers.LinkTypeRaw}
			if p, ok := d.Decode(&fr); ok && p.Reassembled && len(p.FragFrames) == 0 {
				t.Fatal("reassembled packet without fragment frames")
			}
			data = data[l:]
		}
		d.Flush(time.Unix(n+10, 0))
	})
}
