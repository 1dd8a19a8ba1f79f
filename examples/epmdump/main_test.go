package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestEpmdumpC4: the client side of casebook C4 shows winreg at
// 10.200.3.20:49152 although the client asked the VIP 10.200.3.100.
func TestEpmdumpC4(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"../../testdata/rpc/c04-epm-vip-client.pcap"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"1 endpoints advertised",
		"10.200.3.100:135",
		"WINREG",
		"338cd001-2244-31f1-aaaa-900038001003 v1.0",
		"ncacn_ip_tcp",
		"10.200.3.20",
		"49152",
		"YES (asked 10.200.3.100)",
		"rpc.epm_address_mismatch x1 (first at frame 10)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// TestEpmdumpLookup: the rpcclient ept_lookup walk lists the named pipes,
// local endpoints and TCP ports of every Samba service.
func TestEpmdumpLookup(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"../../testdata/rpc/epm-lookup-rpcclient-tcp135.pcap"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{`\pipe\winreg`, "ncacn_np", "ncalrpc", "rpcd_winreg", "SAMR", "49153", "rpc.epm_not_registered"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "YES") {
		t.Errorf("no address differs on this capture:\n%s", got)
	}
}

func TestEpmdumpUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
