package main

import (
	"strings"
	"testing"

	"github.com/nettrace/nettrace/examples/internal/cli"
	"github.com/nettrace/nettrace/examples/internal/clitest"
)

var tdsTool = clitest.Tool{Name: "tdsstat", Run: run, Capture: "../../testdata/tds/tds-tsql-login7-failed-fakeserver.pcap"}

func TestTdsstatFollowsTheCLIConvention(t *testing.T) { clitest.Check(t, tdsTool) }

func TestTdsstatJSON(t *testing.T) {
	r := tdsTool.Exec(t, nil, "-json", "../../testdata/tds/ndpi-mssql_tds.pcap")
	if r.Status != cli.ExitOK {
		t.Fatalf("exit %d: %s", r.Status, r.Stderr)
	}
	doc := clitest.JSONValues(t, r.Stdout)[0]
	var texts []string
	for _, s := range doc["servers"].([]any) {
		for _, db := range s.(map[string]any)["databases"].([]any) {
			for _, q := range db.(map[string]any)["queries"].([]any) {
				texts = append(texts, q.(map[string]any)["type"].(string)+" "+q.(map[string]any)["text"].(string))
			}
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"SQL_BATCH COMMIT TRANSACTION", "RPC p_GetBogusData"} {
		if !strings.Contains(all, want) {
			t.Errorf("queries lack %q:\n%s", want, all)
		}
	}
	r = tdsTool.Exec(t, nil, "-json", tdsTool.Capture)
	db := clitest.JSONValues(t, r.Stdout)[0]["servers"].([]any)[0].(map[string]any)["databases"].([]any)[0].(map[string]any)
	if db["logins_failed"] != 1.0 || db["login_errors"].(map[string]any)["18456 state 1 (user sa)"] != 1.0 {
		t.Errorf("database %v", db)
	}
}
