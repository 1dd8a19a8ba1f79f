package layers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/health"
)

// byteOrder is what the file builders need of binary.LittleEndian/BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// pcapFile builds a classic pcap file.
func pcapFile(order byteOrder, nano bool, link uint32, frames []Frame) []byte {
	var b bytes.Buffer
	magic := uint32(magicPcapMicro)
	if nano {
		magic = magicPcapNano
	}
	h := make([]byte, 24)
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 262144)
	order.PutUint32(h[20:], link)
	b.Write(h)
	for _, f := range frames {
		r := make([]byte, 16)
		frac := f.Time.Nanosecond()
		if !nano {
			frac /= 1000
		}
		order.PutUint32(r[0:], uint32(f.Time.Unix()))
		order.PutUint32(r[4:], uint32(frac))
		order.PutUint32(r[8:], uint32(len(f.Data)))
		order.PutUint32(r[12:], uint32(max(f.WireLen, len(f.Data))))
		b.Write(r)
		b.Write(f.Data)
	}
	return b.Bytes()
}

// ngBlock builds one pcapng block (little-endian unless order says otherwise).
func ngBlock(order byteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	b := make([]byte, 8, total)
	order.PutUint32(b[0:], typ)
	order.PutUint32(b[4:], total)
	b = append(b, body...)
	return order.AppendUint32(b, total)
}

func ngSHB(order byteOrder) []byte {
	body := order.AppendUint32(nil, ngByteOrderMagic)
	body = order.AppendUint16(body, 1)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint64(body, ^uint64(0)) // section length unknown
	return ngBlock(order, ngBlockSHB, body)
}

func ngIDB(order byteOrder, link uint16, tsresol byte, tsoffset int64) []byte {
	body := order.AppendUint16(nil, link)
	body = order.AppendUint16(body, 0)
	body = order.AppendUint32(body, 0)
	if tsresol != 0 {
		body = order.AppendUint16(body, ngOptTSResol)
		body = order.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
	}
	if tsoffset != 0 {
		body = order.AppendUint16(body, ngOptTSOffset)
		body = order.AppendUint16(body, 8)
		body = order.AppendUint64(body, uint64(tsoffset))
	}
	body = order.AppendUint32(body, 0) // opt_endofopt
	return ngBlock(order, ngBlockIDB, body)
}

func ngEPB(order byteOrder, iface uint32, ts uint64, data []byte, wire int) []byte {
	body := order.AppendUint32(nil, iface)
	body = order.AppendUint32(body, uint32(ts>>32))
	body = order.AppendUint32(body, uint32(ts))
	body = order.AppendUint32(body, uint32(len(data)))
	body = order.AppendUint32(body, uint32(wire))
	body = append(body, data...)
	return ngBlock(order, ngBlockEPB, body)
}

func ngDSB(order byteOrder, secrets string) []byte {
	body := order.AppendUint32(nil, ngSecretsTLSKeyLog)
	body = order.AppendUint32(body, uint32(len(secrets)))
	body = append(body, secrets...)
	return ngBlock(order, ngBlockDSB, body)
}

// sameFrame compares frames without reflection (cmp is slow in loops).
func sameFrame(a, b Frame) bool {
	return a.Number == b.Number && a.Time.Equal(b.Time) && bytes.Equal(a.Data, b.Data) && a.CapLen == b.CapLen &&
		a.WireLen == b.WireLen && a.LinkType == b.LinkType && a.Link == b.Link && a.Interface == b.Interface
}

func readAllFrom(t *testing.T, b []byte) ([]Frame, *Capture, error) {
	t.Helper()
	c, err := NewCapture(bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	var out []Frame
	for {
		f, err := c.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, c, err
		}
		out = append(out, frameCopy(f))
	}
}

// TestCaptureFormats reads one capture as pcap, gzip pcap, nanosecond
// pcapng with a Decryption Secrets Block (editcap --inject-secrets) and
// gzip pcapng: the frames, times and link types must be identical, and the
// pcapng's Secrets must be the key log that was injected.
func TestCaptureFormats(t *testing.T) {
	want, err := readFrames(t, testdata("tls12-gcm.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := os.ReadFile(testdata("tls12-gcm.keys"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tls12-gcm.pcap.gz", "tls12-gcm-dsb-ns.pcapng", "tls12-gcm-dsb-ns.pcapng.gz"} {
		t.Run(name, func(t *testing.T) {
			c, err := Open(testdata(name))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var got []Frame
			for {
				f, err := c.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, frameCopy(f))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frames differ from the pcap (-want +got):\n%s", diff)
			}
			if strings.Contains(name, "pcapng") {
				if !bytes.Equal(bytes.TrimSpace(c.Secrets()), bytes.TrimSpace(keys)) {
					t.Errorf("Secrets() = %q, want the injected key log", c.Secrets())
				}
			} else if c.Secrets() != nil {
				t.Errorf("Secrets() on pcap = %q", c.Secrets())
			}
			t.Logf("%s: %d frames identical to the pcap", name, len(got))
		})
	}
	// The same file converted by editcap -F pcapng.
	a, _ := readFrames(t, testdata("c10-tso.pcap"))
	b, _ := readFrames(t, testdata("c10-tso.pcapng"))
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("c10-tso pcapng differs (-pcap +pcapng):\n%s", diff)
	}
}

