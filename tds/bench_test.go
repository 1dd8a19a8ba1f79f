package tds

import (
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// BenchmarkConnNDPI decodes every stream of the public mssql_tds capture
// (batches, RPCs, result sets) without messages.
func BenchmarkConnNDPI(b *testing.B) {
	streams, err := testcap.ReadStreams(testdata("ndpi-mssql_tds.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	total := 0
	for _, s := range streams {
		for _, seg := range s.Segments {
			total += len(seg.Data)
		}
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range streams {
			swap := !isServerPort(s.Server.Port())
			c := NewConn(&tcpstate.StreamContext{Reporter: health.Discard}, DefaultConfig())
			for _, seg := range s.Segments {
				dir := tcpstate.ClientToServer
				if seg.ClientToServer == swap {
					dir = tcpstate.ServerToClient
				}
				c.Feed(dir, seg.Data, tcpstate.Position{Frame: seg.Frame, Time: seg.Time})
			}
			c.Close(tcpstate.CloseFIN, tcpstate.Position{})
		}
	}
}

// BenchmarkParseTokenRows decodes a result set of 1000 rows (int, nvarchar).
func BenchmarkParseTokenRows(b *testing.B) {
	meta := cat([]byte{byte(TokenColMetadata)}, u16le(2),
		u32le(0), u16le(0), []byte{byte(TypeIntN), 4}, []byte{2}, ucs2enc("id"),
		u32le(0), u16le(0), []byte{byte(TypeNVarChar)}, u16le(100), []byte{9, 4, 0xD0, 0, 0x34}, []byte{4}, ucs2enc("name"))
	row := cat([]byte{byte(TokenRow), 4}, u32le(42), u16le(10), ucs2enc("hello"))
	stream := append([]byte(nil), meta...)
	for i := 0; i < 1000; i++ {
		stream = append(stream, row...)
	}
	stream = append(stream, doneTok(DoneCount, 0xC1, 1000)...)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	var ctx TokenContext
	for b.Loop() {
		in := stream
		for len(in) > 0 {
			_, rest, err := ParseToken(in, &ctx)
			if err != nil {
				b.Fatal(err)
			}
			in = rest
		}
	}
}
