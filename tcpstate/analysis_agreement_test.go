package tcpstate

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nettrace/nettrace/layers"
)

// anaComparedFlags are the tcp.analysis flags whose frame sets must match
// tshark's (issue 3's done-when list).
var anaComparedFlags = []string{
	"retransmission", "fast_retransmission", "out_of_order", "lost_segment",
	"ack_lost_segment", "duplicate_ack", "zero_window", "window_full", "keep_alive",
}

// anaExtraFlags are further tcp.analysis flags compared in the direct
// (tracker-less) run, where the analysis returns every flag.
var anaExtraFlags = []string{
	"spurious_retransmission", "window_update", "keep_alive_ack",
	"zero_window_probe", "zero_window_probe_ack",
}

// anaKnownDiff documents a frame where we knowingly differ from tshark.
type anaKnownDiff struct {
	capture string // file name without extension
	flag    string
	frames  []int64
	// trackerOnly marks a difference that comes from the tracker's
	// connection lifetime, not from the analysis: the direct run agrees.
	trackerOnly bool
	// deliberate marks a difference where tshark is wrong and we are
	// right; it does not count against the 3% budget.
	deliberate bool
	reason     string
}

// anaKnownDiffs is every documented disagreement with tshark 4.0.17.
var anaKnownDiffs = []anaKnownDiff{
	{capture: "c01-synack-payload-client", flag: "retransmission", frames: []int64{6}, deliberate: true,
		reason: "C1: the SYN-ACK carries 2 injected bytes that the Linux client ignores (its handshake ACK is ISN+1); tshark believes them, expects the server's data at ISN+3 and calls the first server segment a retransmission. We follow the client's ACK (captures/cases/README.md)."},
	{capture: "c01-synack-payload-client", flag: "ack_lost_segment", frames: []int64{7}, deliberate: true,
		reason: "C1: same phantom bytes: tshark thinks the client ACKs data it never saw."},
}

// anaCaptureList returns the captures to compare: the copies in testdata
// always, and every capture of ../shared with TCP when it is there.
func anaCaptureList(t *testing.T) []string {
	var out []string
	seen := map[string]bool{}
	add := func(glob string) {
		m, _ := filepath.Glob(glob)
		for _, p := range m {
			if strings.HasSuffix(p, ".json") {
				continue
			}
			name := anaCaptureName(p)
			if seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, p)
		}
	}
	if sh := anaShared(); sh != "" {
		add(filepath.Join(sh, "captures", "*", "*.pcap"))
		add(filepath.Join(sh, "public-captures", "*.pcap"))
		add(filepath.Join(sh, "public-captures", "*.pcapng"))
	} else {
		t.Log("../shared not available: comparing the testdata copies only")
	}
	add(filepath.Join(anaTestdata(), "*.pcap"))
	return out
}

// anaCaptureName is the capture's name as anaKnownDiffs spell it.
func anaCaptureName(path string) string {
	b := filepath.Base(path)
	if strings.HasSuffix(b, ".pcapng") {
		return b // references keep ".pcapng" in their names
	}
	return strings.TrimSuffix(b, ".pcap")
}

// anaRefBase returns the path prefix of a capture's reference files.
func anaRefBase(path string) string {
	if strings.HasSuffix(path, ".pcapng") {
		return path
	}
	return strings.TrimSuffix(path, ".pcap")
}

// TestTsharkFlagAgreement compares, per capture and per flag, the frames
// our analysis flags with the frames tshark 4.0.17 flags
// (tcp.analysis.*), through the real Tracker (flags read back from the
// events). Every disagreement must be documented in anaKnownDiffs;
// non-deliberate ones must stay under 3% of the capture's flagged frames.
func TestTsharkFlagAgreement(t *testing.T) { anaCompareTshark(t, false) }

// TestTsharkFlagAgreementDirect does the same with the analysis fed
// directly (connections split by 4-tuple and new ISN, flags as analyze
// returns them), and compares the extra flags too.
func TestTsharkFlagAgreementDirect(t *testing.T) { anaCompareTshark(t, true) }

