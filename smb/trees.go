package smb

import (
	"net/netip"
	"sync"
)

// An SMB2 session can span several TCP connections (multichannel, [MS-SMB2]
// 3.2.4.1.6; or a client that reconnects): a tree connected on one is used
// on the others with the same SessionId and TreeId. Trees is the table the
// connections of a capture share, so that a connection that never saw the
// TREE_CONNECT still names the share.

// TreeKey names a tree across connections: the server's address, the SMB2
// SessionId and the TreeId.
type TreeKey struct {
	Server  netip.Addr
	Session uint64
	Tree    uint32
}

// TreeInfo is what a shared tree table remembers of a tree.
type TreeInfo struct {
	Path string // \\server\share
	Pipe bool   // IPC$ (share type pipe)
}

// MaxSharedTrees caps the trees a Trees table remembers; further trees are
// not shared (each connection still knows its own).
const MaxSharedTrees = 4096

// maxTreeVersions caps the versions remembered of one key connected again.
const maxTreeVersions = 4

type treeVersion struct {
	info  TreeInfo
	stamp uint64
}

// Trees is a tree table shared by the connections of a capture, safe for
// concurrent use. Each entry carries the stamp of the decoder call that
// added it, so that a parallel run looks up what a single-worker run would
// have seen (see Lookup).
type Trees struct {
	mu sync.Mutex
	m  map[TreeKey][]treeVersion
}

// Add remembers the tree k, connected at stamp. New keys past
// MaxSharedTrees are not remembered.
func (t *Trees) Add(k TreeKey, info TreeInfo, stamp uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[TreeKey][]treeVersion{}
	}
	versions, ok := t.m[k]
	if !ok && len(t.m) >= MaxSharedTrees {
		return
	}
	if len(versions) == maxTreeVersions {
		versions = append(versions[:0], versions[1:]...)
	}
	t.m[k] = append(versions, treeVersion{info: info, stamp: stamp})
}

// Lookup returns the newest version of tree k added before stamp (with a
// lower stamp).
func (t *Trees) Lookup(k TreeKey, before uint64) (TreeInfo, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	versions := t.m[k]
	for i := len(versions) - 1; i >= 0; i-- {
		if versions[i].stamp < before {
			return versions[i].info, true
		}
	}
	return TreeInfo{}, false
}
