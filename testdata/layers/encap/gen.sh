#!/bin/sh
# Regenerates the encapsulation captures (gen.go) and tshark's per-frame
# references of their innermost packet (*.inner.tsv): the column source and
# destination (the innermost network addresses, as tshark shows them) and
# the last occurrence of each transport field (the innermost header).
# tshark 4.0. The tests read the .tsv files; they never run tshark.
set -e
cd "$(dirname "$0")/../../.."
go run ./testdata/layers/encap/gen.go
cd testdata/layers/encap
for f in encap-ethernet.pcap encap-sll2.pcap encap-null.pcap encap-loop.pcap undecoded.pcap; do
	tshark -r "$f" -T fields -E header=y -E occurrence=l \
		-e frame.number -e frame.protocols -e _ws.col.Source -e _ws.col.Destination \
		-e tcp.srcport -e tcp.dstport -e tcp.seq_raw -e tcp.ack_raw -e tcp.len \
		-e udp.srcport -e udp.dstport -e dns.qry.name \
		> "${f%.*}.inner.tsv"
done
