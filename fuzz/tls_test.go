package fuzz

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tls"
)

// addTLSSeeds adds the client and server bytes of the small TLS captures
// and returns a key log merging their .keys files, so that the fuzzer
// reaches the decryption paths.
func addTLSSeeds(f *testing.F) *tls.KeyLog {
	addStreamSeeds(f, "../testdata/tls/*.pcap", 1<<31, nil)
	keys, _ := filepath.Glob("../testdata/tls/*.keys")
	kl, _ := tls.LoadKeyLog(keys...)
	return kl
}

// FuzzTLSStream feeds arbitrary client and server bytes to a tls.Conn
// (with the test key logs and the HTTP decoder behind it), interleaved in
// chunks of a fuzzed size with a gap at a fuzzed offset: it must never
// panic, and every event must name a delivered frame.
func FuzzTLSStream(f *testing.F) {
	kl := addTLSSeeds(f)
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16, gapAt uint32) {
		col := &health.Collector{KeepMessages: true}
		ctx := &tcpstate.StreamContext{Flow: "fuzz", Reporter: col}
		cfg := tls.DefaultConfig()
		cfg.KeyLog = kl
		cfg.Plaintext = func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			return http.NewConn(ctx, http.DefaultConfig())
		}
		c := tls.NewConn(ctx, cfg)
		frame := feedStream(c, client, server, chunk, gapAt)
		checkFrames(t, col.Events, frame)
	})
}

// FuzzTLSKeyLog reads arbitrary bytes as a key log and as a pcapng file
// whose Decryption Secrets Blocks hold one.
func FuzzTLSKeyLog(f *testing.F) {
	f.Add([]byte("CLIENT_RANDOM 00 11\r\n# x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k := tls.NewKeyLog()
		k.Add(b)
		if s, _ := layers.ReadSecrets(strings.NewReader(string(b))); len(s) > layers.MaxSecretsLen {
			t.Fatalf("%d bytes of secrets, over the %d cap", len(s), layers.MaxSecretsLen)
		} else {
			k.Add(s)
		}
	})
}
