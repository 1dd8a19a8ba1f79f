package nettrace_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/internal/adversary"
	"github.com/nettrace/nettrace/internal/testcap"
	"github.com/nettrace/nettrace/tcpstate"
)

// countingSink writes every event as doctor -json does and counts the
// bytes and events by kind: the output a user gets, measured.
type countingSink struct {
	json   *health.JSONSink
	out    bytes.Buffer
	kinds  map[health.Kind]int
	events []health.Event
}

func newCountingSink() *countingSink {
	s := &countingSink{kinds: map[health.Kind]int{}}
	s.json = health.NewJSONSink(&s.out, true, false)
	return s
}

func (s *countingSink) Event(e health.Event) {
	s.kinds[e.Kind]++
	s.events = append(s.events, e)
	s.json.Event(e)
}
func (s *countingSink) Message(health.Message) {}
func (s *countingSink) WantMessages() bool     { return false }

func (s *countingSink) of(k health.Kind) []health.Event {
	var out []health.Event
	for _, e := range s.events {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

// analyseCase analyses the adversary case name of size n with opts.
func analyseCase(t *testing.T, name string, n int, opts nettrace.Options) (*nettrace.Report, *countingSink) {
	t.Helper()
	b, err := adversary.Bytes(name, n)
	if err != nil {
		t.Fatal(err)
	}
	s := newCountingSink()
	opts.Reporter = s
	a, err := nettrace.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze(name, bytes.NewReader(b))
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	s.json.Flush()
	for _, e := range s.events {
		if e.Kind == health.InternalError {
			t.Errorf("internal.error at frame %d: %s", e.Frame, e.Message)
		}
		if e.Frame <= 0 && e.Kind != health.EventsFolded {
			t.Errorf("%s event at frame %d: every event names a frame (%s)", e.Kind, e.Frame, e.Message)
		}
	}
	t.Logf("%s (n=%d, %d bytes): %d frames, %d events to the Reporter, %d bytes of -json; %v",
		name, n, len(b), rep.Capture.Frames, len(s.events), s.out.Len(), s.kinds)
	return rep, s
}

// one returns the only event of kind k, or fails.
func one(t *testing.T, s *countingSink, k health.Kind) health.Event {
	t.Helper()
	ev := s.of(k)
	if len(ev) != 1 {
		t.Fatalf("%d %s events, want 1: %v", len(ev), k, s.kinds)
	}
	return ev[0]
}

// A flood of frames with impossible lengths: every one is counted in the
// finding, at most MaxEventsPerKind reach the Reporter, events.folded
// (per flow and per capture) say the rest; the -json output stays a few KB whatever the flood.
func TestAdversaryDecodeErrorFloodIsBounded(t *testing.T) {
	const n, perKind = 30000, 100
	rep, s := analyseCase(t, "decode-errors", n, nettrace.Options{MaxEventsPerKind: perKind, MaxEventsKept: 50})
	if got := findingCount(rep, health.CaptureDecodeError); got != n {
		t.Errorf("finding counts %d decode errors, want %d", got, n)
	}
	if got := s.kinds[health.CaptureDecodeError]; got != perKind {
		t.Errorf("%d capture.decode_error events reached the Reporter, want %d", got, perKind)
	}
	folded := 0 // said per flow past MaxEventsPerFlow, and per capture past MaxEventsPerKind
	for _, f := range s.of(health.EventsFolded) {
		folded += f.Evidence["folded"].(int)
	}
	if folded != n-perKind || len(s.of(health.EventsFolded)) > 3 {
		t.Errorf("%d events.folded say %d folded, want %d", len(s.of(health.EventsFolded)), folded, n-perKind)
	}
	if len(rep.Events) > 50 || s.out.Len() > 64<<10 {
		t.Errorf("%d events kept, %d bytes of JSON: output not bounded", len(rep.Events), s.out.Len())
	}
}

// Frames nothing decodes (random bytes, unknown EtherTypes): analysed,
// counted, and the output does not grow with them.
func TestAdversaryJunkFramesAreBounded(t *testing.T) {
	const n = 20000
	rep, s := analyseCase(t, "junk-frames", n, nettrace.Options{})
	if rep.Capture.Frames != n {
		t.Errorf("%d frames read, want %d", rep.Capture.Frames, n)
	}
	if len(s.events) > 10100 || s.out.Len() > 8<<20 {
		t.Errorf("%d events, %d bytes of JSON for %d junk frames", len(s.events), s.out.Len(), n)
	}
}

// A record header declaring 2 GiB, and a last record cut in its middle:
// capture.truncated names the frame, everything before it is analysed,
// and nothing is allocated from the absurd length.
func TestAdversaryDamagedRecordsAreSaid(t *testing.T) {
	rep, s := analyseCase(t, "absurd-record-length", 10, nettrace.Options{})
	if e := one(t, s, health.CaptureTruncated); e.Frame != 11 || rep.Capture.Frames != 10 {
		t.Errorf("capture.truncated at frame %d after %d frames, want frame 11 after 10", e.Frame, rep.Capture.Frames)
	}
	rep, s = analyseCase(t, "cut-last-record", 10, nettrace.Options{})
	if e := one(t, s, health.CaptureTruncated); e.Frame != 10 || rep.Capture.Frames != 9 {
		t.Errorf("capture.truncated at frame %d after %d frames, want frame 10 after 9", e.Frame, rep.Capture.Frames)
	}
}

// SMB requests beyond the 4,096 awaiting a response are forgotten: one
// decode.limit says how many, between which frames; the table stays at
// its cap.
func TestAdversarySMBPendingBeyondCapIsSaid(t *testing.T) {
	const n = 10000
	_, s := analyseCase(t, "smb-pending", n, nettrace.Options{})
	e := one(t, s, health.DecodeLimit)
	if e.Evidence["dropped"] != int64(n-4096) || e.Evidence["cap"] != 4096 || e.Evidence["limit"] != "MaxPending" {
		t.Errorf("decode.limit %v, want %d dropped at the 4096 cap", e.Evidence, n-4096)
	}
	if first, last := e.Evidence["first_frame"].(int64), e.Evidence["last_frame"].(int64); first != e.Frame || last <= first {
		t.Errorf("frames %d..%d, event at %d", first, last, e.Frame)
	}
}

// A TDS SQL batch whose packets never carry EOM, then FIN: one
// decode.incomplete (a warning: the client's own FIN, every byte captured)
// naming where the message began; the batch buffered stays at MaxMessage.
func TestAdversaryStuckTDSMessageIsSaid(t *testing.T) {
	rep, s := analyseCase(t, "tds-stuck", 20000, nettrace.Options{})
	e := one(t, s, health.DecodeIncomplete)
	if e.Frame != 4 || e.Severity != health.Warning || e.Evidence["packets"] != 20000 || e.Evidence["decoder"] != "tds" {
		t.Errorf("decode.incomplete at frame %d (%s): %v", e.Frame, e.Severity, e.Evidence)
	}
	if hw := rep.Memory.HighWater; hw > 512<<10 {
		t.Errorf("decoders held %d bytes at most: the never-ending batch was not capped", hw)
	}
}

// An NBSS message cut by FIN: decode.incomplete says how many of the
// declared bytes came.
func TestAdversaryNBSSCutByFINIsSaid(t *testing.T) {
	_, s := analyseCase(t, "nbss-cut", 1000, nettrace.Options{})
	e := one(t, s, health.DecodeIncomplete)
	if e.Frame != 4 || e.Severity != health.Warning || e.Evidence["bytes"] != 68 || e.Evidence["declared"] != 1068 {
		t.Errorf("decode.incomplete at frame %d (%s): %v", e.Frame, e.Severity, e.Evidence)
	}
}

// SMB1 AndX chains that loop (a request pointing at its own block, a
// successful response pointing back at the header) are smb.malformed and
// stop: one event per message, nothing followed twice.
func TestAdversaryAndXLoopIsMalformed(t *testing.T) {
	const n = 10
	_, s := analyseCase(t, "andx-loop", n, nettrace.Options{})
	if got := s.kinds[health.SMBMalformed]; got != 2*n {
		t.Errorf("%d smb.malformed, want %d (each request and response)", got, 2*n)
	}
}

// Decompression bombs (300 MiB of zeros at 1011:1): one http.body_limit
// at the ratio cap, with the ratio over it, and decoding stops early.
func TestAdversaryBombsStopAtTheRatioCap(t *testing.T) {
	for _, name := range []string{"gzip-bomb", "deflate-bomb"} {
		t.Run(name, func(t *testing.T) {
			_, s := analyseCase(t, name, 300, nettrace.Options{})
			e := one(t, s, health.HTTPBodyLimit)
			if e.Evidence["limit"] != "ratio" || e.Evidence["ratio"].(float64) < 1000 || e.Evidence["decoded_bytes"].(int64) > 8<<20 {
				t.Errorf("http.body_limit %v", e.Evidence)
			}
		})
	}
}

// A Decryption Secrets Block with garbage lines and a half-written last
// line: the good key is used and one tls.keylog_skipped counts the rest.
func TestAdversaryDSBGarbageIsSaid(t *testing.T) {
	_, s := analyseCase(t, "dsb-garbage", 100, nettrace.Options{})
	e := one(t, s, health.TLSKeyLogSkipped)
	if e.Frame != 1 || e.Evidence["lines"] != 101 || e.Evidence["first_line"] != 2 || e.Evidence["source"] != "capture" {
		t.Errorf("tls.keylog_skipped at frame %d: %v", e.Frame, e.Evidence)
	}
}

// Decryption Secrets Blocks beyond 8 MiB: one capture.secrets_skipped at
// the frame the capture had reached.
func TestAdversaryOversizeDSBIsSaid(t *testing.T) {
	_, s := analyseCase(t, "dsb-oversize", 10, nettrace.Options{})
	e := one(t, s, health.CaptureSecretsSkipped)
	if e.Frame != 9 || e.Evidence["blocks"] != 2 || e.Evidence["over_limit"] != 2 {
		t.Errorf("capture.secrets_skipped at frame %d: %v", e.Frame, e.Evidence)
	}
}

// A key-log file whose last line was cut while being written: the run
// goes on with every good line (it used to fail), and one
// tls.keylog_skipped at frame 1 says how many lines were skipped.
func TestAdversaryHalfWrittenKeyLogLineIsSkipped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "half.keys")
	if err := os.WriteFile(path, []byte(adversary.KeyLogGarbage(0)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, s := analyseCase(t, "cut-last-record", 5, nettrace.Options{KeyLogFiles: []string{path}})
	e := one(t, s, health.TLSKeyLogSkipped)
	if e.Frame != 1 || e.Evidence["lines"] != 1 || e.Evidence["first_line"] != 2 || e.Evidence["file"] != "half.keys" {
		t.Errorf("tls.keylog_skipped at frame %d: %v", e.Frame, e.Evidence)
	}
}

// synFloodAround writes an established connection, a SYN flood of n SYNs
// to another server (answered with SYN-ACKs or not), then the established
// connection's data and FIN.
func synFloodAround(n int, answered bool) []byte {
	c := testcap.NewBuilder(0)
	v := c.Conv("10.9.0.1", "10.9.0.2", 40000, 9999, 1, 1)
	v.Handshake()
	adversary.SYNFlood(c, n, answered)
	v.Send(true, []byte("after the flood"), 1460)
	v.Fin()
	return c.Buf.Bytes()
}

// A SYN flood (one-sided: only the SYNs) through a half-open table of 256:
// the tracker never follows more than 256 attempts at once, the rest are
// counted (CaptureStats.HalfOpenEvicted) and said once
// (tcp.half_open_evicted) — not one tcp.evicted or tcp.syn_unanswered
// each —, the established connection beside the flood is never pushed
// out, and the flood is a notice: the capture holds no answer from the
// server, so whether it answered cannot be told.
func TestAdversarySYNFloodHalfOpenCap(t *testing.T) {
	const n, halfOpen = 30000, 256
	maxActive := 0
	s := newCountingSink()
	opts := nettrace.Options{Reporter: s, TCP: &tcpstate.Config{MaxHalfOpen: halfOpen},
		ProgressEvery: 1, Progress: func(p nettrace.Progress) { maxActive = max(maxActive, p.Active) }}
	a, err := nettrace.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Analyze("flood", bytes.NewReader(synFloodAround(n, false)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d SYNs: %d events to the Reporter (%v), max active %d, %d half-open evicted", n, len(s.events), s.kinds, maxActive, rep.Profile.HalfOpenEvicted)
	if maxActive > halfOpen+1 || maxActive == 0 {
		t.Errorf("%d connections tracked at once, want at most %d half-open + 1 established", maxActive, halfOpen)
	}
	if ev := rep.Profile.HalfOpenEvicted; ev < n-halfOpen-50 || ev > n-halfOpen {
		t.Errorf("%d half-open connections evicted, want about %d", ev, n-halfOpen)
	}
	e := one(t, s, health.TCPHalfOpenEvicted)
	if e.Evidence["evicted"] != rep.Profile.HalfOpenEvicted || e.Evidence["server"] != "192.168.0.1:80" || e.Evidence["cap"] != halfOpen {
		t.Errorf("tcp.half_open_evicted %v", e.Evidence)
	}
	if len(s.events) > halfOpen+20 {
		t.Errorf("%d events reached the Reporter for %d SYNs: output not bounded by the half-open cap", len(s.events), n)
	}
	if s.kinds[health.TCPEvicted] != 0 || s.kinds[health.TCPSynUnanswered] > halfOpen {
		t.Errorf("%d tcp.evicted, %d tcp.syn_unanswered: evictions said one by one", s.kinds[health.TCPEvicted], s.kinds[health.TCPSynUnanswered])
	}
	if f := one(t, s, health.NetSYNFlood); f.Severity != health.Notice {
		t.Errorf("one-sided flood: %s %s", f.Severity, f.Message)
	}
	for _, e := range s.events {
		if e.Kind == health.TCPSynUnanswered && e.Severity != health.Notice {
			t.Errorf("a flood's lone SYN said as %s: %s", e.Severity, e.Message)
			break
		}
	}
	if p := rep.Profile; p.OneWay < halfOpen || strings.Contains(p.Summary, "seen both ways") {
		t.Errorf("profile %d one-way connections: %q", p.OneWay, p.Summary)
	}
	for _, f := range rep.Flows {
		if f.Server.Port() == 9999 && f.CloseReason != "fin" {
			t.Errorf("the established connection ended by %q during the flood", f.CloseReason)
		}
	}
}

// The same flood answered by the server with SYN-ACKs that no client
// acknowledges (spoofed sources), as a capture at the server shows it: the
// capture proves the handshakes never completed, and the flood is a
// warning.
func TestAdversarySYNFloodAnsweredIsWarning(t *testing.T) {
	rep, s := analyseCase(t, "syn-flood-answered", 20000, nettrace.Options{TCP: &tcpstate.Config{MaxHalfOpen: 256}})
	if f := one(t, s, health.NetSYNFlood); f.Severity != health.Warning || f.Evidence["synacks"].(int) == 0 {
		t.Errorf("answered flood: %s %v", f.Severity, f.Evidence)
	}
	if rep.Profile.HalfOpenEvicted < 9000 {
		t.Errorf("%d half-open evicted", rep.Profile.HalfOpenEvicted)
	}
}
