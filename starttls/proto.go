package starttls

import (
	"bytes"
	"strings"
)

// Protocol is a protocol whose connections upgrade to TLS in band.
type Protocol uint8

// Protocols.
const (
	Unknown Protocol = iota
	SMTP             // RFC 3207
	IMAP             // RFC 9051, 6.2.1
	POP3             // RFC 2595, 4
	FTP              // RFC 4217, 4
	LDAP             // RFC 4511, 4.14
)

var protoNames = [...]string{"unknown", "smtp", "imap", "pop3", "ftp", "ldap"}

// String returns "smtp", "imap", "pop3", "ftp", "ldap" or "unknown".
func (p Protocol) String() string {
	if int(p) < len(protoNames) {
		return protoNames[p]
	}
	return "unknown"
}

// ProtocolOfPort returns the protocol of a well-known server port: 25 and
// 587 SMTP, 143 IMAP, 110 POP3, 21 FTP, 389 LDAP.
func ProtocolOfPort(port uint16) Protocol {
	switch port {
	case 25, 587:
		return SMTP
	case 143:
		return IMAP
	case 110:
		return POP3
	case 21:
		return FTP
	case 389:
		return LDAP
	}
	return Unknown
}

// Ports are the server ports whose connections are followed by default.
var Ports = []uint16{25, 587, 143, 110, 21, 389}

// upgradeCommand reports whether line, a client line of p (without its
// CRLF), asks for the upgrade, and returns the IMAP tag that the server's
// answer repeats.
func upgradeCommand(p Protocol, line []byte) (tag string, ok bool) {
	switch p {
	case SMTP:
		return "", eqFoldTrim(line, "STARTTLS")
	case POP3:
		return "", eqFoldTrim(line, "STLS")
	case FTP:
		return "", eqFoldTrim(line, "AUTH TLS") || eqFoldTrim(line, "AUTH SSL") || eqFoldTrim(line, "AUTH TLS-C")
	case IMAP:
		sp := bytes.IndexByte(line, ' ')
		if sp <= 0 {
			return "", false
		}
		return string(line[:sp]), eqFoldTrim(line[sp+1:], "STARTTLS")
	}
	return "", false
}

// verdict is what a server line says about a pending upgrade.
type verdict uint8

const (
	vNone   verdict = iota // not the answer (yet)
	vAgreed                // go ahead: TLS follows
	vRefused
)

// answer judges line, a server line of p after the client asked for the
// upgrade (tag is the IMAP command's tag).
func answer(p Protocol, tag string, line []byte) verdict {
	switch p {
	case SMTP, FTP:
		// RFC 5321, 4.2: a multiline reply has "-" after the code on every
		// line but the last.
		if len(line) < 3 || !isDigits(line[:3]) || len(line) > 3 && line[3] == '-' {
			return vNone
		}
		ok := "220"
		if p == FTP {
			ok = "234" // RFC 4217, 4.1
		}
		if string(line[:3]) == ok || p == FTP && string(line[:3]) == "334" { // 334: RFC 2228 ADAT needed, AUTH SSL servers
			return vAgreed
		}
		return vRefused
	case POP3:
		switch {
		case bytes.HasPrefix(line, []byte("+OK")):
			return vAgreed
		case bytes.HasPrefix(line, []byte("-ERR")):
			return vRefused
		}
	case IMAP:
		rest, ok := bytes.CutPrefix(line, []byte(tag+" "))
		if !ok {
			return vNone // an untagged response
		}
		if len(rest) >= 2 && strings.EqualFold(string(rest[:2]), "OK") {
			return vAgreed
		}
		return vRefused
	}
	return vNone
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// eqFoldTrim reports whether line equals cmd, ignoring case and trailing
// spaces.
func eqFoldTrim(line []byte, cmd string) bool {
	return strings.EqualFold(string(bytes.TrimRight(line, " \t")), cmd)
}
