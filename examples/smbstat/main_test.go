package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestSmbstat(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"../../testdata/smb/smb2_10-alice-ls-get.pcap"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"server 10.200.3.20:445",
		"SMB 2.1, user STEERING\\alice",
		"share \\\\10.200.3.20\\data",
		"file readme.txt: 1 reads (2000 B, size 2000)",
		"file docs\\budget.json: 1 reads (7483 B",
		"QUERY_DIRECTORY STATUS_NO_MORE_FILES",
		"(2 more opens without reads or writes)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestSmbstatUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}

// TestSmbstatLossyLink runs the real tracker over the lossy-link SMB
// capture (../shared only): despite loss, reordering and duplicates, the
// 819200-byte file is read in 13 READs of 64 KiB.
func TestSmbstatLossyLink(t *testing.T) {
	path := "../../../shared/captures/tcp/tcp-lossy-netem-smb-client.pcap"
	if _, err := os.Stat(path); err != nil {
		t.Skip("needs ../shared")
	}
	var out, errb bytes.Buffer
	if code := run([]string{path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "file lossy-800k.bin: 13 reads (819200 B, size 65536)") {
		t.Errorf("output:\n%s", out.String())
	}
}
