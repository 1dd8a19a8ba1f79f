// Package starttls follows the cleartext start of a connection that
// upgrades to TLS in band, and hands the connection to the TLS decoder
// once the server has agreed: SMTP STARTTLS (RFC 3207, ports 25 and 587),
// IMAP STARTTLS (RFC 9051, 6.2.1, port 143), POP3 STLS (RFC 2595, 4, port
// 110), FTP AUTH TLS (RFC 4217, 4, port 21) and the LDAP StartTLS extended
// operation (RFC 4511, 4.14, port 389).
//
// What it owns: reading the cleartext commands and replies of those
// protocols line by line (LDAP: the BER envelope of each message), finding
// the client's upgrade command and the server's go-ahead, and switching:
// the client's bytes after its command and the server's after its reply
// are TLS, given to Config.TLS. A refused upgrade (SMTP 454, IMAP NO/BAD,
// POP3 -ERR, FTP 4xx/5xx, an LDAP result other than success) leaves the
// connection in cleartext, and a later attempt is followed again. Each
// upgrade and each refusal is a decoded message (Proto "starttls").
//
// What it does not own: TLS (the tls package, reached only through
// Config.TLS), the protocols' cleartext semantics (mail, folders, files,
// directory entries are not decoded), and the decision which connections
// are followed (the root Analyzer, with Detect and the ports above).
//
// Limits: a cleartext line longer than Limits.MaxLine (default 4096
// bytes), an LDAP message longer than Limits.MaxLDAPMessage (default 64
// KiB), or a gap before the upgrade ends the following of that connection
// with one decode.gave_up event; nothing is buffered beyond those limits.
//
// Conn is not safe for concurrent use.
package starttls
