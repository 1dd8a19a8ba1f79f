#!/usr/bin/env python3
# Writes the files the servers served into /tmp/h2cap/www (see capture.sh).
import json, os, random
random.seed(7)
www = "/tmp/h2cap/www"
os.makedirs(www + "/upload", exist_ok=True)
os.makedirs(www + "/limited", exist_ok=True)
open(www + "/index.html", "w").write("""<!doctype html>
<html><head><title>nettrace h2 test</title></head>
<body><p>Hello over HTTP/2.</p></body></html>
""")
words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
recs = [{"id": i, "name": random.choice(words) + "-" + random.choice(words), "value": random.randint(0, 10**6)} for i in range(120)]
open(www + "/data.json", "w").write(json.dumps(recs, indent=1) + "\n")
lines = [" ".join(random.choice(words) for _ in range(12)) for _ in range(600)]
open(www + "/big.txt", "w").write("\n".join(lines) + "\n")
open(www + "/small.txt", "w").write("small file\n")
open("/tmp/h2cap/upload.txt", "w").write(open(www + "/big.txt").read()[:3000])
