// Package memo remembers the results of costly, pure computations on
// inputs that repeat across connections: the description of a server's
// certificate, the verdict on a compressed body that a server sends to
// every client. A Cache is bounded (two generations of at most size
// entries: when the current one is full it becomes the previous one, so
// what is in use stays and what is not is forgotten) and safe for the
// decoders of parallel workers.
package memo

import "sync"

// Cache maps keys to remembered values.
type Cache[K comparable, V any] struct {
	mu        sync.Mutex
	size      int
	cur, prev map[K]V
	hits      int64
	misses    int64
}

// New returns a cache of at most 2×size entries.
func New[K comparable, V any](size int) *Cache[K, V] {
	return &Cache[K, V]{size: max(size, 1)}
}

// Get returns the value remembered for k.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.cur[k]
	if !ok {
		if v, ok = c.prev[k]; ok {
			c.put(k, v) // in use: keep it in the current generation
		}
	}
	if ok {
		c.hits++
	} else {
		c.misses++
	}
	return v, ok
}

// Put remembers v for k.
func (c *Cache[K, V]) Put(k K, v V) {
	c.mu.Lock()
	c.put(k, v)
	c.mu.Unlock()
}

func (c *Cache[K, V]) put(k K, v V) {
	if c.cur == nil || len(c.cur) >= c.size {
		c.prev, c.cur = c.cur, make(map[K]V, c.size)
	}
	c.cur[k] = v
}

// Stats returns the lookups that found a value and those that did not,
// and the entries held.
func (c *Cache[K, V]) Stats() (hits, misses int64, entries int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses, len(c.cur) + len(c.prev)
}
