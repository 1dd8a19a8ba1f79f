package smb

import (
	"bytes"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// seedPDUs returns the NBSS packets of the small test captures.
func seedPDUs(f *testing.F) [][]byte {
	paths, _ := filepath.Glob("../testdata/smb/*.pcap")
	var out [][]byte
	for _, p := range paths {
		streams, err := testcap.ReadStreams(p)
		if err != nil {
			continue
		}
		for _, s := range streams {
			for _, dir := range []bool{true, false} {
				b := s.Bytes(dir)
				for len(b) > 0 && len(out) < 400 {
					pdu, rest, err := ParseNBSS(b)
					if err != nil {
						break
					}
					if len(pdu.Payload) < 2048 {
						out = append(out, b[:len(b)-len(rest)])
					}
					b = rest
				}
			}
		}
	}
	return out
}

func FuzzParseNBSS(f *testing.F) {
	for _, p := range seedPDUs(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, rest, err := ParseNBSS(b)
		if err != nil {
			if len(rest) != len(b) {
				t.Fatalf("error but consumed bytes")
			}
			return
		}
		used := b[:len(b)-len(rest)]
		p2, rest2, err := ParseNBSS(used)
		if err != nil || len(rest2) != 0 || !reflect.DeepEqual(p, p2) {
			t.Fatalf("re-parse of consumed bytes differs: %v %+v %+v", err, p, p2)
		}
		if p.Type == NBSSRequest {
			ParseSessionRequest(p.Payload)
		}
	})
}

func FuzzParseSMB1(f *testing.F) {
	for _, p := range seedPDUs(f) {
		if len(p) > 8 && p[4] == 0xff {
			f.Add(p[4:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, blocks, err := ParseSMB1(b, 16)
		if len(blocks) > 16 {
			t.Fatalf("%d blocks beyond the AndX cap", len(blocks))
		}
		if err == nil {
			h2, blocks2, err2 := ParseSMB1(b, 16)
			if err2 != nil || h != h2 || len(blocks) != len(blocks2) {
				t.Fatalf("not deterministic")
			}
		}
	})
}

func FuzzParseSMB2(f *testing.F) {
	for _, p := range seedPDUs(f) {
		if len(p) > 8 && p[4] == 0xfe {
			f.Add(p[4:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for i := 0; i < 64 && len(b) > 0; i++ {
			h, rest, err := ParseHeader2(b)
			if err != nil {
				return
			}
			if len(rest) != len(b)-64 {
				t.Fatalf("header consumed %d bytes", len(b)-len(rest))
			}
			msg := b
			if h.NextCommand >= 64 && int(h.NextCommand) <= len(b) {
				msg = b[:h.NextCommand]
			}
			body, err := ParseBody2(h, msg)
			if err == nil {
				for _, s := range [][]byte{body.Data, body.Input, body.Output, body.SecurityBlob} {
					if len(s) > len(msg) {
						t.Fatalf("slice longer than the message")
					}
				}
				if len(body.SecurityBlob) > 0 {
					FindNTLM(body.SecurityBlob)
					SecurityMech(body.SecurityBlob)
				}
			}
			if h.NextCommand < 64 || int(h.NextCommand) > len(b) {
				return
			}
			b = b[h.NextCommand:]
		}
	})
}

func FuzzParseNTLM(f *testing.F) {
	f.Add(ntlmAuth())
	for _, p := range seedPDUs(f) {
		if i := bytes.Index(p, ntlmSignature); i >= 0 {
			f.Add(p[i:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseNTLM(b)
		if err != nil {
			return
		}
		m2, err := ParseNTLM(b)
		if err != nil || m != m2 {
			t.Fatalf("not deterministic")
		}
		for _, s := range []string{m.User, m.Domain, m.Workstation, m.TargetName} {
			if len(s) > 4*maxNameBytes {
				t.Fatalf("name of %d bytes", len(s))
			}
		}
	})
}

// FuzzConn feeds arbitrary bytes to a Conn in chunks, with a gap, in both
// directions: it must not panic.
func FuzzConn(f *testing.F) {
	for i, p := range seedPDUs(f) {
		if i%8 == 0 {
			f.Add(p, uint8(3), uint16(0))
		}
	}
	f.Add(nbssWrap(msg2(SMB2Read, 1, false, 0, 0, readReq2(FileID{1, 2}, 0, 10))), uint8(1), uint16(5))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8, gapAt uint16) {
		col := &health.Collector{KeepMessages: true}
		cfg := DefaultConfig()
		cfg.Limits = Limits{MaxPending: 4, MaxFiles: 2, MaxTrees: 2}
		c := NewConn(&tcpstate.StreamContext{Reporter: col, Flow: "fuzz"}, cfg)
		n := int(chunk)%64 + 1
		for i := 0; i < len(b); i += n {
			end := min(i+n, len(b))
			dir := tcpstate.Dir((i / n) % 2)
			if i == int(gapAt) {
				c.Gap(dir, 10, tcpstate.Position{Frame: int64(i)})
			}
			c.Feed(dir, b[i:end], tcpstate.Position{Frame: int64(i + 1)})
			c.Feed(tcpstate.ClientToServer, b[i:end], tcpstate.Position{Frame: int64(i + 1)})
		}
		if len(c.pending) > c.lim.MaxPending || len(c.files) > c.lim.MaxFiles || len(c.trees) > c.lim.MaxTrees ||
			len(c.half[0].buf) > c.lim.MaxBuffered || len(c.half[1].buf) > c.lim.MaxBuffered {
			t.Fatalf("a cap was exceeded: pending %d files %d trees %d buffers %d/%d",
				len(c.pending), len(c.files), len(c.trees), len(c.half[0].buf), len(c.half[1].buf))
		}
		c.Close(tcpstate.CloseEndOfCapture, tcpstate.Position{Frame: int64(len(b))})
		c.Stats()
	})
}

// FuzzFileInfoNames: the [MS-FSCC] name readers never panic, never return
// more names than asked, and a listing's entries are at least its names.
func FuzzFileInfoNames(f *testing.F) {
	entry := make([]byte, 104)
	entry[60] = 4
	f.Add(append(entry, 'a', 0, 'b', 0), uint8(37))
	f.Add(append(make([]byte, 96), 2, 0, 0, 0, 'x', 0), uint8(18))
	f.Fuzz(func(t *testing.T, buf []byte, class uint8) {
		names, total, _ := DirectoryNames(buf, class, 3)
		if len(names) > 3 || total < len(names) {
			t.Fatalf("%d names, %d entries", len(names), total)
		}
		_, _ = InfoFileName(buf, 1, class)
	})
}
