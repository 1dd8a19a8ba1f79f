#!/bin/sh
# capture.sh OUT.pcap CMD...: run CMD in the rpcw namespace while tcpdump
# records TCP 445 on its loopback.
out=$1; shift
ip netns exec rpcw tcpdump -i lo -s 0 -U -w "$out" tcp port 445 >/dev/null 2>&1 &
pid=$!
sleep 1
ip netns exec rpcw "$@"
sleep 1
kill $pid; wait $pid 2>/dev/null
