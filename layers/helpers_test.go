package layers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nettrace/nettrace/health"
)

// testdata returns the path of a file in testdata/layers at the repo root.
func testdata(name string) string { return filepath.Join("..", "testdata", "layers", name) }

// sharedPath returns a path under ../shared (next to the repo), skipping the
// test when it is absent.
func sharedPath(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not available: %v", p, err)
	}
	return p
}

// row is one decoded frame, summarised as the tshark references are.
type row struct {
	frame                   int64
	ok                      bool
	src, dst                string
	tcp, udp                bool
	sport, dport            uint16
	seq, ack                uint32
	tcpLen                  int
	flags                   uint16
	icmpType                int // -1 when not ICMP
	arpOp                   int // -1 when not ARP
	reassembled, tso, trunc bool
	capLen, wireLen         int
	ipChecksum, l4Checksum  Checksum
}

// frameCopy is a Frame with its own copy of Data.
func frameCopy(f *Frame) Frame {
	c := *f
	c.Data = append([]byte(nil), f.Data...)
	return c
}

// readFrames reads every frame of a capture file.
func readFrames(t testing.TB, path string) ([]Frame, error) {
	t.Helper()
	c, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer c.Close()
	var out []Frame
	for {
		f, err := c.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, frameCopy(f))
	}
}

// decodeFile decodes a capture file into rows, collecting events.
func decodeFile(t testing.TB, path string) ([]row, *health.Collector) {
	t.Helper()
	frames, err := readFrames(t, path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	col := &health.Collector{}
	d := NewDecoder(col, DefaultLimits())
	var rows []row
	for i := range frames {
		p, ok := d.Decode(&frames[i])
		rows = append(rows, summarise(frames[i].Number, p, ok))
	}
	if len(frames) > 0 {
		d.Flush(frames[len(frames)-1].Time)
	}
	return rows, col
}

func summarise(n int64, p *Packet, ok bool) row {
	r := row{frame: n, ok: ok, icmpType: -1, arpOp: -1}
	if !ok {
		return r
	}
	if p.Src.IsValid() {
		r.src, r.dst = p.Src.String(), p.Dst.String()
	}
	r.reassembled, r.tso, r.trunc = p.Reassembled, p.TSO, p.Truncated
	r.capLen, r.wireLen = p.CapLen, p.WireLen
	r.ipChecksum, r.l4Checksum = p.IPChecksum, p.L4Checksum
	switch p.Transport {
	case TransportTCP:
		r.tcp = true
		r.sport, r.dport = p.TCP.SrcPort, p.TCP.DstPort
		r.seq, r.ack = p.TCP.Seq, p.TCP.Ack
		r.tcpLen = p.PayloadLen
		r.flags = uint16(p.TCP.Flags)
	case TransportUDP:
		r.udp = true
		r.sport, r.dport = p.UDP.SrcPort, p.UDP.DstPort
	case TransportICMP:
		r.icmpType = int(p.ICMP.Type)
	case TransportARP:
		r.arpOp = int(p.ARP.Op)
		r.src, r.dst = p.ARP.SenderIP.String(), p.ARP.TargetIP.String()
	}
	return r
}

// tsharkRow is one line of a *.frames.tsv reference (see testdata/layers/gen.sh).
type tsharkRow map[string]string

func readTSV(t testing.TB, path string) []tsharkRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var head []string
	var rows []tsharkRow
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if head == nil {
			head = cols
			continue
		}
		r := tsharkRow{}
		for i, c := range cols {
			if i < len(head) && c != "" {
				r[head[i]] = c
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// compareTshark checks every field tshark shows against our row and
// returns the number of frames that agree fully.
func compareTshark(t *testing.T, ref []tsharkRow, got []row) int {
	t.Helper()
	if len(ref) != len(got) {
		t.Fatalf("frames: tshark %d, we %d", len(ref), len(got))
	}
	agree := 0
	for i, r := range ref {
		g := got[i]
		var diffs []string
		check := func(field, want, have string) {
			if want != have {
				diffs = append(diffs, fmt.Sprintf("%s: tshark %q, we %q", field, want, have))
			}
		}
		check("frame.number", r["frame.number"], strconv.FormatInt(g.frame, 10))
		src, dst := r["ip.src"], r["ip.dst"]
		if src == "" {
			src, dst = r["ipv6.src"], r["ipv6.dst"]
		}
		_, isICMP := r["icmp.type"]
		_, isICMP6 := r["icmpv6.type"]
		switch {
		case r["arp.opcode"] != "":
			check("arp.opcode", r["arp.opcode"], strconv.Itoa(g.arpOp))
		case isICMP || isICMP6:
			typ := r["icmp.type"] + r["icmpv6.type"]
			check("icmp.type", typ, strconv.Itoa(g.icmpType))
			check("ip.src", src, g.src)
			check("ip.dst", dst, g.dst)
		case r["tcp.srcport"] != "":
			check("tcp", "true", strconv.FormatBool(g.tcp))
			check("ip.src", src, g.src)
			check("ip.dst", dst, g.dst)
			check("tcp.srcport", r["tcp.srcport"], strconv.Itoa(int(g.sport)))
			check("tcp.dstport", r["tcp.dstport"], strconv.Itoa(int(g.dport)))
			check("tcp.seq_raw", r["tcp.seq_raw"], strconv.FormatUint(uint64(g.seq), 10))
			check("tcp.ack_raw", r["tcp.ack_raw"], strconv.FormatUint(uint64(g.ack), 10))
			check("tcp.len", r["tcp.len"], strconv.Itoa(g.tcpLen))
			check("tcp.flags", r["tcp.flags"], fmt.Sprintf("0x%04x", g.flags))
		case r["udp.srcport"] != "":
			check("udp", "true", strconv.FormatBool(g.udp))
			check("ip.src", src, g.src)
			check("ip.dst", dst, g.dst)
			check("udp.srcport", r["udp.srcport"], strconv.Itoa(int(g.sport)))
			check("udp.dstport", r["udp.dstport"], strconv.Itoa(int(g.dport)))
		default:
			// tshark shows no transport: a fragment waiting for the rest, or
			// an IP packet of another protocol. We return no TCP/UDP either.
			check("transport", "none", map[bool]string{true: "tcp/udp", false: "none"}[g.tcp || g.udp])
		}
		if len(diffs) > 0 {
			t.Errorf("frame %s: %s", r["frame.number"], strings.Join(diffs, "; "))
			continue
		}
		agree++
	}
	return agree
}
