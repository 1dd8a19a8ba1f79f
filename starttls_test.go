package nettrace_test

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
)

// tlsHandshakeCodes are the handshake types of the tls decoder's messages,
// as tshark numbers them (tls.handshake.type).
var tlsHandshakeCodes = map[string]string{"client_hello": "1", "server_hello": "2", "encrypted_extensions": "8",
	"certificate": "11", "certificate_verify": "15", "finished": "20"}

// TestSTARTTLSFollowedIntoTLS analyses real connections that upgrade to TLS
// in band (testdata/starttls, made by gen.sh there: SMTP on 25, a refused
// SMTP STARTTLS on 587, IMAP, POP3, FTP AUTH TLS and LDAP StartTLS) with
// their key log: each upgrade is reported at the server's go-ahead, the
// refusal too, and the TLS decoder takes over — per frame, the handshake
// messages it decodes (TLS 1.3, decrypted) are tshark's tls.handshake.type.
func TestSTARTTLSFollowedIntoTLS(t *testing.T) {
	b, err := os.ReadFile("testdata/starttls/starttls.pcap")
	if err != nil {
		t.Fatal(err)
	}
	col := &health.Collector{KeepMessages: true}
	a, err := nettrace.New(nettrace.Options{Reporter: col, Messages: true, Workers: 1, KeyLogFiles: []string{"testdata/starttls/starttls.keys"}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("starttls", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Protocols[nettrace.ProtoSTARTTLS] != 6 {
		t.Errorf("protocols %v, want 6 starttls connections", rep.Protocols)
	}
	want, upgradeAt := map[int64]string{}, map[string]int64{}
	raw, err := os.ReadFile("testdata/starttls/starttls.tsv")
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		c := strings.Split(line, "\t")
		if i == 0 || len(c) < 6 || c[5] == "" {
			continue
		}
		frame, _ := strconv.ParseInt(c[0], 10, 64)
		want[frame] = c[5]
		if c[5] == "1" { // the ClientHello follows the go-ahead
			upgradeAt[c[3]] = frame
		}
	}
	got, upgrades := map[int64]string{}, map[string]int64{}
	for _, m := range col.Messages {
		switch m.Proto {
		case "tls":
			ht, _ := m.Fields["handshake_type"].(string)
			if code, ok := tlsHandshakeCodes[ht]; ok {
				if got[m.Frame] != "" {
					code = got[m.Frame] + "|" + code
				}
				got[m.Frame] = code
			}
		case "starttls":
			port := m.Flow[strings.LastIndex(m.Flow, ":")+1 : strings.Index(m.Flow, "/")]
			if m.Fields["result"] == "upgraded" {
				upgrades[port] = m.Frame
			} else {
				upgrades[port+" "+m.Fields["result"].(string)] = m.Frame
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TLS handshake types per frame (-tshark +ours):\n%s", diff)
	}
	for port, hello := range upgradeAt {
		if at := upgrades[port]; at == 0 || at >= hello {
			t.Errorf("port %s: upgrade reported at frame %d, ClientHello at %d", port, at, hello)
		}
	}
	if upgrades["587 refused"] == 0 || len(upgrades) != 6 {
		t.Errorf("starttls messages %v: want 5 upgrades and the refusal on 587", upgrades)
	}
	for _, e := range col.Events {
		if e.Kind == health.DecodeGaveUp || e.Kind == health.TLSMalformed || e.Kind == health.TLSNoKey {
			t.Errorf("%s at frame %d: %s", e.Kind, e.Frame, e.Message)
		}
	}
	t.Logf("%d frames with TLS handshake messages agree with tshark after 5 STARTTLS upgrades", len(want))
}
