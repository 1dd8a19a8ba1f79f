package rpc

import (
	"net/netip"
	"sync"
)

// Learned is a DCE/RPC endpoint an endpoint mapper advertised, as the
// Endpoints table remembers it.
type Learned struct {
	Interface UUID   // the tower's interface
	Frame     int64  // the frame of the EPM reply
	Stamp     uint64 // the position in the analysis at which it was learned
}

// Endpoints is the table of TCP endpoints learned from endpoint-mapper
// replies (casebook C4): a later connection to one of them is DCE/RPC
// without a bind in sight. It is safe for concurrent use.
//
// Each entry is stamped with the position in the analysis at which it was
// learned (any increasing counter: the parallel pipeline uses the decoder
// call's sequence number) and keeps its last few versions, so that a lookup
// as of a position sees exactly what was learned before it, whatever the
// order in which concurrent decoders ran.
type Endpoints struct {
	mu sync.Mutex
	m  map[netip.AddrPort][]Learned
}

// Caps of the Endpoints table: the endpoints remembered, and the versions
// remembered of one endpoint advertised again.
const (
	MaxLearned         = 4096
	maxLearnedVersions = 4
)

// Add remembers ep, learned at stamp, so that a later connection to it is
// dissected as DCE/RPC. Both the tower's address and, when it differs, the
// address the EPM request went to are remembered: behind a load balancer or
// NAT (casebook C4) the client connects to the latter. Endpoints that are
// not TCP ports, and new ones past MaxLearned, are not remembered.
func (t *Endpoints) Add(ep Endpoint, stamp uint64) {
	if ep.Protocol != "tcp" || ep.Port == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[netip.AddrPort][]Learned{}
	}
	for _, key := range ep.Addrs() {
		if !key.Addr().IsValid() {
			continue
		}
		versions, ok := t.m[key]
		if !ok && len(t.m) >= MaxLearned {
			return
		}
		if len(versions) == maxLearnedVersions {
			versions = append(versions[:0], versions[1:]...)
		}
		t.m[key] = append(versions, Learned{Interface: ep.Interface, Frame: ep.Frame, Stamp: stamp})
	}
}

// Lookup returns the newest version of server's endpoint learned before
// stamp (with a stamp lower than it).
func (t *Endpoints) Lookup(server netip.AddrPort, before uint64) (Learned, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	versions := t.m[server]
	for i := len(versions) - 1; i >= 0; i-- {
		if versions[i].Stamp < before {
			return versions[i], true
		}
	}
	return Learned{}, false
}
