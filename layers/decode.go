package layers

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"golang.org/x/crypto/cryptobyte"

	"github.com/nettrace/nettrace/health"
)

// Link types (https://www.tcpdump.org/linktypes.html).
const (
	linkNull     = uint16(glayers.LinkTypeNull)     // 0: BSD loopback, host byte order
	linkEthernet = uint16(glayers.LinkTypeEthernet) // 1
	linkRaw      = uint16(glayers.LinkTypeRaw)      // 101: raw IPv4/IPv6
	linkLoop     = uint16(glayers.LinkTypeLoop)     // 108: OpenBSD loopback, network byte order
	linkSLL      = uint16(glayers.LinkTypeLinuxSLL) // 113
	linkIPv4     = uint16(glayers.LinkTypeIPv4)     // 228
	linkIPv6     = uint16(glayers.LinkTypeIPv6)     // 229
	linkDLTRaw12 = 12                               // DLT_RAW on most BSDs, as tshark reads it
	linkDLTRaw14 = 14                               // DLT_RAW on OpenBSD
)

// sll2HeaderLen is the length of a LINKTYPE_LINUX_SLL2 header
// (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html): protocol
// type (2), reserved (2), interface index (4), ARPHRD type (2), packet type
// (1), address length (1), address (8).
const sll2HeaderLen = 20

// feedback is the gopacket.DecodeFeedback the Decoder passes to layers.
type feedback struct{ truncated bool }

// SetTruncated implements gopacket.DecodeFeedback.
func (f *feedback) SetTruncated() { f.truncated = true }

// Decoder turns Frames into Packets. It reuses one Packet, one set of
// gopacket layers and its reassembly buffers for every frame; it is not safe
// for concurrent use. Events go to the Reporter given to NewDecoder.
type Decoder struct {
	rep health.Reporter
	lim Limits

	// Preallocated gopacket layers (DecodingLayers) and parsers over them,
	// one per first layer.
	eth   glayers.Ethernet
	dot1q glayers.Dot1Q
	sll   glayers.LinuxSLL
	loop  glayers.Loopback
	ip4   glayers.IPv4
	ip6   glayers.IPv6
	udp   glayers.UDP

	pEth, pSLL, pLoop, pIP4, pIP6 *gopacket.DecodingLayerParser
	decoded                       []gopacket.LayerType
	df                            feedback

	pkt    Packet
	frame  *Frame
	frames []int64 // backing array of Packet.FragFrames
	l4seg  []byte  // the transport message whose checksum was verified
	ipData []byte  // the bytes the IPv4 layer was decoded from

	depth            int // encapsulations decoded by hand in the current frame (encap.go)
	undecoded        map[undecodedKey]undecodedCount
	undecodedFlushed UndecodedStats // the counts of the last Flush
	analysed         int64          // frames Decode returned a Packet for, since the last Flush
	snaplenSeen      bool
	tsoFlows         map[Flow]struct{}
	defrag           defragger

	// Checksum verdict (checksum_verdict.go).
	ipSum, l4Sum uint16                   // folded sums of the current packet's wrong IPv4 header / transport checksum
	sum          sumCounts                // frames of the capture so far
	sumFrame     int64                    // the last fragment counted (its frame is checked again if it completes a datagram)
	sumBits      sumBits                  // what was counted for sumFrame
	sources      map[netip.Addr]*srcState // per source address, up to Limits.MaxTracked
	srcCache     [2]srcEntry              // the two latest sources classified
	srcLast      uint8                    // index of the srcCache entry used last
	untracked    srcState                 // scratch state of a source over Limits.MaxTracked
	flushed      ChecksumStats            // the verdict of the last Flush
}

