package nettrace_test

import (
	"bytes"
	gotls "crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
)

// stuckCase is a protocol whose connections can be left in the middle of
// a message: stuck is the start of a message that never completes, whole
// a complete one that the decoder turns into a message.
type stuckCase struct {
	proto        string
	port         uint16
	stuck, whole func() []byte
}

var stuckCases = []stuckCase{
	{nettrace.ProtoTDS, 1433, stuckTDS, wholeTDS},
	{nettrace.ProtoSMB, 445, stuckSMB, wholeSMB},
	{nettrace.ProtoDCERPC, 135, stuckRPC, wholeRPC},
	{nettrace.ProtoTLS, 443, stuckTLS, wholeTLS},
	{nettrace.ProtoHTTP, 80, stuckHTTP, wholeHTTP},
}

// stuckCapture writes n connections that each send the start of a message
// and stop there (never closed), then one connection that sends a whole
// message.
func stuckCapture(c stuckCase, n int) []byte {
	b := testcap.NewBuilder(0)
	for i := range n {
		v := b.Conv(fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), "10.0.0.2", uint16(20000+i%40000), c.port, 1000, 5000)
		v.Handshake()
		v.Send(true, c.stuck(), 1400)
	}
	v := b.Conv("10.9.9.9", "10.0.0.2", 61000, c.port, 1000, 5000)
	v.Handshake()
	v.Send(true, c.whole(), 1400)
	v.Fin()
	return b.Buf.Bytes()
}

// TestMemoryBudgetHoldsStuckConnections: thousands of connections each
// stuck in the middle of a message hold more than the budget together.
// The decoders' bytes never go above it, the buffered state of the
// quietest connections is shed and said once (memory.shed), and a healthy
// connection that comes after them is still decoded. Without a tight
// budget the same capture holds far more: the accounting counts the
// bytes the decoders really buffer.
func TestMemoryBudgetHoldsStuckConnections(t *testing.T) {
	const n = 1500
	for _, c := range stuckCases {
		t.Run(c.proto, func(t *testing.T) {
			capture := stuckCapture(c, n)
			loose, _ := analyzeStuck(t, capture, 0)
			if loose.Memory.Sheds != 0 || loose.Memory.HighWater < int64(n)*int64(len(c.stuck()))/2 {
				t.Fatalf("default budget: %+v; want no shed and at least half of the %d stuck bytes counted", loose.Memory, n*len(c.stuck()))
			}
			const budget = 4 << 20
			rep, col := analyzeStuck(t, capture, budget)
			m := rep.Memory
			if m.Budget != budget*3/4 || m.HighWater > m.Budget || m.HighWater < m.Budget/2 {
				t.Errorf("budget %d (want %d), high-water %d: want at most the budget and most of it used", m.Budget, budget*3/4, m.HighWater)
			}
			if m.Sheds == 0 || m.ShedConns < n/4 || m.ByDecoder[c.proto] == 0 {
				t.Errorf("memory use %+v: want sheds of %s connections", m, c.proto)
			}
			shed := col.OfKind(health.MemoryShed)
			if len(shed) != 1 || shed[0].Severity != health.Notice || shed[0].Evidence["connections"] != m.ShedConns {
				t.Errorf("memory.shed events %+v, want one notice naming %d connections", shed, m.ShedConns)
			}
			if !decodedLast(col, c.proto) {
				t.Errorf("the healthy connection after the stuck ones was not decoded by %s", c.proto)
			}
		})
	}
}

