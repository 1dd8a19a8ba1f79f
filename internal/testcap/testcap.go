// Package testcap reads small, clean test captures into per-connection byte
// streams for protocol-package tests, independently of tcpstate, so that a
// decoder can be tested on real traffic on its own. It uses gopacket
// directly and a naive reassembler (in-order segments only, retransmitted
// bytes dropped); it is not the product's tracker and must not be used
// outside tests.
package testcap

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"sort"
	"time"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Packet is one decoded frame of a test capture.
type Packet struct {
	Frame    int64
	Time     time.Time
	Src, Dst netip.AddrPort
	TCP      *glayers.TCP // nil unless TCP
	UDP      bool
	Payload  []byte
}

// Segment is a run of in-order payload bytes of one direction.
type Segment struct {
	ClientToServer bool
	Data           []byte
	Frame          int64
	Time           time.Time
}

// Stream is one TCP connection: its endpoints and its payload in capture
// order, both directions interleaved.
type Stream struct {
	Client, Server netip.AddrPort
	Segments       []Segment
}

// Bytes returns the concatenated payload of one direction.
func (s *Stream) Bytes(clientToServer bool) []byte {
	var b []byte
	for _, seg := range s.Segments {
		if seg.ClientToServer == clientToServer {
			b = append(b, seg.Data...)
		}
	}
	return b
}

// ReadPackets decodes every IPv4/IPv6 TCP or UDP frame of a pcap file.
func ReadPackets(path string) ([]Packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, err
	}
	var out []Packet
	var frame int64
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		frame++
		pkt := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		var src, dst netip.Addr
		switch ip := pkt.NetworkLayer().(type) {
		case *glayers.IPv4:
			src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		case *glayers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
		default:
			continue
		}
		p := Packet{Frame: frame, Time: ci.Timestamp}
		switch l := pkt.TransportLayer().(type) {
		case *glayers.TCP:
			p.TCP = l
			p.Src = netip.AddrPortFrom(src, uint16(l.SrcPort))
			p.Dst = netip.AddrPortFrom(dst, uint16(l.DstPort))
			p.Payload = l.Payload
		case *glayers.UDP:
			p.UDP = true
			p.Src = netip.AddrPortFrom(src, uint16(l.SrcPort))
			p.Dst = netip.AddrPortFrom(dst, uint16(l.DstPort))
			p.Payload = l.Payload
		default:
			continue
		}
		out = append(out, p)
	}
}

type key struct{ a, b netip.AddrPort }

type conn struct {
	stream  *Stream
	next    [2]uint32 // next expected seq per direction (0: client→server)
	started [2]bool
}

// ReadStreams returns the TCP connections of a pcap file in order of their
// first frame. A new SYN on a tuple starts a new connection.
func ReadStreams(path string) ([]*Stream, error) {
	pkts, err := ReadPackets(path)
	if err != nil {
		return nil, err
	}
	conns := map[key]*conn{}
	var out []*Stream
	for _, p := range pkts {
		if p.TCP == nil {
			continue
		}
		c := conns[key{p.Src, p.Dst}]
		if c == nil {
			c = conns[key{p.Dst, p.Src}]
		}
		if p.TCP.SYN && !p.TCP.ACK && (c == nil || c.started[0] && len(c.stream.Segments) > 0) {
			c = nil
		}
		if c == nil {
			client, server := p.Src, p.Dst
			if !p.TCP.SYN && p.Src.Port() < p.Dst.Port() {
				client, server = p.Dst, p.Src
			}
			if p.TCP.SYN && p.TCP.ACK {
				client, server = p.Dst, p.Src
			}
			c = &conn{stream: &Stream{Client: client, Server: server}}
			conns[key{client, server}] = c
			out = append(out, c.stream)
		}
		d := 0
		if p.Src != c.stream.Client {
			d = 1
		}
		seq := p.TCP.Seq
		if p.TCP.SYN {
			c.next[d] = seq + 1
			c.started[d] = true
			continue
		}
		if !c.started[d] {
			c.next[d] = seq
			c.started[d] = true
		}
		data := p.Payload
		if len(data) == 0 {
			continue
		}
		off := int32(c.next[d] - seq)
		if off < 0 || int(off) >= len(data) {
			continue // a gap or a full retransmission: tests use clean captures
		}
		data = data[off:]
		c.next[d] += uint32(len(data))
		c.stream.Segments = append(c.stream.Segments, Segment{
			ClientToServer: d == 0, Data: append([]byte(nil), data...), Frame: p.Frame, Time: p.Time,
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return firstFrame(out[i]) < firstFrame(out[j]) })
	return out, nil
}

func firstFrame(s *Stream) int64 {
	if len(s.Segments) == 0 {
		return 1 << 62
	}
	return s.Segments[0].Frame
}
