package fuzz

import (
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tcpstate"
)

// addSMBSeeds adds the client and server bytes of the small SMB captures.
func addSMBSeeds(f *testing.F) {
	addStreamSeeds(f, "../testdata/smb/*.pcap", 0, nil)
}

// FuzzSMBStream feeds arbitrary client and server bytes to an smb.Conn,
// interleaved in chunks of a fuzzed size, with a gap inserted at a fuzzed
// offset: it must never panic, and every event must name a frame that was
// delivered.
func FuzzSMBStream(f *testing.F) {
	addSMBSeeds(f)
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16, gapAt uint32) {
		col := &health.Collector{KeepMessages: true}
		ctx := &tcpstate.StreamContext{Flow: "fuzz", Reporter: col, RTT: time.Millisecond}
		cfg := smb.DefaultConfig()
		cfg.Pipe = func(*tcpstate.StreamContext, string) tcpstate.StreamHandler { return nopHandler{} }
		c := smb.NewConn(ctx, cfg)
		frame := feedStream(c, client, server, chunk, gapAt)
		checkFrames(t, col.Events, frame)
		_ = c.Stats()
	})
}

type nopHandler struct{}

func (nopHandler) Feed(tcpstate.Dir, []byte, tcpstate.Position)  {}
func (nopHandler) Gap(tcpstate.Dir, int, tcpstate.Position)      {}
func (nopHandler) Close(tcpstate.CloseReason, tcpstate.Position) {}
