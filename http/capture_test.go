package http

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
)

// served maps request paths to the SHA-256 of the files served
// (../shared/captures/README.md, "Served fixtures").
var served = map[string]string{
	"/index.html":          "bd4d17c1f8ae1bfae68c5b9c1dc5555783db38f45d064e0dbdcb608b0c4e16d6",
	"/small.txt":           "4158da0a9cc3f4a5522c1b751e6f01dac78c60df9401a8b4b9b1714b74072f6d",
	"/data.json":           "9e08eb355c84cad1311e5fc46ccb15d091d4645930350ab71ecb9a0e3e527c92",
	"/big.txt":             "ce1b37cd84db93f692aba64cf592e23649889a32229ea9a957a7e10a8d5e1e24",
	"/image.bin":           "8d9dda145d43df5aa966b15f4bb630b747cbd7ceda0a748407528288b0485e12",
	"/static/ok.json":      "1b6ee9b42a67eaa461059cf05595860849e91bab954796c30b306427afee5f84",
	"/deflate/report.txt":  "d4622dedfa1f1535e62e5e871fcc8bdc6e0f157cad9647cf938f51769f55b7da",
	"/deflate/report.json": "77a98ae95c7e781f164ba1dacfe0957760bbeea6a20a51eb6d5e41ffe1851362",
}

type summary struct {
	Exchanges []map[string]any `json:"http_exchanges"`
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

// view lists requests ("GET /x"), responses ("200") and body hashes by URI.
func view(col *health.Collector) (reqs, resps []string, shas map[string]string, sizes map[string]int64) {
	shas, sizes = map[string]string{}, map[string]int64{}
	for _, m := range col.Messages {
		if st, ok := m.Fields["status"]; ok {
			resps = append(resps, fmt.Sprint(st))
			uri := fmt.Sprint(m.Fields["uri"])
			if sha, ok := m.Fields["body_sha256"].(string); ok {
				shas[uri] = sha
			}
			sizes[uri] = m.Fields["body_bytes"].(int64)
			continue
		}
		reqs = append(reqs, fmt.Sprintf("%s %s", m.Fields["method"], m.Fields["uri"]))
	}
	return
}

// TestCapturesMatchTshark compares requests, response codes and decoded
// body hashes with tshark's references, for every chunking.
func TestCapturesMatchTshark(t *testing.T) {
	for _, tc := range []struct {
		name string
		// partial: tshark exports what it could inflate of these bodies,
		// not a correct file; they must fail to decode here instead.
		partial map[string]bool
	}{
		{name: "http-gzip-chunked-nginx-curl"},
		{name: "http-deflate-chunked-pyserver-curl"},
		{name: "http-gzip-corrupt-nginx-gzipstatic", partial: map[string]bool{"broken.json": true}},
		{name: "http-gzip-truncated-nginx-gzipstatic", partial: map[string]bool{"truncated.txt": true}},
		{name: "zeek-http-get-gzip"},
		{name: "zeek-http-missing-zlib-header"},
	} {
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				col := runCapture(t, repoTestdata("http", tc.name+".pcap"), how)
				var sum summary
				if !readJSON(t, repoTestdata("http", tc.name+".summary.json"), &sum) {
					t.Fatal("no summary")
				}
				var wantReqs, wantResps []string
				for _, e := range sum.Exchanges {
					if m, ok := e["request.method"]; ok {
						wantReqs = append(wantReqs, fmt.Sprintf("%v %v", m, e["request.uri"]))
					}
					if c, ok := e["response.code"]; ok {
						wantResps = append(wantResps, fmt.Sprint(c))
					}
				}
				reqs, resps, shas, _ := view(col)
				// Frames: a message is reported at the frame that completes
				// it, as tshark does.
				var wantFrames, gotFrames []int64
				for _, e := range sum.Exchanges {
					wantFrames = append(wantFrames, int64(e["frame"].(float64)))
				}
				for _, m := range col.Messages {
					gotFrames = append(gotFrames, m.Frame)
				}
				sort.Slice(gotFrames, func(i, j int) bool { return gotFrames[i] < gotFrames[j] })
				if diff := cmp.Diff(wantFrames, gotFrames); diff != "" {
					t.Errorf("frames (-tshark +ours):\n%s", diff)
				}
				if diff := cmp.Diff(wantReqs, reqs); diff != "" {
					t.Errorf("requests (-tshark +ours):\n%s", diff)
				}
				if diff := cmp.Diff(wantResps, resps); diff != "" {
					t.Errorf("responses (-tshark +ours):\n%s", diff)
				}
				have := map[string]bool{}
				for _, s := range shas {
					have[s] = true
				}
				var bs bodies
				matched := 0
				if readJSON(t, repoTestdata("http", tc.name+".bodies.json"), &bs) {
					for _, b := range bs.Bodies {
						if tc.partial[b.Name] {
							if have[b.SHA256] {
								t.Errorf("%s: the partial body decoded as if it were whole", b.Name)
							}
							continue
						}
						if !have[b.SHA256] {
							t.Errorf("body %s (%d bytes) sha256 %s not among ours %v", b.Name, b.Bytes, b.SHA256, shas)
						}
						matched++
					}
				}
				fixtures := 0
				for uri, sha := range shas {
					if want, ok := served[uri]; ok {
						fixtures++
						if sha != want {
							t.Errorf("%s: sha256 %s, served file %s", uri, sha, want)
						}
					}
				}
				if how == chunkWhole {
					t.Logf("%s: %d requests and %d responses equal tshark's; %d bodies equal tshark's export; %d equal the served files",
						tc.name, len(reqs), len(resps), matched, fixtures)
				}
			})
		}
	}
}

