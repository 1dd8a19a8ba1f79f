package tls

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

// sharedDir returns ../shared relative to the repository root, skipping the
// test when it is absent.
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

// plainSink records the plaintext handed to the next decoder.
type plainSink struct {
	data   [2][]byte
	gaps   [2]int
	closed bool
	frames []int64
}

func (p *plainSink) Feed(dir tcpstate.Dir, b []byte, at tcpstate.Position) {
	p.data[dir] = append(p.data[dir], b...)
	p.frames = append(p.frames, at.Frame)
}
func (p *plainSink) Gap(dir tcpstate.Dir, n int, at tcpstate.Position) { p.gaps[dir] += n }
func (p *plainSink) Close(tcpstate.CloseReason, tcpstate.Position)     { p.closed = true }

// chunking says how a test splits each segment before feeding it.
// chunking is how a test splits streams (testcap.Replay).
type chunking = testcap.Chunking

const (
	chunkWhole  = testcap.Whole
	chunkBytes  = testcap.Bytewise
	chunkRandom = testcap.Random
)

// result is what one connection produced.
type result struct {
	col   *health.Collector
	sinks []*plainSink
	conns []*Conn
}

// runCapture feeds every TCP connection of path to a Conn.
func runCapture(t testing.TB, path string, kl *KeyLog, how chunking) *result {
	t.Helper()
	streams, err := testcap.ReadStreams(path)
	if err != nil {
		t.Fatalf("ReadStreams(%s): %v", path, err)
	}
	res := &result{col: &health.Collector{KeepMessages: true}}
	rng := newRand()
	for i, s := range streams {
		ctx := &tcpstate.StreamContext{ID: uint64(i), Client: s.Client, Server: s.Server,
			Flow: s.Client.String() + "->" + s.Server.String() + "/tcp", Reporter: res.col}
		sink := &plainSink{}
		cfg := DefaultConfig()
		cfg.KeyLog = kl
		cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return sink }
		c := NewConn(ctx, cfg)
		s.Replay(c, how, rng)
		res.sinks = append(res.sinks, sink)
		res.conns = append(res.conns, c)
	}
	return res
}

func mustKeyLog(t testing.TB, paths ...string) *KeyLog {
	t.Helper()
	k, err := LoadKeyLog(paths...)
	if err != nil {
		t.Fatalf("LoadKeyLog: %v", err)
	}
	return k
}

func newRand() *rand.Rand { return rand.New(rand.NewSource(1)) }

func readStreams(t testing.TB, path string) []*testcap.Stream {
	t.Helper()
	s, err := testcap.ReadStreams(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newCollector() *health.Collector { return &health.Collector{KeepMessages: true} }

func readStreamsErr(path string) ([]*testcap.Stream, error) { return testcap.ReadStreams(path) }
