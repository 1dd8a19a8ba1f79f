//go:build ignore

// gen makes starttls.pcap: real connections over the loopback interface
// that upgrade to TLS in band, between small servers written here and Go
// clients (net/smtp for SMTP), captured by tcpdump (see gen.sh):
//
//   - SMTP on port 25 (net/smtp: EHLO, STARTTLS, 220, TLS 1.3, EHLO, QUIT);
//   - SMTP on port 587 whose server refuses STARTTLS (454), then QUIT;
//   - IMAP on port 143 (a1 STARTTLS, a1 OK, TLS, a2 LOGOUT);
//   - POP3 on port 110 (STLS, +OK, TLS, QUIT);
//   - FTP on port 21 (AUTH TLS, 234, TLS, QUIT);
//   - LDAP on port 389 (the StartTLS extended request, success, TLS, an
//     unbind).
//
// The TLS secrets go to starttls.keys (NSS key log), so that tshark and
// the tests decrypt what follows the upgrade. Run as root (ports below
// 1024) from the repository root: sh testdata/starttls/gen.sh
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/smtp"
	"os"
	"strings"
	"time"
)

var (
	serverTLS *tls.Config
	clientTLS *tls.Config
)

func main() {
	keys, err := os.Create("testdata/starttls/starttls.keys")
	if err != nil {
		log.Fatal(err)
	}
	defer keys.Close()
	cert := selfSigned()
	serverTLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	clientTLS = &tls.Config{InsecureSkipVerify: true, ServerName: "mail.example.test", KeyLogWriter: keys}

	listen(25, smtpServer(true))
	listen(587, smtpServer(false))
	listen(143, imapServer)
	listen(110, pop3Server)
	listen(21, ftpServer)
	listen(389, ldapServer)
	time.Sleep(200 * time.Millisecond)

	smtpClient(25, true)
	smtpClient(587, false)
	textClient(143, []string{"a1 STARTTLS"}, "a1 OK", []string{"a2 LOGOUT"})
	textClient(110, []string{"STLS"}, "+OK", []string{"QUIT"})
	textClient(21, []string{"AUTH TLS"}, "234", []string{"QUIT"})
	ldapClient()
	time.Sleep(300 * time.Millisecond)
}

func selfSigned() tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail.example.test"},
		DNSNames: []string{"mail.example.test"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func listen(port int, serve func(net.Conn)) {
	l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
}

// lines serves a line protocol: greeting, then reply(line) for each line;
// when reply returns upgrade, the connection continues in TLS.
func lines(c net.Conn, greeting string, reply func(line string) (out string, upgrade, quit bool)) {
	var rw io.ReadWriter = c
	fmt.Fprint(c, greeting)
	r := bufio.NewReader(rw)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		out, upgrade, quit := reply(strings.TrimRight(line, "\r\n"))
		fmt.Fprint(rw, out)
		if quit {
			return
		}
		if upgrade {
			t := tls.Server(c, serverTLS)
			if err := t.Handshake(); err != nil {
				log.Print(err)
				return
			}
			rw = t
			r = bufio.NewReader(t)
		}
	}
}

func smtpServer(allow bool) func(net.Conn) {
	return func(c net.Conn) {
		lines(c, "220 mail.example.test ESMTP ready\r\n", func(l string) (string, bool, bool) {
			u := strings.ToUpper(l)
			switch {
			case strings.HasPrefix(u, "EHLO"):
				return "250-mail.example.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n", false, false
			case u == "STARTTLS" && allow:
				return "220 2.0.0 Ready to start TLS\r\n", true, false
			case u == "STARTTLS":
				return "454 4.7.0 TLS not available due to temporary reason\r\n", false, false
			case u == "QUIT":
				return "221 2.0.0 Bye\r\n", false, true
			}
			return "250 OK\r\n", false, false
		})
	}
}

func imapServer(c net.Conn) {
	lines(c, "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n", func(l string) (string, bool, bool) {
		tag, cmd, _ := strings.Cut(l, " ")
		switch strings.ToUpper(cmd) {
		case "STARTTLS":
			return tag + " OK Begin TLS negotiation now\r\n", true, false
		case "LOGOUT":
			return "* BYE logging out\r\n" + tag + " OK LOGOUT completed\r\n", false, true
		}
		return tag + " BAD unknown\r\n", false, false
	})
}

func pop3Server(c net.Conn) {
	lines(c, "+OK POP3 ready\r\n", func(l string) (string, bool, bool) {
		switch strings.ToUpper(l) {
		case "STLS":
			return "+OK Begin TLS negotiation\r\n", true, false
		case "QUIT":
			return "+OK bye\r\n", false, true
		}
		return "-ERR unknown\r\n", false, false
	})
}

func ftpServer(c net.Conn) {
	lines(c, "220 FTP server ready\r\n", func(l string) (string, bool, bool) {
		switch strings.ToUpper(l) {
		case "AUTH TLS":
			return "234 AUTH TLS successful\r\n", true, false
		case "QUIT":
			return "221 Goodbye\r\n", false, true
		}
		return "502 not implemented\r\n", false, false
	})
}

// The LDAP StartTLS extended request and its success response (RFC 4511,
// 4.14), message ID 1, and an unbind request (4.3), message ID 2.
var (
	ldapStartTLS = append([]byte{0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16}, "1.3.6.1.4.1.1466.20037"...)
	ldapSuccess  = []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}
	ldapUnbind   = []byte{0x30, 0x05, 0x02, 0x01, 0x02, 0x42, 0x00}
)

func ldapServer(c net.Conn) {
	buf := make([]byte, len(ldapStartTLS))
	if _, err := io.ReadFull(c, buf); err != nil {
		return
	}
	c.Write(ldapSuccess)
	t := tls.Server(c, serverTLS)
	io.ReadFull(t, make([]byte, len(ldapUnbind)))
}

func smtpClient(port int, upgrade bool) {
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		log.Fatal(err)
	}
	if err := c.Hello("client.example.test"); err != nil {
		log.Fatal(err)
	}
	err = c.StartTLS(clientTLS)
	if upgrade && err != nil {
		log.Fatal(err)
	}
	if upgrade {
		if err := c.Hello("client.example.test"); err != nil {
			log.Print(err) // net/smtp sends EHLO once; the session goes on
		}
	}
	if err := c.Quit(); err != nil {
		log.Print(err)
	}
}

// textClient reads the greeting, sends before (the upgrade command),
// waits for a line starting with ok, upgrades, then sends after and reads
// until the server closes.
func textClient(port int, before []string, ok string, after []string) {
	c, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	r.ReadString('\n')
	for _, l := range before {
		fmt.Fprint(c, l+"\r\n")
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			log.Fatal(err)
		}
		if strings.HasPrefix(line, ok) {
			break
		}
	}
	t := tls.Client(c, clientTLS)
	for _, l := range after {
		fmt.Fprint(t, l+"\r\n")
	}
	io.Copy(io.Discard, t)
}

func ldapClient() {
	c, err := net.Dial("tcp4", "127.0.0.1:389")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write(ldapStartTLS)
	io.ReadFull(c, make([]byte, len(ldapSuccess)))
	t := tls.Client(c, clientTLS)
	t.Write(ldapUnbind)
	io.Copy(io.Discard, t)
}
