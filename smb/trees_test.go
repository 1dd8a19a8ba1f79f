package smb

import (
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// TestTreeOfAnotherConnection: the SMB2 session of smb2-ls-smbclient is
// split in two connections at frame 26 (after the TREE_CONNECT of \data,
// frames 23-24), as a multichannel client or a reconnect spreads it. The
// second connection never sees the TREE_CONNECT; with a Trees table shared
// through Config.TreeConnected and Config.LookupTree it still names the
// share of its requests, and the files it opens there have their share.
func TestTreeOfAnotherConnection(t *testing.T) {
	streams, err := testcap.ReadStreams(capturePath(t, "", "smb2-ls-smbclient"))
	if err != nil {
		t.Fatal(err)
	}
	s := streams[0]
	run := func(shared bool) (trees int, unknownKind int) {
		var tab Trees
		cfg := DefaultConfig()
		if shared {
			cfg.TreeConnected = func(k TreeKey, i TreeInfo) { tab.Add(k, i, 0) }
			cfg.LookupTree = func(k TreeKey) (TreeInfo, bool) { return tab.Lookup(k, 1) }
		}
		col := &health.Collector{KeepMessages: true}
		var conns [2]*Conn
		for i := range conns {
			ctx := &tcpstate.StreamContext{ID: uint64(i), Client: s.Client, Server: s.Server, Flow: "conn", Reporter: col}
			conns[i] = NewConn(ctx, cfg)
		}
		for _, seg := range s.Segments {
			c := conns[0]
			if seg.Frame >= 26 {
				c = conns[1]
			}
			d := tcpstate.ServerToClient
			if seg.ClientToServer {
				d = tcpstate.ClientToServer
			}
			c.Feed(d, seg.Data, tcpstate.Position{Frame: seg.Frame, Time: seg.Time})
		}
		for _, m := range col.Messages {
			if m.Frame >= 26 && m.Fields["tree"] == `\\127.0.0.1\data` {
				trees++
			}
		}
		conns[1].Close(tcpstate.CloseEndOfCapture, tcpstate.Position{Frame: 100})
		for _, f := range conns[1].Files() {
			if f.Share == "" {
				unknownKind++ // opened on a tree the connection does not know
			}
		}
		return trees, unknownKind
	}
	without, unknown := run(false)
	with, unknownShared := run(true)
	if without != 0 || unknown == 0 {
		t.Errorf("without the shared table: %d messages name \\data, %d files without share", without, unknown)
	}
	if with < 40 || unknownShared != 0 {
		t.Errorf("with the shared table: %d messages name \\data (want >= 40), %d files without share", with, unknownShared)
	}
	t.Logf("messages of the second connection naming the share: %d (without the shared table: %d)", with, without)
}

// TestTreesTableStampsAndCap: Lookup sees only versions added before its
// stamp; new keys past MaxSharedTrees are not remembered.
func TestTreesTableStampsAndCap(t *testing.T) {
	var tab Trees
	k := TreeKey{Session: 1, Tree: 5}
	tab.Add(k, TreeInfo{Path: "a"}, 10)
	tab.Add(k, TreeInfo{Path: "b"}, 20)
	if _, ok := tab.Lookup(k, 10); ok {
		t.Error("found a version added at the lookup's own stamp")
	}
	if i, _ := tab.Lookup(k, 15); i.Path != "a" {
		t.Errorf("Lookup(15) = %q, want a", i.Path)
	}
	if i, _ := tab.Lookup(k, 99); i.Path != "b" {
		t.Errorf("Lookup(99) = %q, want b", i.Path)
	}
	for i := 0; i < MaxSharedTrees+10; i++ {
		tab.Add(TreeKey{Session: 2, Tree: uint32(i)}, TreeInfo{}, 0)
	}
	if len(tab.m) != MaxSharedTrees {
		t.Errorf("%d keys, cap %d", len(tab.m), MaxSharedTrees)
	}
}
