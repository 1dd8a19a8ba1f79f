package tcpstate

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"

	"github.com/nettrace/nettrace/layers"
)

// anaSynth builds a capture from figures (casebook cases without a real
// capture): each segment is serialized with gopacket (Ethernet, IPv4,
// TCP with options) and decoded back into a layers.Packet.
type anaSynth struct {
	t      testing.TB
	t0     time.Time
	frames []layers.Packet
}

// anaSeg describes one synthetic segment.
type anaSeg struct {
	at       time.Duration
	src, dst netip.AddrPort
	flags    string // letters: S A F R P
	seq, ack uint32
	payload  int
	win      uint16
	wscale   int // -1: none
	tsval    uint32
	tsecr    uint32
	sack     [][2]uint32
	ipLen    int // IPv4 total length override (0: computed)
}

func newAnaSynth(t testing.TB) *anaSynth {
	return &anaSynth{t: t, t0: time.Date(2012, 3, 14, 9, 30, 0, 0, time.UTC)}
}

// add serializes s and appends it as the next frame.
func (b *anaSynth) add(s anaSeg) {
	b.t.Helper()
	eth := &glayers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: glayers.EthernetTypeIPv4}
	ip := &glayers.IPv4{Version: 4, TTL: 64, Protocol: glayers.IPProtocolTCP,
		SrcIP: net.IP(s.src.Addr().AsSlice()), DstIP: net.IP(s.dst.Addr().AsSlice())}
	tcp := &glayers.TCP{SrcPort: glayers.TCPPort(s.src.Port()), DstPort: glayers.TCPPort(s.dst.Port()),
		Seq: s.seq, Ack: s.ack, Window: s.win}
	if s.win == 0 && s.flags != "R" {
		tcp.Window = 65535
	}
	for _, c := range s.flags {
		switch c {
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
	if tcp.SYN {
		tcp.Options = append(tcp.Options, glayers.TCPOption{OptionType: glayers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0x64}})
		if s.wscale >= 0 {
			tcp.Options = append(tcp.Options, glayers.TCPOption{OptionType: glayers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{byte(s.wscale)}})
		}
		tcp.Options = append(tcp.Options, glayers.TCPOption{OptionType: glayers.TCPOptionKindSACKPermitted, OptionLength: 2})
	}
	if s.tsval != 0 {
		d := make([]byte, 8)
		binary.BigEndian.PutUint32(d, s.tsval)
		binary.BigEndian.PutUint32(d[4:], s.tsecr)
		tcp.Options = append(tcp.Options, glayers.TCPOption{OptionType: glayers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d})
	}
	if len(s.sack) > 0 {
		d := make([]byte, 0, 8*len(s.sack))
		for _, blk := range s.sack {
			d = binary.BigEndian.AppendUint32(d, blk[0])
			d = binary.BigEndian.AppendUint32(d, blk[1])
		}
		tcp.Options = append(tcp.Options, glayers.TCPOption{OptionType: glayers.TCPOptionKindNop, OptionLength: 1},
			glayers.TCPOption{OptionType: glayers.TCPOptionKindNop, OptionLength: 1},
			glayers.TCPOption{OptionType: glayers.TCPOptionKindSACK, OptionLength: uint8(2 + len(d)), OptionData: d})
	}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		b.t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(make([]byte, s.payload))); err != nil {
		b.t.Fatal(err)
	}
	data := buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: b.t0.Add(s.at), CaptureLength: len(data), Length: len(data)}
	p, ok := anaDecode(data, glayers.LayerTypeEthernet, ci, int64(len(b.frames)+1))
	if !ok {
		b.t.Fatalf("synthetic frame %d does not decode", len(b.frames)+1)
	}
	b.frames = append(b.frames, p)
}

// frame returns the number of the last frame added.
func (b *anaSynth) frame() int64 { return int64(len(b.frames)) }
