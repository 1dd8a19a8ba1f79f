package http

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

func seedHTTP(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"))
	if streams, err := testcap.ReadStreams(repoTestdata("http", "http-gzip-corrupt-nginx-gzipstatic.pcap")); err == nil {
		s := streams[0]
		b := s.Bytes(false)
		f.Add(s.Bytes(true), b[:min(len(b), 4096)])
	}
}

// FuzzParseLines runs the line parsers over arbitrary bytes.
func FuzzParseLines(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1"))
	f.Add([]byte("HTTP/1.1 200 OK"))
	f.Add([]byte("1a;x=y"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRequestLine(b); err == nil && r.Method == "" {
			t.Fatal("empty method accepted")
		}
		if s, err := ParseStatusLine(b); err == nil && (s.Status < 100 || s.Status > 999) {
			t.Fatal("bad status accepted")
		}
		ParseHeaderField(b)
		if n, err := ParseChunkSize(b); err == nil && n < 0 {
			t.Fatal("negative chunk size")
		}
	})
}

// FuzzConn feeds arbitrary client and server bytes, split and with a gap,
// whole and then cut into small pieces: no panic, and the same events and
// messages either way (chunking must not change results).
func FuzzConn(f *testing.F) {
	seedHTTP(f)
	seedH2(f)
	f.Add([]byte("x\r\nGET /a HTTP/1.1\r\n\r\n\r\nzGET /b HTTP/1.1\r\n\r\n"), []byte("tail\x00HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabcdefghiHTTP/1.1 204 x\r\n\r\n"))
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), []byte("\x00\x00\x00\x04\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		cfg := DefaultConfig()
		cfg.Limits.MaxCompressedBytes = 1 << 16
		cfg.Limits.MaxBodyBytes = 1 << 20
		cfg.Limits.MaxLineBytes = 64 // reach the line limits with short inputs
		var out [2][]byte
		for i, how := range []chunking{chunkWhole, chunkRandom} {
			col := &health.Collector{KeepMessages: true}
			c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
			rng := newRand()
			testcap.Feed(c, tcpstate.ClientToServer, req, tcpstate.Position{Frame: 1}, how, rng)
			h := len(resp) / 2
			testcap.Feed(c, tcpstate.ServerToClient, resp[:h], tcpstate.Position{Frame: 2}, how, rng)
			c.Gap(tcpstate.ServerToClient, 3, tcpstate.Position{Frame: 3})
			testcap.Feed(c, tcpstate.ServerToClient, resp[h:], tcpstate.Position{Frame: 4}, how, rng)
			c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 5})
			b, err := json.Marshal(col)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = b
		}
		if string(out[0]) != string(out[1]) {
			t.Fatalf("chunking changed the results:\nwhole: %s\nsplit: %s", out[0], out[1])
		}
	})
}

// seedH2 adds the HTTP/2 streams of the h2c captures and a scripted
// exchange.
func seedH2(f *testing.F) {
	cli, srv := newEnc(), newEnc()
	f.Add([]byte(h2client+cli.headers(1, FlagEndStream, get("/a")...)+rstFrame(3, ErrCodeCancel)),
		[]byte(h2server+srv.headers(1, 0, status("200", "content-encoding", "gzip")...)+dataFrame(1, FlagEndStream, gz([]byte("hello")))+goAwayFrame(1, ErrCodeNo, "x")))
	for _, name := range []string{"h2c-prior-knowledge-nginx-nghttp-curl", "h2c-upgrade-go-curl"} {
		streams, err := testcap.ReadStreams(repoTestdata("http", name+".pcap"))
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range streams {
			c, sv := s.Bytes(true), s.Bytes(false)
			f.Add(c[:min(len(c), 4096)], sv[:min(len(sv), 4096)])
		}
	}
}

// FuzzParseFrame runs the frame parser over arbitrary bytes: no panic,
// and a frame it accepts parses again from the bytes it consumed alone,
// to the same frame, with nothing left over.
func FuzzParseFrame(f *testing.F) {
	enc := newEnc()
	for _, s := range []string{dataFrame(1, FlagPadded, "\x01ab\x00"), enc.headers(1, FlagPriority, get("/")...), settingsFrame(1, 4096),
		goAwayFrame(3, ErrCodeNo, "bye"), rawFrame(FramePushPromise, FlagEndHeaders|FlagPadded, 1, "\x00"+u32(2)+"\x82"), rawFrame(FramePing, 0, 0, "12345678")} {
		f.Add([]byte(s), uint32(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, maxLen uint32) {
		fr, rest, err := ParseFrame(b, maxLen)
		if err != nil {
			if string(rest) != string(b) {
				t.Fatal("input not returned on error")
			}
			return
		}
		used := b[:len(b)-len(rest)]
		again, rest2, err := ParseFrame(used, maxLen)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-parse of %x: %v, %d bytes left", used, err, len(rest2))
		}
		if diff := cmp.Diff(fr, again); diff != "" {
			t.Fatalf("re-parse differs (-first +again):\n%s", diff)
		}
		if len(fr.Data)+len(fr.Block) > len(fr.Payload) || int(fr.Length) != len(fr.Payload) {
			t.Fatalf("frame fields exceed its payload: %+v", fr)
		}
	})
}

// FuzzH2Conn feeds arbitrary client and server bytes to an H2Conn (after
// the preface, so that frames are reached), whole and cut at random
// points, with a gap: no panic, and the same events and messages either
// way.
func FuzzH2Conn(f *testing.F) {
	seedH2(f)
	f.Fuzz(func(t *testing.T, client, server []byte) {
		cfg := DefaultConfig()
		cfg.Limits.MaxCompressedBytes = 1 << 16
		cfg.Limits.MaxBodyBytes = 1 << 20
		cfg.Limits.MaxH2Streams = 4
		cfg.Limits.MaxH2FrameBytes = 1 << 12
		if !bytes.HasPrefix(client, []byte(ClientPreface)) {
			client = append([]byte(ClientPreface), client...)
		}
		var out [2][]byte
		for i, how := range []chunking{chunkWhole, chunkRandom} {
			col := &health.Collector{KeepMessages: true}
			c := NewH2Conn(&tcpstate.StreamContext{Reporter: col}, cfg)
			rng := newRand()
			h := len(server) / 2
			testcap.Feed(c, tcpstate.ClientToServer, client, tcpstate.Position{Frame: 1}, how, rng)
			testcap.Feed(c, tcpstate.ServerToClient, server[:h], tcpstate.Position{Frame: 2}, how, rng)
			c.Gap(tcpstate.ServerToClient, 3, tcpstate.Position{Frame: 3})
			testcap.Feed(c, tcpstate.ServerToClient, server[h:], tcpstate.Position{Frame: 4}, how, rng)
			c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 5})
			b, err := json.Marshal(col)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = b
		}
		if string(out[0]) != string(out[1]) {
			t.Fatalf("chunking changed the results:\nwhole: %s\nsplit: %s", out[0], out[1])
		}
	})
}
