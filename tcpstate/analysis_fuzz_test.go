package tcpstate

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// anaFuzzSegments turns arbitrary bytes into the segments of one
// connection, both directions: each 12-byte record gives direction and
// flags, sequence and acknowledgment offsets (near the 2^32 wrap), payload
// length, window, time step, timestamps and up to two SACK blocks.
func anaFuzzSegments(data []byte) ([]layers.Packet, []Dir) {
	cli := netip.MustParseAddrPort("10.0.0.1:40000")
	srv := netip.MustParseAddrPort("10.0.0.2:80")
	var pkts []layers.Packet
	var dirs []Dir
	now := time.Unix(1700000000, 0)
	base := [2]uint32{1<<32 - 5000, 123456}
	for len(data) >= 12 && len(pkts) < 2048 {
		r := data[:12]
		data = data[12:]
		d := Dir(r[0] >> 7)
		src, dst := cli, srv
		if d == ServerToClient {
			src, dst = srv, cli
		}
		now = now.Add(time.Duration(binary.BigEndian.Uint16(r[8:])) * 50 * time.Microsecond)
		n := int(binary.BigEndian.Uint16(r[5:]) % 1500)
		p := layers.Packet{
			Frame: int64(len(pkts) + 1), Time: now, Network: 4, Src: src.Addr(), Dst: dst.Addr(), IPProto: 6,
			Transport: layers.TransportTCP, PayloadLen: n, IPLen: 40 + n,
		}
		h := &p.TCP
		h.SrcPort, h.DstPort = src.Port(), dst.Port()
		h.Flags = layers.TCPFlags(r[0] & 0x1f)
		if r[0]&0x20 != 0 {
			h.Flags |= layers.FlagACK
		}
		h.Seq = base[d] + uint32(binary.BigEndian.Uint16(r[1:]))*8
		h.Ack = base[d^1] + uint32(binary.BigEndian.Uint16(r[3:]))*8
		h.Window = uint16(r[7]) << (r[10] & 7)
		h.WindowScale = int8(r[10]>>3&0x0f) - 1
		if r[10]&0x80 != 0 {
			h.HasTimestamps, h.TSval, h.TSecr = true, uint32(len(pkts))+uint32(r[11]&3), uint32(r[11]>>2)
		}
		for i := 0; i < int(r[11]>>6) && i < 2; i++ {
			l := base[d^1] + uint32(r[1+i])*64
			h.SACK[i] = layers.SACKBlock{Left: l, Right: l + uint32(r[5+i])*8}
			h.NumSACK++
		}
		pkts = append(pkts, p)
		dirs = append(dirs, d)
	}
	return pkts, dirs
}

// FuzzAnalysis feeds arbitrary segment sequences to the analysis: it must
// not panic, and its flags and measurements must stay consistent.
func FuzzAnalysis(f *testing.F) {
	f.Add([]byte{})
	// SYN, SYN-ACK, ACK, data, dup ACKs, retransmission.
	f.Add([]byte{
		0x02, 0, 0, 0, 0, 0, 0, 0xff, 0, 1, 0x8a, 0x80,
		0x92, 0, 0, 0, 1, 0, 0, 0xff, 0, 20, 0x8a, 0x81,
		0x30, 0, 1, 0, 1, 0, 0, 0xff, 0, 1, 0x00, 0x00,
		0x38, 0, 1, 0, 1, 0x05, 0xb4, 0xff, 0, 1, 0x00, 0x00,
		0xb0, 0, 1, 0, 1, 0, 0, 0xff, 0, 20, 0x00, 0x40,
		0xb0, 0, 1, 0, 1, 0, 0, 0xff, 0, 1, 0x00, 0x40,
		0xb0, 0, 1, 0, 1, 0, 0, 0xff, 0, 1, 0x00, 0x40,
		0x38, 0, 1, 0, 1, 0x05, 0xb4, 0xff, 0, 1, 0x00, 0x00,
		0xb4, 0, 1, 0, 1, 0, 0, 0, 0, 200, 0x00, 0x00,
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkts, dirs := anaFuzzSegments(data)
		ctx := &StreamContext{Client: netip.MustParseAddrPort("10.0.0.1:40000"), Server: netip.MustParseAddrPort("10.0.0.2:80"),
			Flow: "fuzz", Reporter: &health.Collector{}}
		var a seqAnalysis
		for i := range pkts {
			fl := a.analyze(ctx, dirs[i], &pkts[i])
			if fl.Has(FlagFastRetransmission) && !fl.Has(FlagRetransmission) ||
				fl.Has(FlagSpuriousRetransmission) && !fl.Has(FlagRetransmission) {
				t.Fatalf("frame %d: inconsistent flags %v", i+1, fl)
			}
		}
		var st health.FlowStats
		last := Position{}
		if len(pkts) > 0 {
			last = Position{Frame: pkts[len(pkts)-1].Frame, Time: pkts[len(pkts)-1].Time}
		}
		a.finish(ctx, CloseEndOfCapture, last, &st)
		if st.RTTSamples > 0 && (st.RTTMin > st.RTTMedian || st.RTTMedian > st.RTTMax || st.RTTMin < 0) {
			t.Fatalf("RTT min/median/max %v/%v/%v", st.RTTMin, st.RTTMedian, st.RTTMax)
		}
		for d := 0; d < 2; d++ {
			if st.RetransBytes[d] < 0 || st.MaxInFlight[d] < 0 || st.ZeroWindow[d] < 0 {
				t.Fatalf("negative measurement: %+v", st)
			}
		}
		for _, e := range ctx.Reporter.(*health.Collector).Events {
			if e.Frame <= 0 || !health.Known(e.Kind) {
				t.Fatalf("event without frame or unknown kind: %+v", e)
			}
		}
	})
}
