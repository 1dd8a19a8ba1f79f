#!/bin/sh
# Regenerates the tshark references of the encrypted SMB3 captures, decoded
# with their keys: <name>.decrypted.ref.json holds, per frame that tshark
# decodes as SMB or SMB2 once decrypted, the fields the agreement tests
# compare (commands, response flags, statuses, message ids, file names),
# in the format of the other <name>.ref.json files.
#
# Usage: make-decrypted-refs.sh NAME TSHARK-OPTION...   e.g.
#   make-decrypted-refs.sh smb3_11-encrypted -o ntlmssp.nt_password:Passw0rd!
# Run from testdata/smb. Needs tshark and python3.
set -eu
name=$1
shift
tshark -r "$name.pcap" "$@" -T json \
	-e frame.number -e nbss.type -e smb.cmd -e smb.flags.response -e smb.nt_status -e smb.mid -e smb.file \
	-e smb2.cmd -e smb2.flags.response -e smb2.nt_status -e smb2.msg_id -e smb2.sesid -e smb2.filename -e smb2.tree \
	2>/dev/null | python3 -c '
import json, subprocess, sys
name = sys.argv[1]
ver = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
frames = []
for pkt in json.load(sys.stdin):
    layers = pkt["_source"]["layers"]
    if not any(k.startswith(("smb.", "smb2.")) for k in layers):
        continue
    fr = {}
    for k, v in layers.items():
        if k == "frame.number":
            fr[k] = int(v[0])
        else:
            fr[k] = v[0] if len(v) == 1 else v
    frames.append(fr)
json.dump({"source": name + ".pcap decoded by tshark " + " ".join(sys.argv[2:]), "tshark": ver, "frames": frames},
          sys.stdout, separators=(",", ":"))
print()
' "$name" "$@" >"$name.decrypted.ref.json"
