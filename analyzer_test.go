package nettrace_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/tcpstate"
)

func analyze(t *testing.T, path string, opts nettrace.Options) (*nettrace.Report, *health.Collector) {
	t.Helper()
	col := &health.Collector{}
	if opts.Reporter == nil {
		opts.Reporter = col
	}
	rep, err := nettrace.AnalyzeFile(path, opts)
	if err != nil {
		t.Fatalf("AnalyzeFile(%s): %v", path, err)
	}
	return rep, col
}

// The EPM reply of stream 0 names port 49152; stream 1 goes to that port
// and must be dissected as DCE/RPC because the endpoint mapper announced
// it, not because of a port number or a guess.
func TestLearnedEndpointIsDissectedAsDCERPC(t *testing.T) {
	// A greedy decoder claims every stream by detection; only a stream
	// routed before detection — by the learned endpoint — escapes it.
	greedy := nettrace.Decoder{
		Name:   "greedy",
		Detect: func(tcpstate.Dir, []byte) bool { return true },
		New:    func(*tcpstate.StreamContext) tcpstate.StreamHandler { return nil },
	}
	rep, col := analyze(t, "testdata/root/c04-epm-vip-client.pcap", nettrace.Options{Decoders: []nettrace.Decoder{greedy}})
	if len(rep.Flows) != 2 {
		t.Fatalf("got %d flows, want 2 (tshark: 2 tcp.stream values)", len(rep.Flows))
	}
	if got := rep.Flows[1].Protocol; got != nettrace.ProtoDCERPC {
		t.Errorf("stream 1 (to the learned port 49152) decoded as %q, want %q", got, nettrace.ProtoDCERPC)
	}
	if len(col.OfKind(health.RPCEndpointLearned)) == 0 {
		t.Errorf("no %s event", health.RPCEndpointLearned)
	}
	if len(col.OfKind(health.RPCEPMAddressMismatch)) == 0 {
		t.Errorf("no %s event: the tower names 10.200.3.20, the request went to the VIP 10.200.3.100", health.RPCEPMAddressMismatch)
	}
}

// panicking is a decoder that fails on its first byte, as a decoder bug
// would.
type panicking struct{}

func (panicking) Feed(tcpstate.Dir, []byte, tcpstate.Position)  { panic("decoder bug") }
func (panicking) Gap(tcpstate.Dir, int, tcpstate.Position)      {}
func (panicking) Close(tcpstate.CloseReason, tcpstate.Position) {}

func TestDecoderPanicBecomesInternalErrorAndRunContinues(t *testing.T) {
	opts := nettrace.Options{Decoders: []nettrace.Decoder{{
		Name:  "buggy",
		Ports: []uint16{135},
		New:   func(*tcpstate.StreamContext) tcpstate.StreamHandler { return panicking{} },
	}}}
	rep, col := analyze(t, "testdata/root/c04-epm-vip-client.pcap", opts)
	errs := col.OfKind(health.InternalError)
	if len(errs) != 1 {
		t.Fatalf("got %d internal.error events, want 1: %+v", len(errs), errs)
	}
	if errs[0].Frame <= 0 || !strings.Contains(errs[0].Message, "buggy") {
		t.Errorf("internal.error does not name the frame and decoder: %+v", errs[0])
	}
	if len(rep.Flows) != 2 {
		t.Errorf("analysis stopped: %d flows, want 2", len(rep.Flows))
	}
}

func TestRefusedConnection(t *testing.T) {
	_, col := analyze(t, "testdata/root/tcp-conn-refused-rst.pcap", nettrace.Options{})
	if len(col.OfKind(health.TCPRefused)) != 1 {
		t.Errorf("want one %s event, got %v", health.TCPRefused, col.Events)
	}
}

func TestNotACaptureIsAnErrorNamingTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("this is not a capture file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := nettrace.AnalyzeFile(path, nettrace.Options{})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("AnalyzeFile(text file) error = %v, want an error naming %s", err, path)
	}
}

// A capture cut part-way is analysed up to the cut, and an event names the
// frame where reading stopped.
func TestTruncatedCaptureAnalysedUpToTheCut(t *testing.T) {
	whole, err := os.ReadFile("testdata/root/c04-epm-vip-client.pcap")
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(whole) - 1, len(whole) / 2, 24 + 16 + 10} {
		col := &health.Collector{}
		a, err := nettrace.New(nettrace.Options{Reporter: col})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := a.Analyze("cut", bytes.NewReader(whole[:cut]))
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		trunc := col.OfKind(health.CaptureTruncated)
		if len(trunc) != 1 {
			t.Fatalf("cut at %d: %d capture.truncated events, want 1", cut, len(trunc))
		}
		if trunc[0].Frame != rep.Capture.Frames+1 {
			t.Errorf("cut at %d: event names frame %d, want %d (first frame not read)", cut, trunc[0].Frame, rep.Capture.Frames+1)
		}
		if rep.Capture.Truncated == "" {
			t.Errorf("cut at %d: Report.Capture.Truncated is empty", cut)
		}
	}
}

// TestKeyLogFromPcapngDSB: a capture whose pcapng Decryption Secrets Block
// holds the key log (made with `editcap --inject-secrets tls,…`) serves as
// a key-log file, and its key decrypts another capture of the connection;
// a file that is neither a key log nor a capture fails with its name.
func TestKeyLogFromPcapngDSB(t *testing.T) {
	var reqs []string
	opts := nettrace.Options{
		KeyLogFiles: []string{"testdata/tls/tls12-ecdhe-rsa-chacha20-dsb.pcapng"},
		HTTPBody: func(_ *tcpstate.StreamContext, b http.Body) {
			reqs = append(reqs, b.Request)
		},
	}
	rep, col := analyze(t, "testdata/tls/tls12-ecdhe-rsa-chacha20-curl-nginx.pcap", opts)
	if n := len(col.OfKind(health.TLSNoKey)); n != 0 || rep.Protocols[nettrace.ProtoTLS] != 1 {
		t.Errorf("tls.no_key ×%d, protocols %v", n, rep.Protocols)
	}
	if len(reqs) == 0 {
		t.Errorf("no HTTP decoded inside TLS")
	}
	bad := filepath.Join(t.TempDir(), "bad.keys")
	if err := os.WriteFile(bad, []byte("\xa1\xb2\xc3\xd4 not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := nettrace.New(nettrace.Options{KeyLogFiles: []string{bad}}); err == nil || !strings.Contains(err.Error(), "bad.keys") {
		t.Errorf("broken pcap key log: error %v, want one naming the file", err)
	}
}
