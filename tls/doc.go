// Package tls decodes TLS and SSL connections passively: the record layer
// (SSL 3.0, TLS 1.0–1.3, and the SSLv2-compatible ClientHello), handshake
// messages reassembled across records (ClientHello with SNI, ALPN,
// supported_versions, key_share, signature algorithms, EMS, ETM, tickets,
// PSK and a JA3 fingerprint; ServerHello and HelloRetryRequest;
// Certificate decoded with crypto/x509; CertificateRequest;
// ServerKeyExchange; Finished; KeyUpdate), alerts, ChangeCipherSpec and
// heartbeat records.
//
// With an NSS key log (KeyLog, from files or pcapng Decryption Secrets
// Blocks) it decrypts TLS 1.2 (and 1.0/1.1) AES-GCM, ChaCha20-Poly1305 and
// AES-CBC with HMAC-SHA1/256/384, MAC-then-encrypt or encrypt-then-MAC
// (RFC 5246, 5288, 7905, 7366), and TLS 1.3 AES-GCM and ChaCha20-Poly1305
// with the HKDF-Expand-Label key schedule, handshake and application
// traffic keys and KeyUpdate (RFC 8446, 7). The TLS 1.3 encrypted
// handshake is decrypted too, so the server certificate is checked.
// Decrypted application data is handed to the next decoder
// (Config.Plaintext, for example http) as a plaintext stream.
// All cryptography is crypto/* and golang.org/x/crypto.
//
// It owns records, handshake messages, alerts, certificates, the key log
// reader and decryption; it does not verify trust chains against a system
// store (certificates are checked only for names and validity dates
// against the capture's time).
//
// Events: tls.alert, tls.handshake_stalled, tls.handshake_failed,
// tls.cert_name_mismatch, tls.cert_expired, tls.cert_not_yet_valid,
// tls.version_downgrade, tls.weak_cipher, tls.decrypt_failed, tls.no_key
// and tls.malformed. Messages (proto "tls"): handshake_type, version,
// cipher_suite, sni, alpn, cert_subjects, cert_names, cert_name_match,
// alert, ja3. Secrets never appear in events, messages or errors.
//
// Entry points: LoadKeyLog / NewKeyLog + KeyLog.Add / KeyLog.AddFrom
// build the key log; NewConn(ctx, Config{KeyLog, Plaintext, Limits}) returns
// the per-connection decoder (a tcpstate.StreamHandler, usable on any byte
// stream of TLS records); Detect recognises the first bytes of a TLS
// direction. Limits and their defaults are in limits.go.
//
// Conn is not safe for concurrent use; KeyLog is.
package tls