// NewDecoder returns a Decoder that reports events to rep (health.Discard
// when nil) and bounds its state by lim (zero fields take their defaults).
func NewDecoder(rep health.Reporter, lim Limits) *Decoder {
	if rep == nil {
		rep = health.Discard
	}
	d := &Decoder{
		rep:       rep,
		lim:       lim.withDefaults(),
		decoded:   make([]gopacket.LayerType, 0, 16),
		undecoded: make(map[undecodedKey]undecodedCount),
		tsoFlows:  make(map[Flow]struct{}),
		sources:   make(map[netip.Addr]*srcState),
	}
	d.defrag.init(d.lim)
	mk := func(first gopacket.LayerType) *gopacket.DecodingLayerParser {
		p := gopacket.NewDecodingLayerParser(first)
		p.SetDecodingLayerContainer(gopacket.DecodingLayerSparse(nil))
		for _, l := range []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.sll, &d.loop, &d.ip4, &d.ip6} {
			p.AddDecodingLayer(l)
		}
		// Transport, ARP and IPv6 extension headers are decoded by hand
		// after the parser stops at them.
		p.IgnoreUnsupported = true
		return p
	}
	d.pEth = mk(glayers.LayerTypeEthernet)
	d.pSLL = mk(glayers.LayerTypeLinuxSLL)
	d.pLoop = mk(glayers.LayerTypeLoopback)
	d.pIP4 = mk(glayers.LayerTypeIPv4)
	d.pIP6 = mk(glayers.LayerTypeIPv6)
	return d
}

// Decode decodes f into the Decoder's Packet and returns it, or returns
// false when the frame holds nothing to analyse: not IP or ARP, malformed
// (a capture.decode_error event was emitted), or an IP fragment still
// waiting for the rest of its datagram. When a fragment completes a
// datagram, the returned Packet is the reassembled datagram (Reassembled,
// FragFrames) in the frame of its last fragment. An IP packet whose
// transport Decode does not handle is returned with TransportNone.
//
// The Packet, its Payload and Raw are valid until the next call.
func (d *Decoder) Decode(f *Frame) (*Packet, bool) {
	p, ok := d.decode(f)
	if ok {
		d.analysed++
	}
	return p, ok
}

// decode is Decode without the count of frames analysed.
func (d *Decoder) decode(f *Frame) (*Packet, bool) {
	d.defrag.releasePending()
	d.expireFragments(f.Time)
	d.frame = f
	d.l4seg = nil
	d.depth = 0
	p := &d.pkt
	// Cleared in place and filled field by field: a composite literal
	// would build the 472-byte Packet on the stack and copy it.
	*p = Packet{}
	p.Frame, p.Time, p.CapLen, p.WireLen, p.Raw = f.Number, f.Time, f.CapLen, f.WireLen, f.Data
	if f.WireLen > f.CapLen {
		p.Truncated = true
		if !d.snaplenSeen {
			d.snaplenSeen = true
			d.event(health.CaptureSnaplen, "", fmt.Sprintf("frame %d was cut to %d of its %d bytes by the capture's snapshot length; payload beyond it is treated as missing (reported once per capture)", f.Number, f.CapLen, f.WireLen),
				map[string]any{"captured": f.CapLen, "original": f.WireLen})
		}
	}
	data := f.Data
	lt := f.linkType()
	switch lt {
	case linkEthernet:
		return d.link(d.pEth, glayers.LayerTypeEthernet, data)
	case linkSLL:
		return d.link(d.pSLL, glayers.LayerTypeLinuxSLL, data)
	case linkNull, linkLoop:
		return d.link(d.pLoop, glayers.LayerTypeLoopback, data)
	case linkRaw, linkIPv4, linkIPv6, linkDLTRaw12, linkDLTRaw14:
		return d.rawIP(data)
	case LinkTypeLinuxSLL2:
		return d.sll2(data)
	}
	d.notDecoded(undecodedLinkType, uint32(lt))
	return nil, false
}

// rawIP decodes a frame that starts with an IP header (LINKTYPE_RAW,
// LINKTYPE_IPV4, LINKTYPE_IPV6): the version nibble picks the parser.
func (d *Decoder) rawIP(data []byte) (*Packet, bool) {
	if len(data) == 0 {
		d.decodeError("ip", "empty frame")
		return nil, false
	}
	switch data[0] >> 4 {
	case 4:
		return d.link(d.pIP4, glayers.LayerTypeIPv4, data)
	case 6:
		return d.link(d.pIP6, glayers.LayerTypeIPv6, data)
	}
	d.decodeError("ip", fmt.Sprintf("IP version %d", data[0]>>4))
	return nil, false
}

