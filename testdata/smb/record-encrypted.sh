#!/bin/sh
# Records the encrypted SMB3 captures of this folder (run as root on a
# machine with samba, smbclient, tcpdump, iproute2, python3; Debian 12 has
# Samba 4.17.12): smbd in a network namespace (10.200.9.20), smbclient and
# rpcclient from the host side (10.200.9.10) over a veth pair, tcpdump on
# the server's end. Each session logs on as alice (password Passw0rd!) and
# requires encryption. smbd's "debug encryption" log (level 10) gives each
# session's keys, written to $R/<name>.keyline (the key line of <name>.smbkeys). Then run make-decrypted-refs.sh
# on each capture. Everything lives in $R; stop smbd and delete the
# namespace (ip netns del ntsmb) afterwards.
set -eu
R=${R:-/tmp/smb3rec}
mkdir -p $R/share/docs $R/private $R/lock $R/state $R/cache $R/pid $R/log $R/ncalrpc
id alice >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin alice
printf 'hello from an encrypted share\n' >$R/share/readme.txt
seq 1 3000 >$R/share/docs/plan.txt
head -c 20000 /dev/urandom | base64 >$R/share/notes.txt
head -c 8000 /dev/urandom >$R/upload.bin
chmod -R a+rwX $R/share
cat >$R/smb.conf <<EOF
[global]
  workgroup = STEERING
  netbios name = SMB3SRV
  server role = standalone server
  private dir = $R/private
  lock directory = $R/lock
  state directory = $R/state
  cache directory = $R/cache
  pid directory = $R/pid
  ncalrpc dir = $R/ncalrpc
  interfaces = 10.200.9.20/24
  bind interfaces only = yes
  smb ports = 445
  disable netbios = yes
  load printers = no
  disable spoolss = yes
  server min protocol = SMB3_00
  server smb encrypt = required
  server smb3 encryption algorithms = AES-128-GCM, AES-128-CCM, AES-256-GCM, AES-256-CCM
  debug encryption = yes
[data]
  path = $R/share
  read only = no
  smb encrypt = required
EOF
printf 'Passw0rd!\nPassw0rd!\n' | smbpasswd -c $R/smb.conf -s -a alice
ip netns add ntsmb
ip link add ntsmb-c type veth peer name ntsmb-s
ip link set ntsmb-s netns ntsmb
ip addr add 10.200.9.10/24 dev ntsmb-c && ip link set ntsmb-c up
ip netns exec ntsmb ip addr add 10.200.9.20/24 dev ntsmb-s
ip netns exec ntsmb ip link set ntsmb-s up
ip netns exec ntsmb smbd -F --no-process-group -s $R/smb.conf -d 10 --debug-stdout >$R/log/smbd.out 2>&1 &
sleep 3

CMDS='ls; cd docs; get plan.txt /tmp/smb3rec/got-plan.txt; cd \; put /tmp/smb3rec/upload.bin upload.bin; ls; del upload.bin; quit'
rec() { # rec NAME CLIENT-COMMAND...
	name=$1; shift
	before=$(wc -l <$R/log/smbd.out)
	ip netns exec ntsmb tcpdump -i ntsmb-s -s 0 -U -w $R/$name.pcap tcp port 445 2>/dev/null &
	tp=$!
	sleep 1.5
	"$@" >$R/log/client-$name.log 2>&1
	sleep 1
	kill $tp
	tail -n +$((before + 1)) $R/log/smbd.out | python3 -c '
import re, sys
# smbd dumps: "Session Id [0000] <bytes in wire order>", "Session Key", "ServerIn Key"
# (client-to-server), "ServerOut Key" (server-to-client); 32-byte keys continue on a "[0010]" line.
text = sys.stdin.read()
block = text.split("debug encryption: dumping generated session keys")[1]
f, cur = {}, None
for ln in block.splitlines()[1:16]:
    m = re.match(r"^(Session Id|Session Key|ServerIn Key|ServerOut Key)\s+\[0000\]\s+(.*)$", ln) or re.match(r"^()\s*\[0010\]\s+(.*)$", ln)
    if not m:
        cur = None
        continue
    cur = m.group(1) or cur
    if cur:
        toks = [t for part in re.split(r"\s{3,}", m.group(2)) for t in part.split() if re.fullmatch(r"[0-9A-F]{2}", t) and len(part.split()) <= 8 and all(re.fullmatch(r"[0-9A-F]{2}", x) for x in part.split())]
        f[cur] = f.get(cur, "") + "".join(toks).lower()
sid = bytes.fromhex(f["Session Id"])[::-1].hex()
print(sid, f["Session Key"], f["ServerOut Key"], f["ServerIn Key"])
' >$R/$name.keyline
}
U='alice%Passw0rd!'
rec smb3_00-ccm-encrypted smbclient //10.200.9.20/data -U "$U" -m SMB3_00 --client-protection=encrypt -c "$CMDS"
rec smb3_02-ccm-encrypted smbclient //10.200.9.20/data -U "$U" -m SMB3_02 --client-protection=encrypt -c "$CMDS"
rec smb3_11-gcm-encrypted smbclient //10.200.9.20/data -U "$U" -m SMB3_11 --client-protection=encrypt -c "$CMDS"
rec smb3_11-ccm-encrypted smbclient //10.200.9.20/data -U "$U" -m SMB3_11 --client-protection=encrypt --option='client smb3 encryption algorithms=AES-128-CCM' -c "$CMDS"
rec smb3_11-aes256gcm-encrypted smbclient //10.200.9.20/data -U "$U" -m SMB3_11 --client-protection=encrypt --option='client smb3 encryption algorithms=AES-256-GCM' -c "$CMDS"
rec smb3_11-aes256ccm-encrypted smbclient //10.200.9.20/data -U "$U" -m SMB3_11 --client-protection=encrypt --option='client smb3 encryption algorithms=AES-256-CCM' -c "$CMDS"
rec smb3_11-rpc-encrypted rpcclient -U "$U" --client-protection=encrypt 10.200.9.20 -c 'srvinfo; netshareenumall'
