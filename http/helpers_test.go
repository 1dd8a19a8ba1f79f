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
	root := filepath.Dir(filepath.Dir(file))
	p := filepath.Join(append([]string{root, "..", "shared"}, sub...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus absent: %v", err)
	}
	return p
}

func repoTestdata(sub ...string) string {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Dir(filepath.Dir(file))
	return filepath.Join(append([]string{root, "testdata"}, sub...)...)
}

// chunking is how a test splits streams (testcap.Replay).
type chunking = testcap.Chunking

const (
	chunkWhole  = testcap.Whole
	chunkBytes  = testcap.Bytewise
	chunkRandom = testcap.Random
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
		s.Replay(c, how, rng)
	}
	return col
}

func newRand() *rand.Rand { return rand.New(rand.NewSource(7)) }
