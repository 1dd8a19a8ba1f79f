// Package tls decodes TLS and SSL connections passively: the record layer
// (SSL 3.0, TLS 1.0–1.3, and the SSLv2-compatible ClientHello), handshake
// messages reassembled across records (ClientHello with SNI, ALPN,
// supported_versions, key_share, signature algorithms, EMS, ETM, tickets,
// PSK, and the JA3 and JA4 fingerprints; ServerHello and
// HelloRetryRequest with JA3S and JA4S (fingerprint.go);
// Certificate decoded with crypto/x509; CertificateRequest;
// ServerKeyExchange; Finished; KeyUpdate), alerts, ChangeCipherSpec and
// heartbeat records.
//
// Every cipher suite of the IANA registry is named (suites_iana.go,
// generated from iana_cipher_suites.csv by gen_suites.go); how a suite
// protects records is read from its name. With an NSS key log (KeyLog,
// from files or pcapng Decryption Secrets Blocks) it decrypts TLS 1.2 (and
// 1.0/1.1) AES-GCM, AES-CCM and AES-CCM_8, ChaCha20-Poly1305 and AES-CBC
// with HMAC-SHA1/256/384, MAC-then-encrypt or encrypt-then-MAC (RFC 5246,
// 5288, 6655, 7251, 7905, 7366), whatever the key exchange (RSA, DHE,
// ECDHE, PSK, and anonymous DH and ECDH, which the key log's master secret
// makes no different), and TLS 1.3 AES-GCM, AES-CCM, AES-CCM_8 and
// ChaCha20-Poly1305 with the HKDF-Expand-Label key schedule, handshake and
// application traffic keys and KeyUpdate (RFC 8446, 7). CCM (RFC 3610,
// NIST SP 800-38C) is nettrace's own over crypto/aes (internal/ccm, shared with SMB3), as Go has
// none. The TLS 1.3 encrypted
// handshake is decrypted too, so the server certificate is checked.
// Decrypted application data is handed as a plaintext stream to the HTTP/1
// decoder (Config.Plaintext) when the server selected no protocol or
// HTTP/1.x with ALPN, to the HTTP/2 decoder (Config.HTTP2) when it
// selected h2 or the client sent the HTTP/2 preface; other protocols are
// not decoded, and Config.Decrypted, when set, receives every plaintext.
// All other cryptography is crypto/* and golang.org/x/crypto. A
// connection that is not decrypted gets one event saying why: tls.no_key
// (the key log has nothing for its client random), or tls.decrypt_failed
// with reason "unsupported cipher suite" and the suite's name, or with the
// reason a logged key did not authenticate its records; each is said once
// per connection, not per record or direction.
//
// A finding is a claim about the network, made only for what the capture
// shows (tcpstate.Visibility): a ClientHello is never answered only when
// the server's side was captured whole from the connection's start; a
// reset comes before the handshake completed only when both sides were
// captured and they did not go on past their Finished messages (judged
// from the record types when keys are missing). Bytes nettrace does not
// understand are a notice about its coverage: a direction whose bytes stop
// being TLS records (cleartext after TLS, another protocol on a TLS port)
// stops being decoded with one decode.gave_up; after a gap, or when the
// capture started inside a record, it finds two plausible record headers
// in a row and goes on (decode.resync); tls.malformed is a notice unless
// the bytes are provably invalid TLS. A capture that starts after the
// handshake shows protected records, which are not read as cleartext.
//
// It owns records, handshake messages, alerts, certificates, the key log
// reader and decryption; it does not verify trust chains against a system
// store (certificates are checked only for names and validity dates
// against the capture's time).
//
// Events: tls.alert, tls.handshake_stalled, tls.handshake_failed,
// tls.cert_name_mismatch, tls.cert_expired, tls.cert_not_yet_valid,
// tls.version_downgrade, tls.weak_cipher, tls.decrypt_failed, tls.no_key,
// tls.malformed, decode.resync and decode.gave_up. Why a connection is
// not decrypted (tls.no_key, tls.decrypt_failed: no key, an unsupported
// suite, a key that does not authenticate) is said once per connection, at
// Close, with the protected records and bytes left undecrypted
// (records_not_decrypted, bytes_not_decrypted, last_frame). KeyLog.Add
// skips lines it cannot read, as tshark does, and returns a
// *SkippedLinesError counting them. Messages (proto "tls"): handshake_type, version,
// cipher_suite (the IANA name), sni (absent without one), alpn, ja3,
// ja3_hash and ja4 (client hello), ja3s, ja3s_hash and ja4s (server hello),
// cert_subjects, cert_names (the names the leaf is valid for), the leaf's
// dns_names, ip_addresses and subject_cn kept apart (each absent when the
// certificate has none), cert_name_match, alert. Secrets never appear in
// events, messages or errors.
//
// Each message is a *Message (health.Message.Value; nettrace.Handlers.TLS):
// the handshake message's type with its parsed body (ClientHello and
// ServerHello with their JA3/JA3S/JA4/JA4S methods, CertificateChain
// with the CertInfo of each certificate, CertificateRequest, ...), an
// Alert, a Heartbeat or a NameCheck. Message.Fields is the one definition
// of the JSON fields above.
//
// Entry points: LoadKeyLog / NewKeyLog + KeyLog.Add / KeyLog.AddFrom
// build the key log; NewConn(ctx, Config{KeyLog, Plaintext, HTTP2, Decrypted,
// Limits}) returns the per-connection decoder (a tcpstate.StreamHandler,
// usable on any byte stream of TLS records, and a tcpstate.Finisher: a
// close_notify ends a session cleanly); Detect recognises the first bytes
// of a TLS direction. Limits and their defaults are in limits.go; record
// framing and resynchronisation are in stream.go, the conclusions drawn
// at Close in close.go.
//
// Conn is not safe for concurrent use; KeyLog is.
package tls
