package layers

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// tcpDataFrame returns a TCP data segment of a real capture (with
// timestamps option and payload) for the hot-path tests.
func tcpDataFrame(t testing.TB) Frame {
	frames, err := readFrames(t, testdata("tls12-gcm.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		d := NewDecoder(nil, DefaultLimits())
		if p, ok := d.Decode(&f); ok && p.Transport == TransportTCP && p.PayloadLen > 500 {
			return f
		}
	}
	t.Fatal("no TCP data frame")
	return Frame{}
}

// TestDecodeTCPAllocatesNothing: the TCP path (Ethernet, IPv4, TCP with
// options, checksum verification, offload classification of a known
// source) allocates nothing per packet.
func TestDecodeTCPAllocatesNothing(t *testing.T) {
	f := tcpDataFrame(t)
	d := NewDecoder(nil, DefaultLimits())
	d.Decode(&f) // first packet of a source creates its map entry
	allocs := testing.AllocsPerRun(1000, func() {
		if _, ok := d.Decode(&f); !ok {
			t.Fatal("not decoded")
		}
	})
	if allocs != 0 {
		t.Errorf("Decode of a TCP frame: %.1f allocations, want 0", allocs)
	}
}

// TestCaptureReadAllocatesNothing: Next reuses its frame and buffer.
func TestCaptureReadAllocatesNothing(t *testing.T) {
	raw, err := os.ReadFile(testdata("tls12-gcm.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	big := append([]byte(nil), raw...)
	for i := 0; i < 200; i++ {
		big = append(big, raw[24:]...)
	}
	c, err := NewCapture(bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	c.Next()
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Next: %.1f allocations, want 0", allocs)
	}
}

func BenchmarkDecodeTCP(b *testing.B) {
	f := tcpDataFrame(b)
	d := NewDecoder(nil, DefaultLimits())
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Data)))
	for b.Loop() {
		d.Decode(&f)
	}
}

func BenchmarkDecodeTCPNoChecksums(b *testing.B) {
	f := tcpDataFrame(b)
	d := NewDecoder(nil, Limits{SkipChecksums: true})
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Data)))
	for b.Loop() {
		d.Decode(&f)
	}
}

// BenchmarkCaptureRead reads and decodes a real capture (the 1.7 MB
// lossy-netem client capture of ../shared when present, else C10's slice).
func BenchmarkCaptureRead(b *testing.B) {
	path := testdata("c10-tso.pcap")
	if p := "../../shared/captures/tcp/tcp-lossy-netem-curl-client.pcap"; fileExists(p) {
		path = p
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	frames := 0
	for b.Loop() {
		c, err := NewCapture(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		d := NewDecoder(nil, DefaultLimits())
		for {
			f, err := c.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			d.Decode(f)
			frames++
		}
	}
	b.ReportMetric(float64(frames)/float64(b.N), "frames/op")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// BenchmarkDecodeTCPRewritten decodes the frame of BenchmarkDecodeTCP with
// its destination address changed after checksumming, as in an anonymised
// capture: both checksums are wrong on every frame.
func BenchmarkDecodeTCPRewritten(b *testing.B) {
	f := tcpDataFrame(b)
	f.Data = append([]byte(nil), f.Data...)
	f.Data[14+16] ^= 0x40 // IPv4 destination, first byte (Ethernet, no VLAN)
	d := NewDecoder(nil, DefaultLimits())
	if p, ok := d.Decode(&f); !ok || p.IPChecksum != ChecksumBad || p.L4Checksum != ChecksumBad {
		b.Fatalf("rewritten frame: ok %v, checksums %v %v", ok, p.IPChecksum, p.L4Checksum)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(f.Data)))
	for b.Loop() {
		d.Decode(&f)
	}
}
