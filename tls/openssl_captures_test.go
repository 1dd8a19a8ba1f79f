package tls

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/tcpstate"
)

// opensslCaptures were made for these tests with OpenSSL 3.0 s_client and
// s_server over loopback (testdata/tls/mkcap-openssl.sh); their
// *.records.json hold tshark 4.0.17's decode with the key log
// (testdata/tls/tshark-refs.py).
var opensslCaptures = []struct {
	name  string
	suite uint16
	// unsupported: tshark decrypts it, nettrace does not (the suite's
	// cipher is not in Go's crypto).
	unsupported bool
}{
	{name: "tls13-aes128ccm-openssl", suite: 0x1304},
	{name: "tls13-aes128ccm8-openssl", suite: 0x1305},
	{name: "tls12-rsa-aes128ccm-openssl", suite: 0xc09c},
	{name: "tls12-rsa-aes128ccm8-openssl", suite: 0xc0a0},
	{name: "tls12-ecdhe-ecdsa-aes128ccm-openssl", suite: 0xc0ac},
	{name: "tls12-ecdhe-ecdsa-aes128ccm8-openssl", suite: 0xc0ae},
	{name: "tls12-adh-aes128-sha256-openssl", suite: 0x006c},
	{name: "tls12-adh-aes128gcm-openssl", suite: 0x00a6},
	{name: "tls12-aecdh-aes128-sha-openssl", suite: 0xc018},
	{name: "tls12-ecdhe-rsa-camellia128-openssl", suite: 0xc076, unsupported: true},
	// Made earlier the same way (AES-CBC, MAC-then-encrypt and
	// encrypt-then-MAC); their records.json were added with these.
	{name: "tls12-ecdhe-rsa-aes128-sha-mte-openssl", suite: 0xc013},
	{name: "tls12-ecdhe-rsa-aes256-sha384-etm-openssl", suite: 0xc028},
	{name: "tls12-ecdhe-rsa-aes256-sha384-mte-openssl", suite: 0xc028},
}

// recordsRef is a *.records.json reference.
type recordsRef struct {
	Frames []struct {
		Frame   int64 `json:"frame"`
		Records []struct {
			ContentType int  `json:"content_type"`
			OpaqueType  *int `json:"opaque_type"`
			Length      int  `json:"length"`
		} `json:"records"`
		Decrypted []int `json:"decrypted"`
	} `json:"frames"`
	HTTPRequests []struct {
		Frame  int64  `json:"frame"`
		Method string `json:"method"`
		URI    string `json:"uri"`
	} `json:"http_requests"`
	HTTPResponses []struct {
		Frame int64  `json:"frame"`
		Code  string `json:"code"`
	} `json:"http_responses"`
	JA3         string `json:"ja3"`
	JA3Hash     string `json:"ja3_hash"`
	JA3S        string `json:"ja3s"`
	JA3SHash    string `json:"ja3s_hash"`
	ServerHello struct {
		Frame       int64  `json:"frame"`
		Ciphersuite string `json:"ciphersuite"`
	} `json:"server_hello"`
	DNSNames    []string `json:"dns_names"`
	IPAddresses []string `json:"ip_addresses"`
}

// frameRecords is what one frame completes: each record as "type/length"
// (the decrypted content type; the length on the wire) and the lengths of
// the plaintexts decrypted there, in order.
type frameRecords struct {
	Records   []string
	Decrypted []int
}

func (r *recordsRef) view() map[int64]*frameRecords {
	m := map[int64]*frameRecords{}
	for _, f := range r.Frames {
		fr := &frameRecords{Decrypted: f.Decrypted}
		for _, rec := range f.Records {
			fr.Records = append(fr.Records, fmt.Sprintf("%d/%d", rec.ContentType, rec.Length))
		}
		m[f.Frame] = fr
	}
	return m
}

// runRecords decodes every connection of a capture with HTTP as the
// plaintext decoder and returns the records per frame and the collector.
func runRecords(t *testing.T, path string, kl *KeyLog, how chunking) (map[int64]*frameRecords, *health.Collector) {
	t.Helper()
	col := newCollector()
	got := map[int64]*frameRecords{}
	for i, s := range readStreams(t, path) {
		ctx := &tcpstate.StreamContext{ID: uint64(i), Client: s.Client, Server: s.Server,
			Flow: fmt.Sprintf("%s->%s/tcp", s.Client, s.Server), Reporter: col}
		cfg := DefaultConfig()
		cfg.KeyLog = kl
		cfg.Plaintext = func(ctx *tcpstate.StreamContext) tcpstate.StreamHandler {
			return http.NewConn(ctx, http.DefaultConfig())
		}
		c := NewConn(ctx, cfg)
		c.onRecord = func(_ tcpstate.Dir, frame int64, outer, inner ContentType, wireLen, plainLen int) {
			fr := got[frame]
			if fr == nil {
				fr = &frameRecords{}
				got[frame] = fr
			}
			fr.Records = append(fr.Records, fmt.Sprintf("%d/%d", inner, wireLen))
			if plainLen >= 0 {
				fr.Decrypted = append(fr.Decrypted, plainLen)
			}
		}
		s.Replay(c, how, newRand())
	}
	return got, col
}

