package tls

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

func kinds(col *health.Collector) map[health.Kind]int {
	m := map[health.Kind]int{}
	for _, e := range col.Events {
		m[e.Kind]++
	}
	return m
}

func TestCertNameMismatch(t *testing.T) {
	for _, tc := range []struct {
		name, host string
		frame      int64 // tshark's frame of the Certificate message
	}{
		{"tls12-sni-mismatch-curl-nginx", "web.other.test", 6},
		{"ndpi-ssl-cert-name-mismatch", "wrong.host.badssl.com", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kl *KeyLog
			if _, err := os.Stat(testdata(tc.name + ".keys")); err == nil {
				kl = mustKeyLog(t, testdata(tc.name+".keys"))
			}
			r := runCapture(t, testdata(tc.name+".pcap"), kl, chunkRandom)
			ev := r.col.OfKind(health.TLSCertNameMismatch)
			if len(ev) != 1 {
				t.Fatalf("%d cert_name_mismatch events, want 1: %+v", len(ev), r.col.Events)
			}
			if ev[0].Evidence["host"] != tc.host || ev[0].Frame != tc.frame {
				t.Errorf("event %+v: want host %s at frame %d", ev[0], tc.host, tc.frame)
			}
			t.Logf("%s: %s", tc.name, ev[0].Message)
		})
	}
}

// TestCaseC3_WildcardCertificateMatch: a wildcard SAN covering the SNI is
// a match reported in the message, not an error (casebook C3).
func TestCaseC3_WildcardCertificateMatch(t *testing.T) {
	r := runCapture(t, testdata("c03-wildcard-cert-match.pcap"), mustKeyLog(t, testdata("c03-wildcard-cert-match.keys")), chunkWhole)
	for _, e := range r.col.Events {
		if e.Severity >= health.Warning {
			t.Errorf("unexpected %s event: %s", e.Kind, e.Message)
		}
	}
	var cert *health.Message
	for i, m := range r.col.Messages {
		if m.Fields["handshake_type"] == "certificate" {
			cert = &r.col.Messages[i]
		}
	}
	if cert == nil {
		t.Fatal("no certificate message")
	}
	if cert.Frame != 8 {
		t.Errorf("certificate message frame %d, want 8", cert.Frame)
	}
	if got := cert.Fields["cert_name_match"]; got != MatchWildcard {
		t.Errorf("cert_name_match = %v, want wildcard", got)
	}
	subj := cert.Fields["cert_subjects"].([]string)
	if len(subj) != 2 || !strings.Contains(subj[0], "CN=*.example.test") || !strings.Contains(subj[1], "Steering Test Issuing CA 01") {
		t.Errorf("cert_subjects = %q", subj)
	}
	if nb := cert.Fields["cert_not_before"]; !strings.HasPrefix(nb.(string), "2026-11-21") {
		t.Errorf("not_before %v", nb)
	}
	if na := cert.Fields["cert_not_after"]; !strings.HasPrefix(na.(string), "2027-12-24") {
		t.Errorf("not_after %v", na)
	}
	t.Logf("C3: %v", cert.Fields)
}

func TestCertExpired(t *testing.T) {
	r := runCapture(t, testdata("tls13-expired-cert-curl-nginx.pcap"), mustKeyLog(t, testdata("tls13-expired-cert-curl-nginx.keys")), chunkBytes)
	ev := r.col.OfKind(health.TLSCertExpired)
	if len(ev) != 1 || !strings.Contains(ev[0].Message, "old.example.test") || ev[0].Evidence["not_after"] != "2021-01-01T00:00:00Z" {
		t.Fatalf("cert_expired events: %+v", ev)
	}
	if f := r.col.OfKind(health.TLSHandshakeFailed); len(f) != 1 || f[0].Evidence["alert"] != "certificate_expired" {
		t.Errorf("handshake_failed: %+v", f)
	}
	// Without the key the TLS 1.3 certificate is invisible.
	r = runCapture(t, testdata("tls13-expired-cert-curl-nginx.pcap"), nil, chunkWhole)
	if n := len(r.col.OfKind(health.TLSCertExpired)); n != 0 {
		t.Errorf("%d cert_expired events without a key", n)
	}
}

