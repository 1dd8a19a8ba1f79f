package smb

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// encryptedCaptures are the real encrypted SMB3 sessions with their keys:
// the password of the user, and a key file (testdata/smb/<name>.smbkeys, the
// session keys derived from it), and the tshark reference decoded with
// them (testdata/smb/<name>.decrypted.ref.json, make-decrypted-refs.sh).
// smb3_11-encrypted is ../shared's capture (its key file holds the session
// key derived from the password); the others were recorded for nettrace
// (testdata/smb/README.md), their key files hold the keys smbd logged.
var encryptedCaptures = []struct {
	name, password string
	messages       int64 // transform PDUs (tshark: smb2.protocol_id 0xfd534d42), all decrypted
	cipher         string
}{
	{"smb3_11-encrypted", "Passw0rd!", 33, "AES-128-GCM"},
	{"smb3_00-ccm-encrypted", "Passw0rd!", 72, "AES-128-CCM"},
	{"smb3_02-ccm-encrypted", "Passw0rd!", 72, "AES-128-CCM"},
	{"smb3_11-gcm-encrypted", "Passw0rd!", 68, "AES-128-GCM"},
	{"smb3_11-ccm-encrypted", "Passw0rd!", 68, "AES-128-CCM"},
	{"smb3_11-aes256gcm-encrypted", "Passw0rd!", 68, "AES-256-GCM"},
	{"smb3_11-aes256ccm-encrypted", "Passw0rd!", 70, "AES-256-CCM"},
	{"smb3_11-rpc-encrypted", "Passw0rd!", 23, "AES-128-GCM"},
}