func analyzeStuck(t *testing.T, capture []byte, budget int64) (*nettrace.Report, *health.Collector) {
	t.Helper()
	col := &health.Collector{KeepMessages: true}
	a, err := nettrace.New(nettrace.Options{Reporter: col, Messages: true, MemoryBudget: budget, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("stuck", bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	return rep, col
}

// decodedLast reports whether the last connection (client 10.9.9.9) got a
// message from proto (SMB's messages say smb1 or smb2).
func decodedLast(col *health.Collector, proto string) bool {
	for _, m := range col.Messages {
		if strings.HasPrefix(m.Proto, proto) && strings.Contains(m.Flow, "10.9.9.9") {
			return true
		}
	}
	return false
}

// tdsPkt is a TDS packet header ([MS-TDS] 2.2.3) and payload.
func tdsPkt(typ, status byte, payload []byte) []byte {
	h := []byte{typ, status, 0, 0, 0, 0, 1, 0}
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(payload)))
	return append(h, payload...)
}

// stuckTDS is three packets of a SQL batch whose last packet never comes.
func stuckTDS() []byte {
	var out []byte
	for range 3 {
		out = append(out, tdsPkt(0x01, 0x00, bytes.Repeat([]byte{'x', 0}, 2048))...)
	}
	return out
}

// wholeTDS is a SQL batch in one packet: ALL_HEADERS with a transaction
// descriptor, then the text in UTF-16LE.
func wholeTDS() []byte {
	p := []byte{22, 0, 0, 0, 18, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0}
	for _, u := range utf16.Encode([]rune("select 1")) {
		p = binary.LittleEndian.AppendUint16(p, u)
	}
	return tdsPkt(0x01, 0x01, p)
}

// smb2Header is an SMB2 header ([MS-SMB2] 2.2.1) for command cmd.
func smb2Header(cmd uint16, msgID uint64) []byte {
	h := make([]byte, 64)
	copy(h, "\xfeSMB")
	binary.LittleEndian.PutUint16(h[4:], 64)
	binary.LittleEndian.PutUint16(h[12:], cmd)
	binary.LittleEndian.PutUint64(h[24:], msgID)
	return h
}

func nbss(pdu []byte) []byte {
	return append([]byte{0, byte(len(pdu) >> 16), byte(len(pdu) >> 8), byte(len(pdu))}, pdu...)
}

// stuckSMB is the first 6000 bytes of a 64 KiB SMB2 WRITE.
func stuckSMB() []byte {
	body := make([]byte, 48)
	binary.LittleEndian.PutUint16(body, 49)
	binary.LittleEndian.PutUint16(body[2:], 64+48)
	binary.LittleEndian.PutUint32(body[4:], 65536)
	pdu := append(smb2Header(9, 5), body...)
	pdu = append(pdu, make([]byte, 65536)...)
	return nbss(pdu)[:6000]
}

// wholeSMB is an SMB2 NEGOTIATE request offering SMB 2.1 and 3.0.
func wholeSMB() []byte {
	body := make([]byte, 36)
	binary.LittleEndian.PutUint16(body, 36)
	binary.LittleEndian.PutUint16(body[2:], 2)
	body = binary.LittleEndian.AppendUint16(body, 0x0210)
	body = binary.LittleEndian.AppendUint16(body, 0x0300)
	return nbss(append(smb2Header(0, 0), body...))
}

// rpcHeader is a connection-oriented DCE/RPC header (C706 12.6.3.1).
func rpcHeader(ptype byte, fragLen int, callID uint32) []byte {
	h := []byte{5, 0, ptype, 3, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint16(h[8:], uint16(fragLen))
	binary.LittleEndian.PutUint32(h[12:], callID)
	return h
}

// stuckRPC is the first 4000 bytes of a 5000-byte request.
func stuckRPC() []byte {
	p := rpcHeader(0, 5000, 7)
	p = append(p, 4976&0xff, 4976>>8, 0, 0, 0, 0, 3, 0) // alloc_hint, ctx_id 0, opnum 3
	return append(p, make([]byte, 4000-len(p))...)
}

// wholeRPC is a bind to the endpoint mapper with NDR.
func wholeRPC() []byte {
	epm := []byte{0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d, 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00, 0x2b, 0x14, 0xa0, 0xfa, 3, 0, 0, 0}
	ndr := []byte{0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, 2, 0, 0, 0}
	body := []byte{0xb8, 0x10, 0xb8, 0x10, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0}
	body = append(append(body, epm...), ndr...)
	return append(rpcHeader(11, 16+len(body), 1), body...)
}

// stuckTLS is the first 8000 bytes of a 16,000-byte handshake record.
func stuckTLS() []byte {
	rec := []byte{22, 3, 1, 0x3e, 0x80}
	return append(rec, make([]byte, 8000-len(rec))...)
}

// wholeTLS is the first flight of Go's TLS client: its ClientHello record.
func wholeTLS() []byte {
	cli, srv := net.Pipe()
	go func() {
		c := gotls.Client(cli, &gotls.Config{ServerName: "stuck.example", InsecureSkipVerify: true})
		_ = c.Handshake() // fails when the pipe closes
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(srv, hdr); err != nil {
		panic(err)
	}
	rec := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(srv, rec); err != nil {
		panic(err)
	}
	srv.Close()
	return append(hdr, rec...)
}

// stuckHTTP is an upload whose gzip body stops after 8000 of its 100,000
// bytes: the decoder buffers a compressed body to decode it at its end.
func stuckHTTP() []byte {
	head := "POST /upload HTTP/1.1\r\nHost: stuck.example\r\nContent-Encoding: gzip\r\nContent-Length: 100000\r\n\r\n"
	return append([]byte(head), bytes.Repeat([]byte{0x1f}, 8000)...)
}

// wholeHTTP is a GET request.
func wholeHTTP() []byte { return []byte("GET / HTTP/1.1\r\nHost: stuck.example\r\n\r\n") }
