package tcpstate

import (
	"time"

	"github.com/nettrace/nettrace/layers"
)

// This file keeps what the capture shows of each connection (Visibility):
// packets captured twice, directions never captured, bytes the peer
// acknowledged that the capture never saw.

// dupSig is what identifies one captured packet well enough to recognise a
// second copy of it: the same TCP header and IP identification. A
// retransmission is a new IP packet (a new IPv4 ID, usually a new ACK,
// window or timestamp); a capture duplicate is the same packet seen twice.
type dupSig struct {
	seq, ack     uint32
	ipid         uint32
	tsval, tsecr uint32
	sack         layers.SACKBlock // the first SACK block: dup ACKs differ in it
	win          uint16
	flags        layers.TCPFlags
	plen         int32
	at           int64 // capture time, Unix nanoseconds
}

// dupRingLen is how many recent packets per direction a copy is compared
// with: copies from two capture points or a SPAN port arrive within a few
// packets of each other.
const dupRingLen = 4

// dupMaxGap bounds how far apart two copies may be. Without an IPv4 ID
// (IPv6, or a stack that sends 0) only data segments are compared — pure
// ACKs with identical headers are duplicate ACKs, not copies — and only
// their timestamps tell a copy from a fast retransmission, so the window is
// kept below the minimum RTO.
const (
	dupMaxGap     = 2 * time.Second
	dupMaxGapNoID = 200 * time.Millisecond
)

// dupRing holds the signatures of the last packets of one direction.
type dupRing struct {
	sig  [dupRingLen]dupSig
	next uint8
}

func signature(p *layers.Packet) dupSig {
	t := &p.TCP
	s := dupSig{seq: t.Seq, ack: t.Ack, win: t.Window, flags: t.Flags, plen: int32(p.PayloadLen), at: p.Time.UnixNano()}
	if p.Network == 4 {
		s.ipid = p.IPID
	}
	if t.HasTimestamps {
		s.tsval, s.tsecr = t.TSval, t.TSecr
	}
	if t.NumSACK > 0 {
		s.sack = t.SACK[0]
	}
	return s
}

// duplicate reports whether p is a second copy of a recent packet of d,
// and remembers p otherwise.
func (c *conn) duplicate(d Dir, p *layers.Packet) bool {
	r := &c.dups[d]
	s := signature(p)
	for i := range r.sig {
		o := &r.sig[i]
		if o.at == 0 || o.seq != s.seq || o.ack != s.ack || o.win != s.win || o.flags != s.flags || o.plen != s.plen || o.sack != s.sack {
			continue
		}
		gap := time.Duration(s.at - o.at)
		switch {
		case gap < 0:
		case s.ipid != 0 && s.ipid == o.ipid && gap <= dupMaxGap:
			return true
		case s.ipid == 0 && o.ipid == 0 && s.plen > 0 && p.TCP.HasTimestamps && s.tsval == o.tsval && s.tsecr == o.tsecr && gap <= dupMaxGapNoID:
			return true
		}
	}
	r.sig[r.next] = s
	r.next = (r.next + 1) % dupRingLen
	return false
}

// visibility returns what the capture has shown of c so far.
func (c *conn) visibility() Visibility {
	v := Visibility{Packets: c.st.Packets, MidStream: c.st.MidStream, Unseen: c.unseen, Duplicates: c.dupCount}
	for d := range 2 {
		if c.st.Packets[d] == 0 && c.st.Packets[d^1] > 0 && c.ana.acked[d^1] {
			v.OneSided = true
		}
	}
	return v
}

// CaptureStats sums up what the capture showed of every connection the
// tracker followed (see Visibility): the capture's kind, as opposed to the
// network's behaviour.
type CaptureStats struct {
	Connections int   // connections summarised
	OneSided    int   // only one direction captured
	MidStream   int   // picked up after the handshake
	UnseenConns int   // connections with bytes acknowledged but not captured
	UnseenBytes int64 // those bytes, all connections
	Duplicates  int64 // packets captured twice, left out of the analysis
}

// CaptureStats returns the sums over the connections summarised so far
// (all of them after Close).
func (t *Tracker) CaptureStats() CaptureStats {
	s := t.stats
	s.Duplicates = t.duplicates
	return s
}

// count adds a finished connection to the tracker's CaptureStats.
func (t *Tracker) count(v *Visibility) {
	s := &t.stats
	s.Connections++
	if v.OneSided {
		s.OneSided++
	}
	if v.MidStream {
		s.MidStream++
	}
	if n := v.Unseen[0] + v.Unseen[1]; n > 0 {
		s.UnseenConns++
		s.UnseenBytes += n
	}
}
