// Command pcapsynth builds a large benchmark capture by replicating real
// captures: each replica is one template capture with its client address
// rewritten to a fresh one (checksums fixed up incrementally, RFC 1624), and
// replicas start at the times of a Poisson process so that their packets
// interleave as concurrent connections do. The output is deterministic for a
// seed, so anyone can rebuild the same benchmark input.
//
// Usage:
//
//	pcapsynth -o big.pcap [-packets 1700000] [-rate 400] [-seed 1] [-corpus DIR] [selection flags] [template ...]
//
// Templates are pcap or pcapng files (optionally gzip-compressed; "-" reads
// one from standard input) of Ethernet/IPv4 traffic. With none, pcapsynth
// uses the capture bundled with the examples (examples/doctor/demo), one
// template per TCP connection, so it works on a fresh clone; with -corpus
// DIR it uses the capture corpus in DIR (folders smb/, tls/, http/,
// dcerpc/, tcp/, tds/ and cases/), weighted like the traffic mix the
// performance figures of README.md were measured with: SMB 31%, TLS 25%,
// HTTP 19%, DCE/RPC 10%, TCP anomalies 10%, TDS 5%.
//
// -filter, -flow, -from and -to select the frames of each template that are
// replicated (-flow N: the template's TCP connection N, numbered as tshark's
// tcp.stream; -from/-to offsets count from the template's first frame).
// -o - writes the capture to standard output. A summary goes to standard
// error (with -json, as one JSON document on standard output).
//
// Exit status: 0 written; 1 written, but a template was damaged (said on
// standard error: the frames before the damage were used); 2 usage error,
// or a template or output that cannot be used.
package main

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace/examples/internal/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

var examples = []string{
	"pcapsynth -o /tmp/synth.pcap -packets 1700000 -seed 1        # from the bundled demo capture",
	"pcapsynth -o /tmp/synth.pcap -corpus ~/captures -seed 1      # the corpus mix of the performance figures",
	"pcapsynth -o /tmp/smb.pcap -filter 'tcp port 445' a.pcap b.pcapng",
	"pcapsynth -o - -packets 100000 | doctor -",
}

func run(args []string, stdout, stderr io.Writer) int {
	t := cli.New("pcapsynth", "-o FILE [flags] [template ...]",
		"Builds a large benchmark capture by replicating template captures, each replica with its own client "+
			"address (checksums fixed up), replicas starting as a Poisson process; deterministic for a seed. With no "+
			"template it uses the capture bundled with the examples, one template per TCP connection.",
		examples, stdout, stderr)
	t.SetJSONUsage("write the summary as one JSON document on standard output")
	fs := t.Flags
	out := fs.String("o", "", "output capture `file` (pcap; - for standard output)")
	packets := fs.Int("packets", 1_700_000, "packets to write")
	rate := fs.Float64("rate", 400, "replica starts per second of capture time (Poisson)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same file")
	corpus := fs.String("corpus", "", "capture corpus `dir` (smb/, tls/, http/, dcerpc/, tcp/, tds/, cases/) for the default template mix")
	paths, status, ok := t.Parse(args)
	if !ok {
		return status
	}
	switch {
	case *out == "":
		return t.Usagef("-o is required")
	case *out == "-" && t.JSON:
		return t.Usagef("-json writes the summary on standard output: it cannot be combined with -o -")
	case *packets <= 0 || *rate <= 0:
		return t.Usagef("-packets and -rate must be positive")
	case *corpus != "" && len(paths) > 0:
		return t.Usagef("give templates or -corpus, not both")
	}
	sel, err := newSelector(t)
	if err != nil {
		return t.Fail(err)
	}
	templates, damaged, err := loadTemplates(t, paths, *corpus, sel)
	if err != nil {
		return t.Fail(err)
	}
	if len(templates) == 0 {
		return t.Fail(fmt.Errorf("no Ethernet/IPv4 frames to replicate in the templates (as selected)"))
	}
	n, err := writeMix(t, stdout, *out, templates, *packets, *rate, *seed)
	if err != nil {
		return t.Fail(err)
	}
	if t.JSON {
		if err := writeSummary(stdout, *out, n, *seed, templates); err != nil {
			return t.Fail(err)
		}
	} else {
		t.Warnf("wrote %d packets from %d templates to %s", n, len(templates), *out)
	}
	for _, d := range damaged {
		t.Warnf("warning: %s", d)
	}
	if len(damaged) > 0 {
		return cli.ExitIncomplete
	}
	return cli.ExitOK
}

