package http

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestChunkingDoesNotChangeResults: every capture gives the same events
// and messages whether its segments are fed whole, one byte at a time or
// split at random points.
func TestChunkingDoesNotChangeResults(t *testing.T) {
	paths, _ := filepath.Glob(repoTestdata("http", "*.pcap"))
	if len(paths) == 0 {
		t.Fatal("no captures")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			var ref string
			for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
				b, err := json.Marshal(runCapture(t, p, how))
				if err != nil {
					t.Fatal(err)
				}
				if how == chunkWhole {
					ref = string(b)
				} else if diff := cmp.Diff(ref, string(b)); diff != "" {
					t.Errorf("chunking %d differs (-whole +chunked):\n%s", how, diff)
				}
			}
		})
	}
}
