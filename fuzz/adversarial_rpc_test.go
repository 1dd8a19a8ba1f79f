package fuzz

import (
	"encoding/binary"
	"testing"

	"github.com/nettrace/nettrace/rpc"
)

// walkList decodes stub as a linked list of NDR nodes {long value; [ptr]
// node *next} the way a careful decoder does: a full pointer's referent is
// decoded only the first time its ID is seen, and each level is Entered.
// It returns the nodes decoded and whether decoding stopped on a failure.
func walkList(stub []byte, lim rpc.NDRLimits) (nodes int, failed bool) {
	n := rpc.NewNDR(stub, rpc.LittleEndian, lim)
	var id uint32
	first := false
	if !n.FullPointer(&id, &first) {
		return 0, true
	}
	for first {
		if !n.Enter() {
			return nodes, true
		}
		var v uint32
		if !n.Uint32(&v) || !n.FullPointer(&id, &first) {
			return nodes, true
		}
		nodes++
		// The list is not left until it ends: depth grows with it.
	}
	return nodes, false
}

func longs(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, x)
	}
	return b
}

// An NDR pointer cycle (node 1 → node 2 → node 1) ends after two nodes:
// the second occurrence of referent 1 is not decoded again.
func TestNDRPointerCycle(t *testing.T) {
	stub := longs(1, 0xaaaa, 2, 0xbbbb, 1, 0xcccc, 2, 0xdddd, 1)
	nodes, failed := walkList(stub, rpc.NDRLimits{})
	if nodes != 2 || failed {
		t.Fatalf("cycle 1→2→1: decoded %d nodes (failed=%v), want 2 and a clean end", nodes, failed)
	}
	// A self-referencing node.
	if nodes, failed := walkList(longs(7, 1, 7), rpc.NDRLimits{}); nodes != 1 || failed {
		t.Fatalf("self cycle: %d nodes (failed=%v), want 1", nodes, failed)
	}
}

// A list deeper than MaxDepth, and more distinct referents than
// MaxElements, fail instead of recursing or growing without bound.
func TestNDRDepthAndReferentCaps(t *testing.T) {
	var stub []byte
	for i := uint32(1); i <= 100; i++ {
		stub = append(stub, longs(i, i)...)
	}
	stub = append(stub, longs(0)...)
	if nodes, failed := walkList(stub, rpc.NDRLimits{MaxDepth: 16}); !failed || nodes != 16 {
		t.Fatalf("100-deep list with MaxDepth 16: %d nodes (failed=%v), want 16 and a failure", nodes, failed)
	}
	n := rpc.NewNDR(longs(make([]uint32, 300)...), rpc.LittleEndian, rpc.NDRLimits{MaxElements: 100})
	var id uint32
	var first bool
	distinct := 0
	for n.Len() > 0 {
		if !n.FullPointer(&id, &first) {
			break
		}
		distinct++
	}
	// Every ID in that stub is 0 (null): none counts against the cap.
	if distinct != 300 {
		t.Fatalf("300 null pointers: %d read", distinct)
	}
	ids := make([]uint32, 300)
	for i := range ids {
		ids[i] = uint32(i + 1)
	}
	n = rpc.NewNDR(longs(ids...), rpc.LittleEndian, rpc.NDRLimits{MaxElements: 100})
	distinct = 0
	for n.FullPointer(&id, &first) {
		distinct++
	}
	if distinct != 100 {
		t.Fatalf("300 distinct referents with MaxElements 100: %d accepted, want 100", distinct)
	}
}

// FuzzNDRList walks arbitrary stubs as linked lists of full pointers: the
// walk always ends, decodes at most one node per 8 bytes, never more than
// MaxDepth, and allocates within allocBound.
func FuzzNDRList(f *testing.F) {
	f.Add(longs(1, 0xaaaa, 2, 0xbbbb, 1))
	f.Add(longs(1, 1, 2, 2, 3, 3, 4, 4, 0))
	f.Fuzz(func(t *testing.T, stub []byte) {
		var nodes int
		alloc := measure(func() { nodes, _ = walkList(stub, rpc.NDRLimits{MaxDepth: 64}) })
		if nodes > len(stub)/8 || nodes > 64 {
			t.Fatalf("%d nodes from %d bytes", nodes, len(stub))
		}
		if alloc > allocBound(len(stub)) {
			t.Fatalf("allocated %d bytes for %d", alloc, len(stub))
		}
	})
}
