package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/examples/internal/clitest"
)

const tlsBase = "../../testdata/tls/tls12-ecdhe-rsa-aes128gcm-curl-nginx"

func tlsTool(t *testing.T) clitest.Tool {
	return clitest.Tool{Name: "tlsdecrypt", Run: run, Capture: tlsBase + ".pcap", Args: []string{"-keylog", tlsBase + ".keys", "-o", t.TempDir()}}
}

func TestTlsdecryptFollowsTheCLIConvention(t *testing.T) { clitest.Check(t, tlsTool(t)) }

// Without a key log nothing can be decrypted: a usage error that says so.
func TestTlsdecryptNeedsAKeyLog(t *testing.T) {
	out := t.TempDir()
	r := tlsTool(t).Exec(t, nil, "-o", out, tlsBase+".pcap")
	if r.Status != cli.ExitUsage || !strings.HasPrefix(r.Stderr, "tlsdecrypt: no key log: give -keylog FILE") {
		t.Errorf("exit %d, want 2; stderr %q", r.Status, r.Stderr)
	}
	if files, _ := os.ReadDir(out); len(files) != 0 {
		t.Errorf("wrote %d files without keys", len(files))
	}
}

func TestTlsdecryptJSON(t *testing.T) {
	out := t.TempDir()
	r := tlsTool(t).Exec(t, nil, "-keylog", tlsBase+".keys", "-o", out, "-json", tlsBase+".pcap")
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	doc := clitest.JSONValues(t, r.Stdout)
	if len(doc) != 1 {
		t.Fatalf("%d JSON documents", len(doc))
	}
	if doc[0]["decrypted_connections"] != 1.0 || doc[0]["dir"] != out || len(doc[0]["files"].([]any)) < 3 {
		t.Errorf("summary %v", doc[0])
	}
	for _, f := range doc[0]["files"].([]any) {
		name := f.(map[string]any)["name"].(string)
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("listed file %s not written: %v", name, err)
		}
	}
}

// -flow of another connection decrypts nothing.
func TestTlsdecryptSelection(t *testing.T) {
	r := tlsTool(t).Exec(t, nil, "-keylog", tlsBase+".keys", "-o", t.TempDir(), "-filter", "udp", tlsBase+".pcap")
	if r.Status != cli.ExitOK || !strings.HasPrefix(r.Stdout, "0 decrypted connection(s); 0 file(s)") {
		t.Errorf("exit %d: %s%s", r.Status, r.Stdout, r.Stderr)
	}
}
