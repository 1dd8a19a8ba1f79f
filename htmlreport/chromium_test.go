package htmlreport_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/htmlreport"
)

// chromium returns the headless browser, skipping the test when there is
// none — unless NETTRACE_REQUIRE_CHROMIUM is set (.ci/run sets it), which
// makes its absence a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("NETTRACE_REQUIRE_CHROMIUM") != "" {
		t.Fatal("chromium not found (apt-get install chromium)")
	}
	t.Skip("chromium not installed")
	return ""
}

// consoleError matches what Chromium logs on stderr for the page's console
// (uncaught exceptions, Content-Security-Policy violations, failed loads):
// the page itself never logs, so any console line is an error.
var consoleError = regexp.MustCompile(`:CONSOLE[:(]|Uncaught|Refused to`)

// TestChromiumRendersReport opens the report of a capture with
// retransmissions in headless Chromium: the page's script ran
// (data-ready), nothing raised an error or was blocked by the page's policy
// (data-errors, which the script fills, and Chromium's console log), and
// the graphs are in the rendered DOM.
func TestChromiumRendersReport(t *testing.T) {
	browser := chromium(t)
	rep, err := nettrace.AnalyzeFile("../testdata/tcpstate/analysis/tcp-lossy-netem-curl-client-head.pcap",
		nettrace.Options{Series: &nettrace.SeriesOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	var page bytes.Buffer
	if err := htmlreport.Write(&page, rep, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=3000", "--dump-dom", "file://"+path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := stdout.String()
	for _, line := range strings.Split(stderr.String(), "\n") {
		if consoleError.MatchString(line) {
			t.Errorf("console: %s", line)
		}
	}
	if !strings.Contains(dom, `data-ready="1"`) {
		t.Errorf("the page's script did not run (no data-ready on <html>); stderr:\n%s", stderr.String())
	}
	if m := regexp.MustCompile(`data-errors="([^"]*)"`).FindStringSubmatch(dom); m != nil {
		t.Errorf("the page reported errors: %s", m[1])
	}
	for _, kind := range []string{htmlreport.GraphSequence, htmlreport.GraphRTT, htmlreport.GraphThroughput} {
		if !regexp.MustCompile(`<svg[^>]*data-graph="` + kind + `"`).MatchString(dom) {
			t.Errorf("no %s graph in the rendered DOM", kind)
		}
	}
	if !strings.Contains(dom, `<path class="resent" d="M`) {
		t.Error("no retransmission drawn in the rendered DOM")
	}
	if !strings.Contains(dom, `tabindex="0"`) {
		t.Error("the connection table's headers were not made sortable")
	}
}