// TestCaptureByteOrdersAndResolutions writes the same frames as pcap in
// both byte orders with micro- and nanosecond stamps.
func TestCaptureByteOrdersAndResolutions(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	frames := []Frame{
		{Number: 1, Time: base, Data: []byte{1, 2, 3, 4}, CapLen: 4, WireLen: 10, LinkType: 1, Link: 1},
		{Number: 2, Time: base.Add(time.Second), Data: []byte{5}, CapLen: 1, WireLen: 1, LinkType: 1, Link: 1},
	}
	for _, tc := range []struct {
		name  string
		order byteOrder
		nano  bool
	}{{"le-micro", binary.LittleEndian, false}, {"be-micro", binary.BigEndian, false}, {"le-nano", binary.LittleEndian, true}, {"be-nano", binary.BigEndian, true}} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := readAllFrom(t, pcapFile(tc.order, tc.nano, 1, frames))
			if err != nil {
				t.Fatal(err)
			}
			want := append([]Frame(nil), frames...)
			if !tc.nano {
				for i := range want {
					want[i].Time = want[i].Time.Truncate(time.Microsecond)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPcapngInterfacesAndBlocks reads a pcapng with two interfaces of
// different link types and resolutions (10^-9 and 2^-20 with an offset), a
// DSB, an unknown block, and a big-endian second section.
func TestPcapngInterfacesAndBlocks(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	var file []byte
	file = append(file, ngSHB(le)...)
	file = append(file, ngDSB(le, "CLIENT_RANDOM aa bb")...)
	file = append(file, ngIDB(le, 1, 9, 0)...)
	file = append(file, ngIDB(le, 101, 0x80|20, 100)...)
	file = append(file, ngBlock(le, 0x00000004, []byte{0, 0, 0, 0})...) // Name Resolution Block
	file = append(file, ngEPB(le, 0, 1_500_000_000_123456789, []byte{0xaa}, 60)...)
	file = append(file, ngEPB(le, 1, 3<<20|1<<19, []byte{0x45, 0}, 2)...)
	file = append(file, ngSHB(be)...)
	file = append(file, ngIDB(be, 276, 0, 0)...)
	file = append(file, ngEPB(be, 0, 2_000_000, []byte{1, 2, 3}, 3)...)
	file = append(file, ngDSB(be, "CLIENT_RANDOM cc dd\n")...)
	got, c, err := readAllFrom(t, file)
	if err != nil {
		t.Fatal(err)
	}
	want := []Frame{
		{Number: 1, Time: time.Unix(1_500_000_000, 123456789).UTC(), Data: []byte{0xaa}, CapLen: 1, WireLen: 60, LinkType: 1, Link: 1},
		{Number: 2, Time: time.Unix(103, 500_000_000).UTC(), Data: []byte{0x45, 0}, CapLen: 2, WireLen: 2, LinkType: glayers.LinkTypeRaw, Link: 101, Interface: 1},
		{Number: 3, Time: time.Unix(2, 0).UTC(), Data: []byte{1, 2, 3}, CapLen: 3, WireLen: 3, LinkType: glayers.LinkType(276 & 0xff), Link: LinkTypeLinuxSLL2},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got, want := string(c.Secrets()), "CLIENT_RANDOM aa bb\nCLIENT_RANDOM cc dd\n"; got != want {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
}

// TestCaptureTruncatedAtEveryOffset cuts a pcap and a pcapng at every byte
// offset: the frames before the cut come back intact, then io.EOF (cut on a
// record boundary) or a *CaptureError naming the next frame.
func TestCaptureTruncatedAtEveryOffset(t *testing.T) {
	for _, name := range []string{"tls12-gcm.pcap", "tls12-gcm-dsb-ns.pcapng"} {
		full, err := os.ReadFile(testdata(name))
		if err != nil {
			t.Fatal(err)
		}
		all, _, err := readAllFrom(t, full)
		if err != nil {
			t.Fatal(err)
		}
		cuts, errs := 0, 0
		for cut := 0; cut < len(full); cut++ {
			got, _, err := readAllFrom(t, full[:cut])
			if got == nil && err != nil && !errors.As(err, new(*CaptureError)) {
				continue // header cut: NewCapture failed
			}
			cuts++
			for i := range got {
				if !sameFrame(all[i], got[i]) {
					t.Fatalf("%s cut at %d: frame %d differs: %+v", name, cut, i+1, got[i])
				}
			}
			if err == nil {
				continue
			}
			errs++
			var ce *CaptureError
			if !errors.As(err, &ce) {
				t.Fatalf("%s cut at %d: error %v is not a *CaptureError", name, cut, err)
			}
			if ce.Frame != int64(len(got))+1 || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("%s cut at %d: %v after %d frames", name, cut, err, len(got))
			}
			if ev := ce.Event(time.Time{}); ev.Kind != health.CaptureTruncated || ev.Frame != ce.Frame || ev.Evidence["offset"] != ce.Offset {
				t.Fatalf("event %+v", ev)
			}
		}
		t.Logf("%s: %d cuts, %d ended with a CaptureError, the rest on a record boundary", name, cuts, errs)
	}
}

// TestRejectBogusLengths: lengths from a damaged file are errors, never
// allocations.
func TestRejectBogusLengths(t *testing.T) {
	le := binary.LittleEndian
	pc := pcapFile(le, false, 1, []Frame{{Data: []byte{1}}})
	le.PutUint32(pc[24+8:], 0xffffffff)
	ng := append(ngSHB(le), ngIDB(le, 1, 0, 0)...)
	bogus := make([]byte, 8)
	le.PutUint32(bogus[0:], ngBlockEPB)
	le.PutUint32(bogus[4:], 0xfffffffc)
	ng = append(ng, bogus...)
	noIface := append(ngSHB(le), ngEPB(le, 3, 0, []byte{1}, 1)...)
	badTrailer := append(ngSHB(le), ngIDB(le, 1, 0, 0)...)
	badTrailer[len(badTrailer)-1] = 0x7f
	for _, tc := range []struct {
		name, in, want string
	}{
		{"pcap record 4 GB", string(pc), "exceeds"},
		{"pcapng block 4 GB", string(ng), "exceeds limit"},
		{"pcapng undeclared interface", string(noIface), "undeclared interface"},
		{"pcapng trailer", string(badTrailer), "trailer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAllFrom(t, []byte(tc.in))
			var ce *CaptureError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want a *CaptureError containing %q", err, tc.want)
			}
			if ce.Frame != 1 {
				t.Errorf("Frame = %d, want 1", ce.Frame)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/notes.txt"
	if err := os.WriteFile(path, []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if !errors.Is(err, ErrNotCapture) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "magic 0x68656c6c") {
		t.Errorf("Open(text) = %v", err)
	}
	if _, err := Open(dir + "/missing.pcap"); err == nil || !strings.Contains(err.Error(), "missing.pcap") {
		t.Errorf("Open(missing) = %v", err)
	}
	if _, err := NewCapture(bytes.NewReader([]byte{0xd4, 0xc3})); !errors.Is(err, ErrNotCapture) {
		t.Errorf("NewCapture(2 bytes) = %v", err)
	}
	if _, err := NewCapture(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("NewCapture(bad gzip) = %v", err)
	}
}

// TestPcapngEveryTimestampResolution: every if_tsresol value is read, as
// tshark reads it (tshark 4.0 reads both frames of each of these files);
// a resolution whose units per second overflow 64 bits (10^-20 and finer,
// 2^-64 and finer) used to stop the capture. Times are exact to the
// nanosecond (tshark 4.0 drops the fraction beyond 10^-9: at 10^-19 it
// prints 1.000000000 for 1.7 s).
func TestPcapngEveryTimestampResolution(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		tsresol byte
		ts      uint64
		want    time.Time
	}{
		{6, 1_700_000_000_000_000, time.Unix(1_700_000_000, 0)},
		{12, 1_700_000_000_000_000, time.Unix(1700, 0)},
		{18, 1_700_000_000_000_000, time.Unix(0, 1_700_000)},
		{19, 17_000_000_000_000_000_000, time.Unix(1, 700_000_000)},
		{20, 17_000_000_000_000_000_000, time.Unix(0, 170_000_000)},
		{28, 17_000_000_000_000_000_000, time.Unix(0, 1)},
		{29, 17_000_000_000_000_000_000, time.Unix(0, 0)},
		{127, 1 << 40, time.Unix(0, 0)},
		{0x80, 1 << 40, time.Unix(1<<40, 0)},
		{0x80 | 30, 1 << 40, time.Unix(1024, 0)},
		{0x80 | 63, 1 << 62, time.Unix(0, 500_000_000)},
		{0x80 | 64, 1 << 62, time.Unix(0, 250_000_000)},
		{0x80 | 127, 1 << 62, time.Unix(0, 0)},
		{0xff, ^uint64(0), time.Unix(0, 0)},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("tsresol_0x%02x", tc.tsresol), func(t *testing.T) {
			file := append(ngSHB(le), ngIDB(le, 1, tc.tsresol, 0)...)
			file = append(file, ngEPB(le, 0, tc.ts, []byte{0xaa}, 1)...)
			file = append(file, ngEPB(le, 0, tc.ts, []byte{0xbb}, 1)...)
			got, _, err := readAllFrom(t, file)
			if err != nil || len(got) != 2 {
				t.Fatalf("%d frames, error %v; want 2 frames as tshark reads", len(got), err)
			}
			if !got[0].Time.Equal(tc.want) {
				t.Errorf("time %v, want %v", got[0].Time, tc.want.UTC())
			}
		})
	}
}
