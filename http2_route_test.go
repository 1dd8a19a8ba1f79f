package nettrace_test

import (
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

// TestRouteDecodesHTTP2: TLS whose server selected h2 goes to the HTTP/2
// decoder (tls.Config.HTTP2), and clear-text HTTP/2 (prior knowledge, an
// Upgrade to h2c) to the HTTP decoder, which switches: every exchange of
// the HTTP/2 captures is reported, and no decode.gave_up.
func TestRouteDecodesHTTP2(t *testing.T) {
	for _, tc := range []struct {
		name      string
		keys      []string
		exchanges int // "http" records with version HTTP/2
	}{
		{"testdata/http/h2-tls-nginx-go-curl.pcap", []string{"testdata/http/h2-tls-nginx-go-curl.keys"}, 14},
		{"testdata/http/h2c-prior-knowledge-nginx-nghttp-curl.pcap", nil, 8},
		{"testdata/http/h2c-upgrade-go-curl.pcap", nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := &health.Collector{KeepMessages: true}
			if _, err := nettrace.AnalyzeFile(tc.name, nettrace.Options{Reporter: col, Messages: true, KeyLogFiles: tc.keys}); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, m := range col.Messages {
				if m.Proto == "http" && m.Fields["version"] == "HTTP/2" {
					n++
				}
			}
			if n != tc.exchanges {
				t.Errorf("%d HTTP/2 exchange records, want %d", n, tc.exchanges)
			}
			if ev := col.OfKind(health.DecodeGaveUp); len(ev) != 0 {
				t.Errorf("decode.gave_up: %+v", ev)
			}
		})
	}
}
