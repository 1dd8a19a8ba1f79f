package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestTdsstatNDPI(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"../../testdata/tds/ndpi-mssql_tds.pcap"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"server 10.0.0.1:1433",
		"SQL_BATCH COMMIT TRANSACTION",
		"RPC select * from newsyb",
		"RPC p_GetBogusData",
		"RPC select * from test_table_1 where name = @P0 and id = @P1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestTdsstatLoginFailed(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"../../testdata/tds/tds-tsql-login7-failed-fakeserver.pcap"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"server 10.200.3.20:1433",
		"logins 0 ok, 1 failed",
		"login failed: error 18456 state 1 (user sa) x1",
		"tds.login_failed x1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestTdsstatUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(nil, &out, &errb); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
}
