package smb

import (
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// BenchmarkConnRealStream decodes the real smbclient session of
// smb3_11-alice-ls-get-put.pcap (1 MiB get, 200 KiB put; from ../shared)
// or, without ../shared, the SMB2 read/write capture in testdata.
func BenchmarkConnRealStream(b *testing.B) {
	path := findCapture("captures/smb", "smb3_11-alice-ls-get-put")
	if path == "" {
		path = findCapture("public-captures", "zeek-smb-smb2readwrite")
	}
	streams, err := testcap.ReadStreams(path)
	if err != nil {
		b.Fatal(err)
	}
	var s *testcap.Stream
	total := 0
	for _, st := range streams {
		n := len(st.Bytes(true)) + len(st.Bytes(false))
		if n > total {
			s, total = st, n
		}
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := NewConn(&tcpstate.StreamContext{Reporter: health.Discard}, DefaultConfig())
		for _, seg := range s.Segments {
			d := tcpstate.ServerToClient
			if seg.ClientToServer {
				d = tcpstate.ClientToServer
			}
			c.Feed(d, seg.Data, tcpstate.Position{Frame: seg.Frame, Time: seg.Time})
		}
		c.Close(tcpstate.CloseEndOfCapture, tcpstate.Position{})
	}
}

// BenchmarkConnSyntheticReads decodes C8's synthetic 4 MiB read pattern.
func BenchmarkConnSyntheticReads(b *testing.B) {
	s := c8Script()
	total := 0
	for _, d := range s.out {
		total += len(d.data)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c := NewConn(&tcpstate.StreamContext{Reporter: health.Discard}, DefaultConfig())
		s.run(c, whole)
	}
}
