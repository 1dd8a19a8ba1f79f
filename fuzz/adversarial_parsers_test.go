package fuzz

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"strconv"
	"testing"

	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tds"
	"github.com/nettrace/nettrace/tls"
)

// allocBound is the most a parser may allocate for n input bytes: a fixed
// multiple of the input plus a constant. A parser allocating from a
// declared length before the bytes exist breaks it at once (4 GB declared
// in a 16-byte input).
func allocBound(n int) uint64 { return 64*uint64(n) + 256<<10 }

// measure runs f and returns the bytes it allocated.
func measure(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// suffix reports whether rest is the tail of b (the parser consumed a
// prefix of the bytes it was given and returned the rest unchanged, not a
// copy, not bytes from elsewhere).
func suffix(b, rest []byte) bool {
	if len(rest) > len(b) {
		return false
	}
	if len(rest) == 0 {
		return true
	}
	return &b[len(b)-len(rest)] == &rest[0]
}

// parsers are the pure message parsers reachable through the public API,
// each returning the unconsumed rest (nil when the parser returns none).
var parsers = []struct {
	name  string
	parse func(b []byte) (rest []byte, err error)
}{
	{"tls.ParseRecord", func(b []byte) ([]byte, error) { _, r, err := tls.ParseRecord(b); return r, err }},
	{"tls.ParseHandshake", func(b []byte) ([]byte, error) { _, r, err := tls.ParseHandshake(b, 1<<16); return r, err }},
	{"tls.ParseClientHello", func(b []byte) ([]byte, error) { _, err := tls.ParseClientHello(b); return nil, err }},
	{"tls.ParseServerHello", func(b []byte) ([]byte, error) { _, err := tls.ParseServerHello(b); return nil, err }},
	{"tls.ParseCertificate", func(b []byte) ([]byte, error) {
		_, _, err := tls.ParseCertificate(b, tls.VersionTLS13, 8)
		return nil, err
	}},
	{"tls.ParseSSLv2ClientHello", func(b []byte) ([]byte, error) { _, r, err := tls.ParseSSLv2ClientHello(b); return r, err }},
	{"smb.ParseNBSS", func(b []byte) ([]byte, error) { _, r, err := smb.ParseNBSS(b); return r, err }},
	{"smb.ParseNTLM", func(b []byte) ([]byte, error) { _, err := smb.ParseNTLM(b); return nil, err }},
	{"smb.ParseSMB1", func(b []byte) ([]byte, error) { _, _, err := smb.ParseSMB1(b, 16); return nil, err }},
	{"smb.ParseHeader2+Body2", func(b []byte) ([]byte, error) {
		h, r, err := smb.ParseHeader2(b)
		if err == nil {
			_, err = smb.ParseBody2(h, b)
		}
		return r, err
	}},
	{"smb.ParseTransformHeader", func(b []byte) ([]byte, error) { _, r, err := smb.ParseTransformHeader(b); return r, err }},
	{"smb.ParseCompressionHeader", func(b []byte) ([]byte, error) { _, r, err := smb.ParseCompressionHeader(b); return r, err }},
	{"rpc.ParsePDU", func(b []byte) ([]byte, error) { _, r, err := rpc.ParsePDU(b); return r, err }},
	{"rpc.ParseCLHeader", func(b []byte) ([]byte, error) { _, r, err := rpc.ParseCLHeader(b); return r, err }},
	{"rpc.ParseTower", func(b []byte) ([]byte, error) { _, err := rpc.ParseTower(b); return nil, err }},
	{"rpc.ParseMapResponse", func(b []byte) ([]byte, error) {
		_, err := rpc.ParseMapResponse(b, rpc.DataRep{}, rpc.DefaultConfig().Limits.EPM)
		return nil, err
	}},
	{"rpc.ParseLookupResponse", func(b []byte) ([]byte, error) {
		_, err := rpc.ParseLookupResponse(b, rpc.DataRep{}, rpc.DefaultConfig().Limits.EPM)
		return nil, err
	}},
	{"tds.ParsePacket", func(b []byte) ([]byte, error) { _, r, err := tds.ParsePacket(b); return r, err }},
	{"tds.ParsePrelogin", func(b []byte) ([]byte, error) { _, r, err := tds.ParsePrelogin(b); return r, err }},
	{"tds.ParseLogin7", func(b []byte) ([]byte, error) { _, r, err := tds.ParseLogin7(b); return r, err }},
	{"tds.ParseSQLBatch", func(b []byte) ([]byte, error) { _, r, err := tds.ParseSQLBatch(b, 4096); return r, err }},
	{"tds.ParseRPC", func(b []byte) ([]byte, error) { _, r, err := tds.ParseRPC(b, 64, 4096); return r, err }},
	{"tds.ParseSSRP", func(b []byte) ([]byte, error) { _, r, err := tds.ParseSSRP(b); return r, err }},
	{"tds.ParseToken", func(b []byte) ([]byte, error) {
		ctx := tds.TokenContext{MaxColumns: 64}
		_, r, err := tds.ParseToken(b, &ctx)
		return r, err
	}},
	{"layers.ParseDNS", func(b []byte) ([]byte, error) { _, err := layers.ParseDNS(b); return nil, err }},
	{"layers.ParseICMP", func(b []byte) ([]byte, error) { var h layers.ICMPHeader; return nil, layers.ParseICMP(b, false, &h) }},
	{"http.ParseRequestLine", func(b []byte) ([]byte, error) { _, err := http.ParseRequestLine(b); return nil, err }},
	{"http.ParseChunkSize", func(b []byte) ([]byte, error) { _, err := http.ParseChunkSize(b); return nil, err }},
}

// FuzzParsersBounded runs one public parser (chosen by sel) over b: it must
// not panic, must return as rest a tail of b, and must allocate at most
// allocBound(len(b)) — however large the lengths the bytes declare.
func FuzzParsersBounded(f *testing.F) {
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	for i := range parsers {
		f.Add(uint8(i), []byte{})
		f.Add(uint8(i), huge)
		f.Add(uint8(i), append([]byte{0x16, 3, 3, 0x40, 0}, huge...))
		f.Add(uint8(i), append([]byte{0, 0xff, 0xff, 0xff, 0xfe, 'S', 'M', 'B', 64, 0}, huge...))
		f.Add(uint8(i), append([]byte{5, 0, 2, 3, 0x10, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}, huge...))
		f.Add(uint8(i), append([]byte{0x10, 1, 0xff, 0xff, 0, 0, 1, 0}, huge...))
	}
	f.Fuzz(func(t *testing.T, sel uint8, b []byte) {
		p := parsers[int(sel)%len(parsers)]
		in := bytes.Clone(b)
		var rest []byte
		alloc := measure(func() { rest, _ = p.parse(b) })
		if !suffix(b, rest) {
			t.Fatalf("%s returned %d bytes that are not the tail of its %d-byte input", p.name, len(rest), len(b))
		}
		if !bytes.Equal(in, b) {
			t.Fatalf("%s modified its input", p.name)
		}
		if alloc > allocBound(len(b)) {
			t.Fatalf("%s allocated %d bytes for %d input bytes (bound %d)", p.name, alloc, len(b), allocBound(len(b)))
		}
	})
}

// FuzzRoundTrip checks decode(encode(x)) == x where a canonical form
// exists: TLS record and NBSS and TDS framing (header re-encoded from the
// parsed fields equals the consumed bytes), UUIDs (text and wire), and
// HTTP chunk sizes.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{0x16, 3, 1, 0, 2, 1, 2}, uint64(0x1f))
	f.Add([]byte{0, 0, 0, 3, 0xfe, 'S', 'M'}, uint64(1<<40))
	f.Add([]byte{0x12, 1, 0, 9, 0, 0, 1, 0, 0xff}, uint64(0))
	f.Fuzz(func(t *testing.T, b []byte, n uint64) {
		if rec, rest, err := tls.ParseRecord(b); err == nil {
			enc := append([]byte{byte(rec.Type), byte(rec.Version >> 8), byte(rec.Version)}, be16(len(rec.Fragment))...)
			enc = append(enc, rec.Fragment...)
			if consumed := b[:len(b)-len(rest)]; !bytes.Equal(enc, consumed) {
				t.Fatalf("TLS record re-encodes to % x, consumed % x", enc, consumed)
			}
		}
		if m, rest, err := smb.ParseNBSS(b); err == nil {
			l := len(m.Payload)
			enc := append([]byte{byte(m.Type), byte(l >> 16), byte(l >> 8), byte(l)}, m.Payload...)
			if consumed := b[:len(b)-len(rest)]; !bytes.Equal(enc[1:], consumed[1:]) || m.Length != l {
				t.Fatalf("NBSS re-encodes to % x, consumed % x", enc, consumed)
			}
		}
		if p, rest, err := tds.ParsePacket(b); err == nil {
			h := p.Header
			enc := []byte{byte(h.Type), byte(h.Status), byte(h.Length >> 8), byte(h.Length), byte(h.SPID >> 8), byte(h.SPID), h.PacketID, h.Window}
			consumed := b[:len(b)-len(rest)]
			if !bytes.Equal(enc, consumed[:min(8, len(consumed))]) || int(h.Length) != len(consumed) {
				t.Fatalf("TDS header re-encodes to % x, consumed %d bytes % x", enc, len(consumed), consumed[:min(8, len(consumed))])
			}
		}
		if len(b) >= 16 {
			var u rpc.UUID
			copy(u[:], b[:16])
			if v, err := rpc.ParseUUID(u.String()); err != nil || v != u {
				t.Fatalf("UUID %s: ParseUUID gives %v, %v", u, v, err)
			}
			for _, big := range []bool{false, true} {
				w := u.AppendWire(nil, big)
				if len(w) != 16 {
					t.Fatalf("UUID wire form has %d bytes", len(w))
				}
				if big && !bytes.Equal(w, u[:]) && !bytes.Equal(wireSwap(w), u[:]) {
					t.Fatalf("UUID %s big-endian wire form % x", u, w)
				}
			}
		}
		n &= 1<<60 - 1
		if got, err := http.ParseChunkSize([]byte(strconv.FormatUint(n, 16))); err == nil && uint64(got) != n {
			t.Fatalf("chunk size %x parses as %x", n, got)
		}
	})
}

// wireSwap converts a UUID between its little-endian wire form and the
// byte order of its text form (first three fields swapped).
func wireSwap(w []byte) []byte {
	o := bytes.Clone(w)
	binary.BigEndian.PutUint32(o[0:], binary.LittleEndian.Uint32(w[0:]))
	binary.BigEndian.PutUint16(o[4:], binary.LittleEndian.Uint16(w[4:]))
	binary.BigEndian.PutUint16(o[6:], binary.LittleEndian.Uint16(w[6:]))
	return o
}

func be16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
