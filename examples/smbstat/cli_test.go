package main

import (
	"strings"
	"testing"

	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/examples/internal/clitest"
)

var smbTool = clitest.Tool{Name: "smbstat", Run: run, Capture: "../../testdata/smb/smb2_10-alice-ls-get.pcap"}

func TestSmbstatFollowsTheCLIConvention(t *testing.T) { clitest.Check(t, smbTool) }

func TestSmbstatJSON(t *testing.T) {
	r := smbTool.Exec(t, nil, "-json", smbTool.Capture)
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	doc := clitest.JSONValues(t, r.Stdout)[0]
	servers := doc["servers"].([]any)
	if len(servers) != 1 {
		t.Fatalf("servers %v", servers)
	}
	srv := servers[0].(map[string]any)
	conn := srv["connections"].([]any)[0].(map[string]any)
	share := srv["shares"].([]any)[0].(map[string]any)
	file := share["files"].([]any)[0].(map[string]any)
	if srv["server"] != "10.200.3.20:445" || conn["dialect"] != "SMB 2.1" || conn["user"] != "alice" ||
		share["share"] != `\\10.200.3.20\data` || share["idle_opens"] != 2.0 ||
		file["name"] != "readme.txt" || file["reads"] != 1.0 || file["bytes_read"] != 2000.0 {
		t.Errorf("JSON document:\n%s", r.Stdout)
	}
	if doc["capture"].(map[string]any)["frames"] != 68.0 {
		t.Errorf("capture %v", doc["capture"])
	}
}

func TestSmbstatSelection(t *testing.T) {
	r := smbTool.Exec(t, nil, "-filter", "not port 445", smbTool.Capture)
	if r.Status != cli.ExitOK || !strings.Contains(r.Stdout, "0 SMB connections") {
		t.Errorf("exit %d:\n%s", r.Status, r.Stdout)
	}
	r = smbTool.Exec(t, nil, "-json", "-flow", "0", smbTool.Capture)
	if r.Status != cli.ExitOK || len(clitest.JSONValues(t, r.Stdout)[0]["servers"].([]any)) != 1 {
		t.Errorf("exit %d:\n%s", r.Status, r.Stdout)
	}
}
