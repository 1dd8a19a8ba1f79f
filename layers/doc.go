// Package layers is nettrace's packet tier: it reads capture files and
// decodes frames into Packets for the connection tracker.
//
// # What it owns
//
//   - Capture files (capture.go, pcapng.go): Open / NewCapture detect classic
//     pcap (both byte orders, micro- and nanosecond timestamps), pcapng (every
//     interface with its own link type and if_tsresol/if_tsoffset — every
//     resolution tshark reads, down to 10^-127 and 2^-127 s — several
//     sections) and gzip-compressed forms of either. Capture.Next returns
//     Frames numbered from 1 as tshark numbers them. pcapng Decryption
//     Secrets Blocks (TLS key logs), which gopacket's reader skips, are
//     collected for Capture.Secrets, up to MaxSecretsLen; those not kept
//     (beyond it, or not TLS) are counted by Capture.SecretsSkipped. Record and block lengths are capped
//     (MaxFrameLen, MaxBlockLen); damage ends the file with a *CaptureError
//     naming the frame and offset, after every good frame before it.
//     NewCaptureReadAhead reads (and inflates) the input on a goroutine of
//     its own, for callers that decode on other goroutines (readahead.go).
//   - Link, IP and transport decoding (decode.go), over gopacket's
//     DecodingLayerParser with preallocated layers: Ethernet with 802.1Q and
//     QinQ, Linux cooked SLL and SLL2, BSD null/loopback (either byte
//     order), raw IP (LINKTYPE_RAW, IPV4, IPV6); IPv4, IPv6 with extension
//     headers, TCP with options (MSS, window scale, SACK, timestamps), UDP,
//     ICMPv4/ICMPv6 with the quoted packet of errors (icmp.go), ARP. DNS
//     messages are parsed on demand by ParseDNS (dns.go).
//   - Encapsulations (encap.go), decoded by hand without allocating down
//     to the inner packet, which is analysed like any other (its flow,
//     checksums, transport): stacked VLAN tags (802.1Q, 802.1ad, 0x9100),
//     PPPoE sessions, MPLS label stacks (IP or Ethernet pseudowire
//     payloads), GRE (checksum, key, sequence number; over IPv4 or IPv6;
//     IP, transparent Ethernet bridging, MPLS, PPTP's enhanced GRE),
//     ERSPAN types I, II and III, VXLAN (UDP 4789), IPv4-in-IP and 6in4.
//     Packet.Encap says which were crossed; nesting is bounded
//     (maxEncapDepth, 8).
//   - Frames not decoded because of their link type or encapsulation (an
//     unknown link type, LLDP, PPP control, a tunnel payload nettrace does
//     not open) are counted per kind (undecoded.go) and said once at Flush
//     in one capture.undecoded event with the counts and first frames;
//     Decoder.UndecodedStats gives them for a capture profile.
//   - Offload awareness: IPv4 total length 0 on a sender-side capture is a
//     TSO/LSO super-segment (casebook C10; Packet.TSO, ip.tso_segment once
//     per directed flow).
//   - The checksum verdict (C11, checksum_verdict.go): per packet, what each
//     checksum field held (Packet.IPChecksum, L4Checksum: right, wrong, or
//     never computed — a TCP or IPv4 header field of 0); per source, counts
//     by layer; at Flush, one decision for the capture. Checksums that do
//     not match on the capturing host's frames are offload
//     (ip.checksum_offload, info, once); on every frame of other sources
//     they cannot be verified — a rewritten capture, loopback, offload at
//     both ends (ip.checksums_unverifiable, notice, once); only wrong
//     checksums among right ones of the same source are corruption
//     (ip.bad_checksum, error, once per source). Decoder.ChecksumStats gives
//     the counts for a capture profile.
//   - IPv4 and IPv6 reassembly (defrag.go) with limits on datagram size,
//     fragments, datagrams in progress and bytes, and a timeout in capture
//     time; overlapping or inconsistent fragments drop the datagram
//     (RFC 5722) with net.fragment_overlap, unfinished datagrams give
//     net.fragment_incomplete at timeout or Decoder.Flush.
//   - The Flow key (flow.go) and the gopacket LayerTypes NBSS, SMB, SMB2,
//     DCERPC, TDS and TLS (layertypes.go, numbers 1000–1005) for gopacket
//     users who decode single-segment PDUs.
//   - PacketFields and DNSFields, the decoded-message fields of
//     examples/dissect.
//
// It does not know about connections: sequence analysis, reassembly of TCP
// streams and application protocols belong to tcpstate and the protocol
// packages.
//
// # Aliasing and reuse
//
// Capture.Next returns the same *Frame every time; Frame.Data is the
// reader's buffer, valid until the next Next. Decoder.Decode fills and
// returns the same *Packet every time; Packet.Raw and Packet.Payload alias
// the frame (or, for a reassembled datagram, the Decoder's reassembly
// buffer) and Packet.FragFrames aliases the Decoder: all are valid until the
// next Decode. Code that keeps anything copies it. Decoding a TCP frame
// allocates nothing.
//
// # Specifications
//
// pcap (draft-ietf-opsawg-pcap), pcapng (draft-ietf-opsawg-pcapng), link
// types (tcpdump.org/linktypes.html), IEEE 802.1Q/802.1ad, RFC 2516
// (PPPoE), RFC 1661 (PPP), RFC 3032, 4385, 4448 (MPLS, pseudowires), RFC
// 2784, 2890, 2637 (GRE, enhanced GRE), RFC 7348 (VXLAN),
// draft-foschiano-erspan (ERSPAN), RFC 2003, 4213 (IP-in-IP, 6in4),
// RFC 791 / 8200 (IP and reassembly),
// RFC 5722 (overlapping fragments), RFC 9293, 7323, 2018 (TCP and options),
// RFC 768, RFC 792 / 1191 / 4443 (ICMP), RFC 826 (ARP), RFC 1035 (DNS),
// RFC 1071 (checksum).
//
// Capture and Decoder are not safe for concurrent use; use one per
// goroutine.
package layers
