package adversary

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nettrace/nettrace/internal/testcap"
)

// pcapng writes little-endian pcapng blocks (draft-ietf-opsawg-pcapng).
type pcapng struct{ b []byte }

func (p *pcapng) block(typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	p.b = le.AppendUint32(p.b, typ)
	p.b = le.AppendUint32(p.b, n)
	p.b = append(p.b, body...)
	p.b = le.AppendUint32(p.b, n)
}

// header writes a Section Header Block (4.1) and one Ethernet Interface
// Description Block (4.2) with microsecond timestamps.
func (p *pcapng) header() {
	p.block(0x0a0d0d0a, []byte{0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255})
	p.block(1, []byte{1, 0, 0, 0, 0, 0, 0, 0})
}

// secrets writes a Decryption Secrets Block (4.7) holding a TLS key log.
func (p *pcapng) secrets(text string) {
	body := le.AppendUint32(nil, 0x544c534b) // "TLSK"
	body = le.AppendUint32(body, uint32(len(text)))
	p.block(0x0a, append(body, text...))
}

// packet writes an Enhanced Packet Block (4.3).
func (p *pcapng) packet(at time.Time, frame []byte) {
	us := uint64(at.UnixMicro())
	body := le.AppendUint32(nil, 0)
	body = le.AppendUint32(body, uint32(us>>32))
	body = le.AppendUint32(body, uint32(us))
	body = le.AppendUint32(body, uint32(len(frame)))
	body = le.AppendUint32(body, uint32(len(frame)))
	p.block(6, append(body, frame...))
}

// KeyLogLine is a well-formed CLIENT_RANDOM line for client random byte i
// (with made-up secrets).
func KeyLogLine(i byte) string {
	return fmt.Sprintf("CLIENT_RANDOM %s %s\n", strings.Repeat(fmt.Sprintf("%02x", i), 32), strings.Repeat("cd", 48))
}

// KeyLogGarbage returns a key log of one good line, n garbage lines and a
// half-written last line (n+1 lines to skip).
func KeyLogGarbage(n int) string {
	var s strings.Builder
	s.WriteString(KeyLogLine(1))
	for i := range n {
		fmt.Fprintf(&s, "garbage line %d\n", i)
	}
	s.WriteString(KeyLogLine(2)[:40])
	return s.String()
}

// somePackets writes a few TCP frames after the secrets.
func (p *pcapng) somePackets() {
	b := testcap.NewBuilder(0)
	at := b.Now
	for i := range 3 {
		p.packet(at.Add(time.Duration(i)*time.Millisecond),
			b.TCPFrame([]byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, 40000, 443, uint32(i), 0, "A", nil))
	}
}

// DSBGarbage writes a pcapng whose Decryption Secrets Block holds
// KeyLogGarbage(n), followed by three packets.
func DSBGarbage(w io.Writer, n int) error {
	var p pcapng
	p.header()
	p.secrets(KeyLogGarbage(n))
	p.somePackets()
	_, err := w.Write(p.b)
	return err
}

// DSBOversize writes a pcapng with Decryption Secrets Blocks of 1 MiB of
// good key-log lines each, n of them, a packet between each (so that the
// secrets beyond 8 MiB arrive at a known frame).
func DSBOversize(w io.Writer, n int) error {
	var line strings.Builder
	for line.Len() < 1<<20-200 {
		line.WriteString(KeyLogLine(byte(line.Len())))
	}
	var p pcapng
	p.header()
	b := testcap.NewBuilder(0)
	for i := range n {
		p.secrets(line.String())
		p.packet(b.Now.Add(time.Duration(i)*time.Millisecond),
			b.TCPFrame([]byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, 40000, 443, uint32(i), 0, "A", nil))
	}
	_, err := w.Write(p.b)
	return err
}