// writeMix writes the replicated capture to the file out (standard output
// for "-") with progress, and returns the packets written.
func writeMix(t *cli.Tool, stdout io.Writer, out string, templates []*template, packets int, rate float64, seed uint64) (int, error) {
	var w io.Writer = stdout
	var f *os.File
	if out != "-" {
		var err error
		if f, err = os.Create(out); err != nil {
			return 0, err
		}
		w = f
	}
	prog := t.NewProgress(out)
	n, err := synthesise(w, templates, packets, rate, seed, func(done int64) {
		prog.Update(0, 0, done, int64(packets))
	})
	prog.Done()
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return n, err
}

// writeSummary writes what was written, from which templates, as one JSON
// document.
func writeSummary(w io.Writer, out string, n int, seed uint64, templates []*template) error {
	type tj struct {
		Name    string `json:"name"`
		Packets int    `json:"packets"`
	}
	doc := struct {
		Output    string `json:"output"`
		Packets   int    `json:"packets"`
		Seed      uint64 `json:"seed"`
		Templates []tj   `json:"templates"`
	}{Output: out, Packets: n, Seed: seed}
	for _, tp := range templates {
		doc.Templates = append(doc.Templates, tj{tp.name, len(tp.packets)})
	}
	return cli.WriteJSON(w, doc)
}

// ipv4Header returns the offset of the IPv4 header in an Ethernet frame.
func ipv4Header(b []byte) (int, bool) {
	off := 12
	for {
		if len(b) < off+2 {
			return 0, false
		}
		et := binary.BigEndian.Uint16(b[off:])
		switch et {
		case 0x8100, 0x88a8:
			off += 4
			continue
		case 0x0800:
			ip := off + 2
			if len(b) < ip+20 || b[ip]>>4 != 4 {
				return 0, false
			}
			return ip, true
		}
		return 0, false
	}
}

func isSYN(b []byte, ip int) bool {
	if b[ip+9] != 6 {
		return false
	}
	tcp := ip + int(b[ip]&0x0f)*4
	return len(b) > tcp+13 && b[tcp+13]&0x12 == 0x02
}

// replica is one template being replayed with a new client address.
type replica struct {
	t     *template
	start time.Time
	next  int
	addr  [4]byte
}

func (r *replica) at() time.Time { return r.start.Add(r.t.packets[r.next].offset) }

type replicaHeap []*replica

func (h replicaHeap) Len() int           { return len(h) }
func (h replicaHeap) Less(i, j int) bool { return h[i].at().Before(h[j].at()) }
func (h replicaHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *replicaHeap) Push(x any)        { *h = append(*h, x.(*replica)) }
func (h *replicaHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// synthesise writes total packets replicated from templates to out as a
// pcap file; progress is called every 65536 packets with the count written.
func synthesise(out io.Writer, templates []*template, total int, rate float64, seed uint64, progress func(int64)) (int, error) {
	bw := bufio.NewWriterSize(out, 1<<20)
	w := pcapgo.NewWriter(bw)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cum := cumulative(templates)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nextStart := base
	var h replicaHeap
	buf := make([]byte, 0, 65536)
	written, replicas := 0, 0
	for written < total {
		// Start every replica whose start time has come before the next packet.
		for len(h) == 0 || !nextStart.After(h[0].at()) {
			t := pick(templates, cum, rng.Float64())
			heap.Push(&h, &replica{t: t, start: nextStart, addr: clientAddr(replicas)})
			replicas++
			nextStart = nextStart.Add(time.Duration(-math.Log(1-rng.Float64()) / rate * float64(time.Second)))
		}
		r := h[0]
		p := r.t.packets[r.next]
		buf = rewrite(buf[:0], p.data, r.t.client, r.addr)
		ci := captureInfo(r.at(), len(buf), p.orig)
		if err := w.WritePacket(ci, buf); err != nil {
			return written, err
		}
		written++
		if written%65536 == 0 {
			progress(int64(written))
		}
		r.next++
		if r.next == len(r.t.packets) {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return written, bw.Flush()
}

func cumulative(ts []*template) []float64 {
	var sum float64
	for _, t := range ts {
		sum += t.weight
	}
	cum := make([]float64, len(ts))
	acc := 0.0
	for i, t := range ts {
		acc += t.weight / sum
		cum[i] = acc
	}
	return cum
}

func pick(ts []*template, cum []float64, x float64) *template {
	for i, c := range cum {
		if x < c {
			return ts[i]
		}
	}
	return ts[len(ts)-1]
}

// clientAddr gives replica i its own address in 10.64.0.0/10, so that
// every replica's connections have distinct tuples.
func clientAddr(i int) [4]byte {
	n := uint32(i%(1<<22)) + 1
	return [4]byte{10, byte(64 | (n>>16)&0x3f), byte(n >> 8), byte(n)}
}