func TestHandshakeFailureAlert(t *testing.T) {
	r := runCapture(t, testdata("tls12-handshake-failure-no-shared-cipher.pcap"), nil, chunkWhole)
	a := r.col.OfKind(health.TLSAlert)
	if len(a) != 1 || a[0].Evidence["description"] != "handshake_failure" || a[0].Evidence["from"] != "server" || a[0].Severity != health.Warning {
		t.Fatalf("alerts: %+v", a)
	}
	if f := r.col.OfKind(health.TLSHandshakeFailed); len(f) != 1 || f[0].Evidence["stage"] != "client_hello" {
		t.Errorf("handshake_failed: %+v", f)
	}
	if n := len(r.col.OfKind(health.TLSHandshakeStalled)); n != 0 {
		t.Errorf("a refused handshake is not stalled (%d events)", n)
	}
}

// TestHandshakeStalled feeds only the ClientHello of a capture: casebook C1.
func TestHandshakeStalled(t *testing.T) {
	streams := readStreams(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))
	col := &health.Collector{}
	ctx := &tcpstate.StreamContext{Reporter: col}
	c := NewConn(ctx, DefaultConfig())
	seg := streams[0].Segments[0]
	at := tcpstate.Position{Frame: seg.Frame, Time: seg.Time}
	c.Feed(tcpstate.ClientToServer, seg.Data, at)
	ctx.Visibility = seenBoth // the tracker's: both sides captured
	c.Close(tcpstate.CloseRST, tcpstate.Position{Frame: 99, Time: seg.Time.Add(14 * time.Second)})
	ev := col.OfKind(health.TLSHandshakeStalled)
	if len(ev) != 1 || ev[0].Frame != seg.Frame || ev[0].Evidence["waited_ms"] != int64(14000) {
		t.Fatalf("stalled: %+v", col.Events)
	}
	t.Log(ev[0].Message)
}

func TestNoKeyOncePerConnection(t *testing.T) {
	kl := NewKeyLog()
	if err := kl.Add([]byte("CLIENT_RANDOM " + strings.Repeat("00", 32) + " " + strings.Repeat("11", 48) + "\n")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tls12-ecdhe-rsa-aes128gcm-curl-nginx", "tls13-aes128gcm-curl-nginx"} {
		r := runCapture(t, testdata(name+".pcap"), kl, chunkWhole)
		if n := len(r.col.OfKind(health.TLSNoKey)); n != 1 {
			t.Errorf("%s: %d no_key events, want 1", name, n)
		}
		if n := len(r.col.OfKind(health.TLSDecryptFailed)); n != 0 {
			t.Errorf("%s: %d decrypt_failed events", name, n)
		}
	}
}

