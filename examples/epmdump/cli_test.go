package main

import (
	"strings"
	"testing"

	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/examples/internal/clitest"
)

var epmTool = clitest.Tool{Name: "epmdump", Run: run, Capture: "../../testdata/rpc/c04-epm-vip-client.pcap"}

func TestEpmdumpFollowsTheCLIConvention(t *testing.T) { clitest.Check(t, epmTool) }

func TestEpmdumpJSON(t *testing.T) {
	r := epmTool.Exec(t, nil, "-json", epmTool.Capture)
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	doc := clitest.JSONValues(t, r.Stdout)[0]
	eps := doc["endpoints"].([]any)
	if len(eps) != 1 {
		t.Fatalf("endpoints %v", eps)
	}
	ep := eps[0].(map[string]any)
	if ep["server"] != "10.200.3.100:135" || ep["interface"] != "WINREG" || ep["ip"] != "10.200.3.20" || ep["port"] != 49152.0 || ep["differs"] != true {
		t.Errorf("endpoint %v", ep)
	}
	f := doc["findings"].([]any)[0].(map[string]any)
	if f["kind"] != "rpc.epm_address_mismatch" || f["frame"] != 10.0 {
		t.Errorf("finding %v", f)
	}
}

func TestEpmdumpSelection(t *testing.T) {
	r := epmTool.Exec(t, nil, "-filter", "not port 135", epmTool.Capture)
	if r.Status != cli.ExitOK || !strings.Contains(r.Stdout, "0 endpoints advertised") {
		t.Errorf("exit %d:\n%s", r.Status, r.Stdout)
	}
}