func loadRecordsRef(t *testing.T, name string) *recordsRef {
	t.Helper()
	var ref recordsRef
	if !readJSON(t, testdata(name+".records.json"), &ref) {
		t.Fatalf("%s.records.json missing", name)
	}
	return &ref
}

// TestOpenSSLCapturesMatchTshark decrypts each capture made with OpenSSL
// (AES-CCM and AES-CCM_8 in TLS 1.3 and 1.2, anonymous DH and ECDH) and
// compares it with tshark's decode record by record: the frame that
// completes each record, its (decrypted) content type, its length and the
// length of its plaintext; then the HTTP request and response code, whole,
// byte by byte and in random chunks.
func TestOpenSSLCapturesMatchTshark(t *testing.T) {
	records, decrypted := 0, 0
	for _, tc := range opensslCaptures {
		if tc.unsupported {
			continue
		}
		ref := loadRecordsRef(t, tc.name)
		want := ref.view()
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				got, col := runRecords(t, testdata(tc.name+".pcap"), mustKeyLog(t, testdata(tc.name+".keys")), how)
				if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("records per frame (-tshark +ours):\n%s", diff)
				}
				if ref.ServerHello.Ciphersuite != fmt.Sprintf("0x%04x", tc.suite) {
					t.Errorf("tshark's suite %s, want 0x%04x", ref.ServerHello.Ciphersuite, tc.suite)
				}
				var reqs, resps, wantReqs, wantResps []string
				for _, m := range col.Messages {
					switch {
					case m.Proto == "http" && m.Fields["status"] != nil:
						// tshark shows a close-delimited response at its
						// status line (http.desegment_body:FALSE), nettrace
						// at its end, with the status line's frame in
						// first_frame.
						resps = append(resps, fmt.Sprintf("%v %v", m.Fields["first_frame"], m.Fields["status"]))
					case m.Proto == "http" && m.Fields["method"] != nil:
						reqs = append(reqs, fmt.Sprintf("%d %s %s", m.Frame, m.Fields["method"], m.Fields["uri"]))
					case m.Proto == "tls" && m.Fields["handshake_type"] == "server_hello":
						if m.Fields["cipher_suite"] != CipherSuiteName(tc.suite) || m.Frame != ref.ServerHello.Frame {
							t.Errorf("server_hello %v at frame %d", m.Fields["cipher_suite"], m.Frame)
						}
					}
				}
				for _, r := range ref.HTTPRequests {
					wantReqs = append(wantReqs, fmt.Sprintf("%d %s %s", r.Frame, r.Method, r.URI))
				}
				for _, r := range ref.HTTPResponses {
					wantResps = append(wantResps, fmt.Sprintf("%d %s", r.Frame, r.Code))
				}
				if diff := cmp.Diff(wantReqs, reqs); diff != "" || len(reqs) == 0 {
					t.Errorf("HTTP requests (-tshark +ours):\n%s", diff)
				}
				if diff := cmp.Diff(wantResps, resps); diff != "" || len(resps) == 0 {
					t.Errorf("HTTP responses (-tshark +ours):\n%s", diff)
				}
				for _, e := range col.Events {
					switch e.Kind {
					case health.TLSDecryptFailed, health.TLSNoKey, health.TLSMalformed, health.HTTPMalformed, health.DecodeGaveUp:
						t.Errorf("unexpected event %s: %s", e.Kind, e.Message)
					}
				}
				if how == chunkWhole {
					for _, f := range want {
						records += len(f.Records)
						decrypted += len(f.Decrypted)
					}
					t.Logf("%s (%s): %d frames with records equal to tshark's; %d request(s), %d response(s)",
						tc.name, CipherSuiteName(tc.suite), len(want), len(reqs), len(resps))
				}
			})
		}
	}
	t.Logf("%d records (%d decrypted) at the same frames with the same types and lengths as tshark's", records, decrypted)
}

// corruptKeys returns a key log holding name's secrets with their last
// byte changed: the right client randoms, keys that do not authenticate.
func corruptKeys(t *testing.T, name string) *KeyLog {
	t.Helper()
	b, err := os.ReadFile(testdata(name + ".keys"))
	if err != nil {
		t.Fatal(err)
	}
	kl := NewKeyLog()
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] == "RSA" {
			continue
		}
		last := "00"
		if strings.HasSuffix(f[2], "00") {
			last = "01"
		}
		if err := kl.Add([]byte(f[0] + " " + f[1] + " " + f[2][:len(f[2])-2] + last)); err != nil {
			t.Fatal(err)
		}
	}
	return kl
}

