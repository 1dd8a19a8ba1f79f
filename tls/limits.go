package tls

import (
	"github.com/nettrace/nettrace/internal/defaults"
	"github.com/nettrace/nettrace/tcpstate"
)

// Limits bound what one Conn buffers and tries. The zero value of a field
// means its default (DefaultConfig shows them).
type Limits struct {
	// MaxHandshakeBytes caps one handshake message other than Certificate
	// (default 65536, as Go's crypto/tls). A longer one is malformed.
	MaxHandshakeBytes int
	// MaxCertificateBytes caps one Certificate message (default 262144).
	MaxCertificateBytes int
	// MaxCerts caps the certificates of a chain that are decoded (default
	// 10); the others are counted.
	MaxCerts int
	// MaxResyncBytes is how far a direction is scanned for the next record
	// start after a gap, or when its first bytes are not a record header,
	// before it is given up (default 65536).
	MaxResyncBytes int
	// MaxSeqSkip is how many lost records are tried after a gap to find the
	// sequence number of the next encrypted record (default 64).
	MaxSeqSkip int
	// MaxHostScan is how many bytes of decrypted client data are searched
	// for an HTTP Host header when the ClientHello had no SNI (default 4096).
	MaxHostScan int
}

// Config configures a Conn.
type Config struct {
	// KeyLog holds the secrets used to decrypt; nil disables decryption
	// (and the tls.no_key notice).
	KeyLog *KeyLog
	// Plaintext builds the HTTP/1 decoder of the decrypted application
	// data; it is called once per connection, on the first decrypted
	// application data, with the Conn's StreamContext, unless the server
	// selected another protocol with ALPN (h2, for example) or the client
	// sent the HTTP/2 connection preface: that plaintext goes to HTTP2, or
	// is not decoded (one decode.gave_up). nil drops the plaintext.
	Plaintext tcpstate.NewHandler
	// HTTP2 builds the HTTP/2 decoder of the decrypted application data
	// when the server selected h2 with ALPN (RFC 9113, 3.2) or, without
	// ALPN, the client's first bytes are the HTTP/2 connection preface;
	// it is called like Plaintext. nil leaves HTTP/2 undecoded (one
	// decode.gave_up).
	HTTP2 tcpstate.NewHandler
	// Decrypted, when set, builds a second receiver of the decrypted
	// application data that gets it whatever the protocol (to save the
	// plaintext, for example); it is called like Plaintext.
	Decrypted tcpstate.NewHandler
	// Limits bounds memory and work.
	Limits Limits
}

// DefaultConfig returns a Config with no key log, no plaintext decoder and
// the default limits.
func DefaultConfig() Config {
	return Config{Limits: Limits{}.withDefaults()}
}

func (l Limits) withDefaults() Limits {
	defaults.Fill(&l, Limits{
		MaxHandshakeBytes: 65536, MaxCertificateBytes: 262144, MaxCerts: 10,
		MaxResyncBytes: 65536, MaxSeqSkip: 64, MaxHostScan: 4096,
	})
	return l
}
