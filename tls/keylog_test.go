package tls

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nettrace/nettrace/health"
)

func TestKeyLogAdd(t *testing.T) {
	cr := strings.Repeat("ab", 32)
	master := strings.Repeat("cd", 48)
	tests := []struct {
		name    string
		text    string
		entries int
		wantErr bool
	}{
		{name: "one line", text: "CLIENT_RANDOM " + cr + " " + master + "\n", entries: 1},
		{name: "crlf and comment", text: "# comment\r\n\r\nCLIENT_RANDOM " + cr + " " + master + "\r\n", entries: 1},
		{name: "no final newline", text: "CLIENT_RANDOM " + cr + " " + master, entries: 1},
		{name: "tls13 labels", text: "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + cr + " " + strings.Repeat("01", 32) + "\nSERVER_TRAFFIC_SECRET_0 " + cr + " " + strings.Repeat("02", 48) + "\n", entries: 1},
		{name: "unknown label skipped", text: "EXPORTER_SECRET " + cr + " " + strings.Repeat("01", 32) + "\n", entries: 0},
		{name: "short random", text: "CLIENT_RANDOM abcd " + master + "\n", wantErr: true},
		{name: "bad hex", text: "CLIENT_RANDOM " + strings.Repeat("zz", 32) + " " + master + "\n", wantErr: true},
		{name: "master wrong size", text: "CLIENT_RANDOM " + cr + " " + strings.Repeat("cd", 32) + "\n", wantErr: true},
		{name: "two fields", text: "CLIENT_RANDOM " + cr + "\n", wantErr: true},
		{name: "long line", text: strings.Repeat("x", 5000) + "\nCLIENT_RANDOM " + cr + " " + master + "\n", entries: 1, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := NewKeyLog()
			err := k.Add([]byte(tc.text))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Add() error = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrKeyLogLine) {
					t.Errorf("error %v does not wrap ErrKeyLogLine", err)
				}
				if strings.Contains(err.Error(), master) || strings.Contains(err.Error(), "cdcdcdcd") {
					t.Errorf("error %q contains a secret", err)
				}
			}
			if k.Len() != tc.entries {
				t.Errorf("Len() = %d, want %d", k.Len(), tc.entries)
			}
		})
	}
}

func TestLoadKeyLogMergesFiles(t *testing.T) {
	a, b := testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.keys"), testdata("tls13-aes128gcm-curl-nginx.keys")
	k, err := LoadKeyLog(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != 2 {
		t.Errorf("Len() = %d, want 2", k.Len())
	}
	if _, err := LoadKeyLog(filepath.Join(t.TempDir(), "missing.keys")); err == nil {
		t.Error("missing file: no error")
	}
}

// TestKeyLogConcurrentReads looks keys up from several goroutines while
// lines are added (run with -race).
func TestKeyLogConcurrentReads(t *testing.T) {
	k := mustKeyLog(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.keys"))
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				k.lookup(make([]byte, 32), secretMaster)
				k.Add([]byte("CLIENT_RANDOM " + strings.Repeat("0", 63) + "1 " + strings.Repeat("cd", 48)))
			}
		}()
	}
	wg.Wait()
	_ = health.Discard
}

// TestTLS13OnlyTrafficSecrets: a key log with only the application traffic
// secrets still decrypts the application data (the handshake stays
// hidden).
func TestTLS13OnlyTrafficSecrets(t *testing.T) {
	b, err := os.ReadFile(testdata("tls13-aes256gcm-sclient-nginx.keys"))
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "CLIENT_TRAFFIC_SECRET_0") || strings.HasPrefix(l, "SERVER_TRAFFIC_SECRET_0") {
			keep = append(keep, l)
		}
	}
	k := NewKeyLog()
	k.Add([]byte(strings.Join(keep, "\n")))
	col := decryptHTTP(t, testdata("tls13-aes256gcm-sclient-nginx.pcap"), k, chunkWhole)
	reqs, resps, _ := httpView(col)
	if len(reqs) != 1 || len(resps) != 1 || resps[0] != "200" {
		t.Errorf("requests %v responses %v; events %+v", reqs, resps, col.Events)
	}
}

// TestKeyLogSkipsHalfWrittenLastLine: a key log whose last line was cut
// while being written keeps every good line; the error counts the lines
// skipped and names the first, never its content (tshark skips them too).
func TestKeyLogSkipsHalfWrittenLastLine(t *testing.T) {
	cr := strings.Repeat("ab", 32)
	master := strings.Repeat("cd", 48)
	good := "CLIENT_RANDOM " + cr + " " + master + "\n"
	text := good + "garbage\n" + "CLIENT_RANDOM " + strings.Repeat("ef", 32) + " " + master[:37]
	k := NewKeyLog()
	err := k.Add([]byte(text))
	var sk *SkippedLinesError
	if !errors.As(err, &sk) || !errors.Is(err, ErrKeyLogLine) {
		t.Fatalf("Add() error = %v, want a *SkippedLinesError", err)
	}
	if sk.Lines != 2 || sk.FirstLine != 2 {
		t.Errorf("skipped %d lines from line %d, want 2 from line 2", sk.Lines, sk.FirstLine)
	}
	if k.Len() != 1 {
		t.Errorf("Len() = %d, want 1: the good line is kept", k.Len())
	}
	if strings.Contains(err.Error(), master[:16]) {
		t.Errorf("error %q holds a secret", err)
	}
}
