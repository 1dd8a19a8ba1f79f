package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/tcpstate"
)

// Sybase TDS 5.0 (and the TDS 4.2 that Sybase and SQL Server 6.x shared)
// share the packet header with [MS-TDS] but not what follows: a fixed
// 512-byte login record in packets of type 0x02, Sybase-only packet types,
// and a different token set. nettrace decodes Microsoft TDS 7.0 and later
// only; a Sybase connection is recognised and left undecoded with one
// decode.gave_up notice — never reported as malformed TDS.
//
// Layout of the login record (Sybase "TDS 5.0 Functional Specification",
// LOGINREC; the same record as TDS 4.2 with a capability token after it):
// host name, user name, password and host process, 30 bytes and a length
// byte each (offsets 0, 31, 62, 93); byte-order and format flags at 124;
// application and server name at 140 and 171; the remote password block at
// 202 (256 bytes); the protocol version at 458 (5.0.0.0 or 4.2.0.0); the
// program name at 462.

const (
	legacyNameLen      = 30  // lhostname, lusername, lpw, lhostproc, lappname, lservname
	legacyVersionAt    = 458 // ltds_version
	legacyLoginMinimum = legacyVersionAt + 4
)

// legacyNameLengths are the offsets of the length bytes of the login
// record's 30-byte names; each must be at most 30.
var legacyNameLengths = [...]int{30, 61, 92, 123, 170, 201}

// legacyLoginVersion reports whether payload, the first packet of a client
// message of type 0x02, holds a Sybase/TDS 4.x login record, and returns
// its protocol version (major, minor): 5.0 for Sybase TDS 5.0, 4.2 or 4.6
// for TDS 4.x.
func legacyLoginVersion(payload []byte) (major, minor uint8, ok bool) {
	if len(payload) < legacyLoginMinimum {
		return 0, 0, false
	}
	for _, at := range legacyNameLengths {
		if payload[at] > legacyNameLen {
			return 0, 0, false
		}
	}
	v := payload[legacyVersionAt : legacyVersionAt+4]
	if v[2] != 0 || v[3] != 0 || !(v[0] == 5 && v[1] == 0 || v[0] == 4 && (v[1] == 2 || v[1] == 6)) {
		return 0, 0, false
	}
	return v[0], v[1], true
}

// sybaseOnlyType reports whether t is a packet type Sybase TDS 5.0 defines
// and [MS-TDS] does not: TDS_BUF_CLOSE (0x09) to TDS_BUF_LOGOUT (0x0D),
// TDS_BUF_NORMAL (0x0F, every request after the login) and the
// TDS_BUF_CMDSEQ_* types (0x18–0x1C).
func sybaseOnlyType(t uint8) bool {
	return t >= 0x09 && t <= 0x0D || t == 0x0F || t >= 0x18 && t <= 0x1C
}

// sybaseHeader reports whether b, a unit start that did not parse, is a
// Sybase TDS 5.0 packet header (a Sybase-only type, Sybase status bits, a
// length of at least 8, window 0) on a connection that has shown nothing
// of Microsoft TDS; if so the connection is given up.
func (c *Conn) sybaseHeader(dir tcpstate.Dir, b []byte, at tcpstate.Position) bool {
	if c.sawMSTDS || len(b) < HeaderLen || !sybaseOnlyType(b[0]) || b[1]&0x80 != 0 || b[7] != 0 {
		return false
	}
	if n := int(b[2])<<8 | int(b[3]); n < HeaderLen {
		return false
	}
	c.giveUp(dir, fmt.Sprintf("Sybase TDS 5.0: not decoded (packet type 0x%02x)", b[0]), at)
	return true
}

// legacyLogin gives up a connection whose client sent a Sybase TDS 5.0 or
// TDS 4.x login record.
func (c *Conn) legacyLogin(dir tcpstate.Dir, major, minor uint8, at tcpstate.Position) {
	reason := "Sybase TDS 5.0: not decoded"
	if major == 4 {
		reason = fmt.Sprintf("TDS %d.%d (pre-TDS 7) login: not decoded", major, minor)
	}
	c.giveUp(dir, reason, at)
}

// giveUp stops decoding the connection: both directions are only counted
// from here on, and one decode.gave_up notice says why.
func (c *Conn) giveUp(dir tcpstate.Dir, reason string, at tcpstate.Position) {
	if c.gaveUp {
		return
	}
	c.gaveUp = true
	var n int64
	for d := range c.half {
		h := &c.half[d]
		h.dead, h.resync = true, false
		if tcpstate.Dir(d) != dir { // dir's buffer is being drained; Feed drops it
			n += int64(len(h.buf))
			h.ignored += int64(len(h.buf))
			h.buf = h.buf[:0]
		}
	}
	c.gaveUpEvent(dir, reason, n, at)
}
