#!/usr/bin/python3
"""mkref.py CAPTURE > CAPTURE-NAME.ref.json

Writes the tshark reference nettrace's DCE/RPC tests compare with: every
frame tshark decodes as DCERPC, SMB or SMB2, with the fields below (a string,
or a list when the field occurs several times in the frame), in the shape of
the shared corpus' *.tshark.json."""
import json, subprocess, sys

FIELDS = ["frame.number", "tcp.stream", "udp.stream",
          "dcerpc.ver", "dcerpc.pkt_type", "dcerpc.cn_call_id", "dcerpc.opnum", "dcerpc.cn_bind_to_uuid",
          "dcerpc.dg_seqnum", "dcerpc.dg_act_id", "dcerpc.dg_if_id", "dcerpc.dg_frag_num", "dcerpc.dg_status",
          "epm.tower.num_floors", "epm.proto.tcp_port", "epm.proto.ip", "epm.proto.named_pipe",
          "smb.cmd", "smb.mid", "smb.flags.response", "smb.nt_status", "smb.file", "smb.fid",
          "smb2.cmd", "smb2.msg_id", "smb2.flags.response", "smb2.nt_status", "smb2.filename",
          "smb2.find.pattern", "smb2.tree", "smb2.ioctl.function"]

cap = sys.argv[1]
args = ["tshark", "-r", cap, "-T", "json", "-Y", "dcerpc || smb || smb2"]
for f in FIELDS:
    args += ["-e", f]
out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
frames = []
for pkt in json.loads(out):
    layers = pkt["_source"]["layers"]
    fr = {}
    for k, v in layers.items():
        fr[k] = v[0] if len(v) == 1 else v
    fr["frame.number"] = int(fr["frame.number"])
    frames.append(fr)
ver = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
json.dump({"pcap": cap.split("/")[-1], "tshark": ver, "fields": FIELDS, "frames": frames}, sys.stdout, indent=None, separators=(",", ":"))
print()
