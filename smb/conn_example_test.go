package smb

import (
	"bytes"
	"fmt"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// ExampleNewConn feeds a small SMB2 conversation (tree connect, create,
// two 64 KiB reads, close) to a Conn and prints the decoded messages and
// the per-file statistics.
func ExampleNewConn() {
	col := &health.Collector{KeepMessages: true}
	ctx := &tcpstate.StreamContext{Flow: "10.1.1.1:50000->10.2.2.2:445/tcp", Reporter: col, RTT: 20 * time.Millisecond}
	c := NewConn(ctx, DefaultConfig())

	s := &script{t0: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	fid := FileID{1, 2}
	ms := time.Millisecond
	data := bytes.Repeat([]byte{1}, 65536)
	s.send(c2s, nbssWrap(msg2(SMB2TreeConnect, 1, false, 0, 0, treeConnectReq2(`\\fs1\dist`))), 0, 0)
	s.send(s2c, nbssWrap(msg2(SMB2TreeConnect, 1, true, 0, 5, treeConnectResp2(1))), 20*ms, 0)
	s.send(c2s, nbssWrap(msg2(SMB2Create, 2, false, 0, 5, createReq2(`a.bin`))), 21*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Create, 2, true, 0, 5, createResp2(fid, 131072))), 41*ms, 0)
	s.send(c2s, nbssWrap(msg2(SMB2Read, 3, false, 0, 5, readReq2(fid, 0, 65536))), 42*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Read, 3, true, 0, 5, readResp2(data))), 62*ms, 10*time.Microsecond)
	s.send(c2s, nbssWrap(msg2(SMB2Read, 4, false, 0, 5, readReq2(fid, 65536, 65536))), 64*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Read, 4, true, StatusEndOfFile, 5, []byte{9, 0, 0, 0, 0, 0, 0, 0, 0})), 84*ms, 0)
	s.send(c2s, nbssWrap(msg2(SMB2Close, 5, false, 0, 5, closeReq2(fid))), 85*ms, 0)
	s.send(s2c, nbssWrap(msg2(SMB2Close, 5, true, 0, 5, closeResp2())), 105*ms, 0)
	s.run(c, whole)

	for _, m := range col.Messages {
		fmt.Println(m.Frame, m.Proto, m.Fields["cmd"], m.Fields["is_response"], m.Fields["msg_id"], m.Fields["status"], m.Fields["filename"])
	}
	f := c.Files()[0]
	fmt.Printf("%s on %s: %d reads of %d B, %d B read, max %d in flight\n", f.Name, f.Share, f.Reads, f.ReadSize, f.BytesRead, f.MaxInFlight)
	// Output:
	// 1 smb2 TREE_CONNECT false 1 <nil> <nil>
	// 2 smb2 TREE_CONNECT true 1 STATUS_SUCCESS <nil>
	// 3 smb2 CREATE false 2 <nil> a.bin
	// 4 smb2 CREATE true 2 STATUS_SUCCESS a.bin
	// 5 smb2 READ false 3 <nil> a.bin
	// 6 smb2 READ true 3 STATUS_SUCCESS a.bin
	// 52 smb2 READ false 4 <nil> a.bin
	// 53 smb2 READ true 4 STATUS_END_OF_FILE a.bin
	// 54 smb2 CLOSE false 5 <nil> a.bin
	// 55 smb2 CLOSE true 5 STATUS_SUCCESS a.bin
	// a.bin on \\fs1\dist: 2 reads of 65536 B, 65536 B read, max 1 in flight
}