// TestUndecryptableSaidOncePerConnection: a connection that cannot be
// decrypted gets exactly one event saying why, whatever the chunking: no
// key logged for its client random (tls.no_key), a suite nettrace does not
// decrypt (tls.decrypt_failed naming it), or a key that does not
// authenticate its records (tls.decrypt_failed) — never one per record or
// per direction, and never two reasons.
func TestUndecryptableSaidOncePerConnection(t *testing.T) {
	type want struct {
		kind   health.Kind
		reason string
	}
	for _, tc := range opensslCaptures {
		cases := []struct {
			path string
			kl   *KeyLog
			want want
		}{
			{"no key", NewKeyLog(), want{health.TLSNoKey, ""}},
			// A wrong key fails the tag or MAC, or first the CBC padding.
			{"wrong key", corruptKeys(t, tc.name), want{health.TLSDecryptFailed, ""}},
		}
		if tc.unsupported {
			cases = append(cases, struct {
				path string
				kl   *KeyLog
				want want
			}{"unsupported", mustKeyLog(t, testdata(tc.name+".keys")), want{health.TLSDecryptFailed, "unsupported cipher suite"}})
			cases[1].want = want{health.TLSDecryptFailed, "unsupported cipher suite"}
		}
		for _, k := range cases {
			for _, how := range []chunking{chunkWhole, chunkRandom} {
				t.Run(fmt.Sprintf("%s/%s/%d", tc.name, k.path, how), func(t *testing.T) {
					_, col := runRecords(t, testdata(tc.name+".pcap"), k.kl, how)
					var said []health.Event
					for _, e := range col.Events {
						if e.Kind == health.TLSNoKey || e.Kind == health.TLSDecryptFailed {
							said = append(said, e)
						}
					}
					if len(said) != 1 {
						t.Fatalf("%d events say why, want 1: %+v", len(said), said)
					}
					e := said[0]
					if e.Kind != k.want.kind || (k.want.reason != "" && e.Evidence["reason"] != k.want.reason) ||
						(k.want.reason == "" && e.Evidence["reason"] == "unsupported cipher suite") {
						t.Errorf("event %s %v, want %s %q", e.Kind, e.Evidence, k.want.kind, k.want.reason)
					}
					if k.want.reason == "unsupported cipher suite" && e.Evidence["suite"] != CipherSuiteName(tc.suite) {
						t.Errorf("suite %v, want %s", e.Evidence["suite"], CipherSuiteName(tc.suite))
					}
					// How much was not decrypted, said in the same event.
					recs, _ := e.Evidence["records_not_decrypted"].(int)
					last, _ := e.Evidence["last_frame"].(int64)
					if recs < 1 || last < e.Frame || e.Evidence["bytes_not_decrypted"].(int) < recs {
						t.Errorf("records_not_decrypted %v, bytes %v, last_frame %v: want the records left undecrypted, after frame %d",
							e.Evidence["records_not_decrypted"], e.Evidence["bytes_not_decrypted"], e.Evidence["last_frame"], e.Frame)
					}
					if how == chunkWhole {
						t.Logf("frame %d: %s", e.Frame, e.Message)
					}
				})
			}
		}
	}
}

// TestUnsupportedSuiteRecordsStillFramed: the records of a connection
// whose suite is not decrypted are framed as tshark frames them (same
// frames, wire lengths and outer types), and the handshake in clear is
// decoded.
func TestUnsupportedSuiteRecordsStillFramed(t *testing.T) {
	name := "tls12-ecdhe-rsa-camellia128-openssl"
	ref := loadRecordsRef(t, name)
	got, col := runRecords(t, testdata(name+".pcap"), mustKeyLog(t, testdata(name+".keys")), chunkRandom)
	n := 0
	for _, f := range ref.Frames {
		g := got[f.Frame]
		if g == nil || len(g.Records) != len(f.Records) {
			t.Errorf("frame %d: records %v, tshark %v", f.Frame, g, f.Records)
			continue
		}
		for i, r := range f.Records {
			if !strings.HasSuffix(g.Records[i], fmt.Sprintf("/%d", r.Length)) {
				t.Errorf("frame %d record %d: %s, tshark length %d", f.Frame, i, g.Records[i], r.Length)
			}
			n++
		}
		if len(g.Decrypted) != 0 {
			t.Errorf("frame %d: decrypted %v", f.Frame, g.Decrypted)
		}
	}
	if len(col.OfKind(health.TLSWeakCipher)) != 0 {
		t.Error("Camellia reported as weak")
	}
	t.Logf("%d records framed as tshark frames them; none decrypted", n)
}
