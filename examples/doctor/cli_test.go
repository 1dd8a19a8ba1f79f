package main

import (
	"strings"
	"testing"

	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/examples/internal/clitest"
)

var doctorTool = clitest.Tool{Name: "doctor", Run: run, Capture: "../../testdata/root/c04-epm-vip-client.pcap", Args: []string{"-workers", "1"}}

func TestDoctorFollowsTheCLIConvention(t *testing.T) { clitest.Check(t, doctorTool) }

// -filter and -flow narrow the report to the connections asked for, and
// the report says what was left out.
func TestDoctorSelection(t *testing.T) {
	r := doctorTool.Exec(t, nil, "-filter", "tcp port 445 or port 139")
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	for _, want := range []string{"1 TCP connection (smb 1)", `selected by -filter "tcp port 445 or port 139": 16 of 128 frames analysed`, "smb.auth_failed"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "tls.cert_expired") {
		t.Errorf("a finding of a connection the filter left out:\n%s", r.Stdout)
	}

	r = doctorTool.Exec(t, nil, "-flow", "2", "-json")
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	for _, e := range clitest.JSONValues(t, r.Stdout) {
		if f, _ := e["flow"].(string); f != "" && f != "10.200.1.10:34410->10.200.3.20:445/tcp" {
			t.Errorf("-flow 2: event %v on another connection %s", e["kind"], f)
		}
	}

	r = doctorTool.Exec(t, nil, "-from", "2026-11-22T01:00:00Z")
	if r.Status != cli.ExitOK || !strings.Contains(r.Stdout, "-from 2026-11-22T01:00:00Z") {
		t.Errorf("exit %d:\n%s", r.Status, r.Stdout)
	}
}

func TestDoctorUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-pair", "-filter", "tcp", "a.pcap", "b.pcap"},
		{"-pair", "a.pcap"},
		{"-pair", "-", "b.pcap"},
		{"-d", "notaport"},
		{"-memory", "lots"},
	} {
		r := doctorTool.Exec(t, nil, args...)
		if r.Status != cli.ExitUsage || !strings.Contains(r.Stderr, "run 'doctor -h' for help") {
			t.Errorf("%v: exit %d, want 2; stderr %q", args, r.Status, r.Stderr)
		}
	}
	// "-" twice: the second is an input that cannot be used.
	r := doctorTool.Exec(t, nil, "-", "-")
	if r.Status != cli.ExitUsage || !strings.Contains(r.Stderr, "can be read only once") {
		t.Errorf("- -: exit %d; stderr %q", r.Status, r.Stderr)
	}
}
