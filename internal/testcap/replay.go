package testcap

import (
	"math/rand"

	"github.com/nettrace/nettrace/tcpstate"
)

// Chunking says how Replay splits each segment before feeding it.
type Chunking int

// Ways to split a stream. Decoders must give the same results for all.
const (
	Whole    Chunking = iota // each segment in one Feed
	Bytewise                 // one Feed per byte
	Random                   // random split points, often tiny pieces
)

// Replay feeds the stream to h in capture order, each segment split as how
// says (Random draws from rng; its pieces are fresh copies, so a decoder that
// keeps a slice past Feed is caught), then closes h with CloseFIN at the last
// segment's position.
func (s *Stream) Replay(h tcpstate.StreamHandler, how Chunking, rng *rand.Rand) {
	var last tcpstate.Position
	for _, seg := range s.Segments {
		dir := tcpstate.ServerToClient
		if seg.ClientToServer {
			dir = tcpstate.ClientToServer
		}
		last = tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
		Feed(h, dir, seg.Data, last, how, rng)
	}
	h.Close(tcpstate.CloseFIN, last)
}

// Feed delivers data of dir at position at to h, split as how says.
func Feed(h tcpstate.StreamHandler, dir tcpstate.Dir, data []byte, at tcpstate.Position, how Chunking, rng *rand.Rand) {
	switch how {
	case Whole:
		h.Feed(dir, data, at)
	case Bytewise:
		for i := range data {
			h.Feed(dir, data[i:i+1], at)
		}
	default:
		for len(data) > 0 {
			n := 1 + rng.Intn(len(data))
			if rng.Intn(3) == 0 && n > 5 {
				n = 1 + rng.Intn(5)
			}
			h.Feed(dir, append([]byte(nil), data[:n]...), at)
			data = data[n:]
		}
	}
}
