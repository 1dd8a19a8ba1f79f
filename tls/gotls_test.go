package tls

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	stdtls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"hash"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// wire records what both ends of an in-memory crypto/tls connection write.
type wire struct {
	mu   sync.Mutex
	segs []wireSeg
}

type wireSeg struct {
	dir  tcpstate.Dir
	data []byte
}

type recConn struct {
	net.Conn
	w   *wire
	dir tcpstate.Dir
}

func (c *recConn) Write(b []byte) (int, error) {
	c.w.mu.Lock()
	c.w.segs = append(c.w.segs, wireSeg{c.dir, append([]byte(nil), b...)})
	c.w.mu.Unlock()
	return c.Conn.Write(b)
}

var (
	certOnce sync.Once
	rsaCert  stdtls.Certificate
	ecCert   stdtls.Certificate
)

func testCerts(t testing.TB) {
	certOnce.Do(func() {
		mk := func(priv any, pub any) stdtls.Certificate {
			tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "go.example.test"},
				DNSNames: []string{"go.example.test"}, NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
				NotAfter: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
			if err != nil {
				panic(err)
			}
			return stdtls.Certificate{Certificate: [][]byte{der}, PrivateKey: priv}
		}
		rk, _ := rsa.GenerateKey(rand.Reader, 2048)
		rsaCert = mk(rk, &rk.PublicKey)
		ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ecCert = mk(ek, &ek.PublicKey)
	})
}

// goSession runs a crypto/tls client and server over net.Pipe, exchanging
// a request and a response, and returns the recorded wire bytes and the
// key log.
func goSession(t testing.TB, version uint16, suite uint16, req, resp []byte) (*wire, []byte) {
	return goSessionWith(t, version, suite, req, resp, sessionOpts{})
}

// sessionOpts varies a goSession.
type sessionOpts struct {
	clientALPN, serverALPN []string // NextProtos
	closeNotify            bool     // the client ends the session with close_notify
}

