package http

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
	"github.com/nettrace/nettrace/tls"
)

// tsharkRows reads a *.tshark.tsv reference (testdata/http/README.md): a
// header line of field names, then one line per frame, the occurrences
// of a field within a frame joined by '|'. It returns the rows by frame
// number, each a map from field name to its occurrences.
func tsharkRows(t *testing.T, path string) map[int64]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var names []string
	rows := map[int64]map[string][]string{}
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if names == nil {
			names = cols
			continue
		}
		row := map[string][]string{}
		for i, v := range cols {
			if v != "" {
				row[names[i]] = strings.Split(v, "|")
			}
		}
		n, err := strconv.ParseInt(row["frame.number"][0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		rows[n] = row
	}
	return rows
}

// h2View is what one frame holds of HTTP/2, as tshark's fields show it.
type h2View struct {
	Types, Streams, Methods, Paths, Authorities, Statuses, Headers, RSTErrors, GoAwayErrors []string
}

// tsharkView turns the tshark rows into views of the frames that carry
// HTTP/2 frames (a frame with only the connection preface has none).
func tsharkView(rows map[int64]map[string][]string) map[int64]h2View {
	out := map[int64]h2View{}
	for n, r := range rows {
		if len(r["http2.type"]) == 0 {
			continue
		}
		var v h2View
		for _, ty := range r["http2.type"] {
			x, _ := strconv.Atoi(ty)
			v.Types = append(v.Types, FrameType(x).String())
		}
		v.Streams = r["http2.streamid"]
		v.Methods, v.Paths, v.Authorities, v.Statuses = r["http2.headers.method"], r["http2.headers.path"], r["http2.headers.authority"], r["http2.headers.status"]
		for i, name := range r["http2.header.name"] {
			v.Headers = append(v.Headers, name+": "+r["http2.header.value"][i])
		}
		v.RSTErrors, v.GoAwayErrors = r["http2.rst_stream.error"], r["http2.goaway.error"]
		out[n] = v
	}
	return out
}

// ourView renders the "http2" records the same way, by frame.
func ourView(col *health.Collector) map[int64]h2View {
	out := map[int64]h2View{}
	for _, m := range col.Messages {
		if m.Proto != "http2" {
			continue
		}
		v := out[m.Frame]
		f := m.Fields
		v.Types = append(v.Types, f["type"].(string))
		v.Streams = append(v.Streams, fmt.Sprint(f["stream"]))
		add := func(list *[]string, key string) {
			if x, ok := f[key]; ok {
				*list = append(*list, fmt.Sprint(x))
			}
		}
		add(&v.Methods, "method")
		add(&v.Paths, "path")
		add(&v.Authorities, "authority")
		add(&v.Statuses, "status")
		if hs, ok := f["headers"].([]string); ok {
			v.Headers = append(v.Headers, hs...)
		}
		switch f["type"] {
		case "RST_STREAM":
			add(&v.RSTErrors, "error_code")
		case "GOAWAY":
			add(&v.GoAwayErrors, "error_code")
		}
		out[m.Frame] = v
	}
	return out
}

// runH2Capture decodes every connection of a capture as the Analyzer
// would: TLS with the key log beside it (ALPN h2 to an H2Conn), or clear
// HTTP (switching to HTTP/2 by itself).
func runH2Capture(t *testing.T, name string, how chunking) *health.Collector {
	t.Helper()
	base := repoTestdata("http", name)
	streams, err := testcap.ReadStreams(base + ".pcap")
	if err != nil {
		t.Fatal(err)
	}
	var kl *tls.KeyLog
	if _, err := os.Stat(base + ".keys"); err == nil {
		if kl, err = tls.LoadKeyLog(base + ".keys"); err != nil {
			t.Fatal(err)
		}
	}
	col := &health.Collector{KeepMessages: true}
	rng := rand.New(rand.NewSource(7))
	for i, s := range streams {
		ctx := &tcpstate.StreamContext{ID: uint64(i), Client: s.Client, Server: s.Server, RTT: rtt5ms,
			Flow: s.Client.String() + "->" + s.Server.String() + "/tcp", Reporter: col}
		var h tcpstate.StreamHandler
		if kl != nil {
			cfg := tls.DefaultConfig()
			cfg.KeyLog = kl
			cfg.Plaintext = func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler { return NewConn(ctx, DefaultConfig()) }
			cfg.HTTP2 = func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler { return NewH2Conn(ctx, DefaultConfig()) }
			h = tls.NewConn(ctx, cfg)
		} else {
			h = NewConn(ctx, DefaultConfig())
		}
		s.Replay(h, how, rng)
	}
	return col
}

