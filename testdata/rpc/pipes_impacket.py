#!/usr/bin/python3
"""Drive DCE/RPC over SMB named pipes with impacket 0.10 (Debian python3-impacket)
against a Samba 4.17 smbd, for nettrace's testdata.

usage: pipes_impacket.py DIALECT FRAG HOST
  DIALECT  smb1 | smb2
  FRAG     0 for whole PDUs, or N: each DCE/RPC PDU is written in WRITEs of
           at most N bytes (impacket's set_max_fragment_size), so a bind is
           split across several SMB WRITE / WRITE_ANDX requests.
Calls: srvsvc NetrShareEnum (level 1), lsarpc LsarOpenPolicy2 + LsarClose.
"""
import sys
from impacket.smbconnection import SMBConnection
from impacket.smb import SMB_DIALECT
from impacket.smb3structs import SMB2_DIALECT_21
from impacket.dcerpc.v5 import transport, srvs, lsad

dialect, frag, host = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def connect():
    if dialect == "smb1":
        return SMBConnection(host, host, preferredDialect=SMB_DIALECT)
    return SMBConnection(host, host, preferredDialect=SMB2_DIALECT_21)  # 2.1: never encrypted

conn = connect()
conn.login("alice", "Passw0rd", "TESTGRP")

def pipe(name):
    t = transport.SMBTransport(host, filename=name, smb_connection=conn)
    if frag:
        t.set_max_fragment_size(frag)
    d = t.get_dce_rpc()
    d.connect()
    return d

d = pipe(r"\srvsvc")
d.bind(srvs.MSRPC_UUID_SRVS)
r = srvs.hNetrShareEnum(d, 1)
print("shares:", [s["shi1_netname"][:-1] for s in r["InfoStruct"]["ShareInfo"]["Level1"]["Buffer"]])
d.disconnect()

d = pipe(r"\lsarpc")
d.bind(lsad.MSRPC_UUID_LSAD)
r = lsad.hLsarOpenPolicy2(d, lsad.POLICY_VIEW_LOCAL_INFORMATION)
lsad.hLsarClose(d, r["PolicyHandle"])
d.disconnect()
conn.logoff()
