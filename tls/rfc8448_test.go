package tls

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

type rfc8448 struct {
	ClientRandom string              `json:"client_random"`
	ClientHS     string              `json:"client_hs_secret"`
	ServerHS     string              `json:"server_hs_secret"`
	ClientApp    string              `json:"client_app_secret"`
	ServerApp    string              `json:"server_app_secret"`
	Keys         map[string][]string `json:"keys"`
	Records      []struct {
		From string `json:"from"`
		What string `json:"what"`
		Hex  string `json:"hex"`
	} `json:"records"`
}

func loadRFC8448(t *testing.T) rfc8448 {
	var v rfc8448
	if !readJSON(t, testdata("rfc8448-section3.json"), &v) {
		t.Fatal("rfc8448-section3.json missing")
	}
	return v
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC8448TrafficKeys checks HKDF-Expand-Label key/IV derivation
// against RFC 8448, section 3.
func TestRFC8448TrafficKeys(t *testing.T) {
	v := loadRFC8448(t)
	for name, secret := range map[string]string{"server_hs": v.ServerHS, "client_hs": v.ClientHS, "server_app": v.ServerApp, "client_app": v.ClientApp} {
		key, iv := trafficKey(sha256.New, unhex(t, secret), 16)
		if got := hex.EncodeToString(key); got != v.Keys[name][0] {
			t.Errorf("%s key = %s, want %s", name, got, v.Keys[name][0])
		}
		if got := hex.EncodeToString(iv); got != v.Keys[name][1] {
			t.Errorf("%s iv = %s, want %s", name, got, v.Keys[name][1])
		}
	}
}

// TestRFC8448Decrypt feeds the RFC 8448 section 3 records through a Conn
// with the published secrets as a key log: the encrypted handshake, the
// ticket, application data both ways and the client's close_notify.
func TestRFC8448Decrypt(t *testing.T) {
	v := loadRFC8448(t)
	kl := NewKeyLog()
	cr := v.ClientRandom
	if err := kl.Add([]byte("# RFC 8448\r\nCLIENT_HANDSHAKE_TRAFFIC_SECRET " + cr + " " + v.ClientHS + "\r\n" +
		"SERVER_HANDSHAKE_TRAFFIC_SECRET " + cr + " " + v.ServerHS + "\n" +
		"CLIENT_TRAFFIC_SECRET_0 " + cr + " " + v.ClientApp + "\n" +
		"SERVER_TRAFFIC_SECRET_0 " + cr + " " + v.ServerApp + "\n")); err != nil {
		t.Fatal(err)
	}
	for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
		col := &health.Collector{KeepMessages: true}
		sink := &plainSink{}
		cfg := DefaultConfig()
		cfg.KeyLog = kl
		cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return sink }
		c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
		rng := newRand()
		at := tcpstate.Position{Time: time.Date(2018, 6, 1, 0, 0, 0, 0, time.UTC)}
		for i, r := range v.Records {
			at.Frame = int64(i + 1)
			dir := tcpstate.ClientToServer
			if r.From == "server" {
				dir = tcpstate.ServerToClient
			}
			testcap.Feed(c, dir, unhex(t, r.Hex), at, how, rng)
		}
		c.Close(tcpstate.CloseFIN, at)
		want := make([]byte, 50)
		for i := range want {
			want[i] = byte(i)
		}
		for d := 0; d < 2; d++ {
			if !bytes.Equal(sink.data[d], want) {
				t.Errorf("chunking %d: plaintext %s = %x, want 00..31", how, tcpstate.Dir(d), sink.data[d])
			}
		}
		var types []string
		for _, m := range col.Messages {
			if ht, ok := m.Fields["handshake_type"]; ok {
				types = append(types, ht.(string))
			}
			if subj, ok := m.Fields["cert_subjects"]; ok && len(subj.([]string)) != 1 {
				t.Errorf("cert_subjects %v", subj)
			}
		}
		wantTypes := []string{"client_hello", "server_hello", "encrypted_extensions", "certificate", "certificate_verify",
			"finished", "finished", "new_session_ticket"}
		if len(types) != len(wantTypes) {
			t.Errorf("chunking %d: handshake messages %v, want %v", how, types, wantTypes)
		}
		if a := col.OfKind(health.TLSAlert); len(a) != 1 || a[0].Evidence["description"] != "close_notify" || a[0].Evidence["from"] != "client" {
			t.Errorf("alerts: %+v", a)
		}
		// The RFC's certificate names "rsa" while the SNI is "server".
		if n := len(col.OfKind(health.TLSCertNameMismatch)); n != 1 {
			t.Errorf("%d cert_name_mismatch events, want 1", n)
		}
		for _, e := range col.Events {
			if e.Kind != health.TLSAlert && e.Kind != health.TLSCertNameMismatch {
				t.Errorf("unexpected event %s: %s", e.Kind, e.Message)
			}
		}
		if c.Version() != VersionTLS13 || c.CipherSuite() != 0x1301 || c.ServerName() != "server" {
			t.Errorf("version %v suite %x sni %q", c.Version(), c.CipherSuite(), c.ServerName())
		}
	}
}
