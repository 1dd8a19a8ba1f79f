package tcpstate

import (
	"net/netip"
	"time"

	"github.com/nettrace/nettrace/layers"
)

// lruList is a doubly linked list of connections ordered by last activity,
// oldest first. Every connection of a list shares one timeout, so the front
// is always the next to expire: idle eviction costs O(1) per packet.
type lruList struct {
	head, tail *conn
	n          int
	timeout    time.Duration
}

func (l *lruList) remove(c *conn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.tail = c.prev
	}
	c.prev, c.next, c.list = nil, nil, nil
	l.n--
}

func (l *lruList) pushBack(c *conn) {
	c.list = l
	c.prev, c.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

// moveTo puts c at the back of l (removing it from its current list).
func moveTo(c *conn, l *lruList) {
	if c.list == l && l.tail == c {
		return
	}
	if c.list != nil {
		c.list.remove(c)
	}
	l.pushBack(c)
}

// tomb remembers the tuple of a connection that ended with FIN or RST for
// Config.ClosedLinger: enough to tell a late packet of it (ignored) from a
// SYN with a new ISN (a new connection, tcp.port_reuse), in little memory.
type tomb struct {
	key        connKey
	id         uint64
	client     netip.AddrPort
	baseSet    [2]bool
	base       [2]uint32
	last       time.Time
	prev, next *tomb
}

// dirOf returns the direction of p within the ended connection.
func (tb *tomb) dirOf(p *layers.Packet) Dir {
	if p.SrcAddrPort() == tb.client {
		return ClientToServer
	}
	return ServerToClient
}

// tombList is a list of tombstones, oldest first.
type tombList struct {
	head, tail *tomb
	n          int
}

func (l *tombList) pushBack(tb *tomb) {
	tb.prev, tb.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = tb
	} else {
		l.head = tb
	}
	l.tail = tb
	l.n++
}

func (l *tombList) remove(tb *tomb) {
	if tb.prev != nil {
		tb.prev.next = tb.next
	} else {
		l.head = tb.next
	}
	if tb.next != nil {
		tb.next.prev = tb.prev
	} else {
		l.tail = tb.prev
	}
	tb.prev, tb.next = nil, nil
	l.n--
}