// sll2 decodes the Linux cooked-mode v2 header, which gopacket v1.1.19 does
// not know, and continues with the protocol it names.
func (d *Decoder) sll2(data []byte) (*Packet, bool) {
	s := cryptobyte.String(data)
	var proto uint16
	if !s.ReadUint16(&proto) || !s.Skip(sll2HeaderLen-2) {
		d.decodeError("sll2", fmt.Sprintf("header needs %d bytes, frame has %d", sll2HeaderLen, len(data)))
		return nil, false
	}
	return d.etherPayload(proto, []byte(s))
}

// link runs a gopacket parser over the link and IP layers and continues
// with what it stopped at.
func (d *Decoder) link(parser *gopacket.DecodingLayerParser, first gopacket.LayerType, data []byte) (*Packet, bool) {
	d.decoded = d.decoded[:0]
	err := parser.DecodeLayers(data, &d.decoded)
	if err != nil {
		failed := first // nothing decoded: the first layer failed
		if n := len(d.decoded); n > 0 {
			failed = d.layer(d.decoded[n-1]).NextLayerType()
		}
		if parser.Truncated && d.pkt.Truncated {
			return nil, false // header cut by the snapshot length
		}
		d.decodeError(failed.String(), err.Error())
		return nil, false
	}
	// The last IP layer wins: IP-in-IP tunnels are analysed by their inner
	// packet, whose header the shared layer struct holds.
	for i := len(d.decoded) - 1; i >= 0; i-- {
		switch d.decoded[i] {
		case glayers.LayerTypeIPv4:
			d.ipData = data
			if i > 0 {
				d.markEncaps(i)
				d.ipData = d.layer(d.decoded[i-1]).LayerPayload()
				if d.decoded[i-1] == glayers.LayerTypeIPv4 { // IPv4 in IPv4: the outer header was overwritten
					d.ipData = nil
				}
			}
			return d.ipv4()
		case glayers.LayerTypeIPv6:
			if i > 0 {
				d.markEncaps(i)
			}
			return d.ipv6()
		}
	}
	n := len(d.decoded)
	if n == 0 {
		d.notDecoded(undecodedOther, 0)
		return nil, false
	}
	last := d.decoded[n-1]
	d.markEncaps(n)
	etype, payload, what := d.linkEtherType(last)
	if what != undecodedEtherType {
		d.notDecoded(what, uint32(etype))
		return nil, false
	}
	return d.etherPayload(etype, payload)
}

// markEncaps records the encapsulations gopacket's parser decoded before
// its layer i: VLAN tags, and an outer IP header.
func (d *Decoder) markEncaps(i int) {
	for _, t := range d.decoded[:i] {
		switch t {
		case glayers.LayerTypeDot1Q:
			d.pkt.Encap |= EncapVLAN
		case glayers.LayerTypeIPv4, glayers.LayerTypeIPv6:
			d.pkt.Encap |= EncapIPinIP
		}
	}
}

// layer returns the preallocated layer of type t.
func (d *Decoder) layer(t gopacket.LayerType) gopacket.DecodingLayer {
	switch t {
	case glayers.LayerTypeEthernet:
		return &d.eth
	case glayers.LayerTypeDot1Q:
		return &d.dot1q
	case glayers.LayerTypeLinuxSLL:
		return &d.sll
	case glayers.LayerTypeLoopback:
		return &d.loop
	case glayers.LayerTypeIPv4:
		return &d.ip4
	}
	return &d.ip6
}

