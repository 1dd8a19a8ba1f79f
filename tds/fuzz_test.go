package tds

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// seedStreams adds the client and server byte streams of the test
// captures as seeds.
func seedStreams(f *testing.F, add func(b []byte)) {
	files, _ := filepath.Glob(testdata("*.pcap"))
	for _, file := range files {
		streams, err := testcap.ReadStreams(file)
		if err != nil {
			continue
		}
		for _, s := range streams {
			add(s.Bytes(true))
			add(s.Bytes(false))
		}
	}
	for _, h := range []string{specPrelogin, specLogin7, specLoginResponse, specBatch, specBatchResponse, specRPC, specRPCResponse, specTM} {
		add(mustHex(f, h))
	}
}

// FuzzParsePacket: no panic; a success re-parses to the same packet from
// exactly the consumed bytes.
func FuzzParsePacket(f *testing.F) {
	seedStreams(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, b []byte) {
		p, rest, err := ParsePacket(b)
		if err != nil {
			if !bytes.Equal(rest, b) {
				t.Fatal("error but input consumed")
			}
			return
		}
		used := b[:len(b)-len(rest)]
		p2, rest2, err := ParsePacket(used)
		if err != nil || len(rest2) != 0 || p2.Header != p.Header || !bytes.Equal(p2.Payload, p.Payload) {
			t.Fatalf("re-parse differs: %v", err)
		}
	})
}

// payloads returns the payloads of the first packets of b.
func payloads(b []byte) [][]byte {
	var out [][]byte
	for i := 0; i < 8; i++ {
		p, rest, err := ParsePacket(b)
		if err != nil {
			break
		}
		out = append(out, p.Payload)
		b = rest
	}
	return out
}

func FuzzParsePrelogin(f *testing.F) {
	seedStreams(f, func(b []byte) {
		for _, p := range payloads(b) {
			f.Add(p)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, rest, err := ParsePrelogin(b)
		if err != nil {
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		used := b[:len(b)-len(rest)]
		p2, _, err := ParsePrelogin(used)
		if err != nil {
			t.Fatalf("re-parse of consumed bytes failed: %v", err)
		}
		if diff := cmp.Diff(p, p2); diff != "" {
			t.Fatalf("re-parse differs:\n%s", diff)
		}
	})
}

func FuzzParseLogin7(f *testing.F) {
	seedStreams(f, func(b []byte) {
		for _, p := range payloads(b) {
			f.Add(p)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, rest, err := ParseLogin7(b)
		if err != nil {
			return
		}
		used := b[:len(b)-len(rest)]
		l2, rest2, err := ParseLogin7(used)
		if err != nil || len(rest2) != 0 {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(l, l2); diff != "" {
			t.Fatalf("re-parse differs:\n%s", diff)
		}
	})
}

// FuzzParseToken decodes a whole token stream: no panic, every loop ends.
func FuzzParseToken(f *testing.F) {
	seedStreams(f, func(b []byte) {
		for _, p := range payloads(b) {
			f.Add(p, false)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte, old bool) {
		ctx := TokenContext{MaxColumns: 64}
		if old {
			ctx.Version = TDS71
		}
		n0 := len(b)
		for i := 0; len(b) > 0; i++ {
			if i > n0 {
				t.Fatal("token loop does not advance")
			}
			_, rest, err := ParseToken(b, &ctx)
			if err != nil {
				if !bytes.Equal(rest, b) {
					t.Fatal("error but input consumed")
				}
				return
			}
			if len(rest) >= len(b) {
				t.Fatal("token consumed nothing")
			}
			b = rest
		}
	})
}

func FuzzParseRPC(f *testing.F) {
	seedStreams(f, func(b []byte) {
		for _, p := range payloads(b) {
			f.Add(p)
		}
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseRPC(b, 16, 128)
		ParseSQLBatch(b, 128)
		ParseTMRequest(b)
		ParseSMP(b)
	})
}

func FuzzParseSSRP(f *testing.F) {
	f.Add([]byte("\x04SQLPROD\x00"))
	f.Add([]byte{3})
	f.Add([]byte{2})
	f.Add([]byte("\x0f\x01MSSQLSERVER\x00"))
	f.Add([]byte("\x05\x06\x00\x01\x39\x05\x00\x00\x00"))
	f.Add([]byte("\x05\x2a\x00ServerName;A;InstanceName;B;tcp;1433;;"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, rest, err := ParseSSRP(b)
		if err != nil {
			return
		}
		m2, _, err := ParseSSRP(b[:len(b)-len(rest)])
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(m, m2); diff != "" {
			t.Fatalf("re-parse differs:\n%s", diff)
		}
	})
}

// FuzzConn feeds arbitrary bytes in arbitrary chunks and directions, with
// gaps, to a Conn with messages on: no panic, bounded memory.
func FuzzConn(f *testing.F) {
	seedStreams(f, func(b []byte) { f.Add(b, []byte{0, 7, 3, 200, 1}) })
	f.Fuzz(func(t *testing.T, data, plan []byte) {
		rep := &health.Collector{KeepMessages: true}
		ctx := &tcpstate.StreamContext{Flow: "fuzz", Reporter: rep, RTT: time.Millisecond}
		cfg := DefaultConfig()
		cfg.Limits.MaxMessage = 4096
		cfg.Limits.MaxToken = 4096
		tls := &recTLS{}
		cfg.TLS = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return tls }
		c := NewConn(ctx, cfg)
		at := tcpstate.Position{Time: time.Unix(0, 0)}
		for i := 0; len(data) > 0; i++ {
			step := byte(13)
			if len(plan) > 0 {
				step = plan[i%len(plan)]
			}
			n := int(step&0x3F) + 1
			n = min(n, len(data))
			dir := tcpstate.Dir(step >> 7)
			at.Frame++
			at.Time = at.Time.Add(time.Millisecond)
			if step&0x40 != 0 && step&0x20 != 0 {
				c.Gap(dir, n, at)
			}
			c.Feed(dir, data[:n], at)
			data = data[n:]
			for d := range c.half {
				if len(c.half[d].buf) > 0xFFFF+HeaderLen+smpHeaderLen+64 {
					t.Fatalf("buffer grew to %d", len(c.half[d].buf))
				}
			}
		}
		c.Close(tcpstate.CloseFIN, at)
	})
}
