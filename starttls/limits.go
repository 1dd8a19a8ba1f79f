package starttls

// Limits bounds what a Conn buffers. Zero fields take their defaults.
type Limits struct {
	// MaxLine is the longest cleartext line read (default 4096 bytes;
	// RFC 5321, 4.5.3.1.5 allows 512 for SMTP commands, IMAP lines may be
	// longer). A longer line ends the following of the connection.
	MaxLine int
	// MaxLDAPMessage is the longest LDAP message read before the upgrade
	// (default 64 KiB).
	MaxLDAPMessage int
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits { return Limits{MaxLine: 4096, MaxLDAPMessage: 64 << 10} }

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxLine <= 0 {
		l.MaxLine = d.MaxLine
	}
	if l.MaxLDAPMessage <= 0 {
		l.MaxLDAPMessage = d.MaxLDAPMessage
	}
	return l
}
