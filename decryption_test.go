package nettrace

import (
	"strings"
	"testing"

	"github.com/nettrace/nettrace/tls"
)

// TestDecryptionCounts: Report.Decryption counts the TLS connections
// decrypted, without a key and with a suite not decrypted, and its line
// says so.
func TestDecryptionCounts(t *testing.T) {
	const gcm = "testdata/tls/tls12-ecdhe-rsa-aes128gcm-curl-nginx"
	const camellia = "testdata/tls/tls12-ecdhe-rsa-camellia128-openssl"
	for _, tc := range []struct {
		name, capture string
		opts          Options
		want          Decryption
		line          string
	}{
		{"decrypted", gcm + ".pcap", Options{KeyLogFiles: []string{gcm + ".keys"}},
			Decryption{KeyLog: true, TLS: 1, Decrypted: 1}, "1 of 1 TLS connections decrypted"},
		{"no key log", gcm + ".pcap", Options{},
			Decryption{TLS: 1}, "TLS decryption: none (1 connection; no key log given"},
		{"key not logged", gcm + ".pcap", Options{KeyLog: tls.NewKeyLog()},
			Decryption{KeyLog: true, TLS: 1, NoKey: 1}, "0 of 1 TLS connections decrypted; 1 connection with no key in the key log"},
		{"suite not supported", camellia + ".pcap", Options{KeyLogFiles: []string{camellia + ".keys"}},
			Decryption{KeyLog: true, TLS: 1, Unsupported: map[string]int{"TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256": 1}}, "suites not supported: TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256 ×1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, workers := range []int{1, 3} {
				tc.opts.Workers = workers
				rep, err := AnalyzeFile(tc.capture, tc.opts)
				if err != nil {
					t.Fatal(err)
				}
				d := rep.Decryption
				if d.KeyLog != tc.want.KeyLog || d.TLS != tc.want.TLS || d.Decrypted != tc.want.Decrypted || d.NoKey != tc.want.NoKey ||
					d.Failed != tc.want.Failed || len(d.Unsupported) != len(tc.want.Unsupported) {
					t.Errorf("workers %d: %+v, want %+v", workers, d, tc.want)
				}
				for s, n := range tc.want.Unsupported {
					if d.Unsupported[s] != n {
						t.Errorf("workers %d: unsupported %v, want %v", workers, d.Unsupported, tc.want.Unsupported)
					}
				}
				if !strings.Contains(d.String(), tc.line) {
					t.Errorf("workers %d: %q does not say %q", workers, d.String(), tc.line)
				}
			}
		})
	}
}
