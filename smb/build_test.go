package smb

import (
	"encoding/binary"
	"time"
	"unicode/utf16"

	"github.com/nettrace/nettrace/tcpstate"
)

// Builders for synthetic SMB streams (tests only).

var le = binary.LittleEndian

func u16le(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = le.AppendUint16(b, r)
	}
	return b
}

// nbssWrap frames SMB messages (concatenated) in one NBSS session message.
func nbssWrap(msgs ...[]byte) []byte {
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	out := []byte{0, byte(n >> 16), byte(n >> 8), byte(n)}
	for _, m := range msgs {
		out = append(out, m...)
	}
	return out
}

// msg2 builds an SMB2 message: sync header + body.
func msg2(cmd Command2, id uint64, resp bool, st Status, tid uint32, body []byte) []byte {
	b := []byte{0xfe, 'S', 'M', 'B'}
	b = le.AppendUint16(b, 64)
	b = le.AppendUint16(b, 1) // credit charge
	b = le.AppendUint32(b, uint32(st))
	b = le.AppendUint16(b, uint16(cmd))
	b = le.AppendUint16(b, 1)
	var flags uint32
	if resp {
		flags |= Flags2Response
	}
	b = le.AppendUint32(b, flags)
	b = le.AppendUint32(b, 0) // next command
	b = le.AppendUint64(b, id)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, tid)
	b = le.AppendUint64(b, 0x1234)
	b = append(b, make([]byte, 16)...)
	return append(b, body...)
}

func treeConnectReq2(path string) []byte {
	p := u16le(path)
	b := le.AppendUint16(nil, 9)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 64+8)
	b = le.AppendUint16(b, uint16(len(p)))
	return append(b, p...)
}

func treeConnectResp2(shareType uint8) []byte {
	b := le.AppendUint16(nil, 16)
	b = append(b, shareType, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	return le.AppendUint32(b, 0x1f01ff)
}

func createReq2(name string) []byte {
	n := u16le(name)
	b := le.AppendUint16(nil, 57)
	b = append(b, 0, 0)
	b = le.AppendUint32(b, 2)
	b = append(b, make([]byte, 16)...)
	b = le.AppendUint32(b, 0x00120089) // desired access
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 7)
	b = le.AppendUint32(b, 1) // FILE_OPEN
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 64+56)
	b = le.AppendUint16(b, uint16(len(n)))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	return append(b, n...)
}

func createResp2(fid FileID, size uint64) []byte {
	b := le.AppendUint16(nil, 89)
	b = append(b, 0, 0)
	b = le.AppendUint32(b, 1)
	b = append(b, make([]byte, 32)...)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, size)
	b = le.AppendUint32(b, 0x80)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint64(b, fid.Persistent)
	b = le.AppendUint64(b, fid.Volatile)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	return b
}

func readReq2(fid FileID, off uint64, n uint32) []byte {
	b := le.AppendUint16(nil, 49)
	b = append(b, 0x50, 0)
	b = le.AppendUint32(b, n)
	b = le.AppendUint64(b, off)
	b = le.AppendUint64(b, fid.Persistent)
	b = le.AppendUint64(b, fid.Volatile)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	return append(b, 0)
}

func readResp2(data []byte) []byte {
	b := le.AppendUint16(nil, 17)
	b = append(b, 0x50, 0)
	b = le.AppendUint32(b, uint32(len(data)))
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0)
	return append(b, data...)
}

func closeReq2(fid FileID) []byte {
	b := le.AppendUint16(nil, 24)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint64(b, fid.Persistent)
	return le.AppendUint64(b, fid.Volatile)
}

func closeResp2() []byte {
	b := le.AppendUint16(nil, 60)
	return append(b, make([]byte, 58)...)
}

