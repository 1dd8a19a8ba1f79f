// Command pcapsynth builds a large benchmark capture by replicating real
// captures: each replica is one template capture with its client address
// rewritten to a fresh one (checksums fixed up incrementally, RFC 1624), and
// replicas start at the times of a Poisson process so that their packets
// interleave as concurrent connections do. The output is deterministic for a
// seed, so anyone can rebuild the same benchmark input.
//
// Usage:
//
//	pcapsynth -o big.pcap [-packets 1700000] [-rate 400] [-seed 1] [template.pcap ...]
//
// With no templates it uses the project's mix from ../shared/captures (SMB,
// TLS, HTTP, DCE/RPC, TCP anomalies, TDS) and testdata/, weighted like the
// figures in the performance issue: SMB 31%, TLS 25%, HTTP 19%, DCE/RPC 10%,
// TCP anomalies 10%, TDS 5%.
package main

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("pcapsynth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output capture `file` (pcap)")
	packets := fs.Int("packets", 1_700_000, "packets to write")
	rate := fs.Float64("rate", 400, "replica starts per second of capture time (Poisson)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same file")
	shared := fs.String("shared", "../shared/captures", "corpus `dir` for the default template mix")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "pcapsynth: -o is required")
		return 2
	}
	templates, err := loadTemplates(fs.Args(), *shared)
	if err != nil {
		fmt.Fprintln(stderr, "pcapsynth:", err)
		return 2
	}
	n, err := synthesise(*out, templates, *packets, *rate, *seed)
	if err != nil {
		fmt.Fprintln(stderr, "pcapsynth:", err)
		return 2
	}
	fmt.Fprintf(stderr, "pcapsynth: wrote %d packets from %d templates to %s\n", n, len(templates), *out)
	return 0
}

// defaultMix names the template globs and their share of replicas.
var defaultMix = []struct {
	glob   string
	weight float64
}{
	{"smb/*.pcap", 0.31 * 0.5}, {"cases/c08-*.pcap", 0.31 * 0.5},
	{"tls/*.pcap", 0.25},
	{"http/*.pcap", 0.19},
	{"dcerpc/*.pcap", 0.10},
	{"tcp/*.pcap", 0.10},
	{"tds/*.pcap", 0.05 * 0.5}, {"cases/c15-*.pcap", 0.05 * 0.5},
}

type template struct {
	name    string
	weight  float64
	client  [4]byte // the address replicas rewrite
	packets []tpacket
}

type tpacket struct {
	offset time.Duration // since the template's first packet
	data   []byte
	orig   int
}

func loadTemplates(paths []string, shared string) ([]*template, error) {
	if len(paths) > 0 {
		var out []*template
		for _, p := range paths {
			t, err := loadTemplate(p, 1)
			if err != nil {
				return nil, err
			}
			if t != nil {
				out = append(out, t)
			}
		}
		return out, nil
	}
	var out []*template
	for _, m := range defaultMix {
		files, _ := filepath.Glob(filepath.Join(shared, m.glob))
		for _, f := range files {
			t, err := loadTemplate(f, m.weight/float64(len(files)))
			if err != nil {
				return nil, err
			}
			if t != nil {
				out = append(out, t)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no templates found under %s (give template captures as arguments)", shared)
	}
	return out, nil
}

// loadTemplate reads an Ethernet/IPv4 capture; the client is the source of
// the first TCP SYN (or of the first IPv4 packet).
func loadTemplate(path string, weight float64) (*template, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		return nil, nil
	}
	t := &template{name: filepath.Base(path), weight: weight}
	var first time.Time
	haveClient := false
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			break // a damaged template: use what was read
		}
		ip, ok := ipv4Header(data)
		if !ok {
			continue
		}
		if first.IsZero() {
			first = ci.Timestamp
		}
		if isSYN(data, ip) && !haveClient {
			copy(t.client[:], data[ip+12:ip+16])
			haveClient = true
		}
		if t.client == [4]byte{} {
			copy(t.client[:], data[ip+12:ip+16])
		}
		t.packets = append(t.packets, tpacket{offset: ci.Timestamp.Sub(first), data: data, orig: ci.Length})
	}
	if len(t.packets) == 0 {
		return nil, nil
	}
	return t, nil
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

func synthesise(path string, templates []*template, total int, rate float64, seed uint64) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
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
		r.next++
		if r.next == len(r.t.packets) {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	if err := bw.Flush(); err != nil {
		return written, err
	}
	return written, f.Close()
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
