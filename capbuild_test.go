package nettrace_test

import (
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// capBuilder writes an Ethernet pcap into memory (or any io.Writer) with
// gopacket serialization and the pcapgo writer: the adversarial captures
// of adversarial_test.go and memory_test.go are generated, not stored.
type capBuilder struct {
	buf     bytes.Buffer
	w       *pcapgo.Writer
	now     time.Time
	snaplen int
	// ends holds, for each frame written, the file offset just after it.
	ends []int
	off  int
	ser  gopacket.SerializeBuffer
}

func newCap(t testing.TB, snaplen int) *capBuilder {
	c := &capBuilder{now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), snaplen: snaplen, ser: gopacket.NewSerializeBuffer()}
	c.reset(&c.buf)
	return c
}

// reset starts a pcap on w (used to stream to a pipe).
func (c *capBuilder) reset(w io.Writer) {
	c.w = pcapgo.NewWriter(w)
	sl := c.snaplen
	if sl == 0 {
		sl = 65535
	}
	if err := c.w.WriteFileHeader(uint32(sl), layers.LinkTypeEthernet); err != nil {
		panic(err)
	}
	c.off = 24
}

// raw writes one frame, cut to the snapshot length.
func (c *capBuilder) raw(frame []byte) {
	c.now = c.now.Add(time.Millisecond)
	capLen := len(frame)
	if c.snaplen > 0 && capLen > c.snaplen {
		capLen = c.snaplen
	}
	ci := gopacket.CaptureInfo{Timestamp: c.now, CaptureLength: capLen, Length: len(frame)}
	if err := c.w.WritePacket(ci, frame[:capLen]); err != nil {
		panic(err)
	}
	c.off += 16 + capLen
	c.ends = append(c.ends, c.off)
}

var (
	macA = net.HardwareAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55}
	macB = net.HardwareAddr{0, 0x66, 0x77, 0x88, 0x99, 0xaa}
)

// tcpFrame serializes one Ethernet/IPv4/TCP frame.
func (c *capBuilder) tcpFrame(src, dst net.IP, sport, dport uint16, seq, ack uint32, flags string, payload []byte, opts ...layers.TCPOption) []byte {
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Flags: layers.IPv4DontFragment}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: seq, Ack: ack, Window: 65535, Options: opts}
	for _, f := range flags {
		switch f {
		case 'S':
			tcp.SYN = true
		case 'A':
			tcp.ACK = true
		case 'F':
			tcp.FIN = true
		case 'R':
			tcp.RST = true
		case 'P':
			tcp.PSH = true
		}
	}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	if err := gopacket.SerializeLayers(c.ser, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		panic(err)
	}
	return append([]byte(nil), c.ser.Bytes()...)
}

// conv is one TCP connection being written.
type conv struct {
	c          *capBuilder
	cli, srv   net.IP
	cport      uint16
	sport      uint16
	cseq, sseq uint32
}

func (c *capBuilder) conv(cli, srv string, cport, sport uint16, cisn, sisn uint32) *conv {
	return &conv{c: c, cli: net.ParseIP(cli).To4(), srv: net.ParseIP(srv).To4(), cport: cport, sport: sport, cseq: cisn, sseq: sisn}
}

func (v *conv) handshake() {
	v.c.raw(v.c.tcpFrame(v.cli, v.srv, v.cport, v.sport, v.cseq, 0, "S", nil))
	v.c.raw(v.c.tcpFrame(v.srv, v.cli, v.sport, v.cport, v.sseq, v.cseq+1, "SA", nil))
	v.cseq++
	v.sseq++
	v.c.raw(v.c.tcpFrame(v.cli, v.srv, v.cport, v.sport, v.cseq, v.sseq, "A", nil))
}

// send writes data from the client (toServer) or the server in segments
// of at most mss bytes, each acknowledged by the peer.
func (v *conv) send(toServer bool, data []byte, mss int) {
	for len(data) > 0 {
		n := min(mss, len(data))
		if toServer {
			v.c.raw(v.c.tcpFrame(v.cli, v.srv, v.cport, v.sport, v.cseq, v.sseq, "PA", data[:n]))
			v.cseq += uint32(n)
			v.c.raw(v.c.tcpFrame(v.srv, v.cli, v.sport, v.cport, v.sseq, v.cseq, "A", nil))
		} else {
			v.c.raw(v.c.tcpFrame(v.srv, v.cli, v.sport, v.cport, v.sseq, v.cseq, "PA", data[:n]))
			v.sseq += uint32(n)
			v.c.raw(v.c.tcpFrame(v.cli, v.srv, v.cport, v.sport, v.cseq, v.sseq, "A", nil))
		}
		data = data[n:]
	}
}

func (v *conv) fin() {
	v.c.raw(v.c.tcpFrame(v.cli, v.srv, v.cport, v.sport, v.cseq, v.sseq, "FA", nil))
	v.c.raw(v.c.tcpFrame(v.srv, v.cli, v.sport, v.cport, v.sseq, v.cseq+1, "FA", nil))
	v.c.raw(v.c.tcpFrame(v.cli, v.srv, v.cport, v.sport, v.cseq+1, v.sseq+1, "A", nil))
}

// run analyses the capture's bytes with opts, collecting every event.
func run(t testing.TB, b []byte, opts nettrace.Options) (*nettrace.Report, *health.Collector) {
	t.Helper()
	col := &health.Collector{}
	if opts.Reporter == nil {
		opts.Reporter = col
	}
	a, err := nettrace.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("adversarial", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	for _, e := range col.Events {
		if e.Kind == health.InternalError {
			t.Errorf("internal.error at frame %d: %s", e.Frame, e.Message)
		}
	}
	return rep, col
}

// recorder is a stream decoder that keeps every byte and gap it is given.
type recorder struct {
	data   [2][]byte
	gaps   [2]int
	closed int
}

func (r *recorder) Feed(d tcpstate.Dir, b []byte, _ tcpstate.Position) {
	r.data[d&1] = append(r.data[d&1], b...)
}
func (r *recorder) Gap(d tcpstate.Dir, n int, _ tcpstate.Position) { r.gaps[d&1] += n }
func (r *recorder) Close(tcpstate.CloseReason, tcpstate.Position)  { r.closed++ }

// recordOn returns a Decoder claiming port that records into *rs.
func recordOn(port uint16, rs *[]*recorder) nettrace.Decoder {
	return nettrace.Decoder{Name: "recorder", Ports: []uint16{port}, New: func(*tcpstate.StreamContext) tcpstate.StreamHandler {
		r := &recorder{}
		*rs = append(*rs, r)
		return r
	}}
}

// allocated returns the bytes allocated while f runs (runtime TotalAlloc).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// nopOptions returns n NOP options, to be overwritten in the frame bytes
// (at offset 14+20+20) by options gopacket would not serialize.
func nopOptions(n int) []layers.TCPOption {
	o := make([]layers.TCPOption, n)
	for i := range o {
		o[i].OptionType = layers.TCPOptionKindNop
	}
	return o
}
