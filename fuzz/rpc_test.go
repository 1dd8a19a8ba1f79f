package fuzz

import (
	"net/netip"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/tcpstate"
)

// addRPCSeeds adds the client and server bytes of the small DCE/RPC captures.
func addRPCSeeds(f *testing.F) {
	addStreamSeeds(f, "../testdata/rpc/*.pcap", 0, func(c, _ []byte) bool {
		return len(c) > 0 && rpc.Detect(tcpstate.ClientToServer, c)
	})
}

// FuzzRPCStream feeds arbitrary client and server bytes to an rpc.Conn,
// interleaved in chunks of a fuzzed size, with a gap inserted at a fuzzed
// offset: it must never panic, every event must name a frame that was
// delivered, and learned endpoints must carry a protocol.
func FuzzRPCStream(f *testing.F) {
	addRPCSeeds(f)
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16, gapAt uint32) {
		col := &health.Collector{KeepMessages: true}
		ctx := &tcpstate.StreamContext{Flow: "fuzz", Reporter: col,
			Client: netip.MustParseAddrPort("10.0.0.2:50000"), Server: netip.MustParseAddrPort("10.0.0.1:135")}
		cfg := rpc.DefaultConfig()
		cfg.Learned = func(e rpc.Endpoint) {
			if e.Frame <= 0 {
				t.Fatalf("learned endpoint without a frame: %+v", e)
			}
		}
		c := rpc.NewConn(ctx, cfg)
		frame := feedStream(c, client, server, chunk, gapAt)
		checkFrames(t, col.Events, frame)
		_ = c.Stats()
	})
}

// FuzzRPCParsers runs the pure parsers on arbitrary bytes.
func FuzzRPCParsers(f *testing.F) {
	addRPCSeeds(f)
	f.Fuzz(func(t *testing.T, b, _ []byte, _ uint16, _ uint32) {
		rpc.ParsePDU(b)
		rpc.ParseTower(b)
		rpc.ParseCLHeader(b)
		lim := rpc.DefaultEPMLimits()
		rpc.ParseMapResponse(b, rpc.LittleEndian, lim)
		rpc.ParseLookupResponse(b, rpc.LittleEndian, lim)
		rpc.ParseMapRequest(b, rpc.DataRep{}, lim)
		rpc.ParseLookupRequest(b, rpc.DataRep{}, lim)
	})
}
