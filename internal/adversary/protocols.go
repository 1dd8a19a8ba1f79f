package adversary

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/nettrace/nettrace/internal/testcap"
)

var le = binary.LittleEndian

// nbss frames p as one NetBIOS session message (RFC 1002, 4.3.1).
func nbss(p []byte) []byte {
	return append([]byte{0, byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p))}, p...)
}

// smb2Echo is an SMB2 ECHO request ([MS-SMB2] 2.2.28) with message id id.
func smb2Echo(id uint64) []byte {
	b := make([]byte, 68)
	copy(b, "\xfeSMB")
	le.PutUint16(b[4:], 64)
	le.PutUint16(b[12:], 0x0d) // ECHO
	le.PutUint64(b[24:], id)
	le.PutUint16(b[64:], 4)
	return b
}

// smb1 is an SMB1 header ([MS-CIFS] 2.2.3.1) for command cmd and a block.
func smb1(cmd byte, resp bool, mid uint16, block []byte) []byte {
	b := []byte{0xff, 'S', 'M', 'B', cmd, 0, 0, 0, 0, 0x18}
	if resp {
		b[9] |= 0x80
	}
	b = le.AppendUint16(b, 0xc843) // Unicode, NT status, extended security, long names
	b = append(b, make([]byte, 12)...)
	b = le.AppendUint16(b, 1)      // TID
	b = le.AppendUint16(b, 0xfeff) // PID
	b = le.AppendUint16(b, 100)    // UID
	b = le.AppendUint16(b, mid)
	return append(b, block...)
}

// SMBPending writes one connection to port 445 carrying n SMB2 ECHO
// requests, none answered (the server only acknowledges).
func SMBPending(b *testcap.Builder, n int) {
	v := b.Conv("10.1.0.1", "10.1.0.2", 50000, 445, 1, 1)
	v.Handshake()
	var batch []byte
	for i := range n {
		batch = append(batch, nbss(smb2Echo(uint64(i)))...)
		if len(batch) > 1300 || i == n-1 {
			v.Send(true, batch, 1460)
			batch = batch[:0]
		}
	}
	v.Fin()
}

// AndXLoop writes n SMB1 LOGOFF_ANDX exchanges ([MS-CIFS] 2.2.4.54) whose
// AndX chains loop: the request's AndXOffset points at its own block, the
// (successful) response's at offset 0, the SMB header.
func AndXLoop(b *testcap.Builder, n int) {
	v := b.Conv("10.1.0.3", "10.1.0.4", 50001, 445, 1, 1)
	v.Handshake()
	for i := range n {
		// WordCount 2: AndXCommand LOGOFF_ANDX, reserved, AndXOffset; ByteCount 0.
		req := smb1(0x74, false, uint16(i), []byte{2, 0x74, 0, 32, 0, 0, 0})
		resp := smb1(0x74, true, uint16(i), []byte{2, 0x74, 0, 0, 0, 0, 0})
		v.Send(true, nbss(req), 1460)
		v.Send(false, nbss(resp), 1460)
	}
	v.Fin()
}

// NBSSCutByFIN writes an SMB2 connection whose one NBSS message declares
// n+64 bytes but whose client sends only its first 64 before FIN.
func NBSSCutByFIN(b *testcap.Builder, n int) {
	v := b.Conv("10.1.0.5", "10.1.0.6", 50002, 445, 1, 1)
	v.Handshake()
	m := smb2Echo(1)
	hdr := []byte{0, byte((n + 64) >> 16), byte((n + 64) >> 8), byte(n + 64)}
	v.Send(true, append(hdr, m[:64]...), 1460)
	v.Fin()
}

// tdsPacket is a TDS packet header ([MS-TDS] 2.2.3.1) and payload.
func tdsPacket(typ, status byte, id byte, payload []byte) []byte {
	n := 8 + len(payload)
	return append([]byte{typ, status, byte(n >> 8), byte(n), 0, 0, id, 0}, payload...)
}

// StuckTDS writes a TDS connection to port 1433 whose client sends an SQL
// batch ([MS-TDS] 2.2.6.7) in n packets, none with the EOM status bit, and
// then closes.
func StuckTDS(b *testcap.Builder, n int) {
	v := b.Conv("10.1.0.7", "10.1.0.8", 50003, 1433, 1, 1)
	v.Handshake()
	text := []byte("S\x00E\x00L\x00E\x00C\x00T\x00 \x001\x00")
	hdrs := []byte{22, 0, 0, 0, 18, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0} // ALL_HEADERS: transaction descriptor
	for i := range n {
		p := text
		if i == 0 {
			p = append(append([]byte(nil), hdrs...), text...)
		}
		v.Send(true, tdsPacket(0x01, 0x00, byte(i+1), p), 1460)
	}
	v.Fin()
}

// HTTPBomb writes one HTTP exchange on port 80 whose response body is
// ZeroBomb(coding, mib).
func HTTPBomb(b *testcap.Builder, coding string, mib int) {
	body := ZeroBomb(coding, mib)
	v := b.Conv("10.1.0.9", "10.1.0.10", 50004, 80, 1, 1)
	v.Handshake()
	v.Send(true, []byte("GET /bomb HTTP/1.1\r\nHost: a\r\n\r\n"), 1460)
	v.Send(false, fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n", coding, len(body)), 1460)
	v.Send(false, body, 1460)
	v.Fin()
}

// ZeroBomb returns a gzip (RFC 1952) or zlib "deflate" (RFC 1950) body
// that inflates to mib MiB of zeros, about 1011:1, made without
// compressing mib MiB: the compressor's output for each further MiB of
// zeros is the same bytes once its window is full of zeros (checked here),
// so they are repeated.
func ZeroBomb(coding string, mib int) []byte {
	mib = max(mib, 4)
	var out bytes.Buffer
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	zeros := make([]byte, 1<<20)
	var ends [4]int
	for i := range ends {
		w.Write(zeros)
		w.Flush()
		ends[i] = out.Len()
	}
	head, steady := out.Bytes()[:ends[1]], out.Bytes()[ends[1]:ends[2]]
	if !bytes.Equal(steady, out.Bytes()[ends[2]:ends[3]]) {
		panic("adversary: deflate output of zeros is not periodic")
	}
	stream := append([]byte(nil), head...)
	for range mib - 2 {
		stream = append(stream, steady...)
	}
	stream = append(stream, 3, 0) // a final empty fixed-Huffman block
	return wrap(coding, stream, int64(mib)<<20)
}

// wrap puts a raw deflate stream of n zeros in its gzip or zlib wrapper.
func wrap(coding string, stream []byte, n int64) []byte {
	if coding == "gzip" {
		b := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255}
		b = append(b, stream...)
		crc := uint32(0)
		zeros := make([]byte, 1<<20)
		for range n >> 20 {
			crc = crc32.Update(crc, crc32.IEEETable, zeros)
		}
		b = le.AppendUint32(b, crc)
		return le.AppendUint32(b, uint32(n))
	}
	b := append([]byte{0x78, 0xda}, stream...)
	adler := uint32(n%65521)<<16 | 1 // Adler-32 of n zeros: A stays 1, B adds 1 per byte
	return binary.BigEndian.AppendUint32(b, adler)
}