// ipv4 continues after the parser decoded an IPv4 header into d.ip4.
func (d *Decoder) ipv4() (*Packet, bool) {
	p := &d.pkt
	ip := &d.ip4
	hdr := ip.Contents
	p.Network = 4
	p.Src = netip.AddrFrom4([4]byte(ip.SrcIP))
	p.Dst = netip.AddrFrom4([4]byte(ip.DstIP))
	p.IPProto = uint8(ip.Protocol)
	p.TTL = ip.TTL
	p.IPID = uint32(ip.Id)
	p.DF = ip.Flags&glayers.IPv4DontFragment != 0
	p.IPLen = int(binary.BigEndian.Uint16(hdr[2:4])) // as on the wire, before gopacket's TSO fix-up
	declared := int(ip.Length) - len(hdr)
	payload := ip.Payload
	if p.IPLen == 0 {
		// RFC 791 forbids 0; a sender-side capture shows it on TSO/LSO
		// super-segments whose length does not fit 16 bits (C10). Like
		// tshark, take the length from the capture (gopacket's own fix-up
		// truncates it to 16 bits).
		p.TSO = true
		if len(d.ipData) >= len(hdr) {
			payload = d.ipData[len(hdr):]
		}
		declared = len(payload)
		if p.Truncated {
			declared = f16(d.frame.WireLen - (d.frame.CapLen - len(payload)))
		}
	} else if declared > len(ip.Payload) && !p.Truncated {
		d.decodeError("ipv4", fmt.Sprintf("total length %d exceeds the %d bytes in the frame", p.IPLen, len(hdr)+len(ip.Payload)))
		return nil, false
	}
	if !d.lim.SkipChecksums {
		p.IPChecksum = ChecksumGood
		if sum := fold(onesSum(hdr, 0)); sum != 0xffff {
			d.ipSum = sum
			p.IPChecksum = ChecksumBad
			if hdr[10]|hdr[11] == 0 { // RFC 791, 3.1: header checksum field
				p.IPChecksum = ChecksumNotComputed
			}
		}
	}
	if ip.Flags&glayers.IPv4MoreFragments != 0 || ip.FragOffset != 0 {
		p.Fragment = true
		d.checkChecksums()
		if p.Truncated || declared > len(ip.Payload) {
			return nil, false // a cut fragment cannot be reassembled
		}
		key := fragKey{src: p.Src, dst: p.Dst, id: p.IPID, proto: p.IPProto}
		buf, _, ok := d.reassemble(key, int(ip.FragOffset)*8, ip.Flags&glayers.IPv4MoreFragments != 0, ip.Payload[:declared], p.IPProto)
		if !ok {
			return nil, false
		}
		p.Fragment = false
		p.Reassembled = true
		p.IPLen = len(hdr) + len(buf)
		p.IPChecksum = ChecksumUnchecked // one header per fragment: already classified
		return d.transport(p.IPProto, buf, len(buf))
	}
	pk, ok := d.transport(p.IPProto, payload, declared)
	if ok && p.TSO {
		d.tsoEvent()
	}
	return pk, ok
}

// ipv6 continues after the parser decoded an IPv6 header into d.ip6: it
// walks the extension headers (RFC 8200, 4) up to the transport.
func (d *Decoder) ipv6() (*Packet, bool) {
	p := &d.pkt
	ip := &d.ip6
	p.Network = 6
	p.Src = netip.AddrFrom16([16]byte(ip.SrcIP))
	p.Dst = netip.AddrFrom16([16]byte(ip.DstIP))
	p.TTL = ip.HopLimit
	p.IPLen = int(ip.Length) + 40
	next := uint8(ip.NextHeader)
	declared := int(ip.Length)
	if ip.HopByHop != nil {
		next = uint8(ip.HopByHop.NextHeader)
		declared -= ip.HopByHop.ActualLength
		if ip.Length == 0 { // jumbogram (RFC 2675): length from the option, cut to the capture
			declared = len(ip.Payload)
		}
	}
	if declared > len(ip.Payload) && !p.Truncated {
		d.decodeError("ipv6", fmt.Sprintf("payload length %d exceeds the %d bytes in the frame", ip.Length, len(ip.Contents)+len(ip.Payload)))
		return nil, false
	}
	return d.ipv6Ext(next, ip.Payload, declared, p.IPLen-declared)
}

