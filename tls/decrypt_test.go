package tls

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

func testdata(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(file)), "testdata", "tls", name)
}

// served maps request paths to the SHA-256 of the files served
// (../shared/captures/README.md, "Served fixtures").
var served = map[string]string{
	"/index.html":   "bd4d17c1f8ae1bfae68c5b9c1dc5555783db38f45d064e0dbdcb608b0c4e16d6",
	"/small.txt":    "4158da0a9cc3f4a5522c1b751e6f01dac78c60df9401a8b4b9b1714b74072f6d",
	"/data.json":    "9e08eb355c84cad1311e5fc46ccb15d091d4645930350ab71ecb9a0e3e527c92",
	"/nothing-here": "",
}

// exchange is one HTTP request or response as a list of strings, the form
// in which ours and tshark's are compared.
type summary struct {
	Exchanges   []map[string]any `json:"http_exchanges"`
	ServerHello []struct {
		Suite   string `json:"ciphersuite"`
		Version string `json:"version"`
	} `json:"tls_server_hello"`
}

type bodies struct {
	Bodies []struct {
		Name   string `json:"name"`
		Bytes  int64  `json:"bytes"`
		SHA256 string `json:"sha256"`
	} `json:"bodies"`
}

func readJSON(t *testing.T, path string, v any) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return true
}

// decryptHTTP runs a capture through tls.Conn with http as the
// plaintext decoder and returns the collector.
func decryptHTTP(t *testing.T, pcap string, kl *KeyLog, how chunking) *health.Collector {
	t.Helper()
	streams, err := testcap.ReadStreams(pcap)
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{KeepMessages: true}
	for i, s := range streams {
		ctx := &tcpstate.StreamContext{ID: uint64(i), Client: s.Client, Server: s.Server,
			Flow: fmt.Sprintf("%s->%s/tcp", s.Client, s.Server), Reporter: col}
		cfg := DefaultConfig()
		cfg.KeyLog = kl
		cfg.Plaintext = func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			return http.NewConn(ctx, http.DefaultConfig())
		}
		c := NewConn(ctx, cfg)
		rng := newRand()
		s.Replay(c, how, rng)
	}
	return col
}

// httpView lists our requests ("GET /x") and responses ("200") in order.
func httpView(col *health.Collector) (reqs, resps []string, shas map[string]string) {
	shas = map[string]string{}
	for _, m := range col.Messages {
		if m.Proto != "http" {
			continue
		}
		if st, ok := m.Fields["status"]; ok {
			resps = append(resps, fmt.Sprint(st))
			if sha, ok := m.Fields["body_sha256"].(string); ok {
				shas[fmt.Sprint(m.Fields["uri"])] = sha
			}
			continue
		}
		reqs = append(reqs, fmt.Sprintf("%s %s", m.Fields["method"], m.Fields["uri"]))
	}
	return
}

func tsharkView(s summary) (reqs, resps []string) {
	for _, e := range s.Exchanges {
		if m, ok := e["request.method"]; ok {
			reqs = append(reqs, fmt.Sprintf("%v %v", m, e["request.uri"]))
		}
		if c, ok := e["response.code"]; ok {
			resps = append(resps, fmt.Sprint(c))
		}
	}
	return
}

// decryptCases are the captures with key logs whose decrypted HTTP must
// equal tshark's.
var decryptCases = []struct {
	name  string
	suite uint16
	// extraResponses: responses tshark does not show (close-delimited
	// HTTP/1.0 bodies that tshark waits for forever).
	extraResponses []string
	// otherSite: served by another virtual host than the README's fixtures.
	otherSite bool
	// headerFrame: the reference shows the close-delimited response at its
	// status line (tshark -o http.desegment_body:FALSE), we at its end.
	headerFrame bool
}{
	{name: "tls12-ecdhe-rsa-aes128gcm-curl-nginx", suite: 0xc02f},
	{name: "tls12-ecdhe-rsa-aes256gcm-curl-nginx", suite: 0xc030},
	{name: "tls12-ecdhe-rsa-chacha20-curl-nginx", suite: 0xcca8},
	{name: "tls12-ecdhe-rsa-aes128-sha256-cbc-curl-nginx", suite: 0xc027},
	{name: "tls13-aes128gcm-curl-nginx", suite: 0x1301},
	{name: "tls13-aes256gcm-sclient-nginx", suite: 0x1302},
	{name: "tls13-chacha20-sclient-sserver", suite: 0x1303, extraResponses: []string{"200"}},
	{name: "zeek-tls-tls12-decryption", suite: 0xc030},
	// Made with openssl s_client/s_server on loopback (see their
	// summary.json): the HMAC-SHA384 and HMAC-SHA1 CBC suites, with and
	// without encrypt-then-MAC.
	{name: "tls12-ecdhe-rsa-aes256-sha384-etm-openssl", suite: 0xc028, headerFrame: true},
	{name: "tls12-ecdhe-rsa-aes256-sha384-mte-openssl", suite: 0xc028, headerFrame: true},
	{name: "tls12-ecdhe-rsa-aes128-sha-mte-openssl", suite: 0xc013, headerFrame: true},
	{name: "c03-wildcard-cert-match", suite: 0xc030, otherSite: true},
}