// h2Captures are the HTTP/2 captures of testdata/http (README.md there):
// what each holds, as "http" records and the events expected.
var h2Captures = []struct {
	name   string
	exch   []string
	events []string
}{
	{name: "h2-tls-nginx-go-curl",
		exch: []string{
			"f13 GET /index.html", "f14 GET /index.html -> 200 113 bytes",
			"f16 GET /data.json", "f17 GET /missing.html", "f18 GET /big.txt",
			"f20 GET /data.json -> 200 7317 bytes", "f29 GET /missing.html -> 404 153 bytes",
			"f41 GET /big.txt", "f43 GET /big.txt -> 200 40266 bytes",
			"f60 PUT /limited/x.txt -> 413 183 bytes", "f61 PUT /limited/x.txt incomplete=reset seen=0",
			"f81 POST /submit -> 100 interim", "f82 POST /submit", "f84 POST /submit -> 200 18 bytes",
		},
		events: []string{
			"f21 http2.goaway info error=NO_ERROR unprocessed=[7]",
			"f21 http.error_status notice",
			"f23 http2.stream_reset info error=STREAM_CLOSED state=after the exchange was complete",
			"f30 tls.alert info", // close_notify
			"f34 http2.stream_reset info error=STREAM_CLOSED state=on a stream the server's GOAWAY had left unprocessed",
			"f60 http.error_status notice",
			"f61 http2.stream_reset info error=NO_ERROR state=after the response",
			"f87 tls.alert info",
		}},
	{name: "h2c-prior-knowledge-nginx-nghttp-curl",
		exch: []string{
			"f4 GET /index.html", "f4 GET /data.json", "f4 GET /missing.html",
			"f9 GET /index.html -> 200 113 bytes", "f11 GET /data.json -> 200 7317 bytes", "f14 GET /missing.html -> 404 153 bytes",
			"f30 PUT /upload/b.txt", "f32 PUT /upload/b.txt -> 204 0 bytes",
		},
		events: []string{"f13 http2.goaway info error=NO_ERROR", "f13 http.error_status notice"}},
	{name: "h2c-upgrade-go-curl",
		exch: []string{
			"f4 GET /small.txt", "f6 GET /small.txt -> 101 0 bytes", "f12 GET /small.txt -> 200 11 bytes",
			"f14 GET /data.json", "f18 GET /data.json -> 200 7317 bytes",
		}},
}

