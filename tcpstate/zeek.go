package tcpstate

import (
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// This file follows each connection as Zeek's TCP analyzer does, for the
// conn.log view of a connection (package connlog): Zeek's endpoint states,
// its history letters, its payload sizes taken from sequence numbers and
// its duration. The rules are those Zeek documents for conn.log
// (base/protocols/conn/main.zeek: conn_state, history) and applies in its
// TCP session adapter; the code is written fresh from them. Where nettrace
// differs from Zeek, connlog's package documentation says so and why.
//
// Zeek's originator is our client and its responder our server; "^" opens
// the history when the first packet came from the server (Zeek's "flipped"
// connection).

// zstate is one endpoint's state in Zeek's TCP analyzer (TCP_ENDPOINT_*).
type zstate uint8

const (
	zInactive zstate = iota
	zSynSent
	zSynAckSent
	zPartial
	zEstablished
	zClosed
	zReset
)

// zTooLargeDelta is the sequence jump beyond which a SYN or RST's sequence
// number is not trusted to advance the sender's last sequence (Zeek's
// TOO_LARGE_SEQ_DELTA).
const zTooLargeDelta = 1 << 20

// maxHistory bounds the history letters kept per connection: every letter
// but S, H, F and R is recorded at most a few times, and those four repeat
// only with a new sequence number.
const maxHistory = 64

// History flags recorded at most once per direction.
const (
	zhSYN uint8 = 1 << iota
	zhFIN
	zhRST
	zhFINRST
	zhMulti
	zhData
	zhAck
)

// zend is one endpoint as Zeek follows it.
type zend struct {
	state, prev zstate
	didClose    bool
	synced      bool   // sequence numbers initialised (by its own packet or a peer's ACK)
	start       uint64 // ISN (or first seq − 1), unwrapped
	last        uint64 // one past the highest sequence sent, unwrapped
	ackd        uint64 // highest sequence the peer acknowledged, unwrapped
	fins        int
	seen        uint8  // zh* letters already recorded
	lastSYN     uint32 // sequence of the last SYN, FIN end, RST recorded
	lastFIN     uint32
	lastRST     uint32
	scaled      [4]zscaled // T, W, G, C: recorded at 1, 10, 100, … occurrences
	pkts        int64
	ipBytes     int64
	gapPending  bool // bytes skipped that the peer has not acknowledged since
}

// zscaled counts one logarithmically recorded letter.
type zscaled struct{ n, next uint32 }

// Indices of zend.scaled.
const (
	zRetrans = iota
	zZeroWin
	zGap
	zChecksum
)

var zScaledLetters = [4]byte{'T', 'W', 'G', 'C'}

// zeek is a connection as Zeek's analyzer follows it.
type zeek struct {
	ends     [2]zend // indexed by Dir: ClientToServer is the originator
	history  []byte
	started  bool
	activeTo time.Time // last packet before both endpoints closed
}

// unwrap places the 32-bit sequence number x next to ref in 64-bit space.
func unwrap(x uint32, ref uint64) uint64 {
	return uint64(int64(ref) + int64(int32(x-uint32(ref))))
}

// letter records code for direction d: upper case for the originator.
func (z *zeek) letter(d Dir, code byte) {
	if d == ServerToClient {
		code += 'a' - 'A'
	}
	if len(z.history) < maxHistory {
		z.history = append(z.history, code)
	}
}

// once records code for d unless its flag was recorded; it reports
// whether it had been.
func (z *zeek) once(d Dir, flag uint8, code byte) bool {
	e := &z.ends[d]
	if e.seen&flag != 0 {
		return true
	}
	e.seen |= flag
	z.letter(d, code)
	return false
}

// scaled counts one occurrence of letter i for d and records it at the
// 1st, 10th, 100th… occurrence.
func (z *zeek) scaled(d Dir, i int) {
	s := &z.ends[d].scaled[i]
	if s.next == 0 {
		s.next = 1
	}
	s.n++
	if s.n == s.next {
		z.letter(d, zScaledLetters[i])
		if s.next <= (1<<32-1)/10 {
			s.next *= 10
		} else {
			s.next = 1<<32 - 1
		}
	}
}

// gap records a content gap of direction d revealed by the peer's
// acknowledgment in the current packet (bytes acknowledged, never captured).
func (z *zeek) gap(d Dir) {
	z.ends[d].gapPending = false
	z.scaled(d, zGap)
}

// skipped notes bytes of direction d that were skipped (cut by the
// snapshot length, or beyond a buffer cap); like Zeek, the gap enters the
// history when the peer acknowledges past it.
func (z *zeek) skipped(d Dir) { z.ends[d].gapPending = true }

// packet follows one segment sent in direction d; badSum says that its
// checksum is wrong where the sender's earlier ones were right.
func (z *zeek) packet(d Dir, p *layers.Packet, badSum bool) {
	if !z.started {
		z.started = true
		if d == ServerToClient {
			z.history = append(z.history, '^')
		}
	}
	e, peer := &z.ends[d], &z.ends[d.Other()]
	e.pkts++
	e.ipBytes += int64(p.IPLen)
	if !e.didClose || !peer.didClose {
		z.activeTo = p.Time
	}
	tcp := &p.TCP
	f := tcp.Flags
	n := p.PayloadLen
	segEnd := tcp.Seq + uint32(n)
	if f.Has(layers.FlagSYN) {
		segEnd++
	}
	if f.Has(layers.FlagFIN) {
		segEnd++
	}
	if f.Has(layers.FlagRST) {
		segEnd -= uint32(n) // a reset's payload is not stream data
	}
	z.initEnd(e, f, tcp.Seq, segEnd)
	z.history1(d, f, tcp.Seq, n)
	if badSum {
		z.scaled(d, zChecksum)
	}
	if tcp.Window == 0 && !f.Has(layers.FlagRST) && peer.state != zClosed && e.state != zReset {
		z.scaled(d, zZeroWin)
	}
	if f.Has(layers.FlagFIN) {
		e.fins++
	}
	if f.Has(layers.FlagACK) {
		z.acked(peer, f, tcp.Ack)
	}
	if z.advance(e, f, segEnd, n) {
		z.scaled(d, zRetrans)
	}
	z.transition(d, e, peer, f, tcp.Seq, n)
}

// initEnd sets the sender's sequence numbers from its first segment, and
// again from a SYN that restarts it.
func (z *zeek) initEnd(e *zend, f layers.TCPFlags, seq, segEnd uint32) {
	syn := f.Has(layers.FlagSYN)
	reinit := false
	switch e.state {
	case zInactive:
		if !syn {
			e.start, e.ackd, e.last = uint64(seq-1), uint64(seq-1), uint64(seq)
			e.synced = true
			return
		}
		reinit = true
	case zSynSent, zSynAckSent:
		reinit = syn && seq != uint32(e.start)
	case zEstablished, zPartial:
		reinit = syn
	case zReset:
		reinit = syn && e.prev == zInactive
	}
	if reinit {
		e.start, e.ackd, e.last = uint64(seq), uint64(seq), uint64(segEnd)
		e.synced = true
	}
}

// history1 records the letters of one segment's flags and payload.
func (z *zeek) history1(d Dir, f layers.TCPFlags, seq uint32, n int) {
	e := &z.ends[d]
	syn, fin, rst := f.Has(layers.FlagSYN), f.Has(layers.FlagFIN), f.Has(layers.FlagRST)
	switch bits := btoi(syn) + btoi(fin) + btoi(rst); {
	case bits > 1 && fin && rst:
		z.once(d, zhFINRST, 'I')
	case bits > 1:
		z.once(d, zhMulti, 'Q')
	case syn:
		code := byte('S')
		if f.Has(layers.FlagACK) {
			code = 'H'
		}
		if z.once(d, zhSYN, code) && seq != e.lastSYN {
			z.letter(d, code)
		}
		e.lastSYN = seq
	case fin:
		end := seq + uint32(n)
		if z.once(d, zhFIN, 'F') && end != e.lastFIN {
			z.letter(d, 'F')
		}
		e.lastFIN = end
	case rst:
		if z.once(d, zhRST, 'R') && seq != e.lastRST {
			z.letter(d, 'R')
		}
		e.lastRST = seq
	case n > 0:
		z.once(d, zhData, 'D')
	case f.Has(layers.FlagACK):
		z.once(d, zhAck, 'A')
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// acked takes an acknowledgment of peer's bytes: it sets the peer's
// sequence numbers when the peer has sent nothing yet, else raises its
// acknowledged mark (an ACK in a reset is not trusted).
func (z *zeek) acked(peer *zend, f layers.TCPFlags, ack uint32) {
	if peer.state == zInactive {
		peer.start, peer.ackd, peer.last = uint64(ack-1), uint64(ack-1), uint64(ack-1)
		peer.synced = true
		return
	}
	a := unwrap(ack, peer.ackd)
	if a < peer.start || f.Has(layers.FlagRST) {
		return
	}
	if ack == 0 && a-peer.ackd > zTooLargeDelta {
		return // more likely a broken ACK than a connection landing on 0
	}
	if a > peer.ackd {
		peer.ackd = a
		if peer.gapPending {
			peer.gapPending = false
			z.scaled(z.dirOf(peer), zGap)
		}
	}
}

// dirOf returns the direction e sends.
func (z *zeek) dirOf(e *zend) Dir {
	if e == &z.ends[ServerToClient] {
		return ServerToClient
	}
	return ClientToServer
}

// advance moves the sender's last sequence to segEnd; it reports a
// retransmission: payload that does not advance it.
func (z *zeek) advance(e *zend, f layers.TCPFlags, segEnd uint32, n int) bool {
	end := unwrap(segEnd, e.last)
	delta := int64(end) - int64(e.last)
	switch {
	case (f.Has(layers.FlagSYN) || f.Has(layers.FlagRST)) && (delta > zTooLargeDelta || delta < -zTooLargeDelta):
	case f.Has(layers.FlagFIN) && e.last == e.start+1:
		e.last = end // only the SYN and this FIN seen: trust the FIN
	case e.state == zReset:
	case delta > 0:
		e.last = end
	case n > 0:
		return true
	}
	return false
}

// transition moves the sender's state as Zeek's analyzer does.
func (z *zeek) transition(d Dir, e, peer *zend, f layers.TCPFlags, seq uint32, n int) {
	syn, fin, rst, ack := f.Has(layers.FlagSYN), f.Has(layers.FlagFIN), f.Has(layers.FlagRST), f.Has(layers.FlagACK)
	switch e.state {
	case zInactive:
		z.fromInactive(d, e, peer, f, n)
	case zSynSent, zSynAckSent:
		if fin {
			z.set(e, zClosed)
			e.didClose = true
		}
		if rst {
			z.set(e, zReset)
			e.didClose = true
		}
	case zEstablished, zPartial:
		if syn && e.state == zPartial && peer.state == zInactive && !ack {
			z.set(e, zSynSent)
		}
		if fin && !rst {
			z.set(e, zClosed)
			if peer.state == zReset && peer.prev == zClosed {
				z.set(peer, zClosed) // FIN then RST from the peer: a normal close
			}
			e.didClose = true
		}
		if rst {
			z.set(e, zReset)
			e.didClose = true
		}
	case zClosed:
		if rst && peer.state != zClosed {
			z.set(e, zReset)
			e.didClose = true
		}
	}
}

// fromInactive is the first packet of an endpoint.
func (z *zeek) fromInactive(d Dir, e, peer *zend, f layers.TCPFlags, n int) {
	syn, fin, rst, ack := f.Has(layers.FlagSYN), f.Has(layers.FlagFIN), f.Has(layers.FlagRST), f.Has(layers.FlagACK)
	orig := d == ClientToServer
	if syn {
		switch {
		case orig && ack:
			z.set(e, zSynAckSent)
		case orig:
			z.set(e, zSynSent)
		default:
			if peer.state == zSynSent {
				z.set(peer, zEstablished)
			}
			z.set(e, zEstablished)
		}
	}
	if fin {
		z.set(e, zClosed)
		e.didClose = true
	}
	if rst {
		z.set(e, zReset)
		e.didClose = true
	}
	if e.state != zInactive {
		return
	}
	switch {
	case !orig && n == 0 && z.ends[ClientToServer].state == zSynSent:
		// An ACK of the SYN before the SYN-ACK: not yet a partial connection.
	case ack && peer.state == zEstablished:
		z.set(e, zEstablished) // the SYN was missed, the SYN-ACK seen
	default:
		z.set(e, zPartial)
	}
}

func (z *zeek) set(e *zend, s zstate) {
	if e.state != s {
		e.prev, e.state = e.state, s
	}
}

// size is the payload the endpoint sent as its sequence numbers span it:
// the highest sequence sent or acknowledged, less the ISN, the SYN and
// the FIN (Zeek's endpoint size).
func (z *zeek) size(d Dir) int64 {
	e, peer := &z.ends[d], &z.ends[d.Other()]
	if !e.synced || e.prev == zSynSent && e.state == zReset && peer.state == zInactive {
		return 0 // a half-open attempt aborted: its numbers mean nothing
	}
	top := max(e.last, e.ackd)
	if top <= e.start {
		return 0
	}
	size := int64(top-e.start) - 1
	if e.fins > 0 && size > 0 {
		size--
	}
	return size
}

// connState is Zeek's conn_state from both endpoints' states.
func (z *zeek) connState() string {
	o, r := &z.ends[ClientToServer], &z.ends[ServerToClient]
	oInactive := o.state == zInactive || o.state == zPartial
	rInactive := r.state == zInactive || r.state == zPartial
	switch {
	case r.state == zReset:
		switch {
		case o.state == zSynSent || o.state == zSynAckSent ||
			o.state == zReset && z.size(ClientToServer) == 0 && z.size(ServerToClient) == 0:
			return "REJ"
		case oInactive:
			return "RSTRH"
		}
		return "RSTR"
	case o.state == zReset:
		if !rInactive {
			return "RSTO"
		}
		if synThenReset(z.history) {
			return "RSTOS0"
		}
		return "OTH"
	case o.state == zClosed && r.state == zClosed:
		return "SF"
	case o.state == zClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case r.state == zClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case o.state == zSynSent && r.state == zInactive:
		return "S0"
	case o.state == zEstablished && r.state == zEstablished:
		return "S1"
	}
	return "OTH"
}

// synThenReset reports whether the history shows the originator's SYN and
// then its RST with no handshake, ACK, FIN, gap or odd flags of the
// originator in between (Zeek's /^\^?S[^HAFGIQ]*R/ test for RSTOS0).
func synThenReset(h []byte) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// view returns what Zeek's conn.log would say of the connection.
func (z *zeek) view(missed [2]int64) health.ZeekView {
	o, r := &z.ends[ClientToServer], &z.ends[ServerToClient]
	return health.ZeekView{
		ConnState: z.connState(),
		History:   string(z.history),
		Bytes:     [2]int64{z.size(ClientToServer), z.size(ServerToClient)},
		IPBytes:   [2]int64{o.ipBytes, r.ipBytes},
		Packets:   [2]int64{o.pkts, r.pkts},
		Missed:    missed,
		End:       z.activeTo,
	}
}
