#!/usr/bin/env python3
"""Writes NAME.records.json beside NAME.pcap: tshark's decode of every TLS
record, with the key log NAME.keys (tshark 4.0: tshark -r NAME.pcap -o
tls.keylog_file:NAME.keys -o http.desegment_body:FALSE -T json, and -V -x for
the lengths of the "Decrypted TLS" data sources).

Per frame: the records tshark shows there, in order (content_type is the
decrypted inner type for TLS 1.3, opaque_type the outer one; length the
record's length on the wire), and "decrypted", the lengths of the
plaintexts tshark decrypted in that frame, in record order (TLS 1.3 without
the inner content type and padding). Also the HTTP requests and response
codes, the ServerHello's suite and version, the certificate's DNS and IP
SANs and tshark's JA3/JA3S.

Usage: tshark-refs.py NAME.pcap..."""
import json
import re
import subprocess
import sys


class Obj(list):
    """A JSON object as its (key, value) pairs, in order."""


def pairs(kv):
    return Obj(kv)


def walk(obj, key):
    """Yields every value stored under key, depth first, in order."""
    if isinstance(obj, Obj):
        for k, v in obj:
            if k == key:
                if isinstance(v, list) and not isinstance(v, Obj):
                    yield from v
                else:
                    yield v
            yield from walk(v, key)
    elif isinstance(obj, list):
        for v in obj:
            yield from walk(v, key)


def first(obj, key):
    for v in walk(obj, key):
        return v
    return None


def main():
    for pcap in sys.argv[1:]:
        name = pcap[: -len(".pcap")]
        opts = ["-o", "tls.keylog_file:" + name + ".keys", "-o", "http.desegment_body:FALSE"]
        out = subprocess.run(["tshark", "-r", pcap, *opts, "-T", "json", "--no-duplicate-keys"],
                             capture_output=True, check=True).stdout
        # --no-duplicate-keys merges repeats into lists; parse as pairs to
        # keep the order either way.
        frames = json.loads(out, object_pairs_hook=pairs)
        hexdump = subprocess.run(["tshark", "-r", pcap, *opts, "-V", "-x"], capture_output=True, check=True,
                                 text=True).stdout
        dec, cur = {}, 0
        for line in hexdump.splitlines():
            m = re.match(r"Frame (\d+): ", line)
            if m:
                cur = int(m.group(1))
            m = re.match(r"Decrypted TLS \((\d+) bytes\):", line)
            if m:
                dec.setdefault(cur, []).append(int(m.group(1)))
        ref = {"pcap": pcap.split("/")[-1],
               "what": "tshark 4.0.17 with the key log: records per frame (content_type, opaque_type for "
                       "TLS 1.3, wire length) and the lengths of the plaintexts it decrypted there",
               "frames": [], "http_requests": [], "http_responses": []}
        for fr in frames:
            layers = first(fr, "layers")
            num = int(first(first(layers, "frame"), "frame.number"))
            recs = []
            for tls in walk(layers, "tls"):
                for rec in walk(tls, "tls.record"):
                    def one(v):
                        return v[0] if isinstance(v, list) else v
                    r = {"content_type": int(one(first(rec, "tls.record.content_type")))}
                    ot = first(rec, "tls.record.opaque_type")
                    if ot is not None:
                        r["opaque_type"] = int(one(ot))
                    r["length"] = int(one(first(rec, "tls.record.length")))
                    recs.append(r)
                    for k, field in (("ja3", "tls.handshake.ja3_full"), ("ja3_hash", "tls.handshake.ja3"),
                                     ("ja3s", "tls.handshake.ja3s_full"), ("ja3s_hash", "tls.handshake.ja3s")):
                        v = first(rec, field)
                        if v is not None:
                            ref[k] = one(v)
                    cs = first(rec, "tls.handshake.ciphersuite")
                    if cs is not None and first(rec, "tls.handshake.type") in ("2", ["2"]):
                        ref["server_hello"] = {"frame": num, "ciphersuite": one(cs)}
                    for k, field in (("dns_names", "x509ce.dNSName"), ("ip_addresses", "x509ce.IPAddress.ipv4"),
                                     ("ip_addresses", "x509ce.IPAddress.ipv6")):
                        for v in walk(rec, field):
                            ref.setdefault(k, []).extend(v if isinstance(v, list) else [v])
            if recs or num in dec:
                ref["frames"].append({"frame": num, "records": recs, "decrypted": dec.get(num, [])})
            for http in walk(layers, "http"):
                m = first(http, "http.request.method")
                if m is not None:
                    ref["http_requests"].append({"frame": num, "method": m, "uri": first(http, "http.request.uri")})
                c = first(http, "http.response.code")
                if c is not None:
                    ref["http_responses"].append({"frame": num, "code": c})
        with open(name + ".records.json", "w") as f:
            json.dump(ref, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
