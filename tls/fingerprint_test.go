package tls

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func hexIDs(s string) []uint16 {
	var out []uint16
	for _, f := range strings.Split(s, ",") {
		var v uint16
		fmt.Sscanf(f, "%x", &v)
		out = append(out, v)
	}
	return out
}

// TestJA4SpecExample: the example of the JA4 specification (FoxIO,
// technical_details/JA4.md), with GREASE values added that must change
// nothing.
func TestJA4SpecExample(t *testing.T) {
	ch := ClientHello{
		Version:             VersionTLS12,
		CipherSuites:        append([]uint16{0x1a1a}, hexIDs("1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035")...),
		Extensions:          append(append([]uint16{0x2a2a}, hexIDs("001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015")...), 0xfafa),
		SignatureAlgorithms: hexIDs("0403,0804,0401,0503,0805,0501,0806,0601"),
		SupportedVersions:   []Version{0x3a3a, VersionTLS13, VersionTLS12},
		ALPN:                []string{"h2", "http/1.1"},
	}
	if got, want := ch.JA4(), "t13d1516h2_8daaf6152771_e5627efa2ab1"; got != want {
		t.Errorf("JA4 = %s, want %s", got, want)
	}
	// Without signature algorithms the extension list is hashed alone.
	ch.SignatureAlgorithms = nil
	if got, want := ch.JA4(), "t13d1516h2_8daaf6152771_6d807ffa2a79"; got != want {
		t.Errorf("JA4 without signature algorithms = %s, want %s", got, want)
	}
	// No extensions, no ciphers: zeros, not the hash of nothing.
	if got, want := (&ClientHello{Version: VersionTLS10}).JA4(), "t10i000000_000000000000_000000000000"; got != want {
		t.Errorf("empty JA4 = %s, want %s", got, want)
	}
}

// TestJA4SSpecExample: the example of JA4S.md.
func TestJA4SSpecExample(t *testing.T) {
	sh := ServerHello{Version: VersionTLS12, CipherSuite: 0xc030, Extensions: hexIDs("0005,0017,ff01,0000")}
	if got, want := sh.JA4S(), "t120400_c030_4e8089b08790"; got != want {
		t.Errorf("JA4S = %s, want %s", got, want)
	}
}