// ipv6Ext walks IPv6 extension headers starting with next over b, of which
// declared bytes are announced by the IP header; hdrLen counts the bytes
// before b (for IPLen after reassembly).
func (d *Decoder) ipv6Ext(next uint8, b []byte, declared, hdrLen int) (*Packet, bool) {
	p := &d.pkt
	for i := 0; ; i++ {
		if i > d.lim.MaxExtHeaders {
			d.decodeError("ipv6", fmt.Sprintf("more than %d extension headers", d.lim.MaxExtHeaders))
			return nil, false
		}
		var n int
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination options, mobility, HIP, shim6
			if len(b) >= 2 {
				n = (int(b[1]) + 1) * 8
			}
		case 51: // AH (RFC 4302, 2.2): length in 4-octet units minus 2
			if len(b) >= 2 {
				n = (int(b[1]) + 2) * 4
			}
		case 44: // fragment (RFC 8200, 4.5)
			return d.ipv6Fragment(b, declared, hdrLen)
		case 59: // no next header
			p.IPProto = next
			return p, true
		default:
			p.IPProto = next
			return d.transport(next, b, declared)
		}
		s := cryptobyte.String(b)
		var nh uint8
		if n == 0 || !s.ReadUint8(&nh) || !s.Skip(n-1) {
			p.IPProto = next
			if p.Truncated {
				return p, true // IP addresses known; the rest was not captured
			}
			d.decodeError("ipv6", fmt.Sprintf("extension header %d of %d bytes exceeds the %d left", next, n, len(b)))
			return nil, false
		}
		next = nh
		b = []byte(s)
		declared -= n
		hdrLen += n
	}
}

// ipv6Fragment handles a fragment header at the front of b.
func (d *Decoder) ipv6Fragment(b []byte, declared, hdrLen int) (*Packet, bool) {
	p := &d.pkt
	s := cryptobyte.String(b)
	var nh, reserved uint8
	var offM uint16
	var id uint32
	if !s.ReadUint8(&nh) || !s.ReadUint8(&reserved) || !s.ReadUint16(&offM) || !s.ReadUint32(&id) {
		p.IPProto = 44
		if p.Truncated {
			return p, true
		}
		d.decodeError("ipv6 fragment", fmt.Sprintf("fragment header needs 8 bytes, %d left", len(b)))
		return nil, false
	}
	off, more := int(offM&0xfff8), offM&1 != 0
	p.IPID = id
	rest, restDeclared := []byte(s), declared-8
	if off == 0 && !more { // atomic fragment (RFC 6946): not really fragmented
		return d.ipv6Ext(nh, rest, restDeclared, hdrLen+8)
	}
	p.Fragment = true
	p.IPProto = nh
	d.checkChecksums()
	if p.Truncated || restDeclared > len(rest) || restDeclared < 0 {
		return nil, false
	}
	key := fragKey{src: p.Src, dst: p.Dst, id: id, v6: true}
	buf, firstNH, ok := d.reassemble(key, off, more, rest[:restDeclared], nh)
	if !ok {
		return nil, false
	}
	p.Fragment = false
	p.Reassembled = true
	p.IPLen = hdrLen + 8 + len(buf)
	return d.ipv6Ext(firstNH, buf, len(buf), hdrLen+8)
}

// transport decodes the transport header at the front of b; declared is
// the transport length the IP header announces (len(b) is smaller when the
// frame was cut by the snapshot length).
func (d *Decoder) transport(proto uint8, b []byte, declared int) (*Packet, bool) {
	p := &d.pkt
	p.IPProto = proto
	var ok bool
	switch proto {
	case ProtoTCP:
		ok = d.decodeTCP(b, declared)
	case ProtoUDP:
		ok = d.decodeUDP(b, declared)
		if ok && isVXLAN(p) && !p.Truncated {
			return d.vxlan(p.Payload)
		}
	case ProtoICMP:
		if p.Network != 4 {
			return p, true
		}
		ok = d.decodeICMP(b, declared)
	case ProtoICMPv6:
		if p.Network != 6 {
			return p, true
		}
		ok = d.decodeICMP(b, declared)
	default:
		if pk, decoded, tunnel := d.tunnel(proto, b[:min(len(b), declared)]); tunnel {
			return pk, decoded
		}
		d.checkChecksums()
		return p, true
	}
	if !ok {
		return nil, false
	}
	d.checkChecksums()
	return p, true
}

