// Package artefact rewrites a clean capture into the captures that
// capture artefacts make of the same traffic: taken on one side only,
// started mid-connection, filtered down to some segments, seen twice by two
// capture points, with checksums never computed or addresses rewritten,
// slightly reordered. Tests run the analysis on both and check that the
// artefact raises no finding the network did not cause (issue "Trustworthy
// on any capture").
//
// Every transform is deterministic and returns a new Capture; the input is
// not modified. Frames that are not IPv4/IPv6 over a link type the package
// reads (Ethernet, with 802.1Q tags, Linux cooked, raw IP, BSD loopback)
// are kept as they are.
package artefact

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"sort"
	"time"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace/layers"
)

// Capture is a whole capture in memory: its link type and its frames in
// file order.
type Capture struct {
	Link   glayers.LinkType
	Frames []Frame
}

// Frame is one frame with the positions of its IP and transport headers.
type Frame struct {
	Time time.Time
	Data []byte

	ip, l4     int // offsets of the IP and TCP/UDP headers, -1 when absent
	v6         bool
	proto      uint8
	src, dst   netip.AddrPort
	tcpFlags   uint8
	payloadLen int
}

// TCP flag bits (RFC 9293, 3.1).
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// Read reads a pcap or pcapng capture (optionally gzip-compressed) into
// memory. Frames of a link type other than the first frame's are dropped.
func Read(r io.Reader) (*Capture, error) {
	c, err := layers.NewCapture(r)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	out := &Capture{}
	for {
		f, err := c.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if len(out.Frames) == 0 {
			out.Link = f.LinkType
		} else if f.LinkType != out.Link {
			continue
		}
		out.Frames = append(out.Frames, parse(f.Time, append([]byte(nil), f.Data...), out.Link))
	}
}

// Bytes returns the capture as a classic pcap file (microsecond
// timestamps, snapshot length 262144).
func (c *Capture) Bytes() []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	_ = w.WriteFileHeader(262144, c.Link)
	for _, f := range c.Frames {
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: len(f.Data)}
		_ = w.WritePacket(ci, f.Data)
	}
	return b.Bytes()
}

// parse locates the IP and transport headers of data.
func parse(t time.Time, data []byte, link glayers.LinkType) Frame {
	f := Frame{Time: t, Data: data, ip: -1, l4: -1}
	p := gopacket.NewPacket(data, link, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
	offset := func(l gopacket.Layer) int { return cap(data) - cap(l.LayerContents()) }
	switch ip := p.NetworkLayer().(type) {
	case *glayers.IPv4:
		if ip.Flags&glayers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
			return f
		}
		f.ip, f.proto = offset(ip), uint8(ip.Protocol)
		f.src, f.dst = netip.AddrPortFrom(addr(ip.SrcIP), 0), netip.AddrPortFrom(addr(ip.DstIP), 0)
	case *glayers.IPv6:
		f.ip, f.v6, f.proto = offset(ip), true, uint8(ip.NextHeader)
		f.src, f.dst = netip.AddrPortFrom(addr(ip.SrcIP), 0), netip.AddrPortFrom(addr(ip.DstIP), 0)
	default:
		return f
	}
	switch l4 := p.TransportLayer().(type) {
	case *glayers.TCP:
		f.l4, f.payloadLen = offset(l4), len(l4.LayerPayload())
		f.src = netip.AddrPortFrom(f.src.Addr(), uint16(l4.SrcPort))
		f.dst = netip.AddrPortFrom(f.dst.Addr(), uint16(l4.DstPort))
		f.tcpFlags = data[offset(l4)+13]
	case *glayers.UDP:
		f.l4, f.payloadLen = offset(l4), len(l4.LayerPayload())
		f.src = netip.AddrPortFrom(f.src.Addr(), uint16(l4.SrcPort))
		f.dst = netip.AddrPortFrom(f.dst.Addr(), uint16(l4.DstPort))
	}
	return f
}

func addr(b []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(b)
	return a.Unmap()
}

func (f *Frame) isTCP() bool { return f.l4 >= 0 && f.proto == 6 }
func (f *Frame) isUDP() bool { return f.l4 >= 0 && f.proto == 17 }

// conn is a direction-free connection key.
type conn struct{ a, b netip.AddrPort }

func connOf(f *Frame) conn {
	if f.src.Compare(f.dst) < 0 {
		return conn{f.src, f.dst}
	}
	return conn{f.dst, f.src}
}

// servers returns, per TCP connection, its server endpoint: the receiver
// of the first SYN, else the endpoint with the lower port.
func (c *Capture) servers() map[conn]netip.AddrPort {
	out := map[conn]netip.AddrPort{}
	for i := range c.Frames {
		f := &c.Frames[i]
		if !f.isTCP() {
			continue
		}
		k := connOf(f)
		if _, ok := out[k]; ok {
			continue
		}
		switch {
		case f.tcpFlags&(flagSYN|flagACK) == flagSYN:
			out[k] = f.dst
		case f.tcpFlags&(flagSYN|flagACK) == flagSYN|flagACK:
			out[k] = f.src
		case f.src.Port() < f.dst.Port():
			out[k] = f.src
		default:
			out[k] = f.dst
		}
	}
	return out
}

// keep returns a capture with the frames for which keep is true.
func (c *Capture) keep(keep func(i int, f *Frame) bool) *Capture {
	out := &Capture{Link: c.Link}
	for i := range c.Frames {
		if keep(i, &c.Frames[i]) {
			out.Frames = append(out.Frames, c.Frames[i].clone())
		}
	}
	return out
}

