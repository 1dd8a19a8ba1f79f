package tls

import (
	"testing"

	"github.com/nettrace/nettrace/tcpstate"
)

type discardHandler struct{ n int }

func (d *discardHandler) Feed(_ tcpstate.Dir, b []byte, _ tcpstate.Position) { d.n += len(b) }
func (d *discardHandler) Gap(tcpstate.Dir, int, tcpstate.Position)           {}
func (d *discardHandler) Close(tcpstate.CloseReason, tcpstate.Position)      {}

// BenchmarkDecryptAESGCM measures TLS 1.3 AES-128-GCM application-data
// decryption through Conn: 16 KiB records fed in 1448-byte segments, as
// from a TCP stream. Bytes/op is plaintext.
func BenchmarkDecryptAESGCM(b *testing.B) {
	for _, tc := range []struct {
		name  string
		suite uint16
		seg   int
	}{
		{"TLS13-AES128GCM-seg1448", 0x1301, 1448},
		{"TLS13-AES128GCM-seg64K", 0x1301, 65536},
		{"TLS13-AES256GCM-seg64K", 0x1302, 65536},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := suites[tc.suite]
			secret := make([]byte, s.prf.size())
			h := s.prf.new()
			plain := make([]byte, 1<<14)
			const records = 64
			var stream []byte
			for i := 0; i < records; i++ {
				stream = append(stream, seal13(b, h, secret, s.keyLen, uint64(i), TypeApplicationData, plain)...)
			}
			sink := &discardHandler{}
			cfg := DefaultConfig()
			cfg.Plaintext = func(*tcpstate.StreamContext) tcpstate.StreamHandler { return sink }
			b.SetBytes(int64(records * len(plain)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c := NewConn(&tcpstate.StreamContext{}, cfg)
				c.version = VersionTLS13
				c.suite = s
				c.half[1].encrypted = true
				c.half[1].finished = true
				c.half[1].dec, _ = newHalf13(s, secret, labelServerTraffic0)
				for off := 0; off < len(stream); off += tc.seg {
					end := min(off+tc.seg, len(stream))
					c.Feed(tcpstate.ServerToClient, stream[off:end], tcpstate.Position{})
				}
			}
			if sink.n != b.N*records*len(plain) {
				b.Fatalf("decrypted %d bytes, want %d", sink.n, b.N*records*len(plain))
			}
		})
	}
}

// BenchmarkRawAESGCMOpen is the baseline: crypto/cipher AES-128-GCM Open of
// 16 KiB records with no record layer around it.
func BenchmarkRawAESGCMOpen(b *testing.B) {
	a, _ := newAEAD(suites[0x1301], make([]byte, 16))
	nonce := make([]byte, 12)
	plain := make([]byte, 1<<14)
	ct := a.Seal(nil, nonce, plain, nil)
	dst := make([]byte, 0, len(plain))
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := a.Open(dst[:0], nonce, ct, nil); err != nil {
			b.Fatal(err)
		}
	}
}
