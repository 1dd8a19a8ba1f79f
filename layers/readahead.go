package layers

import (
	"errors"
	"io"
)

// source is what a Capture reads records from: a bufio.Reader, or a
// readAhead.
type source interface {
	io.Reader
	Peek(n int) ([]byte, error)
	Discard(n int) (int, error)
	Size() int
}

// Read-ahead geometry: blocks of readAheadBlock bytes, at most
// readAheadBlocks of them filled or in use at a time.
const (
	readAheadBlock  = 256 << 10
	readAheadBlocks = 4
)

// readAhead reads its input on a goroutine of its own, block by block, so
// that the copy out of the kernel (or the gzip inflate) runs beside the
// decode instead of before it. Records are returned as slices of the
// blocks — no second copy — except the few that straddle two blocks, which
// are stitched together in a small buffer.
//
// A slice returned by Peek stays valid until the next Peek, Read or
// Discard that moves past its block: the Capture's contract (a Frame is
// valid until the next Next) asks no more.
type readAhead struct {
	filled chan block
	free   chan []byte
	stop   chan struct{}

	cur    []byte // bytes to return first: the rest of a block, or stitch
	rest   []byte // bytes of the current block after cur when cur is stitch
	held   []byte // the block buffer cur or rest points into
	err    error  // what the input returned after the last block
	stitch []byte
	size   int
}

type block struct {
	b   []byte
	err error
}

// newReadAhead starts reading r in blocks of size bytes on a goroutine;
// stop it with close.
func newReadAhead(r io.Reader, size int) *readAhead {
	ra := &readAhead{
		filled: make(chan block, readAheadBlocks),
		free:   make(chan []byte, readAheadBlocks),
		stop:   make(chan struct{}),
		size:   size,
	}
	for i := 0; i < readAheadBlocks; i++ {
		ra.free <- make([]byte, size)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-ra.free:
		case <-ra.stop:
			return
		}
		n, err := io.ReadFull(r, buf)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF // a short last block
		}
		select {
		case ra.filled <- block{buf[:n], err}:
		case <-ra.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

// close stops the reading goroutine (once a pending Read of the input
// returns).
func (ra *readAhead) close() {
	select {
	case <-ra.stop:
	default:
		close(ra.stop)
	}
}

// next makes the following block current, returning the previous one to
// the reader. It returns false at the end of the input or on an error.
func (ra *readAhead) next() bool {
	if ra.err != nil {
		return false
	}
	if ra.held != nil {
		ra.free <- ra.held[:cap(ra.held)]
		ra.held = nil
	}
	blk := <-ra.filled
	ra.held, ra.err = blk.b, blk.err
	ra.rest = blk.b
	return len(blk.b) > 0
}

// advance moves rest into cur when cur is used up.
func (ra *readAhead) advance() bool {
	for len(ra.cur) == 0 {
		if len(ra.rest) > 0 {
			ra.cur, ra.rest = ra.rest, nil
			return true
		}
		if !ra.next() {
			return false
		}
	}
	return true
}

func (ra *readAhead) Size() int { return ra.size }

func (ra *readAhead) Peek(n int) ([]byte, error) {
	if len(ra.cur) == 0 {
		ra.advance()
	}
	if len(ra.cur) >= n {
		return ra.cur[:n], nil
	}
	// Straddling: copy what is left, then the start of the next block(s).
	ra.stitch = append(ra.stitch[:0], ra.cur...)
	for len(ra.stitch) < n {
		if len(ra.rest) == 0 && !ra.next() {
			ra.cur = ra.stitch
			return ra.cur, ra.eofErr()
		}
		k := min(n-len(ra.stitch), len(ra.rest))
		ra.stitch = append(ra.stitch, ra.rest[:k]...)
		ra.rest = ra.rest[k:]
	}
	ra.cur = ra.stitch
	return ra.cur, nil
}

func (ra *readAhead) Discard(n int) (int, error) {
	done := 0
	for done < n {
		if !ra.advance() {
			return done, ra.eofErr()
		}
		k := min(n-done, len(ra.cur))
		ra.cur = ra.cur[k:]
		done += k
	}
	return done, nil
}

func (ra *readAhead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !ra.advance() {
		return 0, ra.eofErr()
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

func (ra *readAhead) eofErr() error {
	if ra.err == nil {
		return io.EOF
	}
	return ra.err
}
