package http

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/tcpstate"
)

// TestH2CleartextSwitch: an HTTP/1 connection that upgrades to h2c, or
// whose client starts with the HTTP/2 preface, is decoded as HTTP/2 from
// there on, with no http.malformed and no decode.gave_up.
func TestH2CleartextSwitch(t *testing.T) {
	settings := base64.RawURLEncoding.EncodeToString([]byte(settingsFrame(uint32(SettingHeaderTableSize), 8192)[FrameHeaderLen:]))
	upgrade := "GET /first HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: " + settings + "\r\n\r\n"
	switching := "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
	var tests []scriptCase
	{
		cli, srv := newEnc(), newEnc()
		tests = append(tests, scriptCase{name: "Upgrade: h2c", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: upgrade},
			{dir: s2c, data: switching + h2server + srv.headers(1, 0, status("200", "content-type", "text/plain")...)},
			{dir: c2s, data: h2client + settingsAck + cli.headers(3, FlagEndStream, get("/second")...)},
			{dir: s2c, data: dataFrame(1, FlagEndStream, "one") + srv.headers(3, FlagEndStream, status("204")...)},
		}}, wantMsgs: []string{"f1 GET /first", "f2 GET /first -> 101 0 bytes", "f3 GET /second", "f4 GET /first -> 200 3 bytes", "f4 GET /second -> 204 0 bytes"}})
	}
	{
		cli, srv := newEnc(), newEnc()
		tests = append(tests, scriptCase{name: "Upgrade: h2c with a request body", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: "POST /up HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nContent-Length: 6\r\n\r\nabc"},
			{dir: s2c, data: switching + h2server},
			{dir: c2s, data: "def" + h2client + cli.headers(3, FlagEndStream, get("/b")...)},
			{dir: s2c, data: srv.headers(1, FlagEndStream, status("201")...) + srv.headers(3, FlagEndStream, status("200")...)},
		}}, wantMsgs: []string{"f2 POST /up -> 101 0 bytes", "f3 POST /up", "f3 GET /b", "f4 POST /up -> 201 0 bytes", "f4 GET /b -> 200 0 bytes"}})
	}
	{
		cli, srv := newEnc(), newEnc()
		tests = append(tests, scriptCase{name: "prior knowledge", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
			{dir: s2c, data: h2server + srv.headers(1, FlagEndStream, status("200")...)},
		}}, wantMsgs: []string{"f1 GET /a", "f2 GET /a -> 200 0 bytes"}})
	}
	{
		cli, srv := newEnc(), newEnc()
		tests = append(tests, scriptCase{name: "prior knowledge, the server's SETTINGS first", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: s2c, data: h2server},
			{dir: c2s, data: h2client + cli.headers(1, FlagEndStream, get("/a")...)},
			{dir: s2c, data: srv.headers(1, FlagEndStream, status("200")...)},
		}}, wantMsgs: []string{"f2 GET /a", "f3 GET /a -> 200 0 bytes"}})
	}
	{
		cli := newEnc()
		tests = append(tests, scriptCase{name: "Upgrade: h2c, the 101 not captured", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: upgrade},
			{dir: c2s, data: h2client + settingsAck + cli.headers(3, FlagEndStream, get("/second")...)},
		}}, wantMsgs: []string{"f1 GET /first", "f2 GET /second"}})
	}
	{
		srv := newEnc()
		tests = append(tests, scriptCase{name: "Upgrade: h2c, only the server captured", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: s2c, data: switching + h2server + srv.headers(1, 0, status("200")...) + dataFrame(1, FlagEndStream, "one")},
		}}, wantMsgs: []string{"f1 <nil> <nil> -> 101 0 bytes", "f1 <nil> <nil> -> 200 3 bytes"}})
	}
	{
		tests = append(tests, scriptCase{name: "101 to a WebSocket stays a tunnel", s: script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
			{dir: c2s, data: "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"},
			{dir: s2c, data: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"},
			{dir: c2s, data: "\x81\x85abcd12345"},
		}}, wantMsgs: []string{"f1 GET /ws", "f2 GET /ws -> 101 0 bytes"}})
	}
	runH2SwitchScripts(t, tests)
}

// runH2SwitchScripts runs HTTP/1 scripts and renders their "http"
// records as exchangesOf does.
func runH2SwitchScripts(t *testing.T, tests []scriptCase) {
	t.Helper()
	for _, tc := range tests {
		for _, how := range []chunking{chunkWhole, chunkBytes, chunkRandom} {
			t.Run(tc.name, func(t *testing.T) {
				col, c := play(t, DefaultConfig(), tc.s, how)
				if diff := cmp.Diff(tc.wantMsgs, exchangesOf(col)); diff != "" {
					t.Errorf("messages (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tc.wantEvents, eventsOf(col)); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if tc.name != "101 to a WebSocket stays a tunnel" && c.h2 == nil {
					t.Error("no switch to HTTP/2")
				}
			})
		}
	}
}

// TestH2UpgradeSettingsApplied: the client's HTTP2-Settings bound the
// server's HPACK table (RFC 7540, 3.2.1): a server that uses the 8192
// bytes they allow decodes.
func TestH2UpgradeSettingsApplied(t *testing.T) {
	settings := base64.RawURLEncoding.EncodeToString([]byte(settingsFrame(uint32(SettingHeaderTableSize), 8192)[FrameHeaderLen:]))
	srv := newEnc()
	srv.enc.SetMaxDynamicTableSizeLimit(8192)
	srv.enc.SetMaxDynamicTableSize(8192) // emits a size update in the next block
	col, _ := play(t, DefaultConfig(), script{rtt: rtt5ms, reason: tcpstate.CloseFIN, steps: []step{
		{dir: c2s, data: "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: " + settings + "\r\n\r\n"},
		{dir: s2c, data: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n" + h2server + srv.headers(1, FlagEndStream, status("200")...)},
		{dir: c2s, data: h2client},
	}}, chunkWhole)
	if diff := cmp.Diff([]string{"f1 GET /", "f2 GET / -> 101 0 bytes", "f2 GET / -> 200 0 bytes"}, exchangesOf(col)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if len(col.Events) != 0 {
		t.Errorf("events: %v", eventsOf(col, "error"))
	}
}

// TestDetect: the first bytes of a direction that the route hands to this
// package: HTTP/1.x, or the HTTP/2 preface (prior knowledge on any port).
func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		dir  tcpstate.Dir
		b    string
		want bool
	}{
		{c2s, "GET / HTTP/1.1\r\n", true},
		{s2c, "HTTP/1.1 200 OK\r\n", true},
		{c2s, ClientPreface, true},
		{c2s, "PRI * HTTP/2.0\r\n", true},
		{c2s, "PRI * HTTP/2", false}, // not yet: more bytes are needed
		{s2c, ClientPreface, false},
		{c2s, "\x16\x03\x01\x02\x00", false},
	} {
		if got := Detect(tc.dir, []byte(tc.b)); got != tc.want {
			t.Errorf("Detect(%v, %q) = %v, want %v", tc.dir, tc.b, got, tc.want)
		}
	}
}
