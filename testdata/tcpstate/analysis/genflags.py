import subprocess, json, collections, sys
name=sys.argv[1]
flags=["retransmission","fast_retransmission","out_of_order","lost_segment","ack_lost_segment","duplicate_ack","zero_window","window_full","keep_alive","spurious_retransmission","window_update","keep_alive_ack","zero_window_probe","zero_window_probe_ack"]
out={}
for f in flags:
    r=subprocess.run(["tshark","-r",name+".pcap","-Y","tcp.analysis."+f,"-T","fields","-e","frame.number"],capture_output=True,text=True)
    fr=[int(x) for x in r.stdout.split()]
    if fr: out[f]=fr
r=subprocess.run(["tshark","-r",name+".pcap","-T","fields","-e","tcp.stream","-e","tcp.analysis.initial_rtt"],capture_output=True,text=True)
rtt={}
for line in r.stdout.splitlines():
    a=line.split("\t")
    if len(a)>1 and a[1] and a[0] not in rtt: rtt[a[0]]=a[1]
json.dump({"flags":dict(sorted(out.items())),"initial_rtt":rtt,"source":name+" (tshark 4.0.17 tcp.analysis.* frames)"},open(name+".flags.json","w"),indent=0)