// decryptedRef loads testdata/smb/<name>.decrypted.ref.json.
func decryptedRef(t *testing.T, name string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "smb", name+".decrypted.ref.json"))
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	var ref struct {
		Frames []map[string]any `json:"frames"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("reference %s: %v", name, err)
	}
	return ref.Frames
}

// checkDecrypted compares a decrypted run with tshark's decode of the same
// capture with the same keys, frame by frame (commands, response flags,
// statuses, message ids, CREATE file names), and checks the events.
func checkDecrypted(t *testing.T, path, name string, cfg Config, messages int64, cipher string, split splitter) []health.Message {
	t.Helper()
	res := runCapture(t, path, cfg, 0, split)
	a := compareWithTshark(res.col.Messages, decryptedRef(t, name), nil)
	t.Logf("%s: %d/%d SMB frames agree with tshark's decryption; file names %d/%d", name, a.agree, a.frames, a.filesOK, a.files)
	for _, d := range a.diffs {
		t.Errorf("%s", d)
	}
	if a.agree != a.frames || a.frames == 0 || a.filesOK != a.files {
		t.Errorf("agreement %+v", a)
	}
	ev := res.col.OfKind(health.SMBDecrypted)
	if len(ev) != 1 || ev[0].Evidence["messages"] != messages || ev[0].Evidence["cipher"] != cipher {
		t.Errorf("smb.decrypted: %+v", ev)
	}
	for _, k := range []health.Kind{health.SMBEncrypted, health.SMBMalformed, health.SMBNoKey, health.SMBDecryptFailed} {
		if n := len(res.col.OfKind(k)); n != 0 {
			t.Errorf("%d %s events", n, k)
		}
	}
	if st := res.conns[0].Stats(); st.Decrypted != messages || st.Encrypted != 0 {
		t.Errorf("stats: %d decrypted, %d encrypted", st.Decrypted, st.Encrypted)
	}
	if got := res.conns[0].Finished(); got == "" {
		t.Errorf("Finished() = %q after a decrypted session", got)
	}
	return res.col.Messages
}

// TestDecryptCaptureWithPassword decrypts the real sessions with the
// user's password (NTLMv2 session key, preauth hash, KDF) and agrees with
// tshark -o ntlmssp.nt_password:... frame by frame.
func TestDecryptCaptureWithPassword(t *testing.T) {
	for _, c := range encryptedCaptures {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.NTPasswords = []string{"not-it", c.password}
			checkDecrypted(t, filepath.Join("..", "testdata", "smb", c.name+".pcap"), c.name, cfg, c.messages, c.cipher, whole)
		})
	}
}

// TestDecryptCaptureWithKeyFile decrypts them with the key file instead.
func TestDecryptCaptureWithKeyFile(t *testing.T) {
	for _, c := range encryptedCaptures {
		t.Run(c.name, func(t *testing.T) {
			keys := NewKeys()
			if err := keys.Load(filepath.Join("..", "testdata", "smb", c.name+".smbkeys")); err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.Keys = keys
			checkDecrypted(t, filepath.Join("..", "testdata", "smb", c.name+".pcap"), c.name, cfg, c.messages, c.cipher, whole)
		})
	}
}

// TestDecryptCaptureWithSessionKeyOnly gives only the session keys of the
// key files, so that the encryption keys are derived (SMB 3.0 labels, or
// SMB 3.1.1 labels with the capture's preauthentication hash; 16 or 32
// bytes), and checks the same agreement.
func TestDecryptCaptureWithSessionKeyOnly(t *testing.T) {
	for _, c := range encryptedCaptures {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "testdata", "smb", c.name+".smbkeys"))
			if err != nil {
				t.Fatal(err)
			}
			var text strings.Builder
			for line := range strings.Lines(string(b)) {
				if f := strings.Fields(strings.SplitN(line, "#", 2)[0]); len(f) >= 2 {
					text.WriteString(f[0] + " " + f[1] + "\n")
				}
			}
			keys := NewKeys()
			if err := keys.Parse([]byte(text.String())); err != nil || keys.Len() != 1 {
				t.Fatalf("keys: %d, %v", keys.Len(), err)
			}
			cfg := DefaultConfig()
			cfg.Keys = keys
			checkDecrypted(t, filepath.Join("..", "testdata", "smb", c.name+".pcap"), c.name, cfg, c.messages, c.cipher, whole)
		})
	}
}

// TestDecryptedPipesReachRPC: rpcclient's DCE/RPC over named pipes in an
// encrypted SMB 3.1.1 session reaches Config.Pipe once decrypted, as it
// does in a clear one (bind, bind_ack first).
func TestDecryptedPipesReachRPC(t *testing.T) {
	var pipes []*pipeRecorder
	cfg := DefaultConfig()
	cfg.NTPasswords = []string{"Passw0rd!"}
	cfg.Pipe = func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler {
		p := &pipeRecorder{name: pipe}
		pipes = append(pipes, p)
		return p
	}
	res := runCapture(t, filepath.Join("..", "testdata", "smb", "smb3_11-rpc-encrypted.pcap"), cfg, 0, whole)
	if len(pipes) == 0 {
		t.Fatal("no pipe handed to Config.Pipe")
	}
	for _, p := range pipes {
		if p.name != "srvsvc" || p.bytes[0] == 0 || p.bytes[1] == 0 || !bytes.HasPrefix(p.first[0], []byte{5, 0, 11}) || !bytes.HasPrefix(p.first[1], []byte{5, 0, 12}) {
			t.Errorf("pipe %s: bytes %v first %x %x", p.name, p.bytes, p.first[0][:min(3, len(p.first[0]))], p.first[1][:min(3, len(p.first[1]))])
		}
	}
	if st := res.conns[0].Stats(); st.PipeBytes == 0 || st.Decrypted != 23 {
		t.Errorf("stats: pipe bytes %d, decrypted %d", st.PipeBytes, st.Decrypted)
	}
}

// TestDecryptSharedCapture decrypts ../shared's smb3_11-encrypted.pcap
// (the original of the testdata copy) with the password.
func TestDecryptSharedCapture(t *testing.T) {
	s := sharedDir()
	if s == "" {
		t.Skip("../shared not available")
	}
	path := filepath.Join(s, "captures", "smb", "smb3_11-encrypted.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not available", path)
	}
	cfg := DefaultConfig()
	cfg.NTPasswords = []string{"Passw0rd!"}
	checkDecrypted(t, path, "smb3_11-encrypted", cfg, 33, "AES-128-GCM", whole)
}

// TestDecryptionChunkingInvariant: fed whole, byte by byte or split at
// random points, a decrypted capture gives the same messages.
func TestDecryptionChunkingInvariant(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NTPasswords = []string{"Passw0rd!"}
	path := filepath.Join("..", "testdata", "smb", "smb3_11-encrypted.pcap")
	want := checkDecrypted(t, path, "smb3_11-encrypted", cfg, 33, "AES-128-GCM", whole)
	for name, split := range map[string]splitter{"bytewise": bytewise, "random": randomSplit(7)} {
		got := checkDecrypted(t, path, "smb3_11-encrypted", cfg, 33, "AES-128-GCM", split)
		if diff := cmp.Diff(summary(want), summary(got)); diff != "" {
			t.Errorf("%s (-whole +split):\n%s", name, diff)
		}
	}
}

// TestWrongPasswordIsNoKey: with only wrong passwords, the session cannot
// be decrypted: smb.no_key names the user whose response no password
// matches, and the traffic is reported as encrypted as without passwords.
func TestWrongPasswordIsNoKey(t *testing.T) {
	cfg := DefaultConfig()
	cfg.NTPasswords = []string{"Passw0rd", "passw0rd!"}
	res := runCapture(t, filepath.Join("..", "testdata", "smb", "smb3_11-encrypted.pcap"), cfg, 0, whole)
	ev := res.col.OfKind(health.SMBNoKey)
	if len(ev) != 1 || ev[0].Frame != 14 || !strings.Contains(ev[0].Message, `none of the 2 password(s) matches the NTLMv2 response of`) ||
		!strings.Contains(ev[0].Message, "alice") {
		t.Fatalf("smb.no_key: %+v", ev)
	}
	for _, e := range res.col.Events {
		if strings.Contains(e.Message, "assw0rd") {
			t.Errorf("event shows a password: %+v", e)
		}
	}
	if st := res.conns[0].Stats(); st.Encrypted != 33 || st.Decrypted != 0 {
		t.Errorf("stats: %d encrypted, %d decrypted", st.Encrypted, st.Decrypted)
	}
}

// BenchmarkDecryptCapture decodes the AES-128-GCM and AES-128-CCM captures
// with their key files (all transform PDUs decrypted).
func BenchmarkDecryptCapture(b *testing.B) {
	for _, name := range []string{"smb3_11-gcm-encrypted", "smb3_11-ccm-encrypted"} {
		b.Run(name, func(b *testing.B) {
			keys := NewKeys()
			if err := keys.Load(filepath.Join("..", "testdata", "smb", name+".smbkeys")); err != nil {
				b.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.Keys = keys
			b.ReportAllocs()
			for b.Loop() {
				runCapture(b, filepath.Join("..", "testdata", "smb", name+".pcap"), cfg, 0, whole)
			}
		})
	}
}
