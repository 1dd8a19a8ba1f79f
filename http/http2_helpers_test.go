package http

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2/hpack"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// rawFrame returns an HTTP/2 frame (RFC 9113, 4.1) with payload p.
func rawFrame(t FrameType, f Flags, stream uint32, p string) string {
	var h [FrameHeaderLen]byte
	h[0], h[1], h[2] = byte(len(p)>>16), byte(len(p)>>8), byte(len(p))
	h[3], h[4] = byte(t), byte(f)
	binary.BigEndian.PutUint32(h[5:], stream)
	return string(h[:]) + p
}

func u32(v uint32) string { return string(binary.BigEndian.AppendUint32(nil, v)) }

// settingsFrame returns a SETTINGS frame of id, value pairs.
func settingsFrame(pairs ...uint32) string {
	var p []byte
	for i := 0; i+1 < len(pairs); i += 2 {
		p = binary.BigEndian.AppendUint16(p, uint16(pairs[i]))
		p = binary.BigEndian.AppendUint32(p, pairs[i+1])
	}
	return rawFrame(FrameSettings, 0, 0, string(p))
}

var settingsAck = rawFrame(FrameSettings, FlagAck, 0, "")

func dataFrame(stream uint32, f Flags, p string) string { return rawFrame(FrameData, f, stream, p) }

func rstFrame(stream uint32, code ErrCode) string {
	return rawFrame(FrameRSTStream, 0, stream, u32(uint32(code)))
}

func goAwayFrame(last uint32, code ErrCode, debug string) string {
	return rawFrame(FrameGoAway, 0, 0, u32(last)+u32(uint32(code))+debug)
}

// hpackEnc encodes the header blocks of one direction, keeping the HPACK
// dynamic table across blocks as a peer does.
type hpackEnc struct {
	buf bytes.Buffer
	enc *hpack.Encoder
}

func newEnc() *hpackEnc {
	e := &hpackEnc{}
	e.enc = hpack.NewEncoder(&e.buf)
	return e
}

// block encodes name, value pairs.
func (e *hpackEnc) block(kv ...string) string {
	e.buf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		e.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return e.buf.String()
}

// headers returns a HEADERS frame with END_HEADERS and the flags f.
func (e *hpackEnc) headers(stream uint32, f Flags, kv ...string) string {
	return rawFrame(FrameHeaders, f|FlagEndHeaders, stream, e.block(kv...))
}

// get returns the request header fields of a GET of path.
func get(path string) []string {
	return []string{":method", "GET", ":scheme", "https", ":authority", "example.test", ":path", path}
}

func status(code string, kv ...string) []string { return append([]string{":status", code}, kv...) }

// h2start is the client's preface and SETTINGS, and the server's SETTINGS.
var (
	h2client = ClientPreface + settingsFrame(uint32(SettingEnablePush), 0)
	h2server = settingsFrame(uint32(SettingMaxConcurrentStreams), 100)
)

// playH2 runs s through an H2Conn (as NewH2Conn builds for ALPN h2), each
// step's data split as how says.
func playH2(t *testing.T, cfg Config, s script, how chunking) (*health.Collector, *H2Conn) {
	t.Helper()
	col := &health.Collector{KeepMessages: true}
	c := NewH2Conn(&tcpstate.StreamContext{Reporter: col, Flow: "test", RTT: s.rtt}, cfg)
	rng := newRand()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, st := range s.steps {
		at := tcpstate.Position{Frame: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond)}
		if st.gap > 0 {
			c.Gap(st.dir, st.gap, at)
		}
		testcap.Feed(c, st.dir, []byte(st.data), at, how, rng)
	}
	c.Close(s.reason, tcpstate.Position{Frame: int64(len(s.steps) + 1)})
	return col, c
}

// exchangesOf renders the "http" records: "f1 GET /a", "f3 GET /a -> 200
// 5 bytes", "f2 GET /a -> 100 interim", with " incomplete=capture seen=3"
// when the body was cut.
func exchangesOf(col *health.Collector) []string {
	var out []string
	for _, m := range col.Messages {
		if m.Proto != "http" {
			continue
		}
		f := m.Fields
		var s string
		switch st, ok := f["status"]; {
		case ok && f["interim"] == true:
			s = fmt.Sprintf("f%d %v %v -> %v interim", m.Frame, f["method"], f["uri"], st)
		case ok:
			s = fmt.Sprintf("f%d %v %v -> %v %v bytes", m.Frame, f["method"], f["uri"], st, f["body_bytes"])
		default:
			s = fmt.Sprintf("f%d %v %v", m.Frame, f["method"], f["uri"])
		}
		if cut, ok := f["incomplete"]; ok {
			s += fmt.Sprintf(" incomplete=%v seen=%v", cut, f["body_seen_bytes"])
		}
		out = append(out, s)
	}
	return out
}

// framesOf renders the "http2" records: "f2 client HEADERS 1
// END_STREAM|END_HEADERS".
func framesOf(col *health.Collector) []string {
	var out []string
	for _, m := range col.Messages {
		if m.Proto != "http2" {
			continue
		}
		s := fmt.Sprintf("f%d %v %v %v", m.Frame, m.Fields["from"], m.Fields["type"], m.Fields["stream"])
		if fl, ok := m.Fields["flags"]; ok {
			s += " " + fl.(string)
		}
		out = append(out, s)
	}
	return out
}

// h2Case is a scripted HTTP/2 connection and what it must give, for
// every chunking.
type h2Case struct {
	name       string
	cfg        Config
	s          script
	wantExch   []string
	wantEvents []string // with the evidence fields named in evFields
	evFields   []string
}

func runH2Scripts(t *testing.T, tests []h2Case) {
	t.Helper()
	for _, tc := range tests {
		cfg := tc.cfg
		if cfg.Limits == (Limits{}) {
			cfg = DefaultConfig()
		}
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(fmt.Sprintf("%s/%d", tc.name, how), func(t *testing.T) {
				col, _ := playH2(t, cfg, tc.s, how)
				if diff := cmp.Diff(tc.wantExch, exchangesOf(col)); diff != "" {
					t.Errorf("exchanges (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantEvents, eventsOf(col, tc.evFields...)); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
			})
		}
	}
}
