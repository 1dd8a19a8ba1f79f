package testcap

import (
	"bytes"
	"io"
	"net"
	"time"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Builder writes an Ethernet pcap into memory (or any io.Writer) with
// gopacket serialization and the pcapgo writer: test captures (adversarial
// ones among them) are generated, not stored. Buf holds the capture when no
// other writer was given to Reset; Now is the time of the last frame.
type Builder struct {
	Buf     bytes.Buffer
	w       *pcapgo.Writer
	Now     time.Time
	Snaplen int
	// Ends holds, for each frame written, the file offset just after it.
	Ends []int
	// Wrap, when set, rewrites each frame before it is written: to carry
	// the conversations a test writes in an encapsulation.
	Wrap func(frame []byte) []byte
	off  int
	ser  gopacket.SerializeBuffer
}

// NewBuilder returns a Builder of an Ethernet pcap with the snapshot length
// snaplen (0: 65535), whose first frame is at 2026-11-21 10:00:00.001 UTC.
func NewBuilder(snaplen int) *Builder {
	c := &Builder{Now: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), Snaplen: snaplen, ser: gopacket.NewSerializeBuffer()}
	c.Reset(&c.Buf)
	return c
}

// Reset starts a pcap on w (used to stream to a pipe).
func (c *Builder) Reset(w io.Writer) {
	c.w = pcapgo.NewWriter(w)
	sl := c.Snaplen
	if sl == 0 {
		sl = 65535
	}
	if err := c.w.WriteFileHeader(uint32(sl), glayers.LinkTypeEthernet); err != nil {
		panic(err)
	}
	c.off = 24
}

// Raw writes one frame, cut to the snapshot length.
func (c *Builder) Raw(frame []byte) {
	if c.Wrap != nil {
		frame = c.Wrap(frame)
	}
	c.Now = c.Now.Add(time.Millisecond)
	capLen := len(frame)
	if c.Snaplen > 0 && capLen > c.Snaplen {
		capLen = c.Snaplen
	}
	ci := gopacket.CaptureInfo{Timestamp: c.Now, CaptureLength: capLen, Length: len(frame)}
	if err := c.w.WritePacket(ci, frame[:capLen]); err != nil {
		panic(err)
	}
	c.off += 16 + capLen
	c.Ends = append(c.Ends, c.off)
}

// MACA and MACB are the Ethernet addresses of the frames a Builder writes.
var (
	MACA = net.HardwareAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55}
	MACB = net.HardwareAddr{0, 0x66, 0x77, 0x88, 0x99, 0xaa}
)

// TCPFrame serializes one Ethernet/IPv4/TCP frame.
func (c *Builder) TCPFrame(src, dst net.IP, sport, dport uint16, seq, ack uint32, flags string, payload []byte, opts ...glayers.TCPOption) []byte {
	eth := &glayers.Ethernet{SrcMAC: MACA, DstMAC: MACB, EthernetType: glayers.EthernetTypeIPv4}
	ip := &glayers.IPv4{Version: 4, TTL: 64, Protocol: glayers.IPProtocolTCP, SrcIP: src, DstIP: dst, Flags: glayers.IPv4DontFragment}
	tcp := &glayers.TCP{SrcPort: glayers.TCPPort(sport), DstPort: glayers.TCPPort(dport), Seq: seq, Ack: ack, Window: 65535, Options: opts}
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

// UDPFrame serializes one Ethernet/IPv4/UDP frame.
func (c *Builder) UDPFrame(src, dst net.IP, sport, dport uint16, payload []byte) []byte {
	eth := &glayers.Ethernet{SrcMAC: MACA, DstMAC: MACB, EthernetType: glayers.EthernetTypeIPv4}
	ip := &glayers.IPv4{Version: 4, TTL: 64, Protocol: glayers.IPProtocolUDP, SrcIP: src.To4(), DstIP: dst.To4()}
	udp := &glayers.UDP{SrcPort: glayers.UDPPort(sport), DstPort: glayers.UDPPort(dport)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	if err := gopacket.SerializeLayers(c.ser, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(payload)); err != nil {
		panic(err)
	}
	return append([]byte(nil), c.ser.Bytes()...)
}

// Conv is one TCP connection being written.
type Conv struct {
	c          *Builder
	Cli, Srv   net.IP
	CPort      uint16
	SPort      uint16
	CSeq, SSeq uint32 // the next sequence number of each side
}

// Conv starts a connection from cli:cport to srv:sport with the ISNs
// cisn and sisn; nothing is written until its methods are called.
func (c *Builder) Conv(cli, srv string, cport, sport uint16, cisn, sisn uint32) *Conv {
	return &Conv{c: c, Cli: net.ParseIP(cli).To4(), Srv: net.ParseIP(srv).To4(), CPort: cport, SPort: sport, CSeq: cisn, SSeq: sisn}
}

// Handshake writes the three-way handshake.
func (v *Conv) Handshake() {
	v.c.Raw(v.c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, 0, "S", nil))
	v.c.Raw(v.c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, v.SSeq, v.CSeq+1, "SA", nil))
	v.CSeq++
	v.SSeq++
	v.c.Raw(v.c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "A", nil))
}

// Send writes data from the client (toServer) or the server in segments
// of at most mss bytes, each acknowledged by the peer.
func (v *Conv) Send(toServer bool, data []byte, mss int) {
	for len(data) > 0 {
		n := min(mss, len(data))
		if toServer {
			v.c.Raw(v.c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "PA", data[:n]))
			v.CSeq += uint32(n)
			v.c.Raw(v.c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, v.SSeq, v.CSeq, "A", nil))
		} else {
			v.c.Raw(v.c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, v.SSeq, v.CSeq, "PA", data[:n]))
			v.SSeq += uint32(n)
			v.c.Raw(v.c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "A", nil))
		}
		data = data[n:]
	}
}

// Fin writes FIN, FIN and the last ACK.
func (v *Conv) Fin() {
	v.c.Raw(v.c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq, v.SSeq, "FA", nil))
	v.c.Raw(v.c.TCPFrame(v.Srv, v.Cli, v.SPort, v.CPort, v.SSeq, v.CSeq+1, "FA", nil))
	v.c.Raw(v.c.TCPFrame(v.Cli, v.Srv, v.CPort, v.SPort, v.CSeq+1, v.SSeq+1, "A", nil))
}
