#!/usr/bin/env python3
"""Regenerate the tshark follow references of the tcpstate tests.

For every capture given, writes <capture>.follow.json: per tcp.stream, the
endpoints (tshark's Node 0 / Node 1) and the length and SHA-256 of the bytes
`tshark -q -z follow,tcp,raw,N` prints for each node. Run from this folder:

    python3 genrefs.py *.pcap /work/shared/captures/tcp/tcp-lossy-netem-curl-client.pcap
"""
import hashlib, json, os, subprocess, sys

def tshark(*args):
    return subprocess.run(["tshark", *args], capture_output=True, text=True, check=True).stdout

for path in sys.argv[1:]:
    ids = sorted({int(x) for x in tshark("-r", path, "-T", "fields", "-e", "tcp.stream").split() if x.strip()})
    streams = []
    for sid in ids:
        out = tshark("-r", path, "-q", "-z", "follow,tcp,raw,%d" % sid)
        nodes, data = ["", ""], [bytearray(), bytearray()]
        for line in out.splitlines():
            if line.startswith("Node 0: "):
                nodes[0] = line[8:]
            elif line.startswith("Node 1: "):
                nodes[1] = line[8:]
            elif line.startswith("\t") and line.strip():
                data[1] += bytes.fromhex(line.strip())
            elif line and all(c in "0123456789abcdef" for c in line):
                data[0] += bytes.fromhex(line)
        streams.append({
            "stream": sid, "node0": nodes[0], "node1": nodes[1],
            "len0": len(data[0]), "sha0": hashlib.sha256(data[0]).hexdigest(),
            "len1": len(data[1]), "sha1": hashlib.sha256(data[1]).hexdigest(),
        })
    ref = {"capture": os.path.basename(path), "tshark": tshark("--version").splitlines()[0],
           "tcp_streams": len(ids), "streams": streams}
    with open(os.path.basename(path) + ".follow.json", "w") as f:
        json.dump(ref, f, indent=1)
        f.write("\n")
    print(path, len(ids), "streams")
