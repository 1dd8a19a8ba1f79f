package adversary

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net"

	"github.com/nettrace/nettrace/internal/testcap"
)

// seed makes every case the same on every run.
func seed(k uint64) *rand.Rand { return rand.New(rand.NewPCG(k, 0x6e6574747261)) }

// JunkFrames writes n Ethernet frames of random bytes (14 to 200) with
// random EtherTypes other than IPv4, IPv6, ARP and VLAN tags: frames no
// decoder takes.
func JunkFrames(b *testcap.Builder, n int) {
	r := seed(1)
	buf := make([]byte, 200)
	for range n {
		f := buf[:14+r.IntN(187)]
		for i := range f {
			f[i] = byte(r.UintN(256))
		}
		et := uint16(0x0600 + r.UintN(0x8000))
		switch et {
		case 0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x9100:
			et = 0x88b5 // local experimental
		}
		binary.BigEndian.PutUint16(f[12:], et)
		b.Raw(f)
	}
}

// DecodeErrors writes n IPv4/TCP frames, each with one impossible length
// (cycling through: IP total length past the frame, below the header, an
// IP header of 3 words, a TCP data offset of 15 or 2 words).
func DecodeErrors(b *testcap.Builder, n int) {
	good := b.TCPFrame(net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}, 1234, 80, 1, 0, "S", []byte("payload!"))
	patches := []func(f []byte){
		func(f []byte) { binary.BigEndian.PutUint16(f[14+2:], 1500) },
		func(f []byte) { binary.BigEndian.PutUint16(f[14+2:], 10) },
		func(f []byte) { f[14] = 0x43 },
		func(f []byte) { f[14+20+12] = 0xf0 },
		func(f []byte) { f[14+20+12] = 0x20 },
	}
	f := make([]byte, len(good))
	for i := range n {
		copy(f, good)
		binary.BigEndian.PutUint16(f[14+20:], uint16(1024+i%60000)) // source port
		patches[i%len(patches)](f)
		b.Raw(f)
	}
}

// goodFrames writes n frames of one small HTTP-like exchange on b.
func goodFrames(b *testcap.Builder, n int) {
	v := b.Conv("10.0.0.1", "10.0.0.2", 40000, 8080, 1000, 5000)
	for i := 0; i < n; i++ {
		b.Raw(b.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "A", nil))
	}
}

// AbsurdRecordLength writes n good frames, then a record header whose
// captured length is 2 GiB (and a few bytes after it).
func AbsurdRecordLength(w io.Writer, n int) error {
	b := testcap.NewBuilder(0)
	goodFrames(b, n)
	hdr := make([]byte, 16)
	binary.LittleEndian.PutUint32(hdr[0:], 1_800_000_000)
	binary.LittleEndian.PutUint32(hdr[8:], 1<<31)
	binary.LittleEndian.PutUint32(hdr[12:], 1<<31)
	b.Buf.Write(hdr)
	b.Buf.WriteString("not a frame")
	_, err := w.Write(b.Buf.Bytes())
	return err
}

// CutLastRecord writes n good frames and cuts the file in the middle of
// the last one.
func CutLastRecord(w io.Writer, n int) error {
	b := testcap.NewBuilder(0)
	goodFrames(b, max(n, 1))
	cut := b.Ends[len(b.Ends)-1] - 20
	_, err := w.Write(b.Buf.Bytes()[:cut])
	return err
}

// SYNFlood writes n SYNs to 192.168.0.1:80 from random sources and ports,
// 1 ms apart. With answered, the server answers each with a SYN-ACK that
// is never acknowledged (the sources are spoofed): a capture at the server
// proves the handshakes never completed. Without it, only the SYNs are
// captured: a capture of one direction cannot tell whether they were
// answered.
func SYNFlood(b *testcap.Builder, n int, answered bool) {
	r := seed(2)
	srv := net.IP{192, 168, 0, 1}
	for i := 0; i < n; {
		src := net.IP{10, byte(r.UintN(256)), byte(r.UintN(256)), byte(1 + r.UintN(254))}
		sport, isn := uint16(1024+r.UintN(60000)), r.Uint32()
		b.Raw(b.TCPFrame(src, srv, sport, 80, isn, 0, "S", nil))
		i++
		if answered && i < n {
			b.Raw(b.TCPFrame(srv, src, 80, sport, r.Uint32(), isn+1, "SA", nil))
			i++
		}
	}
}
