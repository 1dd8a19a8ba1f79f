package rpc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nettrace/nettrace/internal/testcap"
)

// TestCLHeaderAgreesWithTshark parses the connectionless DCE/RPC datagrams
// of nDPI's dcerpc.pcap (UDP) and compares version, packet type, opnum,
// interface, sequence number and activity with tshark's
// (testdata/rpc/ndpi-dcerpc.cl.tsv, command in its first line).
func TestCLHeaderAgreesWithTshark(t *testing.T) {
	f, err := os.Open(testdataPath("ndpi-dcerpc.cl.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[int64]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		var n int64
		fmt.Sscan(line, &n)
		want[n] = line
	}
	pkts, err := testcap.ReadPackets(testdataPath("ndpi-dcerpc.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, p := range pkts {
		if !p.UDP {
			continue
		}
		h, _, err := ParseCLHeader(p.Payload)
		if err != nil {
			t.Errorf("frame %d: %v", p.Frame, err)
			continue
		}
		got[p.Frame] = fmt.Sprintf("%d\t%d\t%d\t%d\t%s\t%d\t%s", p.Frame, h.Version, h.Type, h.Opnum, h.Interface, h.SeqNum, h.Activity)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-tshark +ours):\n%s", d)
	}
	t.Logf("connectionless headers: %d/%d datagrams agree with tshark", len(got), len(want))
}

func TestParseCLHeaderRejects(t *testing.T) {
	good := make([]byte, CLHeaderLen)
	good[0], good[4] = 4, 0x10
	if _, _, err := ParseCLHeader(good); err != nil {
		t.Fatalf("minimal header: %v", err)
	}
	for i := 0; i < CLHeaderLen; i++ {
		if _, rest, err := ParseCLHeader(good[:i]); !errors.Is(err, ErrTruncated) || len(rest) != i {
			t.Fatalf("prefix %d: err %v", i, err)
		}
	}
	bad := append([]byte(nil), good...)
	bad[0] = 5
	if _, _, err := ParseCLHeader(bad); !errors.Is(err, ErrMalformed) {
		t.Errorf("version 5: err %v, want malformed", err)
	}
}
