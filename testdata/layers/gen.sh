#!/bin/sh
# Regenerates the tshark per-frame references (*.frames.tsv) of the captures
# in this folder. The tests read the .tsv files; they never run tshark.
# tshark 4.0; first occurrence of each field (so an ICMP error's outer header).
set -e
cd "$(dirname "$0")"
for f in c06-frag.pcap c10-tso.pcap c14-arp.pcap c16-dns.pcap tcp-syn-icmp.pcap tls12-gcm.pcap \
	zeek-ipv6-fragmented-dns.pcap zeek-icmp-icmp6-toobig.pcap zeek-icmp-icmp-destunreach-udp.pcap \
	zeek-tcp-option-sack.pcap zeek-tcp-truncated-header.pcap tls12-gcm-snap60.pcap; do
	tshark -r "$f" -T fields -E header=y -E occurrence=f \
		-e frame.number -e frame.len -e frame.cap_len -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
		-e tcp.srcport -e tcp.dstport -e tcp.seq_raw -e tcp.ack_raw -e tcp.len -e tcp.flags \
		-e udp.srcport -e udp.dstport -e icmp.type -e icmpv6.type -e arp.opcode \
		> "${f%.*}.frames.tsv"
done
