package nettrace

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tds"
	"github.com/nettrace/nettrace/tls"
)

// typedCaptures are repo captures with messages of each typed protocol
// (key logs beside them are used).
var typedCaptures = []string{
	"testdata/smb/smb3-access-denied.pcap",
	"testdata/smb/smb3_11-gcm-encrypted.pcap",
	"testdata/rpc/rpc-over-smb-pipes-rpcclient.pcap",
	"testdata/tds/tds-tsql-login7-failed-fakeserver.pcap",
	"testdata/tds/c15-tds-wan-nat-client.pcap",
	"testdata/tls/c03-wildcard-cert-match.pcap",
	"testdata/http/http-gzip-chunked-nginx-curl.pcap",
	"testdata/http/http-100-continue-go-nginx-curl.pcap",
}

// typedOptions returns the options that decrypt path with the key files
// beside it.
func typedOptions(t *testing.T, path string) Options {
	base := strings.TrimSuffix(path, ".pcap")
	var o Options
	if _, err := os.Stat(base + ".keys"); err == nil {
		o.KeyLogFiles = []string{base + ".keys"}
	}
	if _, err := os.Stat(base + ".smbkeys"); err == nil {
		o.SMBKeys = smb.NewKeys()
		if err := o.SMBKeys.Load(base + ".smbkeys"); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

// record is a delivered typed message: its type, frame and JSON.
type record struct {
	typ   string
	frame int64
	json  string
}

func recordOf(t *testing.T, v health.Decoded, frame int64) record {
	b, err := json.Marshal(v.Fields())
	if err != nil {
		t.Fatal(err)
	}
	return record{typ: fmt.Sprintf("%T", v), frame: frame, json: string(b)}
}

// handlersRecording returns Handlers that append what they receive to out.
func handlersRecording(t *testing.T, out *[]record) Handlers {
	add := func(v health.Decoded, o health.Origin) { *out = append(*out, recordOf(t, v, o.Frame)) }
	return Handlers{
		SMB:  func(m *smb.Message) { add(m, m.Origin) },
		RPC:  func(m *rpc.Message) { add(m, m.Origin) },
		TDS:  func(m *tds.Message) { add(m, m.Origin) },
		TLS:  func(m *tls.Message) { add(m, m.Origin) },
		HTTP: func(m *http.Message) { add(m, m.Origin) },
	}
}

// TestHandlersSameAsCollector asserts that the typed handlers receive,
// in the same order, exactly the typed messages a Collector keeps (with
// the same fields), that a run with only handlers (no Messages) gives
// the same, and that two workers give the same as one.
func TestHandlersSameAsCollector(t *testing.T) {
	seen := map[string]int{}
	for _, path := range typedCaptures {
		col := &health.Collector{KeepMessages: true}
		o := typedOptions(t, path)
		o.Reporter, o.Messages = col, true
		var both []record
		o.Handlers = handlersRecording(t, &both)
		if _, err := AnalyzeFile(path, o); err != nil {
			t.Fatal(err)
		}
		var want []record
		for i := range col.Messages {
			m := &col.Messages[i]
			if m.Value == nil {
				continue
			}
			if m.Frame != originOf(m.Value).Frame || m.Flow != originOf(m.Value).Flow {
				t.Errorf("%s: message at frame %d %s carries a value of frame %d %s", path, m.Frame, m.Flow, originOf(m.Value).Frame, originOf(m.Value).Flow)
			}
			want = append(want, recordOf(t, m.Value, m.Frame))
			seen[fmt.Sprintf("%T", m.Value)]++
		}
		if len(want) == 0 {
			t.Errorf("%s: no typed message", path)
		}
		if !slices.Equal(both, want) {
			t.Errorf("%s: handlers next to the Collector got %d messages, the Collector %d typed ones (or they differ)", path, len(both), len(want))
		}
		for _, workers := range []int{1, 2} {
			var only []record
			o := typedOptions(t, path)
			o.Handlers, o.Workers = handlersRecording(t, &only), workers
			if _, err := AnalyzeFile(path, o); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(only, want) {
				t.Errorf("%s: handlers alone with %d workers got %d messages, want the Collector's %d", path, workers, len(only), len(want))
			}
		}
	}
	for _, typ := range []string{"*smb.Message", "*rpc.Message", "*tds.Message", "*tls.Message", "*http.Message"} {
		if seen[typ] == 0 {
			t.Errorf("no %s in the test captures", typ)
		}
	}
}

// originOf returns the Origin every typed message embeds.
func originOf(v health.Decoded) health.Origin {
	return reflect.ValueOf(v).Elem().FieldByName("Origin").Interface().(health.Origin)
}

// TestTypedValuesAgreeWithFields checks, message by message, that the
// fields people read of each typed value are the ones its JSON carries.
func TestTypedValuesAgreeWithFields(t *testing.T) {
	checked := map[string]int{}
	for _, path := range typedCaptures {
		o := typedOptions(t, path)
		o.Handlers = Handlers{
			SMB: func(m *smb.Message) {
				f := m.Fields()
				agree(t, path, m.Frame, f, map[string]any{"cmd": m.Command, "is_response": m.Response})
				if m.Response && m.Version == 2 {
					agree(t, path, m.Frame, f, map[string]any{"status": m.StatusName})
				}
				checked["smb"]++
			},
			RPC: func(m *rpc.Message) {
				f := m.Fields()
				agree(t, path, m.Frame, f, map[string]any{"call_id": m.CallID})
				if m.HasOpnum && m.Operation != "" {
					agree(t, path, m.Frame, f, map[string]any{"operation": m.Operation, "opnum": m.Opnum, "interface": m.InterfaceName})
				}
				checked["rpc"]++
			},
			TDS: func(m *tds.Message) {
				f := m.Fields()
				if m.Kind == tds.KindSMP {
					return
				}
				agree(t, path, m.Frame, f, map[string]any{"type": m.Type.String(), "dir": m.Dir.String()})
				if m.Login != nil {
					agree(t, path, m.Frame, f["login"].(map[string]any), map[string]any{"username": m.Login.UserName, "appname": m.Login.AppName})
				}
				if m.Response != nil && len(m.Response.Errors) > 0 {
					agree(t, path, m.Frame, f, map[string]any{"error_message": m.Response.Errors[0].Message})
				}
				checked["tds"]++
			},
			TLS: func(m *tls.Message) {
				f := m.Fields()
				if ch := m.ClientHello; ch != nil {
					_, ja3 := ch.JA3()
					agree(t, path, m.Frame, f, map[string]any{"sni": ch.ServerName, "ja3_hash": ja3, "ja4": ch.JA4()})
				}
				if sh := m.ServerHello; sh != nil {
					agree(t, path, m.Frame, f, map[string]any{"cipher_suite": tls.CipherSuiteName(sh.CipherSuite), "ja4s": sh.JA4S(), "version": m.Version.String()})
				}
				if c := m.Certificate; c != nil && len(c.Certs) > 0 {
					agree(t, path, m.Frame, f, map[string]any{"cert_names": c.Certs[0].Names(), "cert_key": c.Certs[0].KeyType})
				}
				checked["tls"]++
			},
			HTTP: func(m *http.Message) {
				f := m.Fields()
				agree(t, path, m.Frame, f, map[string]any{"method": m.Method, "uri": m.URI, "version": m.Version})
				if m.Response {
					agree(t, path, m.Frame, f, map[string]any{"status": m.Status, "reason": m.Reason})
				}
				if m.Response && m.Body != nil {
					agree(t, path, m.Frame, f, map[string]any{"body_bytes": m.Body.DecodedBytes})
				}
				checked["http"]++
			},
		}
		if _, err := AnalyzeFile(path, o); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"smb", "rpc", "tds", "tls", "http"} {
		if checked[p] == 0 {
			t.Errorf("no %s message checked", p)
		}
	}
}

// agree reports the keys of want whose JSON differs from f's.
func agree(t *testing.T, path string, frame int64, f, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, _ := json.Marshal(f[k])
		exp, _ := json.Marshal(v)
		if !bytes.Equal(got, exp) {
			t.Errorf("%s frame %d: fields[%q] = %s, the typed value says %s", path, frame, k, got, exp)
		}
	}
}

// TestTypedValuesHoldNoSecret walks every typed value (and its JSON) of
// captures whose secrets are known: the LOGIN7 password (tshark shows it
// deobfuscated as tds.7login.password), the TLS key log's secrets, the SMB
// session keys and the NT password. None may appear, as text, hex or
// bytes.
func TestTypedValuesHoldNoSecret(t *testing.T) {
	secrets := []string{"Str0ng!Pass", "Passw0rd!"}
	secrets = append(secrets, keyFileSecrets(t, "testdata/tls/c03-wildcard-cert-match.keys", 2)...)
	secrets = append(secrets, keyFileSecrets(t, "testdata/smb/smb3_11-gcm-encrypted.smbkeys", 1)...)
	var hexes [][]byte
	for _, s := range secrets[2:] {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		hexes = append(hexes, b)
	}
	n := 0
	check := func(v health.Decoded) {
		n++
		js, _ := json.Marshal(v.Fields())
		whole, _ := json.Marshal(v) // every exported field, nested parts too
		walkValue(reflect.ValueOf(v), func(s string, b []byte) {
			for i, secret := range secrets {
				if strings.Contains(strings.ToLower(s), strings.ToLower(secret)) {
					t.Errorf("%T at frame %d holds secret %d", v, originOf(v).Frame, i)
				}
				if i >= 2 && len(b) > 0 && bytes.Contains(b, hexes[i-2]) {
					t.Errorf("%T at frame %d holds the bytes of secret %d", v, originOf(v).Frame, i)
				}
			}
		})
		for i, secret := range secrets {
			if bytes.Contains(bytes.ToLower(js), []byte(strings.ToLower(secret))) || bytes.Contains(bytes.ToLower(whole), []byte(strings.ToLower(secret))) {
				t.Errorf("%T at frame %d: its JSON holds secret %d", v, originOf(v).Frame, i)
			}
		}
	}
	for _, path := range []string{"testdata/tds/tds-tsql-login7-failed-fakeserver.pcap", "testdata/tls/c03-wildcard-cert-match.pcap",
		"testdata/smb/smb3_11-gcm-encrypted.pcap", "testdata/smb/smb3-bad-password.pcap"} {
		o := typedOptions(t, path)
		o.NTPasswords = []string{"Passw0rd!"}
		o.Handlers = Handlers{SMB: func(m *smb.Message) { check(m) }, RPC: func(m *rpc.Message) { check(m) },
			TDS: func(m *tds.Message) { check(m) }, TLS: func(m *tls.Message) { check(m) }, HTTP: func(m *http.Message) { check(m) }}
		if _, err := AnalyzeFile(path, o); err != nil {
			t.Fatal(err)
		}
	}
	if n < 20 {
		t.Errorf("only %d typed messages checked", n)
	}
}

// keyFileSecrets returns the hex secrets of a key file: the fields from
// index from on of each line that is not a comment.
func keyFileSecrets(t *testing.T, path string, from int) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > from && !strings.HasPrefix(fs[0], "#") {
			out = append(out, fs[from:]...)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no secret in %s", path)
	}
	return out
}

// walkValue calls visit with every string and byte slice reachable from v.
func walkValue(v reflect.Value, visit func(string, []byte)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkValue(v.Elem(), visit)
		}
	case reflect.String:
		visit(v.String(), nil)
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			visit(hex.EncodeToString(b), b)
			return
		}
		for i := range v.Len() {
			walkValue(v.Index(i), visit)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkValue(v.Field(i), visit)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			walkValue(it.Value(), visit)
		}
	}
}
