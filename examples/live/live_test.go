package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/internal/testcap"
)

// TestLoopPeriodicReports drives the report loop with packets of a
// synthetic capture and ticks of its own: each report shows the findings
// so far and what is new since the previous one, the final report the
// connections. No interface, no root.
func TestLoopPeriodicReports(t *testing.T) {
	b := testcap.NewBuilder(0)
	b.Raw(b.TCPFrame(net.IPv4(10, 0, 0, 1).To4(), net.IPv4(10, 0, 0, 2).To4(), 40000, 81, 1000, 0, "S", nil))
	b.Raw(b.TCPFrame(net.IPv4(10, 0, 0, 2).To4(), net.IPv4(10, 0, 0, 1).To4(), 81, 40000, 0, 1001, "RA", nil))
	frames := splitFrames(t, b)
	packets, ticks := make(chan nettrace.Packet), make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := nettrace.New(nettrace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	errc := make(chan error, 1)
	go func() { errc <- loop(ctx, a, packets, ticks, &out) }()
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	packets <- frames[0]
	ticks <- at
	packets <- frames[1]
	ticks <- at.Add(time.Second)
	ticks <- at.Add(2 * time.Second)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	reports := strings.Split(out.String(), "== ")
	if len(reports) != 5 { // "", three periodic reports, the final one
		t.Fatalf("%d reports:\n%s", len(reports)-1, out.String())
	}
	if !strings.Contains(reports[1], "1 packets, 0 kinds") ||
		!strings.Contains(reports[2], "tcp.refused") || !strings.Contains(reports[2], "(+1 since last report)") ||
		!strings.Contains(reports[3], "tcp.refused") || strings.Contains(reports[3], "since last report") ||
		!strings.Contains(reports[4], "final: 2 packets, 1 TCP connections") || !strings.Contains(reports[4], "REJ Sr") {
		t.Errorf("reports:\n%s", out.String())
	}
}

// splitFrames returns the frames of b's capture as packets.
func splitFrames(t *testing.T, b *testcap.Builder) []nettrace.Packet {
	t.Helper()
	var out []nettrace.Packet
	buf := b.Buf.Bytes()
	start := 24
	for _, end := range b.Ends {
		out = append(out, nettrace.Packet{Time: time.Now(), LinkType: nettrace.LinkTypeEthernet, Data: buf[start+16 : end]})
		start = end
	}
	return out
}

// The addresses of the veth pair of TestLiveOnVethPair: nt0 in the test's
// namespace, its peer nt1 in a namespace of its own with the server.
const (
	liveAddr  = "10.77.0.1"
	peerAddr  = "10.77.0.2"
	serveEnv  = "NETTRACE_LIVE_SERVE" // set: TestHelperServe serves HTTP on its value
	enableEnv = "NETTRACE_NETNS_TEST" // set to 1 to run TestLiveOnVethPair
)

// TestLiveOnVethPair runs the live analysis on a veth pair it creates,
// with traffic it makes itself: HTTP requests to a server in the peer's
// namespace and a connection to a closed port there. It needs root and
// `ip`, and runs only with NETTRACE_NETNS_TEST=1; .ci/run runs it in a
// network namespace of its own (unshare -n), so the host's interfaces are
// never touched.
func TestLiveOnVethPair(t *testing.T) {
	if os.Getenv(enableEnv) != "1" {
		t.Skip("set NETTRACE_NETNS_TEST=1 (as root, with ip) to run the live capture on a veth pair")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and AF_PACKET")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs ip (iproute2)")
	}
	ns := fmt.Sprintf("ntlive%d", os.Getpid())
	setupVeth(t, ns)
	serve := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestHelperServe$")
	serve.Env = append(os.Environ(), serveEnv+"="+peerAddr+":8080")
	serve.Stdout, serve.Stderr = os.Stderr, os.Stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { serve.Process.Kill(); serve.Wait() })
	waitListening(t, peerAddr+":8080")

	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, config{iface: "nt0", every: 300 * time.Millisecond, conn: true}, &out) }()
	time.Sleep(300 * time.Millisecond) // the socket is bound before the traffic starts
	for i := range 3 {
		resp, err := http.Get(fmt.Sprintf("http://%s:8080/hello/%d", peerAddr, i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	if c, err := net.DialTimeout("tcp", peerAddr+":81", time.Second); err == nil {
		c.Close()
		t.Fatal("port 81 of the peer accepted a connection")
	}
	time.Sleep(time.Second) // at least two more reports
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Logf("live output:\n%s", text)
	periodic := strings.Count(text, " kinds of finding so far")
	if periodic < 2 || !strings.Contains(text, "tcp.refused") || !strings.Contains(text, "== final:") {
		t.Errorf("want at least 2 periodic reports and tcp.refused; got %d reports", periodic)
	}
	if !strings.Contains(text, peerAddr+"\t81\ttcp\t-\t") || !strings.Contains(text, "\tREJ\t") {
		t.Errorf("no conn.log line for the refused connection (REJ)")
	}
	if strings.Count(text, "conn "+liveAddr) < 2 || !strings.Contains(text, "http SF") {
		t.Errorf("the final report lacks the HTTP connections (http SF)")
	}
}

// setupVeth creates the veth pair nt0 (here, liveAddr) – nt1 (in the new
// namespace ns, peerAddr) and removes it at the end of the test.
func setupVeth(t *testing.T, ns string) {
	t.Helper()
	ipCmd(t, "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ipCmd(t, "link", "add", "nt0", "type", "veth", "peer", "name", "nt1")
	t.Cleanup(func() { exec.Command("ip", "link", "del", "nt0").Run() })
	ipCmd(t, "link", "set", "nt1", "netns", ns)
	ipCmd(t, "addr", "add", liveAddr+"/24", "dev", "nt0")
	ipCmd(t, "link", "set", "nt0", "up")
	ipCmd(t, "link", "set", "lo", "up")
	ipCmd(t, "-n", ns, "addr", "add", peerAddr+"/24", "dev", "nt1")
	ipCmd(t, "-n", ns, "link", "set", "nt1", "up")
	ipCmd(t, "-n", ns, "link", "set", "lo", "up")
}

func ipCmd(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the server at %s did not start", addr)
}

// TestHelperServe is the HTTP server of TestLiveOnVethPair, run in the
// peer's namespace; it does nothing unless NETTRACE_LIVE_SERVE is set and
// serves until killed (at most a minute).
func TestHelperServe(t *testing.T) {
	addr := os.Getenv(serveEnv)
	if addr == "" {
		t.Skip("helper process of TestLiveOnVethPair")
	}
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from the peer namespace: %s\n", r.URL.Path)
	})}
	time.AfterFunc(time.Minute, func() { srv.Close() })
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