// TestH2CapturesAgreeWithTshark decodes the HTTP/2 captures and compares,
// frame by frame, every HTTP/2 frame's type and stream, the method, path,
// authority and status, the header fields in order and the error codes
// of RST_STREAM and GOAWAY with tshark's (*.tshark.tsv); then the
// exchanges and events, for every chunking.
func TestH2CapturesAgreeWithTshark(t *testing.T) {
	for _, tc := range h2Captures {
		want := tsharkView(tsharkRows(t, repoTestdata("http", tc.name+".tshark.tsv")))
		if len(want) < 9 {
			t.Fatalf("%s: only %d frames in tshark's reference", tc.name, len(want))
		}
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				col := runH2Capture(t, tc.name, how)
				got := ourView(col)
				frames := map[int64]bool{}
				for n := range want {
					frames[n] = true
				}
				for n := range got {
					frames[n] = true
				}
				var list []int64
				for n := range frames {
					list = append(list, n)
				}
				sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
				for _, n := range list {
					if diff := cmp.Diff(want[n], got[n]); diff != "" {
						t.Errorf("frame %d (-tshark +ours):\n%s", n, diff)
					}
				}
				if diff := cmp.Diff(tc.exch, exchangesOf(col)); diff != "" {
					t.Errorf("exchanges (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.events, eventsOf(col, "error", "unprocessed", "state")); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestH2CaptureBodiesAreTheServedFiles: the decoded bodies (gzip ones
// included) hash as the files nginx and Go served
// (testdata/http/make-h2-captures/gen-www.py writes them).
func TestH2CaptureBodiesAreTheServedFiles(t *testing.T) {
	files := map[string]string{
		"/index.html": "cbf22f12d0a9203a444e15585f73e45585fa249ba5cdc55be63dc3920f396c08",
		"/data.json":  "b08cd759a1b74695342d56707a2f93e0e13cf30aed2a6f3831c36e7f3e42926f",
		"/big.txt":    "ba2962e21f549c0fd24acaea257cdc407d920cc779b2e41bf80ff62c1c7dd346",
		"/small.txt":  "e72b406542ea33182ad1ca541db73fd8dfacb96a6af0ae0cc2cc76434283ad3f",
	}
	checked := 0
	for _, tc := range h2Captures {
		col := runH2Capture(t, tc.name, chunkWhole)
		for _, m := range col.Messages {
			uri, _ := m.Fields["uri"].(string)
			if m.Proto != "http" || m.Fields["status"] != 200 || files[uri] == "" {
				continue
			}
			if got := m.Fields["body_sha256"]; got != files[uri] {
				t.Errorf("%s, frame %d: %s body sha256 %v, want %s", tc.name, m.Frame, uri, got, files[uri])
			}
			checked++
		}
	}
	if checked != 7 {
		t.Errorf("%d bodies checked, want 7", checked)
	}
}

// TestContinueCaptureAgreesWithTshark: the 100-continue capture's
// requests and responses, interim ones included, at tshark's frames, with
// tshark's content types and lengths.
func TestContinueCaptureAgreesWithTshark(t *testing.T) {
	name := "http-100-continue-go-nginx-curl"
	rows := tsharkRows(t, repoTestdata("http", name+".tshark.tsv"))
	var want []string
	for n, r := range rows {
		f := func(k string) string {
			if v := r[k]; len(v) > 0 {
				return v[0]
			}
			return "-"
		}
		want = append(want, fmt.Sprintf("f%d %s %s %s %s %s", n, f("http.request.method"), f("http.request.uri"), f("http.response.code"), f("http.content_type"), f("http.content_length_header")))
	}
	sort.Slice(want, func(i, j int) bool { return frameOf(want[i]) < frameOf(want[j]) })
	for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
		col := runCapture(t, repoTestdata("http", name+".pcap"), how)
		var got []string
		for _, m := range col.Messages {
			f := func(k string) string {
				if v, ok := m.Fields[k]; ok {
					return fmt.Sprint(v)
				}
				return "-"
			}
			method, uri := f("method"), f("uri")
			if _, resp := m.Fields["status"]; resp {
				method, uri = "-", "-" // tshark names the request on its own frame only
			}
			got = append(got, fmt.Sprintf("f%d %s %s %s %s %s", m.Frame, method, uri, f("status"), f("content_type"), f("content_length")))
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("chunking %d (-tshark +ours):\n%s", how, diff)
		}
		var interim []string
		for _, m := range col.Messages {
			if m.Fields["interim"] == true {
				interim = append(interim, fmt.Sprintf("f%d %v %v", m.Frame, m.Fields["method"], m.Fields["uri"]))
			}
		}
		if diff := cmp.Diff([]string{"f6 POST /submit", "f11 POST /submit", "f22 PUT /upload/a.txt"}, interim); diff != "" {
			t.Errorf("interim responses (-want +got):\n%s", diff)
		}
		if len(col.Events) != 0 {
			t.Errorf("events: %v", eventsOf(col))
		}
	}
}

func frameOf(s string) int64 {
	n, _ := strconv.ParseInt(strings.TrimPrefix(strings.Fields(s)[0], "f"), 10, 64)
	return n
}
