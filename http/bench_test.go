package http

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// BenchmarkGzipResponses decodes pipelined gzip+chunked responses of
// 64 KiB (decoded) through one Conn: the gzip reader and hash are reused.
// Bytes/op counts decoded body bytes.
func BenchmarkGzipResponses(b *testing.B) {
	body := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 1457))[:64<<10]
	z := gz(body)
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(z), z))
	req := []byte("GET /x HTTP/1.1\r\nHost: bench\r\n\r\n")
	c := NewConn(&tcpstate.StreamContext{Reporter: health.Discard}, DefaultConfig())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Feed(tcpstate.ClientToServer, req, tcpstate.Position{})
		for off := 0; off < len(resp); off += 1448 {
			c.Feed(tcpstate.ServerToClient, resp[off:min(off+1448, len(resp))], tcpstate.Position{})
		}
	}
}

// BenchmarkIdentityResponses hashes identity bodies as they stream.
func BenchmarkIdentityResponses(b *testing.B) {
	body := make([]byte, 64<<10)
	resp := append([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))), body...)
	req := []byte("GET /x HTTP/1.1\r\nHost: bench\r\n\r\n")
	c := NewConn(&tcpstate.StreamContext{Reporter: health.Discard}, DefaultConfig())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Feed(tcpstate.ClientToServer, req, tcpstate.Position{})
		for off := 0; off < len(resp); off += 1448 {
			c.Feed(tcpstate.ServerToClient, resp[off:min(off+1448, len(resp))], tcpstate.Position{})
		}
	}
}

// BenchmarkGzipConns decodes one 16 KiB gzip response per new Conn, as in a
// capture of many short connections: decompressors and body buffers are
// not reused within a Conn.
func BenchmarkGzipConns(b *testing.B) {
	words := strings.Fields("the quick brown fox jumps over a lazy dog while seven zebras quietly vex jovial kings")
	var sb strings.Builder
	for i := uint32(1); sb.Len() < 16<<10; i = i*1103515245 + 12345 {
		sb.WriteString(words[i>>16%uint32(len(words))])
		sb.WriteByte(" \n"[i>>8&1])
	}
	body := []byte(sb.String())
	z := gz(body)
	resp := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", len(z), z))
	req := []byte("GET /x HTTP/1.1\r\nHost: bench\r\n\r\n")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := NewConn(&tcpstate.StreamContext{Reporter: health.Discard}, DefaultConfig())
		c.Feed(tcpstate.ClientToServer, req, tcpstate.Position{})
		for off := 0; off < len(resp); off += 1448 {
			c.Feed(tcpstate.ServerToClient, resp[off:min(off+1448, len(resp))], tcpstate.Position{})
		}
		c.Close(tcpstate.CloseFIN, tcpstate.Position{})
	}
}

// BenchmarkH2Streams decodes HTTP/2 streams through one H2Conn: a GET and
// a 64 KiB identity response in 16 KiB DATA frames, cut into 1448-byte
// segments. The per-stream cost is the header blocks (HPACK strings), the
// stream and its records' maps; DATA streams without copies.
func BenchmarkH2Streams(b *testing.B) {
	cli, srv := newEnc(), newEnc()
	c := NewH2Conn(&tcpstate.StreamContext{Reporter: health.Discard}, DefaultConfig())
	c.Feed(tcpstate.ClientToServer, []byte(h2client), tcpstate.Position{})
	c.Feed(tcpstate.ServerToClient, []byte(h2server), tcpstate.Position{})
	chunk := strings.Repeat("x", 16<<10)
	b.SetBytes(64 << 10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer() // the frames are built outside the measure
		id := uint32(2*i + 1)
		req := []byte(cli.headers(id, FlagEndStream, get("/x")...))
		resp := srv.headers(id, 0, status("200", "content-length", "65536")...)
		for j := range 4 {
			f := Flags(0)
			if j == 3 {
				f = FlagEndStream
			}
			resp += dataFrame(id, f, chunk)
		}
		r := []byte(resp)
		b.StartTimer()
		c.Feed(tcpstate.ClientToServer, req, tcpstate.Position{})
		for off := 0; off < len(r); off += 1448 {
			c.Feed(tcpstate.ServerToClient, r[off:min(off+1448, len(r))], tcpstate.Position{})
		}
	}
}
