package tls

import (
	"bytes"
	"os"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

func seedRecords(f *testing.F) {
	f.Add(mustHex(f, "15030300020228"))
	f.Add(mustHex(f, "16030100c4010000c0"+clientHelloRFC8448))
	if v, err := os.ReadFile(testdata("rfc8448-section3.json")); err == nil {
		f.Add(v[:200])
	}
	streams, err := readStreamsErr(testdata("tls12-ecdhe-rsa-aes128gcm-curl-nginx.pcap"))
	if err == nil {
		for _, s := range streams[0].Segments {
			f.Add(s.Data)
		}
	}
}

// FuzzParseRecord: ParseRecord never panics; a parsed record re-parses to
// itself from exactly the bytes it consumed.
func FuzzParseRecord(f *testing.F) {
	seedRecords(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, rest, err := ParseRecord(b)
		if err != nil {
			if !bytes.Equal(rest, b) {
				t.Fatal("error did not return the input unchanged")
			}
			return
		}
		used := b[:len(b)-len(rest)]
		rec2, rest2, err := ParseRecord(used)
		if err != nil || len(rest2) != 0 || rec2.Type != rec.Type || !bytes.Equal(rec2.Fragment, rec.Fragment) {
			t.Fatalf("re-parse differs: %v", err)
		}
		ParseSSLv2ClientHello(b)
	})
}

// FuzzParseHandshake runs every handshake-body parser over arbitrary bytes.
func FuzzParseHandshake(f *testing.F) {
	f.Add(mustHex(f, "010000c0"+clientHelloRFC8448))
	f.Add(mustHex(f, "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, rest, err := ParseHandshake(b, 1<<16)
		if err != nil {
			return
		}
		_ = rest
		ParseClientHello(m.Body)
		ParseServerHello(m.Body)
		ParseEncryptedExtensions(m.Body)
		for _, v := range []Version{VersionTLS12, VersionTLS13} {
			ParseCertificate(m.Body, v, 10)
			ParseCertificateRequest(m.Body, v)
		}
		ParseServerKeyExchange(m.Body)
		if ch, err := ParseClientHello(m.Body); err == nil {
			ch.JA3()
			if ja4 := ch.JA4(); len(ja4) != 36 {
				t.Fatalf("JA4 %q is not 36 characters", ja4)
			}
		}
		if sh, err := ParseServerHello(m.Body); err == nil {
			sh.JA3S()
			if ja4s := sh.JA4S(); len(ja4s) != 25 {
				t.Fatalf("JA4S %q is not 25 characters", ja4s)
			}
		}
	})
}

// FuzzKeyLog: Add never panics and never reports a secret.
func FuzzKeyLog(f *testing.F) {
	if b, err := os.ReadFile(testdata("tls13-aes128gcm-curl-nginx.keys")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("# c\r\nCLIENT_RANDOM 00 11\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k := NewKeyLog()
		k.Add(b)
	})
}

// FuzzConn feeds arbitrary bytes as both directions of a connection, in
// two chunks with a gap between.
func FuzzConn(f *testing.F) {
	seedRecords(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		kl := NewKeyLog()
		cfg := DefaultConfig()
		cfg.KeyLog = kl
		cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return &plainSink{} }
		c := NewConn(&tcpstate.StreamContext{Reporter: &health.Collector{KeepMessages: true}}, cfg)
		half := len(b) / 2
		c.Feed(tcpstate.ClientToServer, b[:half], tcpstate.Position{Frame: 1})
		c.Feed(tcpstate.ServerToClient, b, tcpstate.Position{Frame: 2})
		c.Gap(tcpstate.ClientToServer, 10, tcpstate.Position{Frame: 3})
		c.Feed(tcpstate.ClientToServer, b[half:], tcpstate.Position{Frame: 4})
		c.Close(tcpstate.CloseFIN, tcpstate.Position{Frame: 5})
	})
}