func goSessionWith(t testing.TB, version uint16, suite uint16, req, resp []byte, o sessionOpts) (*wire, []byte) {
	testCerts(t)
	var keylog bytes.Buffer
	var klMu sync.Mutex
	w := &wire{}
	a, b := net.Pipe()
	cert := rsaCert
	if suite == 0xc02b || suite == 0xc02c || suite == 0xcca9 || suite == 0xc009 || suite == 0xc00a || suite == 0xc023 {
		cert = ecCert
	}
	scfg := &stdtls.Config{Certificates: []stdtls.Certificate{cert}, MinVersion: stdtls.VersionTLS10, MaxVersion: version}
	ccfg := &stdtls.Config{InsecureSkipVerify: true, ServerName: "go.example.test", MinVersion: stdtls.VersionTLS10,
		MaxVersion: version, KeyLogWriter: lockedWriter{&keylog, &klMu}}
	scfg.NextProtos, ccfg.NextProtos = o.serverALPN, o.clientALPN
	if suite != 0 {
		scfg.CipherSuites = []uint16{suite}
		ccfg.CipherSuites = []uint16{suite}
	}
	srv := stdtls.Server(&recConn{b, w, tcpstate.ServerToClient}, scfg)
	cli := stdtls.Client(&recConn{a, w, tcpstate.ClientToServer}, ccfg)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, len(req))
		if _, err := io.ReadFull(srv, buf); err != nil {
			done <- err
			return
		}
		_, err := srv.Write(resp)
		if err == nil && o.closeNotify {
			_, err = io.Copy(io.Discard, srv) // until the client's close_notify
		}
		done <- err
	}()
	if _, err := cli.Write(req); err != nil {
		t.Fatalf("client write: %v", err)
	}
	got := make([]byte, len(resp))
	if _, err := io.ReadFull(cli, got); err != nil {
		t.Fatalf("client read: %v", err)
	}
	if o.closeNotify {
		if err := cli.Close(); err != nil {
			t.Fatalf("client close: %v", err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	st := cli.ConnectionState()
	if suite != 0 && st.CipherSuite != suite {
		t.Fatalf("negotiated 0x%04x, want 0x%04x", st.CipherSuite, suite)
	}
	a.Close()
	b.Close()
	klMu.Lock()
	defer klMu.Unlock()
	return w, append([]byte(nil), keylog.Bytes()...)
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func feedWire(t testing.TB, w *wire, kl *KeyLog, how chunking) (*Conn, *plainSink, *health.Collector) {
	col := &health.Collector{KeepMessages: true}
	sink := &plainSink{}
	cfg := DefaultConfig()
	cfg.KeyLog = kl
	cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return sink }
	c := NewConn(&tcpstate.StreamContext{Reporter: col}, cfg)
	rng := newRand()
	at := tcpstate.Position{Time: time.Now()}
	for i, s := range w.segs {
		at.Frame = int64(i + 1)
		testcap.Feed(c, s.dir, s.data, at, how, rng)
	}
	return c, sink, col
}

// TestGoTLSSuites decrypts sessions made by Go's crypto/tls for the suites
// no capture covers: AES-CBC with HMAC-SHA1 and HMAC-SHA256 in
// MAC-then-encrypt (crypto/tls does not negotiate encrypt-then-MAC; the
// nginx capture covers that), TLS 1.0/1.1 (chained and explicit IVs, MD5/SHA-1
// PRF), ECDSA suites and the TLS 1.3 suites.
func TestGoTLSSuites(t *testing.T) {
	req := bytes.Repeat([]byte("GET /go HTTP/1.1\r\nHost: go.example.test\r\n\r\n"), 3)
	resp := bytes.Repeat([]byte("0123456789abcdef"), 3000) // 48000 bytes: several records
	for _, tc := range []struct {
		version uint16
		suite   uint16
	}{
		{stdtls.VersionTLS12, 0xc013}, // ECDHE-RSA-AES128-SHA
		{stdtls.VersionTLS12, 0xc014}, // ECDHE-RSA-AES256-SHA
		{stdtls.VersionTLS12, 0xc027}, // ECDHE-RSA-AES128-SHA256, MAC-then-encrypt
		{stdtls.VersionTLS12, 0x002f}, // RSA-AES128-SHA
		{stdtls.VersionTLS12, 0x003c}, // RSA-AES128-SHA256
		{stdtls.VersionTLS12, 0x009c}, // RSA-AES128-GCM-SHA256
		{stdtls.VersionTLS12, 0x009d}, // RSA-AES256-GCM-SHA384
		{stdtls.VersionTLS12, 0xc02b}, // ECDHE-ECDSA-AES128-GCM
		{stdtls.VersionTLS12, 0xc02c}, // ECDHE-ECDSA-AES256-GCM
		{stdtls.VersionTLS12, 0xcca9}, // ECDHE-ECDSA-CHACHA20
		{stdtls.VersionTLS12, 0xc023}, // ECDHE-ECDSA-AES128-SHA256
		{stdtls.VersionTLS11, 0xc013},
		{stdtls.VersionTLS10, 0xc014},
		{stdtls.VersionTLS13, 0},
	} {
		name := stdtls.VersionName(tc.version) + " " + CipherSuiteName(tc.suite)
		t.Run(name, func(t *testing.T) {
			w, keys := goSession(t, tc.version, tc.suite, req, resp)
			kl := NewKeyLog()
			if err := kl.Add(keys); err != nil {
				t.Fatal(err)
			}
			for _, how := range []chunking{chunkWhole, chunkRandom} {
				c, sink, col := feedWire(t, w, kl, how)
				if !bytes.Equal(sink.data[0], req) || !bytes.Equal(sink.data[1], resp) {
					t.Errorf("chunking %d: plaintext %d/%d bytes, want %d/%d", how, len(sink.data[0]), len(sink.data[1]), len(req), len(resp))
				}
				for _, e := range col.Events {
					if e.Kind == health.TLSDecryptFailed || e.Kind == health.TLSMalformed || e.Kind == health.TLSNoKey {
						t.Errorf("event %s: %s", e.Kind, e.Message)
					}
				}
				if c.Version() != Version(tc.version) {
					t.Errorf("version %s", c.Version())
				}
				if tc.suite != 0 && c.CipherSuite() != tc.suite {
					t.Errorf("suite 0x%04x", c.CipherSuite())
				}
			}
		})
	}
}

// seal13 encrypts one TLS 1.3 record with a traffic secret (test only).
func seal13(t testing.TB, h func() hash.Hash, secret []byte, keyLen int, seq uint64, inner ContentType, plain []byte) []byte {
	key, iv := trafficKey(h, secret, keyLen)
	a, err := newAEAD(suites[0x1301], key)
	if err != nil {
		t.Fatal(err)
	}
	nonce := append([]byte(nil), iv...)
	for i := 0; i < 8; i++ {
		nonce[4+i] ^= byte(seq >> (56 - 8*i))
	}
	body := append(append([]byte(nil), plain...), byte(inner))
	hdr := []byte{23, 3, 3, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], uint16(len(body)+a.Overhead()))
	return a.Seal(hdr, nonce, body, hdr)
}

// TestKeyUpdate appends, after a Go TLS 1.3 session, a server KeyUpdate
// under application traffic secret 0 and data under secret 1 (RFC 8446,
// 4.6.3 and 7.2), and checks that both decrypt.
func TestKeyUpdate(t *testing.T) {
	w, keys := goSession(t, stdtls.VersionTLS13, 0, []byte("ping"), []byte("pong"))
	kl := NewKeyLog()
	kl.Add(keys)
	c, sink, col := feedWire(t, w, kl, chunkWhole)
	h := &c.half[tcpstate.ServerToClient]
	if h.dec == nil {
		t.Fatal("no server application key")
	}
	var hf func() hash.Hash = sha256.New
	if c.suite.prf == hashSHA384 {
		hf = sha512.New384
	}
	if c.suite.cipher != cipherAESGCM {
		t.Skipf("suite %s", c.suite.name)
	}
	s0 := kl.lookup(c.clientRandom[:], secretServerTraffic0)
	s1 := nextTrafficSecret(hf, s0)
	s2 := nextTrafficSecret(hf, s1)
	var stream []byte
	stream = append(stream, seal13(t, hf, s0, c.suite.keyLen, h.dec.seq, TypeHandshake, []byte{24, 0, 0, 1, 0})...)
	stream = append(stream, seal13(t, hf, s1, c.suite.keyLen, 0, TypeApplicationData, []byte("after update 1"))...)
	stream = append(stream, seal13(t, hf, s1, c.suite.keyLen, 1, TypeHandshake, []byte{24, 0, 0, 1, 1})...)
	stream = append(stream, seal13(t, hf, s2, c.suite.keyLen, 0, TypeApplicationData, []byte(", 2"))...)
	c.Feed(tcpstate.ServerToClient, stream, tcpstate.Position{Frame: 100})
	if got := string(sink.data[1]); got != "pongafter update 1, 2" {
		t.Errorf("server plaintext %q", got)
	}
	for _, e := range col.Events {
		if e.Kind == health.TLSDecryptFailed {
			t.Errorf("%s", e.Message)
		}
	}
	if h.dec.label != "SERVER_TRAFFIC_SECRET_2" {
		t.Errorf("key label %q", h.dec.label)
	}
}