// TestCaseC5_GzipBodyCorrupt: the second response's gzip body does not
// decompress; the event names the response, the encoding, the compressed
// offset and the frames (casebook C5).
func TestCaseC5_GzipBodyCorrupt(t *testing.T) {
	for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
		col := runCapture(t, repoTestdata("http", "http-gzip-corrupt-nginx-gzipstatic.pcap"), how)
		ev := col.OfKind(health.HTTPBodyDecodeFailed)
		if len(ev) != 1 {
			t.Fatalf("%d body_decode_failed events: %+v", len(ev), col.Events)
		}
		e := ev[0]
		if e.Frame != 17 || e.Evidence["encoding"] != "gzip" || e.Evidence["request"] != "GET /static/broken.json" ||
			e.Evidence["frames"] != "18-23" || e.Evidence["compressed_bytes"] != int64(8451) {
			t.Errorf("event %+v", e)
		}
		off := e.Evidence["offset"].(int64)
		if off <= 0 || off >= 8451 {
			t.Errorf("offset %d not inside the 8451-byte body", off)
		}
		if how == chunkWhole {
			t.Logf("C5: %s", e.Message)
		}
	}
}

func TestTruncatedGzip(t *testing.T) {
	col := runCapture(t, repoTestdata("http", "http-gzip-truncated-nginx-gzipstatic.pcap"), chunkWhole)
	ev := col.OfKind(health.HTTPBodyDecodeFailed)
	if len(ev) != 1 || !strings.Contains(ev[0].Message, "truncated") || ev[0].Evidence["offset"] != int64(8070) {
		t.Fatalf("events %+v", col.Events)
	}
	t.Log(ev[0].Message)
}

// TestSharedHTTPCaptures runs the comparison over ../shared (skipped when
// absent) for captures not copied into testdata.
func TestSharedHTTPCaptures(t *testing.T) {
	dir := sharedDir(t, "captures", "cases")
	for _, name := range []string{"c06-udp-flood-after-webshell-server", "c16-dns-cname-then-http-crl-client"} {
		col := runCapture(t, dir+"/"+name+".pcap", chunkWhole)
		var sum summary
		if !readJSON(t, dir+"/"+name+".summary.json", &sum) {
			continue
		}
		n := 0
		for _, e := range sum.Exchanges {
			if _, ok := e["response.code"]; ok {
				n++
			}
		}
		_, resps, _, _ := view(col)
		if len(resps) != n {
			t.Errorf("%s: %d responses, tshark %d", name, len(resps), n)
		}
		t.Logf("%s: %d responses (tshark %d)", name, len(resps), n)
	}
}
