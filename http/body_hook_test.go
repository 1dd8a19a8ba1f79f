package http

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"os"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// TestBodyHookGivesTheServedFiles decodes every response body of the gzip
// capture through Config.Body and compares each body's SHA-256 with the
// files the server served (as tshark exports them).
func TestBodyHookGivesTheServedFiles(t *testing.T) {
	base := repoTestdata("http", "http-gzip-chunked-nginx-curl")
	var ref struct {
		Bodies []struct {
			SHA256 string `json:"sha256"`
		} `json:"bodies"`
	}
	b, err := os.ReadFile(base + ".bodies.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, body := range ref.Bodies {
		want = append(want, body.SHA256)
	}
	streams, err := testcap.ReadStreams(base + ".pcap")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var h hash.Hash
	cfg := DefaultConfig()
	cfg.Body = func(_ *tcpstate.StreamContext, b Body) {
		if !b.Response {
			return
		}
		if h == nil {
			h = sha256.New()
		}
		h.Write(b.Data)
		if b.Final {
			if b.Failed {
				t.Errorf("body of %s reported as failed", b.Request)
			}
			got = append(got, hex.EncodeToString(h.Sum(nil)))
			h = nil
		}
	}
	for _, s := range streams {
		ctx := &tcpstate.StreamContext{Client: s.Client, Server: s.Server, Reporter: health.Discard}
		s.Replay(NewConn(ctx, cfg), testcap.Whole, nil)
	}
	sort.Strings(want)
	sort.Strings(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded bodies' SHA-256 (-served +got):\n%s", diff)
	}
}