func (f Frame) clone() Frame {
	f.Data = append([]byte(nil), f.Data...)
	return f
}

// OneSided keeps, of every TCP connection, only what one side sent: the
// client's packets (fromServer false) or the server's — a capture taken
// behind an asymmetric route or a one-way SPAN. Other frames are kept.
func OneSided(c *Capture, fromServer bool) *Capture {
	servers := c.servers()
	return c.keep(func(_ int, f *Frame) bool {
		if !f.isTCP() {
			return true
		}
		return (f.src == servers[connOf(f)]) == fromServer
	})
}

// StartAt drops the first n frames: a capture started in the middle of
// the connections.
func StartAt(c *Capture, n int) *Capture {
	return c.keep(func(i int, _ *Frame) bool { return i >= n })
}

// Filtered keeps, of every run of TCP data segments one side sends without
// an ACK-only packet in between, only the first segment, and every packet
// without data: a capture filtered (or sampled) down to some segments of
// each message.
func Filtered(c *Capture) *Capture {
	type dir struct{ src, dst netip.AddrPort }
	inRun := map[dir]bool{}
	return c.keep(func(_ int, f *Frame) bool {
		if !f.isTCP() {
			return true
		}
		inRun[dir{f.dst, f.src}] = false // anything from the peer ends its run
		if f.payloadLen == 0 {
			return true
		}
		d := dir{f.src, f.dst}
		first := !inRun[d]
		inRun[d] = true
		return first
	})
}

// Duplicated writes every frame twice, the second copy delay later (same IP
// ID, same payload): a capture merged from two capture points, or a SPAN
// port that copies both ingress and egress.
func Duplicated(c *Capture, delay time.Duration) *Capture {
	out := &Capture{Link: c.Link}
	for _, f := range c.Frames {
		d := f.clone()
		d.Time = d.Time.Add(delay)
		out.Frames = append(out.Frames, f.clone(), d)
	}
	sort.SliceStable(out.Frames, func(i, j int) bool { return out.Frames[i].Time.Before(out.Frames[j].Time) })
	return out
}

// ZeroChecksums sets every IPv4 header, TCP and UDP checksum to zero: never
// computed, as a capture on a host with checksum offload (or a crafted one)
// has them.
func ZeroChecksums(c *Capture) *Capture {
	return c.edit(func(f *Frame) {
		if f.ip >= 0 && !f.v6 && len(f.Data) >= f.ip+12 {
			f.Data[f.ip+10], f.Data[f.ip+11] = 0, 0
		}
		if at := f.checksumAt(); at >= 0 {
			f.Data[at], f.Data[at+1] = 0, 0
		}
	})
}

// RewriteAddresses moves every IPv4 address into 198.18.0.0/15 (keeping
// its last two bytes) without fixing a checksum: a capture anonymised or
// NATed by a tool that leaves the checksums stale.
func RewriteAddresses(c *Capture) *Capture {
	return c.edit(func(f *Frame) {
		if f.ip < 0 || f.v6 || len(f.Data) < f.ip+20 {
			return
		}
		for _, at := range []int{f.ip + 12, f.ip + 16} {
			f.Data[at], f.Data[at+1] = 198, 18|f.Data[at+1]&1
		}
		f.src = netip.AddrPortFrom(addr(f.Data[f.ip+12:f.ip+16]), f.src.Port())
		f.dst = netip.AddrPortFrom(addr(f.Data[f.ip+16:f.ip+20]), f.dst.Port())
	})
}

// Reordered swaps every other pair of consecutive data segments that one
// side of a TCP connection sends within gap of each other, so that the
// later one arrives first: reordering on the path, not loss.
func Reordered(c *Capture, gap time.Duration) *Capture {
	out := &Capture{Link: c.Link, Frames: make([]Frame, 0, len(c.Frames))}
	for _, f := range c.Frames {
		out.Frames = append(out.Frames, f.clone())
	}
	swapped := false
	for i := 0; i+1 < len(out.Frames); i++ {
		a, b := &out.Frames[i], &out.Frames[i+1]
		if !a.isTCP() || !b.isTCP() || a.payloadLen == 0 || b.payloadLen == 0 || a.src != b.src || a.dst != b.dst ||
			b.Time.Sub(a.Time) > gap || (a.tcpFlags|b.tcpFlags)&(flagSYN|flagFIN|flagRST) != 0 {
			continue
		}
		if swapped = !swapped; swapped {
			a.Time, b.Time = b.Time, a.Time
			*a, *b = *b, *a
			i++
		}
	}
	return out
}

// edit returns a copy of c with fn applied to every frame.
func (c *Capture) edit(fn func(f *Frame)) *Capture {
	out := &Capture{Link: c.Link}
	for _, f := range c.Frames {
		f = f.clone()
		fn(&f)
		out.Frames = append(out.Frames, f)
	}
	return out
}

// checksumAt returns the offset of the TCP or UDP checksum, -1 when the
// frame has none or is too short.
func (f *Frame) checksumAt() int {
	at := -1
	switch {
	case f.isTCP():
		at = f.l4 + 16
	case f.isUDP():
		at = f.l4 + 6
	}
	if at < 0 || len(f.Data) < at+2 {
		return -1
	}
	return at
}
