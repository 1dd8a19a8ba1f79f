package tcpstate

import (
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/layers"
)

// link is an element's place in a list: the element holds it, so joining
// and leaving a list allocates nothing. The list code follows links only
// and never looks into T, so connections and tombstones share it.
type link[T any] struct {
	prev, next *link[T]
	elem       *T // the element that holds this link
}

// list is a doubly linked list, oldest first.
type list[T any] struct {
	head, tail *link[T]
	n          int
}

// front returns the oldest element, or nil.
func (l *list[T]) front() *T {
	if l.head == nil {
		return nil
	}
	return l.head.elem
}

// pushBack appends e, whose link k must not be in a list.
func (l *list[T]) pushBack(e *T, k *link[T]) {
	k.elem = e
	k.prev, k.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = k
	} else {
		l.head = k
	}
	l.tail = k
	l.n++
}

// remove takes out the element whose link k is in l.
func (l *list[T]) remove(k *link[T]) {
	if k.prev != nil {
		k.prev.next = k.next
	} else {
		l.head = k.next
	}
	if k.next != nil {
		k.next.prev = k.prev
	} else {
		l.tail = k.prev
	}
	k.prev, k.next = nil, nil
	l.n--
}

// lruList is a list of connections ordered by last activity, oldest first.
// Every connection of a list shares one timeout, so the front is always
// the next to expire: idle eviction costs O(1) per packet.
type lruList struct {
	list[conn]
	timeout time.Duration
}

// moveTo puts c at the back of l (removing it from its current list).
func moveTo(c *conn, l *lruList) {
	if c.list == l && l.tail == &c.lru {
		return
	}
	c.unlist()
	c.list = l
	l.pushBack(c, &c.lru)
}

// unlist removes c from its LRU list, if any.
func (c *conn) unlist() {
	if c.list != nil {
		c.list.remove(&c.lru)
		c.list = nil
	}
}

// tomb remembers the tuple of a connection that ended with FIN or RST for
// Config.ClosedLinger: enough to tell a late packet of it (ignored) from a
// SYN with a new ISN (a new connection, tcp.port_reuse), in little memory.
type tomb struct {
	key     connKey
	id      uint64
	client  netip.AddrPort
	baseSet [2]bool
	base    [2]uint32
	last    time.Time
	link    link[tomb] // in Tracker.tombList
	flow    string
	acks    [2]lateAcks // per direction, what tells a late duplicate ACK
}

// dirOf returns the direction of p within the ended connection.
func (tb *tomb) dirOf(p *layers.Packet) Dir {
	if p.SrcAddrPort() == tb.client {
		return ClientToServer
	}
	return ServerToClient
}