// decodeTCP fills p.TCP from the TCP header at the front of b (RFC 9293,
// 3.1). It reports false for a header that can never be valid.
func (d *Decoder) decodeTCP(b []byte, declared int) bool {
	p := &d.pkt
	// The fixed header is read here rather than by gopacket's TCP layer,
	// which would also parse the options that parseTCPOptions reads: a
	// bad option must not lose the header, and a header cut by the
	// snapshot length is not an error.
	if len(b) < 20 {
		if p.Truncated && declared >= 20 {
			p.Transport = TransportNone // ports not captured
			return true
		}
		d.decodeError("tcp", fmt.Sprintf("header needs 20 bytes, %d available", len(b)))
		return false
	}
	fixed := (*[20]byte)(b)
	dataOffset := fixed[12] >> 4
	hlen := int(dataOffset) * 4
	if dataOffset < 5 || hlen > declared {
		d.decodeError("tcp", fmt.Sprintf("data offset %d (%d bytes) outside the %d-byte segment", dataOffset, hlen, declared))
		return false
	}
	h := &p.TCP
	*h = TCPHeader{
		SrcPort:     binary.BigEndian.Uint16(fixed[0:2]),
		DstPort:     binary.BigEndian.Uint16(fixed[2:4]),
		Seq:         binary.BigEndian.Uint32(fixed[4:8]),
		Ack:         binary.BigEndian.Uint32(fixed[8:12]),
		Flags:       TCPFlags(fixed[13]) | TCPFlags(fixed[12]&1)<<8,
		Window:      binary.BigEndian.Uint16(fixed[14:16]),
		DataOffset:  dataOffset,
		WindowScale: -1,
	}
	p.Transport = TransportTCP
	opts := b[20:min(hlen, len(b))] // shorter when cut by the snapshot length (p.Truncated)
	if msg := parseTCPOptions(opts, h, hlen > len(b)); msg != "" {
		d.decodeError("tcp options", msg) // the header itself is kept
	}
	p.PayloadLen = declared - hlen
	if hlen <= len(b) {
		p.Payload = b[hlen:min(len(b), declared)]
	}
	if !d.lim.SkipChecksums && len(b) >= declared && !p.Truncated {
		p.L4Checksum = d.l4Checksum(ProtoTCP, b[:declared])
	}
	return true
}

// decodeUDP fills p.UDP from the UDP header at the front of b (RFC 768).
func (d *Decoder) decodeUDP(b []byte, declared int) bool {
	p := &d.pkt
	u := &d.udp
	err := u.DecodeFromBytes(b, &d.df)
	if len(b) < 8 {
		if p.Truncated && declared >= 8 {
			return true
		}
		d.decodeError("udp", fmt.Sprintf("header needs 8 bytes, %d available", len(b)))
		return false
	}
	if err != nil { // length 1..7
		d.decodeError("udp", err.Error())
		return false
	}
	p.Transport = TransportUDP
	p.UDP = UDPHeader{SrcPort: uint16(u.SrcPort), DstPort: uint16(u.DstPort), Length: u.Length}
	ulen := int(u.Length)
	if ulen == 0 { // jumbogram (RFC 2675, 4)
		ulen = declared
	}
	if ulen > declared {
		d.decodeError("udp", fmt.Sprintf("length %d exceeds the %d bytes of the IP payload", ulen, declared))
		ulen = declared
	}
	p.PayloadLen = ulen - 8
	p.Payload = b[8:min(len(b), ulen)]
	if !d.lim.SkipChecksums && len(b) >= ulen && !p.Truncated {
		if u.Checksum == 0 {
			p.L4Checksum = ChecksumUnchecked // RFC 768: no checksum
		} else {
			p.L4Checksum = d.l4Checksum(ProtoUDP, b[:ulen])
		}
	}
	return true
}

