package pair

import (
	"testing"
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// FuzzComparePair builds two one-connection captures from the input (8
// bytes per segment) and checks that the comparison never panics and that
// every event is catalogued and names a frame.
func FuzzComparePair(f *testing.F) {
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00\x12\x01\x00\x00\x00\x00\x00\x00\x10\x00\x01\x00\x01\x00\x00\x00"), uint8(3))
	f.Add([]byte("\x10\x05\x00\x10\x01\x00\x40\x05\x10\x05\x00\x10\x01\x00\x00\x05"), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		var conns [2]Conn
		for k := range conns {
			conns[k] = Conn{ClientISN: 1, ServerISN: 2, ClientSYN: split&1 != 0, ServerSYN: split&2 != 0}
		}
		for i := 0; i+8 <= len(data) && i < 8*2000; i += 8 {
			b := data[i : i+8]
			k := int(b[7] >> 7)
			s := Segment{
				Frame: int64(len(conns[k].Segments) + 1), Time: time.Unix(0, 0).Add(time.Duration(b[1]) * time.Millisecond),
				FromClient: b[0]&0x80 != 0, Flags: layers.TCPFlags(b[0] & 0x1f),
				Seq: uint32(b[2])<<8 | uint32(b[3]), Ack: uint32(b[4]), PayloadLen: int(b[5]) * 8,
				IPTotalLen: int(b[6]), TSval: uint32(b[7] & 3), HasTS: b[7]&4 != 0, MSS: uint16(b[6]),
			}
			if b[7]&8 != 0 {
				s.Seq = ^s.Seq // near the wrap
			}
			conns[k].Segments = append(conns[k].Segments, s)
		}
		var col health.Collector
		Compare(&Capture{Label: "a", Conns: conns[:1]}, &Capture{Label: "b", Conns: conns[1:]}, Config{MaxStartSkew: time.Duration(split) * time.Millisecond}, &col)
		for _, e := range col.Events {
			if !health.Known(e.Kind) || e.Frame <= 0 || e.Message == "" {
				t.Fatalf("bad event %+v", e)
			}
		}
	})
}