func anaCompareTshark(t *testing.T, direct bool) {
	type row struct {
		capture, flag     string
		tshark, ours, agr int
	}
	var rows []row
	totalT, totalAgree, dupCopies := 0, 0, 0
	for _, path := range anaCaptureList(t) {
		name := anaCaptureName(path)
		base := anaRefBase(path)
		if _, err := os.Stat(base + ".tshark.json"); err != nil {
			if _, err := os.Stat(base + ".flags.json"); err != nil {
				continue
			}
		}
		ref := anaLoadReference(t, base)
		pkts := readPackets(t, path)
		if len(pkts) == 0 {
			continue
		}
		var got map[string]map[int64]bool
		flags := anaComparedFlags
		if direct {
			flags = append(append([]string(nil), anaComparedFlags...), anaExtraFlags...)
			got = map[string]map[int64]bool{}
			for frame, f := range anaRunDirect(pkts, nil) {
				for _, name := range flags {
					if f.Has(FlagByName(name)) {
						if got[name] == nil {
							got[name] = map[int64]bool{}
						}
						got[name][frame] = true
					}
				}
			}
		} else {
			got = anaRun(pkts).flagFrames()
		}

		known := map[string]map[int64]anaKnownDiff{}
		for _, k := range anaKnownDiffs {
			if k.capture != name || direct && k.trackerOnly {
				continue
			}
			if known[k.flag] == nil {
				known[k.flag] = map[int64]anaKnownDiff{}
			}
			for _, f := range k.frames {
				known[k.flag][f] = k
			}
		}
		var copies map[int64]bool
		if !direct {
			copies = anaCopies(pkts)
		}
		flagged := map[int64]bool{}
		for _, fl := range anaComparedFlags {
			for f := range ref.flags[fl] {
				flagged[f] = true
			}
		}
		documented := 0
		for _, fl := range flags {
			want, have := ref.flags[fl], got[fl]
			agree := 0
			var missing, extra []int64
			for f := range want {
				if have[f] {
					agree++
				} else {
					missing = append(missing, f)
				}
			}
			for f := range have {
				if !want[f] {
					extra = append(extra, f)
				}
			}
			if len(want) > 0 || len(have) > 0 {
				rows = append(rows, row{name, fl, len(want), len(have), agree})
			}
			totalT += len(want)
			totalAgree += agree
			sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
			sort.Slice(extra, func(i, j int) bool { return extra[i] < extra[j] })
			for _, list := range []struct {
				what   string
				frames []int64
			}{{"tshark flags, we do not", missing}, {"we flag, tshark does not", extra}} {
				var undoc []int64
				for _, f := range list.frames {
					k, ok := known[fl][f]
					switch {
					case copies[f] && list.what == "tshark flags, we do not":
						// A second copy of an IP packet (same IPv4 ID and TCP
						// header): tshark calls it a retransmission; the
						// sender did not resend it, and the Tracker leaves it
						// out of the analysis (Visibility.Duplicates).
						dupCopies++
					case !ok:
						undoc = append(undoc, f)
					case !k.deliberate:
						documented++
					}
				}
				if len(undoc) > 0 {
					t.Errorf("%s %s: %s: frames %v", name, fl, list.what, undoc)
				}
			}
		}
		if documented > 0 && float64(documented) >= 0.03*float64(len(flagged)) {
			t.Errorf("%s: %d documented disagreements are not under 3%% of %d flagged frames", name, documented, len(flagged))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-48s %-20s %7s %7s %7s\n", "capture", "flag", "tshark", "ours", "agree")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-48s %-20s %7d %7d %7d\n", r.capture, r.flag, r.tshark, r.ours, r.agr)
	}
	fmt.Fprintf(&b, "total: %d tshark-flagged frame/flag pairs, %d agree; %d more are second copies of a packet (same IPv4 ID), which tshark flags and the Tracker leaves out", totalT, totalAgree, dupCopies)
	t.Log(b.String())
	for _, k := range anaKnownDiffs {
		t.Logf("documented difference %s %s %v: %s", k.capture, k.flag, k.frames, k.reason)
	}
}

// TestHandshakeRTTMatchesTshark checks that FlowStats.HandshakeRTT equals
// tshark's tcp.analysis.initial_rtt within 1 µs for every stream.
func TestHandshakeRTTMatchesTshark(t *testing.T) {
	n := 0
	for _, path := range anaCaptureList(t) {
		base := anaRefBase(path)
		if _, err := os.Stat(base + ".summary.json"); err != nil {
			if _, err := os.Stat(base + ".flags.json"); err != nil {
				continue
			}
		}
		ref := anaLoadReference(t, base)
		res := anaRun(readPackets(t, path))
		byID := map[uint64]time.Duration{}
		for _, f := range res.flows {
			if f.HandshakeRTT > 0 {
				byID[f.ID] = f.HandshakeRTT
			}
		}
		for id, want := range ref.initialRTT {
			got, ok := byID[id]
			if d := got - want; !ok || d > time.Microsecond || d < -time.Microsecond {
				t.Errorf("%s stream %d: handshake RTT %v, tshark initial_rtt %v", anaCaptureName(path), id, got, want)
			}
			n++
		}
		for id := range byID {
			if _, ok := ref.initialRTT[id]; !ok {
				t.Errorf("%s stream %d: handshake RTT %v, tshark has none", anaCaptureName(path), id, byID[id])
			}
		}
	}
	t.Logf("%d streams: handshake RTT equals tshark's initial_rtt within 1 µs", n)
}

// anaCopies returns the frames that repeat an earlier packet of the same
// direction: the same IPv4 ID (non-zero), sequence and acknowledgment
// numbers and length — the copies the Tracker recognises as duplicates.
func anaCopies(pkts []layers.Packet) map[int64]bool {
	type key struct {
		src, dst     netip.AddrPort
		id, seq, ack uint32
		plen         int
	}
	seen := map[key]bool{}
	out := map[int64]bool{}
	for i := range pkts {
		p := &pkts[i]
		if p.Network != 4 || p.IPID == 0 {
			continue
		}
		k := key{p.SrcAddrPort(), p.DstAddrPort(), p.IPID, p.TCP.Seq, p.TCP.Ack, p.PayloadLen}
		if seen[k] {
			out[p.Frame] = true
		}
		seen[k] = true
	}
	return out
}
