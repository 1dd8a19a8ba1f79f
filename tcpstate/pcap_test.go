package tcpstate

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace/layers"
)

// sharedDir returns ../shared relative to the repository root, or skips.
func sharedDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared captures not available: %v", err)
	}
	return dir
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// readPackets decodes the TCP frames of a pcap or pcapng file into
// layers.Packet values with gopacket (independently of the layers decoder),
// numbering frames as tshark does. Each packet owns its bytes.
func readPackets(t testing.TB, path string) []layers.Packet {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var src packetSource
	var link glayers.LinkType
	if r, err := pcapgo.NewReader(bytes.NewReader(raw)); err == nil {
		src, link = r, r.LinkType()
	} else if r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions); err == nil {
		src, link = r, r.LinkType()
	} else {
		t.Fatalf("%s: not a capture: %v", path, err)
	}
	var out []layers.Packet
	var frame int64
	for {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, frame+1, err)
		}
		frame++
		if p, ok := decodeFrame(data, link, ci, frame); ok {
			out = append(out, p)
		}
	}
}

// decodeFrame converts one frame to a layers.Packet with gopacket; ok is
// false for frames that are not unfragmented TCP over IP.
func decodeFrame(data []byte, link gopacket.Decoder, ci gopacket.CaptureInfo, frame int64) (layers.Packet, bool) {
	pkt := gopacket.NewPacket(data, link, gopacket.DecodeOptions{Lazy: false, NoCopy: true})
	p := layers.Packet{Frame: frame, Time: ci.Timestamp, CapLen: len(data), WireLen: ci.Length}
	ipLen := -1
	hdr := 0
	switch ip := pkt.NetworkLayer().(type) {
	case *glayers.IPv4:
		p.Network = 4
		p.Src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		p.Dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		p.IPProto = uint8(ip.Protocol)
		if ip.Length != 0 {
			ipLen = int(ip.Length)
			hdr = int(ip.IHL) * 4
		}
		if ip.Flags&glayers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return layers.Packet{}, false // tests use unfragmented TCP
		}
	case *glayers.IPv6:
		p.Network = 6
		p.Src, _ = netip.AddrFromSlice(ip.SrcIP)
		p.Dst, _ = netip.AddrFromSlice(ip.DstIP)
		p.IPProto = uint8(ip.NextHeader)
	default:
		return layers.Packet{}, false
	}
	tcp, ok := pkt.TransportLayer().(*glayers.TCP)
	if !ok {
		return layers.Packet{}, false
	}
	p.Transport = layers.TransportTCP
	h := &p.TCP
	h.SrcPort, h.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
	h.Seq, h.Ack, h.Window, h.DataOffset = tcp.Seq, tcp.Ack, tcp.Window, tcp.DataOffset
	h.WindowScale = -1
	for _, f := range []struct {
		on bool
		f  layers.TCPFlags
	}{{tcp.FIN, layers.FlagFIN}, {tcp.SYN, layers.FlagSYN}, {tcp.RST, layers.FlagRST},
		{tcp.PSH, layers.FlagPSH}, {tcp.ACK, layers.FlagACK}, {tcp.URG, layers.FlagURG},
		{tcp.ECE, layers.FlagECE}, {tcp.CWR, layers.FlagCWR}, {tcp.NS, layers.FlagNS}} {
		if f.on {
			h.Flags |= f.f
		}
	}
	for _, o := range tcp.Options {
		switch o.OptionType {
		case glayers.TCPOptionKindMSS:
			if len(o.OptionData) == 2 {
				h.MSS = uint16(o.OptionData[0])<<8 | uint16(o.OptionData[1])
			}
		case glayers.TCPOptionKindWindowScale:
			if len(o.OptionData) == 1 {
				h.WindowScale = int8(o.OptionData[0])
			}
		case glayers.TCPOptionKindSACKPermitted:
			h.SACKPermitted = true
		case glayers.TCPOptionKindTimestamps:
			if d := o.OptionData; len(d) == 8 {
				h.HasTimestamps = true
				h.TSval = uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])
				h.TSecr = uint32(d[4])<<24 | uint32(d[5])<<16 | uint32(d[6])<<8 | uint32(d[7])
			}
		case glayers.TCPOptionKindSACK:
			d := o.OptionData
			for len(d) >= 8 && h.NumSACK < 4 {
				l := uint32(d[0])<<24 | uint32(d[1])<<16 | uint32(d[2])<<8 | uint32(d[3])
				r := uint32(d[4])<<24 | uint32(d[5])<<16 | uint32(d[6])<<8 | uint32(d[7])
				h.SACK[h.NumSACK] = layers.SACKBlock{Left: l, Right: r}
				h.NumSACK++
				d = d[8:]
			}
		}
	}
	p.Payload = append([]byte(nil), tcp.Payload...)
	p.PayloadLen = len(p.Payload)
	if ipLen >= 0 {
		if n := ipLen - hdr - int(tcp.DataOffset)*4; n > p.PayloadLen {
			p.PayloadLen = n
			p.Truncated = true
		}
	}
	return p, true
}
