package health

import (
	"net/netip"
	"time"
)

// netSynth builds synthetic packet sequences for the diagnoser tests (named
// "...Synthetic" where no real capture exists).
type netSynth struct {
	t0   time.Time
	pkts []Packet
}

func newNetSynth() *netSynth {
	return &netSynth{t0: time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)}
}

func netAP(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func (s *netSynth) at(ms float64) time.Time {
	return s.t0.Add(time.Duration(ms * float64(time.Millisecond)))
}

// add appends p with the next frame number and returns that number.
func (s *netSynth) add(p Packet) int64 {
	p.Frame = int64(len(s.pkts) + 1)
	s.pkts = append(s.pkts, p)
	return p.Frame
}

func (s *netSynth) tcp(ms float64, src, dst string, flags TCPFlags, seq, ack uint32, payload int) int64 {
	return s.add(Packet{
		Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoTCP,
		IPLen: 52 + payload, PayloadLen: payload, TCPFlags: flags, TCPSeq: seq, TCPAck: ack, DF: true,
	})
}

func (s *netSynth) syn(ms float64, src, dst string, seq uint32, mss uint16) int64 {
	return s.add(Packet{
		Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoTCP, IPLen: 60,
		TCPFlags: TCPFlagSYN, TCPSeq: seq, MSS: mss, DF: true,
	})
}

func (s *netSynth) synack(ms float64, src, dst string, seq, ack uint32, mss uint16) int64 {
	return s.add(Packet{
		Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoTCP, IPLen: 60,
		TCPFlags: TCPFlagSYN | TCPFlagACK, TCPSeq: seq, TCPAck: ack, MSS: mss, DF: true,
	})
}

func (s *netSynth) udp(ms float64, src, dst string, payload []byte) int64 {
	return s.add(Packet{
		Time: s.at(ms), Src: netAP(src), Dst: netAP(dst), Proto: protoUDP,
		IPLen: 28 + len(payload), PayloadLen: len(payload), Payload: payload,
	})
}

func (s *netSynth) arp(ms float64, op uint16, mac byte, sender, target string) int64 {
	a := &ARPObs{Op: op, SenderMAC: [6]byte{2, 0, 0, 0, 0, mac}, SenderIP: netip.MustParseAddr(sender), TargetIP: netip.MustParseAddr(target)}
	return s.add(Packet{Time: s.at(ms), ARP: a})
}

// netEvidence returns e.Evidence[k] or nil.
func netEvidence(e Event, k string) any {
	if e.Evidence == nil {
		return nil
	}
	return e.Evidence[k]
}
