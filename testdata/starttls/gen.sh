#!/bin/sh
# Captures gen.go's STARTTLS connections on the loopback interface and
# writes tshark's reference (starttls.tsv: per frame, the protocols tshark
# decodes with the key log, and the TLS handshake types). Root.
set -e
cd "$(dirname "$0")/../.."
go build -o /tmp/starttlsgen ./testdata/starttls/gen.go
out=testdata/starttls/starttls.pcap
tcpdump -i lo -U -w "$out" 'tcp and (port 25 or port 587 or port 143 or port 110 or port 21 or port 389)' & pid=$!
sleep 1
/tmp/starttlsgen
sleep 1
kill $pid; wait $pid || true
tshark -r "$out" -o tls.keylog_file:testdata/starttls/starttls.keys -d tcp.port==389,ldap \
	-T fields -E header=y -E occurrence=a -E aggregator='|' \
	-e frame.number -e tcp.stream -e tcp.srcport -e tcp.dstport -e frame.protocols \
	-e tls.handshake.type -e tls.record.content_type \
	> testdata/starttls/starttls.tsv