// TestJA4ALPN: the ALPN rules and examples of JA4.md.
func TestJA4ALPN(t *testing.T) {
	for in, want := range map[string]string{
		"": "00", "h2": "h2", "http/1.1": "h1", "h": "hh",
		"\xab": "ab", "\xab\xcd": "ad", "\x30\xab": "3b", "\x30\x31\xab\xcd": "3d", "\x30\xab\xcd\x31": "01",
	} {
		if got := ja4ALPN(in); got != want {
			t.Errorf("ja4ALPN(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestFingerprintsMatchReference compares the fingerprints of every hello
// in the test captures with fingerprints.json: JA3 and JA3S as tshark
// 4.0.17 computes them, JA4 and JA4S as fingerprints.py computes them from
// tshark's dissection (an implementation independent of this one).
func TestFingerprintsMatchReference(t *testing.T) {
	var ref struct {
		Captures map[string][]map[string]any `json:"captures"`
	}
	if !readJSON(t, testdata("fingerprints.json"), &ref) {
		t.Fatal("fingerprints.json missing")
	}
	n := 0
	for capture, hellos := range ref.Captures {
		t.Run(capture, func(t *testing.T) {
			name := strings.TrimSuffix(capture, filepath.Ext(capture))
			var kl *KeyLog
			if k, err := LoadKeyLog(testdata(name + ".keys")); err == nil {
				kl = k
			}
			r := runCapture(t, testdata(capture), kl, chunkRandom)
			for _, h := range hellos {
				frame := int64(h["frame"].(float64))
				typ := h["type"].(string)
				var got map[string]any
				for _, m := range r.col.Messages {
					ht := m.Fields["handshake_type"]
					if m.Frame == frame && (ht == typ || typ == "server_hello" && ht == "hello_retry_request") {
						got = m.Fields
					}
				}
				if got == nil {
					t.Errorf("frame %d: no %s message", frame, typ)
					continue
				}
				for k, want := range h {
					if k == "frame" || k == "type" {
						continue
					}
					if got[k] != want {
						t.Errorf("frame %d %s %s:\n ours %v\n want %v", frame, typ, k, got[k], want)
					}
					n++
				}
			}
		})
	}
	t.Logf("%d fingerprints equal to tshark's (JA3/JA3S) and fingerprints.py's (JA4/JA4S) in %d captures", n, len(ref.Captures))
}

// TestHelloFieldsAbsentMeansAbsent: a ClientHello without SNI has no sni
// field (not sni:""), and the certificate's DNS SANs, IP SANs and subject
// CN are separate fields, each absent when the certificate has none; the
// SANs equal tshark's.
func TestHelloFieldsAbsentMeansAbsent(t *testing.T) {
	type certWant struct {
		dns, ips []string
		cn       string
	}
	for _, tc := range []struct {
		name string
		sni  string // "" for none
		cert *certWant
	}{
		{"tls13-aes128ccm-openssl", "rsa.nettrace.test", &certWant{cn: "rsa.nettrace.test"}},
		{"tls13-aes128ccm8-openssl", "", &certWant{cn: "rsa.nettrace.test"}},
		{"tls12-ecdhe-ecdsa-aes128ccm-openssl", "ecdsa.nettrace.test", &certWant{cn: "ecdsa.nettrace.test"}},
		{"tls12-ecdhe-ecdsa-aes128ccm8-openssl", "", &certWant{cn: "ecdsa.nettrace.test"}},
		{"tls12-adh-aes128gcm-openssl", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := loadRecordsRef(t, tc.name)
			if tc.cert != nil {
				tc.cert.dns, tc.cert.ips = ref.DNSNames, ref.IPAddresses
			}
			r := runCapture(t, testdata(tc.name+".pcap"), mustKeyLog(t, testdata(tc.name+".keys")), chunkWhole)
			var ch, cert map[string]any
			for _, m := range r.col.Messages {
				switch m.Fields["handshake_type"] {
				case "client_hello":
					ch = m.Fields
				case "certificate":
					if m.Fields["from"] == "server" {
						cert = m.Fields
					}
				}
				b, _ := json.Marshal(m.Fields)
				for _, empty := range []string{`"sni":""`, `:null`, `"dns_names":[]`, `"ip_addresses":[]`, `"subject_cn":""`} {
					if strings.Contains(string(b), empty) {
						t.Errorf("frame %d message has %s: %s", m.Frame, empty, b)
					}
				}
			}
			if sni, ok := ch["sni"]; tc.sni == "" && ok || tc.sni != "" && sni != tc.sni {
				t.Errorf("sni = %v (present %v), want %q", sni, ok, tc.sni)
			}
			if tc.cert == nil {
				if cert != nil {
					t.Errorf("certificate message %v", cert)
				}
				return
			}
			if cert == nil {
				t.Fatal("no server certificate message")
			}
			got := certWant{cn: fmt.Sprint(cert["subject_cn"])}
			if v, ok := cert["dns_names"].([]string); ok {
				got.dns = v
			} else if _, present := cert["dns_names"]; present {
				t.Errorf("dns_names = %v", cert["dns_names"])
			}
			if v, ok := cert["ip_addresses"].([]string); ok {
				got.ips = v
			} else if _, present := cert["ip_addresses"]; present {
				t.Errorf("ip_addresses = %v", cert["ip_addresses"])
			}
			if diff := cmp.Diff(*tc.cert, got, cmp.AllowUnexported(certWant{})); diff != "" {
				t.Errorf("certificate names (-want +got):\n%s", diff)
			}
		})
	}
}
