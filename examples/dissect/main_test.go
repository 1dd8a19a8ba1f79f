package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"
)

// Every line is one record of the contract {"frame","time","flow","proto",
// "fields"}, and the EPM capture yields packet, DCE/RPC and EPM records.
func TestDissectPrintsJSONRecords(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"../../testdata/root/c04-epm-vip-client.pcap"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	protos := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var rec struct {
			Frame  int64          `json:"frame"`
			Time   string         `json:"time"`
			Flow   string         `json:"flow"`
			Proto  string         `json:"proto"`
			Fields map[string]any `json:"fields"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("not JSON: %v: %s", err, sc.Bytes())
		}
		if rec.Frame < 1 || rec.Time == "" || rec.Proto == "" || rec.Fields == nil {
			t.Fatalf("record lacks contract fields: %s", sc.Bytes())
		}
		protos[rec.Proto]++
	}
	if protos["tcp"] != 30 {
		t.Errorf("%d tcp records, want 30 (one per frame)", protos["tcp"])
	}
	for _, p := range []string{"dcerpc", "epm"} {
		if protos[p] == 0 {
			t.Errorf("no %s record; got %v", p, protos)
		}
	}
}

func TestDissectProtoFilter(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-proto", "epm", "../../testdata/root/c04-epm-vip-client.pcap"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if n := bytes.Count(out.Bytes(), []byte("\n")); n != 2 {
		t.Errorf("%d epm records, want 2 (map request, map response)", n)
	}
}
