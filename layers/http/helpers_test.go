package http

import (
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

func sharedDir(t testing.TB, sub ...string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	p := filepath.Join(append([]string{root, "..", "shared"}, sub...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus absent: %v", err)
	}
	return p
}

func repoTestdata(sub ...string) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return filepath.Join(append([]string{root, "testdata"}, sub...)...)
}

type chunking int

const (
	chunkWhole chunking = iota
	chunkBytes
	chunkRandom
)

// runCapture feeds every TCP connection of path to an HTTP Conn.
func runCapture(t testing.TB, path string, how chunking) *health.Collector {
	t.Helper()
	streams, err := testcap.ReadStreams(path)
	if err != nil {
		t.Fatalf("ReadStreams(%s): %v", path, err)
	}
	col := &health.Collector{KeepMessages: true}
	rng := rand.New(rand.NewSource(7))
	for i, s := range streams {
		ctx := &tcpstate.StreamContext{ID: uint64(i), Client: s.Client, Server: s.Server,
			Flow: s.Client.String() + "->" + s.Server.String() + "/tcp", Reporter: col}
		c := NewConn(ctx, DefaultConfig())
		var last tcpstate.Position
		for _, seg := range s.Segments {
			dir := tcpstate.ServerToClient
			if seg.ClientToServer {
				dir = tcpstate.ClientToServer
			}
			at := tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
			last = at
			feedChunks(c, dir, seg.Data, at, how, rng)
		}
		c.Close(tcpstate.CloseFIN, last)
	}
	return col
}

func feedChunks(h tcpstate.StreamHandler, dir tcpstate.Dir, data []byte, at tcpstate.Position, how chunking, rng *rand.Rand) {
	switch how {
	case chunkWhole:
		h.Feed(dir, data, at)
	case chunkBytes:
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

func newRand() *rand.Rand { return rand.New(rand.NewSource(7)) }