// msg1 builds an SMB1 message (Unicode, NT status) from a header and a
// parameter/byte block.
func msg1(cmd Command1, mid uint16, resp bool, st Status, tid uint16, block []byte) []byte {
	b := []byte{0xff, 'S', 'M', 'B', byte(cmd)}
	b = le.AppendUint32(b, uint32(st))
	var flags uint8 = 0x18
	if resp {
		flags |= Flags1Reply
	}
	b = append(b, flags)
	b = le.AppendUint16(b, Flags2Unicode|Flags2NTStatus|Flags2ExtendedSecure)
	b = le.AppendUint16(b, 0)
	b = append(b, make([]byte, 10)...)
	b = le.AppendUint16(b, tid)
	b = le.AppendUint16(b, 0xfeff) // PID
	b = le.AppendUint16(b, 100)    // UID
	b = le.AppendUint16(b, mid)
	return append(b, block...)
}

func ntCreateReq1(name string) []byte {
	w := []byte{0xff, 0, 0, 0, 0}
	n := u16le(name)
	w = le.AppendUint16(w, uint16(len(n)))
	w = le.AppendUint32(w, 0)
	w = le.AppendUint32(w, 0)
	w = le.AppendUint32(w, 0x00020089)
	w = le.AppendUint64(w, 0)
	w = le.AppendUint32(w, 0)
	w = le.AppendUint32(w, 7)
	w = le.AppendUint32(w, 1)
	w = le.AppendUint32(w, 0)
	w = le.AppendUint32(w, 2)
	w = append(w, 0)
	b := append([]byte{24}, w...)
	bytes := append([]byte{0}, n...) // pad to even offset
	bytes = append(bytes, 0, 0)
	b = le.AppendUint16(b, uint16(len(bytes)))
	return append(b, bytes...)
}

func ntCreateResp1(fid uint16, size uint64) []byte {
	w := []byte{0xff, 0, 0, 0, 0}
	w = le.AppendUint16(w, fid)
	w = le.AppendUint32(w, 1)
	w = append(w, make([]byte, 32)...)
	w = le.AppendUint32(w, 0x80)
	w = le.AppendUint64(w, size)
	w = le.AppendUint64(w, size)
	w = le.AppendUint16(w, 0)
	w = le.AppendUint16(w, 0)
	w = append(w, 0)
	b := append([]byte{34}, w...)
	return le.AppendUint16(b, 0)
}

func readReq1(fid uint16, off uint32, n uint16) []byte {
	w := []byte{0xff, 0, 0, 0}
	w = le.AppendUint16(w, fid)
	w = le.AppendUint32(w, off)
	w = le.AppendUint16(w, n)
	w = le.AppendUint16(w, n)
	w = le.AppendUint32(w, 0)
	w = le.AppendUint16(w, 0)
	w = le.AppendUint32(w, 0)
	b := append([]byte{12}, w...)
	return le.AppendUint16(b, 0)
}

func readResp1(data []byte) []byte {
	w := []byte{0xff, 0, 0, 0}
	w = le.AppendUint16(w, 0xffff)
	w = le.AppendUint16(w, 0)
	w = le.AppendUint16(w, 0)
	w = le.AppendUint16(w, uint16(len(data)))
	w = le.AppendUint16(w, 32+1+24+2+1)
	w = le.AppendUint16(w, 0)
	w = append(w, make([]byte, 8)...)
	b := append([]byte{12}, w...)
	b = le.AppendUint16(b, uint16(len(data)+1))
	b = append(b, 0)
	return append(b, data...)
}

// synthStream is a scripted connection: deliveries in time order.
type delivery struct {
	dir  tcpstate.Dir
	data []byte
	at   tcpstate.Position
}

type script struct {
	t0    time.Time
	frame int64
	out   []delivery
}

// send appends data as segments of at most 1448 bytes, the first at t and
// the rest spaced by step.
func (s *script) send(dir tcpstate.Dir, data []byte, t time.Duration, step time.Duration) time.Duration {
	for len(data) > 0 {
		n := min(1448, len(data))
		s.frame++
		s.out = append(s.out, delivery{dir, data[:n], tcpstate.Position{Frame: s.frame, Time: s.t0.Add(t)}})
		data = data[n:]
		if len(data) > 0 {
			t += step
		}
	}
	return t
}

func (s *script) run(c *Conn, split splitter) {
	var last tcpstate.Position
	for _, d := range s.out {
		for _, ch := range split(d.data) {
			c.Feed(d.dir, ch, d.at)
		}
		last = d.at
	}
	c.Close(tcpstate.CloseEndOfCapture, last)
}