// parseTCPOptions reads TCP options (RFC 9293, 3.2; RFC 7323; RFC 2018)
// into h. cut says the option area was cut by the snapshot length, so an
// option running past it is not an error. It returns a description of the
// first malformed option, or "".
func parseTCPOptions(b []byte, h *TCPHeader, cut bool) string {
	s := cryptobyte.String(b)
	for !s.Empty() {
		var kind, l uint8
		if !s.ReadUint8(&kind) {
			break
		}
		switch kind {
		case 0: // end of option list
			return ""
		case 1: // no-operation
			continue
		}
		if !s.ReadUint8(&l) {
			if cut {
				return ""
			}
			return fmt.Sprintf("option %d has no length byte", kind)
		}
		if l < 2 {
			return fmt.Sprintf("option %d has length %d (< 2): option loop", kind, l)
		}
		var v cryptobyte.String
		if !s.ReadBytes((*[]byte)(&v), int(l)-2) {
			if cut {
				return ""
			}
			return fmt.Sprintf("option %d length %d exceeds the %d bytes left", kind, l, len(s)+2)
		}
		switch kind {
		case 2: // MSS
			if l != 4 || !v.ReadUint16(&h.MSS) {
				return fmt.Sprintf("MSS option length %d, want 4", l)
			}
		case 3: // window scale
			var ws uint8
			if l != 3 || !v.ReadUint8(&ws) {
				return fmt.Sprintf("window scale option length %d, want 3", l)
			}
			h.WindowScale = int8(min(ws, 14)) // RFC 7323, 2.3: values above 14 are used as 14
		case 4: // SACK permitted
			if l != 2 {
				return fmt.Sprintf("SACK-permitted option length %d, want 2", l)
			}
			h.SACKPermitted = true
		case 5: // SACK
			if (l-2)%8 != 0 || l < 10 {
				return fmt.Sprintf("SACK option length %d is not 2+8n", l)
			}
			for !v.Empty() && h.NumSACK < uint8(len(h.SACK)) {
				blk := &h.SACK[h.NumSACK]
				v.ReadUint32(&blk.Left)
				v.ReadUint32(&blk.Right)
				h.NumSACK++
			}
		case 8: // timestamps
			if l != 10 || !v.ReadUint32(&h.TSval) || !v.ReadUint32(&h.TSecr) {
				return fmt.Sprintf("timestamps option length %d, want 10", l)
			}
			h.HasTimestamps = true
		}
	}
	return ""
}

// event emits an event about the current frame.
func (d *Decoder) event(kind health.Kind, flow, msg string, ev map[string]any) {
	var fr int64
	var t time.Time
	if d.frame != nil {
		fr, t = d.frame.Number, d.frame.Time
	}
	d.emit(kind, fr, t, flow, msg, ev)
}

// emit emits an event with its default severity.
func (d *Decoder) emit(kind health.Kind, frame int64, t time.Time, flow, msg string, ev map[string]any) {
	d.rep.Event(health.Event{Kind: kind, Severity: health.DefaultSeverity(kind), Time: t, Frame: frame, Flow: flow, Message: msg, Evidence: ev})
}

// decodeError emits capture.decode_error for the current frame.
func (d *Decoder) decodeError(layer, detail string) {
	flow := ""
	if p := &d.pkt; p.Network != 0 {
		flow = FlowOf(p).String()
	}
	d.event(health.CaptureDecodeError, flow, fmt.Sprintf("frame %d: malformed %s header: %s", d.frame.Number, layer, detail),
		map[string]any{"layer": layer, "error": detail})
}

// tsoEvent reports a TSO super-segment once per directed flow.
func (d *Decoder) tsoEvent() {
	p := &d.pkt
	fl := FlowOf(p)
	if _, seen := d.tsoFlows[fl]; seen {
		return
	}
	if len(d.tsoFlows) < d.lim.MaxTracked {
		d.tsoFlows[fl] = struct{}{}
	}
	d.event(health.IPTSOSegment, fl.String(), fmt.Sprintf("frame %d has IPv4 total length 0: a TSO/LSO super-segment captured on the sender before the NIC split it; its %d captured bytes (%d of payload) were used (reported once per flow)", p.Frame, p.CapLen, p.PayloadLen),
		map[string]any{"captured_len": p.CapLen, "payload_len": p.PayloadLen})
}

// f16 clamps a computed length to >= 0.
func f16(n int) int { return max(n, 0) }

// portsOf returns the first two 16-bit fields of a transport header.
func portsOf(b []byte) ([2]uint16, bool) {
	s := cryptobyte.String(b)
	var a, c uint16
	if !s.ReadUint16(&a) || !s.ReadUint16(&c) {
		return [2]uint16{}, false
	}
	return [2]uint16{a, c}, true
}
