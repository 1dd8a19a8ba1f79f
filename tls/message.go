package tls

import (
	"bytes"
	"strings"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// MessageKind says what a Message reports.
type MessageKind uint8

// Message kinds.
const (
	// KindHandshake is a handshake message (HandshakeType), plaintext or
	// decrypted; also an SSLv2-compatible ClientHello (SSLv2Hello).
	KindHandshake MessageKind = iota
	// KindAlert is an alert record (Alert).
	KindAlert
	// KindHeartbeat is a heartbeat record (Heartbeat).
	KindHeartbeat
	// KindNameCheck is the leaf certificate checked against a host name
	// other than the SNI (NameCheck): the HTTP Host of the first request.
	KindNameCheck
)

// Message is one decoded TLS message, as Conn delivers it when its
// Reporter wants messages (health.Message.Value, proto "tls"). Kind says
// which part is set; a handshake message whose body did not parse has
// none but its type.
//
// Fields gives the JSON form ("fields" of a dissect record, with the JA3,
// JA3S, JA4 and JA4S fingerprints derived from the hellos); it is the only
// place that form is defined. A Message owns its data and holds no key:
// the hellos' randoms are public values of the handshake.
type Message struct {
	health.Origin
	Kind MessageKind
	// From is the direction of the sender (not set for KindNameCheck).
	From tcpstate.Dir
	// Version is the message's version: the highest a ClientHello offers,
	// the one a ServerHello chooses, else the connection's once chosen (0
	// before).
	Version Version

	// HandshakeType of a KindHandshake message.
	HandshakeType HandshakeType
	// ClientHello and ServerHello are the hellos as parsed (ServerHello
	// also for a HelloRetryRequest); SSLv2Hello an SSLv2-compatible
	// ClientHello.
	ClientHello *ClientHello
	ServerHello *ServerHello
	SSLv2Hello  *SSLv2ClientHello
	// ALPN of EncryptedExtensions (TLS 1.3).
	ALPN string
	// Certificate is the chain of a Certificate message.
	Certificate *CertificateChain
	// CertificateRequest of the server.
	CertificateRequest *CertificateRequest
	// Group is the named curve of an ECDHE ServerKeyExchange, "" for none.
	Group string
	// UpdateRequested is the request_update of a KeyUpdate (nil when the
	// body is not one byte).
	UpdateRequested *bool

	// Alert of a KindAlert message.
	Alert Alert
	// Heartbeat of a KindHeartbeat message.
	Heartbeat *Heartbeat
	// NameCheck of a KindNameCheck message.
	NameCheck *NameCheck
}

// CertificateChain is a decoded Certificate message.
type CertificateChain struct {
	// Certs describes the certificates, leaf first (at most
	// Limits.MaxCerts); NotDecoded counts those past the cap.
	Certs      []CertInfo
	NotDecoded int
	// NameChecked is set when the server's leaf was checked against the
	// ClientHello's SNI; NameMatch is the result ("exact", "wildcard",
	// "mismatch", "" when the leaf did not decode).
	NameChecked bool
	NameMatch   string
}

// Heartbeat is a heartbeat record (RFC 6520).
type Heartbeat struct {
	// Type is "heartbeat_request", "heartbeat_response", or "heartbeat"
	// when the record is encrypted.
	Type   string
	Length int
}

// NameCheck is the leaf certificate checked against a host name.
type NameCheck struct {
	Host   string // the name checked
	Source string // where it came from: "HTTP Host"
	Match  string // "exact" or "wildcard"
	Names  []string
}

// Fields returns the message's JSON form, the "fields" of its dissect
// record (health.Decoded).
func (m *Message) Fields() map[string]any {
	switch m.Kind {
	case KindAlert:
		return map[string]any{"alert": m.Alert.String(), "from": m.From.String()}
	case KindHeartbeat:
		return map[string]any{"record": m.Heartbeat.Type, "from": m.From.String(), "length": m.Heartbeat.Length}
	case KindNameCheck:
		n := m.NameCheck
		return map[string]any{"cert_name_match": n.Match, "host": n.Host, "source": n.Source, "cert_names": n.Names}
	}
	if h := m.SSLv2Hello; h != nil {
		return map[string]any{"handshake_type": "client_hello", "version": h.Version.String(), "sslv2": true,
			"cipher_suites": len(h.CipherSuites)}
	}
	f := map[string]any{"handshake_type": m.HandshakeType.String(), "from": m.From.String()}
	if m.Version != 0 || m.ClientHello != nil || m.ServerHello != nil {
		f["version"] = m.Version.String()
	}
	switch {
	case m.ClientHello != nil:
		clientHelloFields(f, m.ClientHello)
	case m.ServerHello != nil:
		serverHelloFields(f, m.ServerHello)
	case m.Certificate != nil:
		m.Certificate.fields(f)
	case m.CertificateRequest != nil:
		f["signature_algorithms"] = len(m.CertificateRequest.SignatureSchemes)
		f["ca_names"] = m.CertificateRequest.CANames
	}
	if m.ALPN != "" {
		f["alpn"] = m.ALPN
	}
	if m.Group != "" {
		f["group"] = m.Group
	}
	if m.UpdateRequested != nil {
		f["update_requested"] = *m.UpdateRequested
	}
	return f
}

func clientHelloFields(f map[string]any, ch *ClientHello) {
	if ch.ServerName != "" { // absent: no server_name extension, or no host_name in it
		f["sni"] = ch.ServerName
	}
	if len(ch.ALPN) > 0 {
		f["alpn"] = strings.Join(ch.ALPN, ",")
	}
	f["cipher_suites"] = len(ch.CipherSuites)
	ja3, hash := ch.JA3()
	f["ja3"] = ja3
	f["ja3_hash"] = hash
	f["ja4"] = ch.JA4()
	var groups []string
	for _, g := range ch.KeyShareGroups {
		if !isGREASE(g) {
			groups = append(groups, groupName(g))
		}
	}
	if len(groups) > 0 {
		f["key_share"] = strings.Join(groups, ",")
	}
	if ch.ExtendedMasterSecret {
		f["extended_master_secret"] = true
	}
	if ch.EncryptThenMAC {
		f["encrypt_then_mac"] = true
	}
	if ch.PSK {
		f["psk_identities"] = ch.PSKIdentities
	}
	if ch.SessionTicket {
		f["session_ticket"] = ch.SessionTicketLen
	}
}

func serverHelloFields(f map[string]any, sh *ServerHello) {
	f["cipher_suite"] = CipherSuiteName(sh.CipherSuite)
	ja3s, hash := sh.JA3S()
	f["ja3s"] = ja3s
	f["ja3s_hash"] = hash
	f["ja4s"] = sh.JA4S()
	if sh.HelloRetryRequest {
		f["handshake_type"] = "hello_retry_request"
		f["key_share"] = groupName(sh.KeyShareGroup)
		return
	}
	if sh.ALPN != "" {
		f["alpn"] = sh.ALPN
	}
	if sh.ExtendedMasterSecret {
		f["extended_master_secret"] = true
	}
	if sh.EncryptThenMAC {
		f["encrypt_then_mac"] = true
	}
}

func (c *CertificateChain) fields(f map[string]any) {
	var subj, issuers []string
	for _, ci := range c.Certs {
		subj = append(subj, ci.Subject)
		issuers = append(issuers, ci.Issuer)
	}
	f["cert_subjects"] = subj
	f["cert_issuers"] = issuers
	if len(c.Certs) > 0 {
		leaf := &c.Certs[0]
		f["cert_names"] = leaf.Names()
		// The leaf's names kept apart (absent when it has none): DNS
		// SANs, IP SANs and the subject CN.
		if len(leaf.DNSNames) > 0 {
			f["dns_names"] = leaf.DNSNames
		}
		if len(leaf.IPs) > 0 {
			f["ip_addresses"] = leaf.IPs
		}
		if leaf.CommonName != "" {
			f["subject_cn"] = leaf.CommonName
		}
		f["cert_not_before"] = leaf.NotBefore.UTC().Format(time.RFC3339)
		f["cert_not_after"] = leaf.NotAfter.UTC().Format(time.RFC3339)
		f["cert_key"] = leaf.KeyType
	}
	if c.NotDecoded > 0 {
		f["certs_not_decoded"] = c.NotDecoded
	}
	if c.NameChecked {
		f["cert_name_match"] = c.NameMatch
	}
}

// newMessage starts a typed message of kind k from dir at at.
func (c *Conn) newMessage(k MessageKind, dir tcpstate.Dir, at tcpstate.Position) *Message {
	return &Message{Origin: health.Origin{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow}, Kind: k, From: dir}
}

// message reports m.
func (c *Conn) message(m *Message) {
	c.ctx.Reporter.Message(health.Message{Frame: m.Frame, Time: m.Time, Flow: m.Flow, Proto: "tls", Value: m})
}

// ownClientHello returns a copy of ch that does not alias the record.
func ownClientHello(ch ClientHello) *ClientHello {
	ch.Random, ch.SessionID = bytes.Clone(ch.Random), bytes.Clone(ch.SessionID)
	return &ch
}

// ownServerHello returns a copy of sh that does not alias the record.
func ownServerHello(sh ServerHello) *ServerHello {
	sh.Random, sh.SessionID = bytes.Clone(sh.Random), bytes.Clone(sh.SessionID)
	return &sh
}
