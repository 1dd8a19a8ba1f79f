package tls

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestChunkingDoesNotChangeResults: every capture gives the same events
// and messages (TLS and the HTTP inside) whether its segments are fed
// whole, one byte at a time or split at random points.
func TestChunkingDoesNotChangeResults(t *testing.T) {
	paths, _ := filepath.Glob(testdata("*.pcap"))
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			var kl *KeyLog
			if k := strings.TrimSuffix(p, ".pcap") + ".keys"; fileExists(k) {
				kl = mustKeyLog(t, k)
			}
			var ref string
			for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
				col := decryptHTTP(t, p, kl, how)
				b, err := json.Marshal(col)
				if err != nil {
					t.Fatal(err)
				}
				if how == chunkWhole {
					ref = string(b)
					continue
				}
				if diff := cmp.Diff(ref, string(b)); diff != "" {
					t.Errorf("chunking %d differs from whole segments (-whole +chunked):\n%s", how, diff)
				}
			}
		})
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
