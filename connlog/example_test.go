package connlog_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/nettrace/nettrace/connlog"
)

func exampleRecord() connlog.Record {
	first := time.Date(2026, 11, 21, 10, 0, 0, 1000, time.UTC)
	orig, resp := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80")
	return connlog.Record{
		TS: first, UID: connlog.UID(orig, resp, first), Orig: orig, Resp: resp, Proto: "tcp",
		Service: "http", Duration: 6 * time.Millisecond, OrigBytes: 100, RespBytes: 7,
		ConnState: "SF", History: "ShADdFf", OrigPkts: 5, OrigIPBytes: 300, RespPkts: 3, RespIPBytes: 127,
	}
}

// A record as Zeek's JSON log line.
func ExampleRecord_MarshalJSON() {
	line, _ := json.Marshal(exampleRecord())
	fmt.Println(string(line))
	// Output:
	// {"ts":1795255200.000001,"uid":"C0q0Yln4xDxYBjy6Jq","id.orig_h":"10.0.0.1","id.orig_p":40000,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp","service":"http","duration":0.006000,"orig_bytes":100,"resp_bytes":7,"conn_state":"SF","missed_bytes":0,"history":"ShADdFf","orig_pkts":5,"orig_ip_bytes":300,"resp_pkts":3,"resp_ip_bytes":127}
}

// Records as Zeek's tab-separated conn.log, header first.
func ExampleTSVWriter() {
	w := connlog.NewTSVWriter(os.Stdout)
	w.Write(exampleRecord())
	if err := w.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// #separator \x09
	// #set_separator	,
	// #empty_field	(empty)
	// #unset_field	-
	// #path	conn
	// #fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto	service	duration	orig_bytes	resp_bytes	conn_state	missed_bytes	history	orig_pkts	orig_ip_bytes	resp_pkts	resp_ip_bytes
	// #types	time	string	addr	port	addr	port	enum	string	interval	count	count	string	count	string	count	count	count	count
	// 1795255200.000001	C0q0Yln4xDxYBjy6Jq	10.0.0.1	40000	10.0.0.2	80	tcp	http	0.006000	100	7	SF	0	ShADdFf	5	300	3	127
}
