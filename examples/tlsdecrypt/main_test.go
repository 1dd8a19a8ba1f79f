package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The decrypted bodies written to the folder are the files nginx served:
// their SHA-256 equal those tshark exports with the same key log.
func TestDecryptedBodiesAreTheServedFiles(t *testing.T) {
	for _, name := range []string{"tls12-ecdhe-rsa-aes128gcm-curl-nginx", "tls12-ecdhe-rsa-aes128-sha256-cbc-curl-nginx", "c03-wildcard-cert-match"} {
		t.Run(name, func(t *testing.T) {
			base := filepath.Join("..", "..", "testdata", "tls", name)
			out := t.TempDir()
			var stdout, stderr bytes.Buffer
			if code := run([]string{"-keylog", base + ".keys", "-o", out, base + ".pcap"}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			want := servedHashes(t, base+".bodies.json")
			got := map[string]bool{}
			files, _ := filepath.Glob(filepath.Join(out, "*"))
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if strings.Contains(filepath.Base(f), "-body-") {
					sum := sha256.Sum256(b)
					got[hex.EncodeToString(sum[:])] = true
				}
			}
			for _, h := range want {
				if !got[h] {
					t.Errorf("no body file with SHA-256 %s; wrote:\n%s", h, stdout.String())
				}
			}
			if !strings.Contains(stdout.String(), "-client.bin") || !strings.Contains(stdout.String(), "-server.bin") {
				t.Errorf("decrypted streams not written:\n%s", stdout.String())
			}
		})
	}
}

func TestNoKeyIsReportedNotFatal(t *testing.T) {
	base := filepath.Join("..", "..", "testdata", "tls", "tls12-ecdhe-rsa-aes128gcm-curl-nginx")
	empty := filepath.Join(t.TempDir(), "empty.keys")
	os.WriteFile(empty, []byte("# no keys\n"), 0o644)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-keylog", empty, "-o", t.TempDir(), base + ".pcap"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "tls.no_key") {
		t.Errorf("missing key not reported:\n%s", stdout.String())
	}
}

func servedHashes(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Bodies []struct {
			SHA256 string `json:"sha256"`
		} `json:"bodies"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, body := range ref.Bodies {
		out = append(out, body.SHA256)
	}
	if len(out) == 0 {
		t.Fatalf("%s lists no bodies", path)
	}
	return out
}
