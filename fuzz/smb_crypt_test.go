package fuzz

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tcpstate"
)

// smbSecrets returns a key table merging the test key files and every
// secret of them as text (keys, the password), which no event may show.
func smbSecrets(f *testing.F) (*smb.Keys, []string) {
	keys := smb.NewKeys()
	secrets := []string{"Passw0rd!"}
	paths, _ := filepath.Glob("../testdata/smb/*.smbkeys")
	for _, p := range paths {
		if err := keys.Load(p); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		for _, line := range strings.Split(string(b), "\n") {
			fs := strings.Fields(strings.SplitN(line, "#", 2)[0])
			for i := 1; i < len(fs); i++ {
				secrets = append(secrets, fs[i][:16])
			}
		}
	}
	return keys, secrets
}

// FuzzSMBDecryptStream is FuzzSMBStream with decryption on (the test key
// files and the test password), seeded with the encrypted captures: it
// must never panic, every event must name a delivered frame, and no event
// or message may show a key or the password.
func FuzzSMBDecryptStream(f *testing.F) {
	addStreamSeeds(f, "../testdata/smb/*encrypted.pcap", 1<<31, nil)
	keys, secrets := smbSecrets(f)
	f.Fuzz(func(t *testing.T, client, server []byte, chunk uint16, gapAt uint32) {
		col := &health.Collector{KeepMessages: true}
		ctx := &tcpstate.StreamContext{Flow: "fuzz", Reporter: col}
		cfg := smb.DefaultConfig()
		cfg.Keys = keys
		cfg.NTPasswords = []string{"wrong", "Passw0rd!"}
		cfg.Pipe = func(*tcpstate.StreamContext, string) tcpstate.StreamHandler { return nopHandler{} }
		c := smb.NewConn(ctx, cfg)
		frame := feedStream(c, client, server, chunk, gapAt)
		checkFrames(t, col.Events, frame)
		for _, e := range col.Events {
			text := strings.ToLower(e.Message + " " + hex.EncodeToString([]byte(e.Message)))
			for _, s := range secrets {
				if strings.Contains(text, strings.ToLower(s)) {
					t.Fatalf("event %s shows a secret: %s", e.Kind, e.Message)
				}
			}
		}
		_ = c.Stats()
	})
}

// FuzzSMBDecompress decompresses arbitrary bytes as an SMB 3.1.1
// compressed message: it must never panic nor append more than the limit,
// and a success without head must produce exactly the declared size.
func FuzzSMBDecompress(f *testing.F) {
	for _, s := range []string{
		// unchained LZ77 "abc" x 100 after a 4-byte prefix
		"fc534d422c01000002000000040000004844523affffff1f61626317000fff2601",
		// chained: NONE "HDR:", Pattern_V1 'z' x 40
		"fc534d422c0000000000010004000000484452" + "3a0400000008000000" + "7a00000028000000",
		// chained LZNT1 payload
		"fc534d4220000000010001001f000000200000001ab000636f6d7072657373006564746573746461047461078861" + "6c6f74",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b, uint16(4096), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, max uint16, head bool) {
		prefix := []byte("kept")
		out, size, err := smb.Decompress(bytes.Clone(prefix), b, int(max), head)
		if !bytes.HasPrefix(out, prefix) || len(out)-len(prefix) > int(max) {
			t.Fatalf("appended %d bytes, limit %d", len(out)-len(prefix), max)
		}
		if err == nil && !head && len(out)-len(prefix) != size {
			t.Fatalf("success with %d bytes, declared %d", len(out)-len(prefix), size)
		}
	})
}

// keysErr is the shape of every key-file error: a line number and a
// reason made of fixed words and numbers, never the line's text.
var keysErr = regexp.MustCompile(`^smb: key file line \d+: [a-z0-9 ,()\[\]-]+: bad SMB key line$`)

// FuzzSMBKeys parses arbitrary bytes as a key file: no panic, and an error
// never quotes the input.
func FuzzSMBKeys(f *testing.F) {
	f.Add([]byte("0000040000000005 000102030405060708090a0b0c0d0e0f\n# x\n0x0000000000000007 - 101112131415161718191a1b1c1d1e1f -\n"))
	f.Add([]byte("0000040000000005 000102030405060708090a0b0c0d0e0fzz\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k := smb.NewKeys()
		if err := k.Parse(b); err != nil && !keysErr.MatchString(err.Error()) {
			t.Fatalf("error of an unexpected shape: %q", err)
		}
	})
}
