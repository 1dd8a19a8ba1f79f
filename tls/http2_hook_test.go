package tls

import (
	"bytes"
	stdtls "crypto/tls"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// TestHTTP2FedToConfigHTTP2: with Config.HTTP2 set, the plaintext of a
// session whose server selected h2, or whose client sent the HTTP/2
// preface without ALPN, goes to it (and not to Plaintext), with no
// decode.gave_up; HTTP/1 still goes to Plaintext, and without Plaintext it
// is one decode.gave_up.
func TestHTTP2FedToConfigHTTP2(t *testing.T) {
	h2req := []byte(http2Preface + "\x00\x00\x00\x04\x00\x00\x00\x00\x00")
	h1req := []byte("GET / HTTP/1.1\r\nHost: go.example.test\r\n\r\n")
	resp := []byte("\x00\x00\x00\x04\x01\x00\x00\x00\x00")
	for _, tc := range []struct {
		name    string
		version uint16
		alpn    []string
		req     []byte
		noPlain bool
		want    string // "h2", "h1" or a decode.gave_up reason
	}{
		{name: "TLS 1.2 h2", version: stdtls.VersionTLS12, alpn: []string{"h2"}, req: h2req, want: "h2"},
		{name: "TLS 1.3 h2", version: stdtls.VersionTLS13, alpn: []string{"h2"}, req: h2req, want: "h2"},
		{name: "TLS 1.3 no ALPN, HTTP/2 preface", version: stdtls.VersionTLS13, req: h2req, want: "h2"},
		{name: "TLS 1.3 http/1.1", version: stdtls.VersionTLS13, alpn: []string{"http/1.1"}, req: h1req, want: "h1"},
		{name: "TLS 1.3 http/1.1 without Plaintext", version: stdtls.VersionTLS13, alpn: []string{"http/1.1"}, req: h1req, noPlain: true, want: "HTTP/1 not decoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, keys := goSessionWith(t, tc.version, 0, tc.req, resp, sessionOpts{clientALPN: tc.alpn, serverALPN: tc.alpn})
			kl := NewKeyLog()
			if err := kl.Add(keys); err != nil {
				t.Fatal(err)
			}
			col := newCollector()
			h1, h2 := &plainSink{}, &plainSink{}
			var opened []string
			cfg := DefaultConfig()
			cfg.KeyLog = kl
			if !tc.noPlain {
				cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { opened = append(opened, "h1"); return h1 }
			}
			cfg.HTTP2 = func(*tcpstate.StreamContext) tcpstate.StreamHandler { opened = append(opened, "h2"); return h2 }
			c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
			for i, s := range w.segs {
				c.Feed(s.dir, s.data, tcpstate.Position{Frame: int64(i + 1)})
			}
			c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: int64(len(w.segs))})
			ev := col.OfKind(health.DecodeGaveUp)
			switch tc.want {
			case "h1", "h2":
				sink := map[string]*plainSink{"h1": h1, "h2": h2}[tc.want]
				if len(opened) != 1 || opened[0] != tc.want || !bytes.Equal(sink.data[0], tc.req) || !bytes.Equal(sink.data[1], resp) || !sink.closed || len(ev) != 0 {
					t.Errorf("opened %v, %d/%d bytes, closed %v, events %+v", opened, len(sink.data[0]), len(sink.data[1]), sink.closed, ev)
				}
			default:
				if len(opened) != 0 || len(ev) != 1 || ev[0].Evidence["reason"] != tc.want {
					t.Errorf("opened %v, decode.gave_up %+v", opened, ev)
				}
			}
		})
	}
}
