package adversary

import (
	"fmt"
	"io"
	"sort"

	"github.com/nettrace/nettrace/internal/testcap"
)

// A Case is one hostile capture. Write writes it to w scaled by n (frames,
// messages, lines or MiB, as Unit says; n ≤ 0 takes Default).
type Case struct {
	Name    string
	What    string
	Unit    string
	Default int
	Write   func(w io.Writer, n int) error
}

// pcapCase makes a Case written as an Ethernet pcap by build.
func pcapCase(name, what, unit string, def int, build func(b *testcap.Builder, n int)) Case {
	return Case{Name: name, What: what, Unit: unit, Default: def, Write: func(w io.Writer, n int) error {
		b := testcap.NewBuilder(0)
		b.Reset(w)
		build(b, n)
		return nil
	}}
}

var cases = []Case{
	pcapCase("junk-frames", "Ethernet frames of random bytes with random EtherTypes: nothing decodable", "frames", 100000, JunkFrames),
	pcapCase("decode-errors", "IPv4/TCP frames with impossible IP and TCP lengths", "frames", 100000, DecodeErrors),
	{Name: "absurd-record-length", What: "good frames, then a pcap record header declaring 2 GiB", Unit: "frames", Default: 10, Write: AbsurdRecordLength},
	{Name: "cut-last-record", What: "good frames, the last record cut in its middle", Unit: "frames", Default: 10, Write: CutLastRecord},
	pcapCase("syn-flood", "SYNs from random sources to one server, never answered (the capture shows one side)", "SYNs", 2000000,
		func(b *testcap.Builder, n int) { SYNFlood(b, n, false) }),
	pcapCase("syn-flood-answered", "SYNs from random sources, each answered by a SYN-ACK, none completed (spoofed sources)", "SYNs", 1000000,
		func(b *testcap.Builder, n int) { SYNFlood(b, n, true) }),
	pcapCase("tds-stuck", "a TDS SQL batch whose packets never carry EOM, ended by FIN", "packets", 1000, StuckTDS),
	pcapCase("nbss-cut", "an NBSS message declaring more bytes than are sent before FIN", "bytes", 1000, NBSSCutByFIN),
	pcapCase("smb-pending", "SMB2 requests never answered, beyond the 4,096 pending cap", "requests", 10000, SMBPending),
	pcapCase("andx-loop", "SMB1 AndX chains pointing back at themselves (request) and at the header (response)", "chains", 10, AndXLoop),
	pcapCase("gzip-bomb", "an HTTP response whose gzip body inflates 1000:1", "MiB", 300, func(b *testcap.Builder, n int) { HTTPBomb(b, "gzip", n) }),
	pcapCase("deflate-bomb", "an HTTP response whose deflate body inflates 1000:1", "MiB", 300, func(b *testcap.Builder, n int) { HTTPBomb(b, "deflate", n) }),
	{Name: "dsb-garbage", What: "a pcapng whose Decryption Secrets Block holds one key, garbage lines and a half-written last line",
		Unit: "garbage lines", Default: 100, Write: DSBGarbage},
	{Name: "dsb-oversize", What: "a pcapng whose Decryption Secrets Blocks hold more than 8 MiB of key log", Unit: "MiB", Default: 9, Write: DSBOversize},
}

// Cases returns every case, by name.
func Cases() []Case {
	out := append([]Case(nil), cases...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the case called name.
func Lookup(name string) (Case, error) {
	for _, c := range cases {
		if c.Name == name {
			return c, nil
		}
	}
	return Case{}, fmt.Errorf("adversary: no case %q", name)
}

// Bytes writes case name scaled by n into memory.
func Bytes(name string, n int) ([]byte, error) {
	c, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		n = c.Default
	}
	var w sliceWriter
	err = c.Write(&w, n)
	return w.b, err
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