// TestDecryptMatchesTshark decrypts every capture with a key log and
// compares the HTTP requests, response codes and body hashes with
// tshark's references, for whole, byte-by-byte and random chunking.
func TestDecryptMatchesTshark(t *testing.T) {
	for _, tc := range decryptCases {
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				kl := mustKeyLog(t, testdata(tc.name+".keys"))
				col := decryptHTTP(t, testdata(tc.name+".pcap"), kl, how)
				var sum summary
				if !readJSON(t, testdata(tc.name+".summary.json"), &sum) {
					t.Fatal("summary missing")
				}
				reqs, resps, shas := httpView(col)
				wantReqs, wantResps := tsharkView(sum)
				wantResps = append(wantResps, tc.extraResponses...)
				if diff := cmp.Diff(wantReqs, reqs); diff != "" {
					t.Errorf("requests (-tshark +ours):\n%s", diff)
				}
				if len(tc.extraResponses) == 0 && !tc.headerFrame {
					var wantFrames, gotFrames []int64
					for _, e := range sum.Exchanges {
						wantFrames = append(wantFrames, int64(e["frame"].(float64)))
					}
					for _, m := range col.Messages {
						if m.Proto == "http" {
							gotFrames = append(gotFrames, m.Frame)
						}
					}
					sort.Slice(gotFrames, func(i, j int) bool { return gotFrames[i] < gotFrames[j] })
					if diff := cmp.Diff(wantFrames, gotFrames); diff != "" {
						t.Errorf("HTTP frames (-tshark +ours):\n%s", diff)
					}
				}
				if diff := cmp.Diff(wantResps, resps); diff != "" {
					t.Errorf("responses (-tshark +ours):\n%s", diff)
				}
				var bs bodies
				matched := 0
				if readJSON(t, testdata(tc.name+".bodies.json"), &bs) {
					got := map[string]bool{}
					for _, s := range shas {
						got[s] = true
					}
					for _, b := range bs.Bodies {
						if !got[b.SHA256] {
							t.Errorf("body %s (%d bytes, sha256 %s) not among our decoded bodies %v", b.Name, b.Bytes, b.SHA256, shas)
						}
						matched++
					}
				}
				for uri, sha := range shas {
					if want, ok := served[uri]; ok && !tc.otherSite && want != "" && want != sha {
						t.Errorf("%s: sha256 %s, served file has %s", uri, sha, want)
					}
				}
				if len(sum.ServerHello) != 1 || sum.ServerHello[0].Suite != fmt.Sprintf("0x%04x", tc.suite) {
					t.Errorf("tshark server hello %v, want suite 0x%04x", sum.ServerHello, tc.suite)
				}
				for _, e := range col.Events {
					switch e.Kind {
					case health.TLSDecryptFailed, health.TLSNoKey, health.TLSMalformed, health.HTTPMalformed, health.HTTPBodyDecodeFailed:
						t.Errorf("unexpected event %s: %s", e.Kind, e.Message)
					}
				}
				if how == chunkWhole {
					t.Logf("%s (%s): %d requests, %d responses equal to tshark's; %d bodies' SHA-256 equal tshark's export",
						tc.name, CipherSuiteName(tc.suite), len(reqs), len(wantResps), matched)
				}
			})
		}
	}
}

// TestDecryptSharedCorpus runs the same comparison over every capture with
// a .keys file in ../shared (skipped when absent).
func TestDecryptSharedCorpus(t *testing.T) {
	var files []string
	for _, d := range [][]string{{"captures", "tls"}, {"captures", "http"}, {"public-captures"}} {
		dir := sharedDir(t, d...)
		m, _ := filepath.Glob(filepath.Join(dir, "*.keys"))
		files = append(files, m...)
	}
	for _, keys := range files {
		base := strings.TrimSuffix(keys, ".keys")
		t.Run(filepath.Base(base), func(t *testing.T) {
			var sum summary
			if !readJSON(t, base+".summary.json", &sum) {
				t.Skip("no summary")
			}
			col := decryptHTTP(t, base+".pcap", mustKeyLog(t, keys), chunkWhole)
			reqs, resps, _ := httpView(col)
			wantReqs, wantResps := tsharkView(sum)
			if diff := cmp.Diff(wantReqs, reqs); diff != "" {
				t.Errorf("requests (-tshark +ours):\n%s", diff)
			}
			if len(resps) < len(wantResps) || !cmp.Equal(wantResps, resps[:len(wantResps)], cmpopts.EquateEmpty()) {
				t.Errorf("responses: tshark %v, ours %v", wantResps, resps)
			}
			t.Logf("requests %d = tshark %d; responses %d (tshark %d)", len(reqs), len(wantReqs), len(resps), len(wantResps))
		})
	}
}

// TestEncryptThenMACNegotiation: the EtM captures decrypt with
// encrypt-then-MAC, the others with MAC-then-encrypt (RFC 7366).
func TestEncryptThenMACNegotiation(t *testing.T) {
	for name, want := range map[string]bool{
		"tls12-ecdhe-rsa-aes256-sha384-etm-openssl":    true,
		"tls12-ecdhe-rsa-aes128-sha256-cbc-curl-nginx": true,
		"tls12-ecdhe-rsa-aes256-sha384-mte-openssl":    false,
		"tls12-ecdhe-rsa-aes128-sha-mte-openssl":       false,
	} {
		r := runCapture(t, testdata(name+".pcap"), mustKeyLog(t, testdata(name+".keys")), chunkWhole)
		c := r.conns[0]
		if c.etm != want {
			t.Errorf("%s: etm %v, want %v", name, c.etm, want)
		}
		if len(r.sinks[0].data[1]) < 2000 {
			t.Errorf("%s: %d plaintext bytes", name, len(r.sinks[0].data[1]))
		}
	}
}