// TestWrongKeyDecryptFailed: a key log with the right client random but a
// wrong secret gives one tls.decrypt_failed for the connection (both
// directions fail) naming the key.
func TestWrongKeyDecryptFailed(t *testing.T) {
	b, _ := os.ReadFile(testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.keys"))
	f := strings.Fields(string(b))
	kl := NewKeyLog()
	kl.Add([]byte(f[0] + " " + f[1] + " " + strings.Repeat("ab", 48)))
	r := runCapture(t, testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"), kl, chunkWhole)
	ev := r.col.OfKind(health.TLSDecryptFailed)
	if len(ev) != 1 || ev[0].Evidence["key"] != "CLIENT_RANDOM" {
		t.Fatalf("decrypt_failed: %+v", ev)
	}
	t.Log(ev[0].Message)
}

// TestNoSecretInOutput checks that no secret of any key log appears in an
// event, message or error, in hex of either case.
func TestNoSecretInOutput(t *testing.T) {
	names := []string{"tls12-ecdhe-rsa-aes128gcm-curl-nginx", "tls13-aes128gcm-curl-nginx", "tls12-ecdhe-rsa-aes128-sha256-cbc-curl-nginx",
		"tls13-expired-cert-curl-nginx", "tls12-sni-mismatch-curl-nginx", "tls13-chacha20-sclient-sserver"}
	for _, name := range names {
		keys, _ := os.ReadFile(testdata(name + ".keys"))
		var secrets []string
		for _, line := range strings.Split(string(keys), "\n") {
			if f := strings.Fields(line); len(f) == 3 {
				secrets = append(secrets, strings.ToLower(f[2]))
				raw, _ := hex.DecodeString(f[2])
				secrets = append(secrets, string(raw))
			}
		}
		// Corrupt every secret (last hex digit) so that decryption fails
		// and errors and events are produced too; and add a bad line.
		var bad bytes.Buffer
		for _, line := range strings.Split(string(keys), "\n") {
			if f := strings.Fields(line); len(f) == 3 {
				last := "0"
				if strings.HasSuffix(f[2], "0") {
					last = "1"
				}
				corrupted := f[2][:len(f[2])-1] + last
				secrets = append(secrets, strings.ToLower(corrupted))
				fmt.Fprintf(&bad, "%s %s %s\n%s %s %s00\n", f[0], f[1], corrupted, f[0], f[1][2:], f[2])
			}
		}
		badLog := NewKeyLog()
		if err := badLog.Add(bad.Bytes()); err == nil || strings.Contains(strings.ToLower(err.Error()), secrets[0][:16]) {
			t.Errorf("%s: bad-line error %v", name, err)
		}
		for _, kl := range []*KeyLog{mustKeyLog(t, testdata(name+".keys")), badLog} {
			r := decryptHTTP(t, testdata(name+".pcap"), kl, chunkWhole)
			if kl == badLog && len(r.OfKind(health.TLSDecryptFailed)) == 0 {
				t.Errorf("%s: corrupted keys gave no decrypt_failed event", name)
			}
			out, _ := json.Marshal(r)
			text := strings.ToLower(string(out))
			for _, s := range secrets {
				if len(s) > 8 && strings.Contains(text, strings.ToLower(s)) {
					t.Errorf("%s: a secret appears in the output", name)
				}
			}
		}
	}
}

// TestHostHeaderCheckedWithoutSNI: without SNI, the certificate is checked
// against the Host header of the first decrypted request.
func TestHostHeaderCheckedWithoutSNI(t *testing.T) {
	for host, want := range map[string]int{"other.test:443": 1, "www.example.test": 0} {
		col := newCollector()
		c := NewConn(&tcpstate.StreamContext{Reporter: col}, DefaultConfig())
		c.certs = []CertInfo{{Subject: "CN=*.example.test", DNSNames: []string{"*.example.test"}}}
		c.appData(tcpstate.ClientToServer, []byte("GET / HTTP/1.1\r\nhost: "+host+"\r\n\r\n"), tcpstate.Position{Frame: 9})
		if n := len(col.OfKind(health.TLSCertNameMismatch)); n != want {
			t.Errorf("Host %s: %d mismatch events, want %d", host, n, want)
		}
		if want == 0 && (len(col.Messages) != 1 || col.Messages[0].Fields["cert_name_match"] != MatchWildcard) {
			t.Errorf("Host %s: messages %+v", host, col.Messages)
		}
	}
}

// TestPublicCaptureEvents: Zeek's test traces (BSD-3-Clause, see
// ../shared/public-captures/PROVENANCE.md): an RC4 suite, an expired
// certificate and a TLS 1.0 server.
func TestPublicCaptureEvents(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind health.Kind
		n    int
		ev   string // an evidence value the first event must carry
	}{
		{"zeek-tls-tls1.2", health.TLSWeakCipher, 1, "TLS_RSA_WITH_RC4_128_MD5"},
		{"zeek-tls-tls-expired-cert", health.TLSCertExpired, 1, "2014-03-04T23:59:59Z"},
		{"zeek-tls-cert-no-cn", health.TLSVersionDowngrade, 1, "TLS 1.0"},
	} {
		r := runCapture(t, testdata(tc.name+".pcap"), nil, chunkRandom)
		ev := r.col.OfKind(tc.kind)
		if len(ev) < tc.n {
			t.Errorf("%s: %d %s events, want %d: %+v", tc.name, len(ev), tc.kind, tc.n, r.col.Events)
			continue
		}
		found := false
		for _, v := range ev[0].Evidence {
			if v == tc.ev {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: evidence %v lacks %q", tc.name, ev[0].Evidence, tc.ev)
		}
		t.Logf("%s: %s", tc.name, ev[0].Message)
	}
}
