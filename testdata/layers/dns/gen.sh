#!/bin/sh
# Captures gen.go's DNS, mDNS and LLMNR exchanges on the loopback
# interface and writes tshark's reference (dns-mdns-llmnr.dns.tsv). Root.
set -e
cd "$(dirname "$0")/../../.."
go build -o /tmp/dnsgen ./testdata/layers/dns/gen.go
out=testdata/layers/dns/dns-mdns-llmnr.pcap
tcpdump -i lo -U -w "$out" 'udp and (port 53 or port 5353 or port 5355)' & pid=$!
sleep 1
/tmp/dnsgen
sleep 1
kill $pid; wait $pid || true
tshark -r "$out" -T fields -E header=y -E occurrence=a -E aggregator='|' \
	-e frame.number -e frame.protocols -e dns.id -e dns.flags.response -e dns.qry.name -e dns.count.queries \
	-e dns.count.answers -e dns.count.auth_rr -e dns.count.add_rr -e dns.resp.name -e dns.resp.type \
	-e dns.a -e dns.aaaa -e dns.srv.port -e dns.srv.target \
	> testdata/layers/dns/dns-mdns-llmnr.dns.tsv
