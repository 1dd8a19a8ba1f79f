#!/usr/bin/env python3
"""Writes fingerprints.json: for every ClientHello and ServerHello in the
captures given, tshark 4.0.17's JA3/JA3S (tls.handshake.ja3_full, ja3,
ja3s_full, ja3s) and JA4/JA4S computed here from tshark's dissection of the
hello (the lists of cipher suites, extension types, signature algorithms,
supported versions and ALPN values), following the JA4 and JA4S
specifications (FoxIO, technical_details/JA4.md and JA4S.md). It is an
implementation independent of nettrace's, to check it against; tshark 4.0
has no JA4.

Usage: fingerprints.py OUT.json CAPTURE..."""
import hashlib
import json
import os
import subprocess
import sys

FIELDS = ["frame.number", "tls.handshake.type", "tls.handshake.version", "tls.handshake.ciphersuite",
          "tls.handshake.extension.type", "tls.handshake.sig_hash_alg",
          "tls.handshake.extensions.supported_version", "tls.handshake.extensions_alpn_str",
          "tls.handshake.ja3_full", "tls.handshake.ja3", "tls.handshake.ja3s_full", "tls.handshake.ja3s"]


def grease(v):
    return v & 0x0F0F == 0x0A0A and v >> 8 == v & 0xFF


def version_code(v):
    return {0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10", 0x0300: "s3", 0x0002: "s2",
            0xFEFF: "d1", 0xFEFD: "d2", 0xFEFC: "d3"}.get(v, "00")


def alpn_code(a):
    if not a:
        return "00"
    b = a.encode()
    alnum = lambda c: chr(c).isascii() and chr(c).isalnum()
    if alnum(b[0]) and alnum(b[-1]):
        return chr(b[0]) + chr(b[-1])
    h = b.hex()
    return h[0] + h[-1]


def h12(s):
    return hashlib.sha256(s.encode()).hexdigest()[:12]


def ints(s):
    return [int(x, 0) for x in s.split(",")] if s else []


def ja4(cs, exts, sigs, versions, legacy, alpn):
    cs = [c for c in cs if not grease(c)]
    exts = [e for e in exts if not grease(e)]
    vs = [v for v in versions if not grease(v)]
    v = max(vs) if vs else legacy
    a = "t%s%s%02d%02d%s" % (version_code(v), "d" if 0 in exts else "i", min(len(cs), 99),
                              min(len(exts), 99), alpn_code(alpn))
    b = h12(",".join("%04x" % c for c in sorted(cs))) if cs else "000000000000"
    rest = sorted(e for e in exts if e not in (0x0000, 0x0010))
    c = ",".join("%04x" % e for e in rest)
    sigs = [s for s in sigs if not grease(s)]
    if sigs:
        c += "_" + ",".join("%04x" % s for s in sigs)
    c = h12(c) if rest else "000000000000"
    return "%s_%s_%s" % (a, b, c)


def ja4s(cs, exts, versions, legacy, alpn):
    exts = [e for e in exts if not grease(e)]
    v = versions[0] if versions else legacy
    a = "t%s%02d%s" % (version_code(v), min(len(exts), 99), alpn_code(alpn))
    c = h12(",".join("%04x" % e for e in exts)) if exts else "000000000000"
    return "%s_%04x_%s" % (a, cs, c)


def main():
    out, caps = sys.argv[1], sys.argv[2:]
    res = {"what": "JA3/JA3S from tshark 4.0.17 (tls.handshake.ja3*), JA4/JA4S computed by fingerprints.py "
                   "from tshark's dissection of each hello", "captures": {}}
    for cap in caps:
        name = os.path.basename(cap)
        # Without the key log: the fields of a frame must be the hello's
        # alone, not also those of the TLS 1.3 EncryptedExtensions after it.
        args = ["tshark", "-r", cap, "-Y", "tls.handshake.type == 1 || tls.handshake.type == 2", "-T", "fields",
                "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
        for f in FIELDS:
            args += ["-e", f]
        lines = subprocess.run(args, capture_output=True, check=True, text=True).stdout.splitlines()
        hellos = []
        for line in lines:
            row = dict(zip(FIELDS, line.split("\t")))
            types = row["tls.handshake.type"].split(",")
            if len(types) != 1 and not (types.count("1") + types.count("2") == 1):
                continue  # several hellos in one frame: not compared
            frame = int(row["frame.number"])
            legacy = ints(row["tls.handshake.version"])[0]
            cs = ints(row["tls.handshake.ciphersuite"])
            exts = ints(row["tls.handshake.extension.type"])
            versions = ints(row["tls.handshake.extensions.supported_version"])
            alpn = row["tls.handshake.extensions_alpn_str"].split(",")[0]
            if "1" in types:
                hellos.append({"frame": frame, "type": "client_hello", "ja3": row["tls.handshake.ja3_full"],
                               "ja3_hash": row["tls.handshake.ja3"],
                               "ja4": ja4(cs, exts, ints(row["tls.handshake.sig_hash_alg"]), versions, legacy, alpn)})
            else:
                hellos.append({"frame": frame, "type": "server_hello", "ja3s": row["tls.handshake.ja3s_full"],
                               "ja3s_hash": row["tls.handshake.ja3s"],
                               "ja4s": ja4s(cs[0], exts, versions, legacy, alpn)})
        res["captures"][name] = hellos
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
