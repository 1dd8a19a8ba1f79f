package tcpstate

import (
	"path/filepath"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// anaOneConn returns the packets of a single-connection capture with their
// directions (the client sent the first packet).
func anaOneConn(tb testing.TB, path string) ([]layers.Packet, []Dir, *StreamContext) {
	pkts := readPackets(tb, path)
	if len(pkts) == 0 {
		tb.Fatalf("%s: no TCP", path)
	}
	client := pkts[0].SrcAddrPort()
	dirs := make([]Dir, len(pkts))
	for i := range pkts {
		if pkts[i].SrcAddrPort() != client {
			dirs[i] = ServerToClient
		}
	}
	ctx := &StreamContext{Client: client, Server: pkts[0].DstAddrPort(), Flow: "bench", Reporter: health.Discard}
	return pkts, dirs, ctx
}

// TestAnalyzeDoesNotAllocate: a clean segment costs no allocation.
func TestAnalyzeDoesNotAllocate(t *testing.T) {
	pkts, dirs, ctx := anaOneConn(t, filepath.Join(anaTestdata(), "c01-synack-payload-server.pcap"))
	a := new(seqAnalysis)
	allocs := testing.AllocsPerRun(20, func() {
		*a = seqAnalysis{}
		for i := range pkts {
			a.analyze(ctx, dirs[i], &pkts[i])
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per run of %d clean segments, want 0", allocs, len(pkts))
	}
}

func anaBench(b *testing.B, path string) {
	pkts, dirs, ctx := anaOneConn(b, path)
	a := new(seqAnalysis)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		*a = seqAnalysis{}
		for i := range pkts {
			a.analyze(ctx, dirs[i], &pkts[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(pkts)), "ns/segment")
}

// BenchmarkAnalyzeLossy runs the analysis over a lossy transfer (many
// flagged segments, hence events): 700 frames of tcp-lossy-netem-curl-client
// in testdata, or the whole capture when ../shared is there.
func BenchmarkAnalyzeLossy(b *testing.B) {
	path := filepath.Join(anaTestdata(), "tcp-lossy-netem-curl-client-head.pcap")
	if sh := anaShared(); sh != "" {
		path = filepath.Join(sh, "captures", "tcp", "tcp-lossy-netem-curl-client.pcap")
	}
	anaBench(b, path)
}

// BenchmarkAnalyzeClean runs the analysis over a clean bulk transfer
// (c08-smb2-read-pipelined-smbclient from ../shared, or the small C1
// server capture).
func BenchmarkAnalyzeClean(b *testing.B) {
	path := filepath.Join(anaTestdata(), "c01-synack-payload-server.pcap")
	if sh := anaShared(); sh != "" {
		path = filepath.Join(sh, "captures", "cases", "c08-smb2-read-1-outstanding-impacket.pcap")
	}
	anaBench(b, path)
}
