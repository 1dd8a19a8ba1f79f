package htmlreport_test

import (
	"bytes"
	"encoding/binary"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/htmlreport"
	"github.com/nettrace/nettrace/internal/testcap"
)

// Markup a capture can carry: a request URI, a Host header and an SNI.
const (
	evilURI  = `/<script>alert(1)</script>`
	evilHost = `<b onmouseover=alert(2)>host</b>`
	evilSNI  = `<img src=x onerror=alert(3)>.example`
)

// hostileCapture synthesises an HTTP exchange whose request URI and Host
// are markup, answered 404 (http.error_status quotes the request), and a
// TLS ClientHello whose SNI is markup, never answered
// (tls.handshake_stalled quotes the SNI).
func hostileCapture(t *testing.T) []byte {
	t.Helper()
	b := testcap.NewBuilder(0)
	web := b.Conv("10.0.0.1", "10.0.0.2", 40000, 80, 1000, 5000)
	web.Handshake()
	web.Send(true, []byte("GET "+evilURI+" HTTP/1.1\r\nHost: "+evilHost+"\r\n\r\n"), 1460)
	web.Send(false, []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"), 1460)
	web.Fin()
	tlsConv := b.Conv("10.0.0.1", "10.0.0.3", 40001, 443, 7000, 9000)
	tlsConv.Handshake()
	tlsConv.Send(true, clientHello(evilSNI), 1460)
	b.Now = b.Now.Add(3 * time.Second) // the client waits: the ClientHello is never answered
	tlsConv.Fin()
	return b.Buf.Bytes()
}

// clientHello returns a TLS 1.2 ClientHello record naming sni.
func clientHello(sni string) []byte {
	ext := func(typ uint16, body []byte) []byte {
		return append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, typ), uint16(len(body))), body...)
	}
	name := append([]byte{0}, binary.BigEndian.AppendUint16(nil, uint16(len(sni)))...)
	name = append(name, sni...)
	list := append(binary.BigEndian.AppendUint16(nil, uint16(len(name))), name...)
	exts := ext(0, list)
	body := []byte{3, 3}
	body = append(body, bytes.Repeat([]byte{7}, 32)...) // random
	body = append(body, 0)                              // session id
	body = append(body, 0, 2, 0xc0, 0x2f)               // one suite
	body = append(body, 1, 0)                           // null compression
	body = append(body, binary.BigEndian.AppendUint16(nil, uint16(len(exts)))...)
	body = append(body, exts...)
	hs := append([]byte{1, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{22, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

func render(t *testing.T, rep *nettrace.Report) string {
	t.Helper()
	var page bytes.Buffer
	if err := htmlreport.Write(&page, rep, htmlreport.Options{}); err != nil {
		t.Fatal(err)
	}
	return page.String()
}

// TestCaptureStringsEscaped: markup from the capture (a URI, a Host
// header, an SNI) shows as text: escaped in the findings, never as markup,
// and the page holds no script but its own.
func TestCaptureStringsEscaped(t *testing.T) {
	rep, err := nettrace.New(nettrace.Options{Series: &nettrace.SeriesOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	report, err := rep.Analyze("hostile.pcap", bytes.NewReader(hostileCapture(t)))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[health.Kind]bool{}
	for _, f := range report.Findings {
		kinds[f.Kind] = true
	}
	if !kinds[health.HTTPErrorStatus] || !kinds[health.TLSHandshakeStalled] {
		t.Fatalf("the capture should raise http.error_status and tls.handshake_stalled; findings: %v", kinds)
	}
	page := render(t, report)
	for _, raw := range []string{evilURI, evilSNI, "<script>alert", "<img", "<b onmouseover"} {
		if strings.Contains(page, raw) {
			t.Errorf("the page holds %q unescaped", raw)
		}
	}
	for _, escaped := range []string{"/&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(3)&gt;.example"} {
		if !strings.Contains(page, escaped) {
			t.Errorf("the page does not show %q as text", escaped)
		}
	}
	if n := strings.Count(strings.ToLower(page), "<script"); n != 1 {
		t.Errorf("%d script elements, want only the page's own", n)
	}
	if regexp.MustCompile(`(?i)(src|href)=["']?(https?:|//)`).MatchString(page) {
		t.Error("the page references an external resource")
	}
}

// TestGraphsOfRetransmissions: a capture with retransmissions gives the
// connection's time-sequence graph with retransmitted segments drawn, and
// its RTT and throughput graphs.
func TestGraphsOfRetransmissions(t *testing.T) {
	rep, err := nettrace.AnalyzeFile("../testdata/tcpstate/analysis/tcp-lossy-netem-curl-client-head.pcap",
		nettrace.Options{Series: &nettrace.SeriesOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Series) == 0 {
		t.Fatal("no series recorded for a connection with findings")
	}
	resent := 0
	for _, s := range rep.Series[0].Samples {
		if s.Flags&nettrace.SampleResent != 0 {
			resent++
		}
	}
	if resent == 0 {
		t.Fatal("no retransmitted sample in the series")
	}
	page := render(t, rep)
	for _, kind := range []string{htmlreport.GraphSequence, htmlreport.GraphRTT, htmlreport.GraphThroughput} {
		if !strings.Contains(page, `data-graph="`+kind+`"`) {
			t.Errorf("no %s graph", kind)
		}
	}
	m := regexp.MustCompile(`<path class="resent" d="([^"]+)"`).FindStringSubmatch(page)
	if m == nil || strings.Count(m[1], "M") < resent/2 {
		t.Errorf("retransmissions not drawn (%d retransmitted samples)", resent)
	}
	for _, unit := range []string{"relative sequence number (bytes)", "RTT (ms)", "throughput (bit/s)"} {
		if !strings.Contains(page, unit) {
			t.Errorf("no axis %q", unit)
		}
	}
}
