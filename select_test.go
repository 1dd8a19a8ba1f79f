package nettrace

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
	"github.com/nettrace/nettrace/tls"
)

const selectDemo = "examples/doctor/demo/branch-office.pcapng"

// subsetCapture writes the frames of the capture at path that keep selects
// into a pcap file of their own and returns it with the original number of
// each frame written.
func subsetCapture(t *testing.T, path string, keep func(f *layers.Frame, first time.Time) bool) ([]byte, []int64) {
	t.Helper()
	c, err := layers.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var buf bytes.Buffer
	var w *pcapgo.Writer
	var numbers []int64
	var first time.Time
	for {
		f, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.Number == 1 {
			first = f.Time
		}
		if w == nil {
			w = pcapgo.NewWriterNanos(&buf)
			if err := w.WriteFileHeader(65535, f.LinkType); err != nil {
				t.Fatal(err)
			}
		}
		if !keep(f, first) {
			continue
		}
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: f.CapLen, Length: f.WireLen}
		if err := w.WritePacket(ci, f.Data); err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, f.Number)
	}
	return buf.Bytes(), numbers
}

// secretsOf returns a key log holding the capture's Decryption Secrets
// Blocks, which a pcap subset does not carry.
func secretsOf(t *testing.T, path string) *tls.KeyLog {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kl := tls.NewKeyLog()
	if s, err := layers.ReadSecrets(f); err == nil {
		_ = kl.Add(s)
	}
	return kl
}

// selectionRun is one analysis: its JSON-lines events and messages and its
// Report.
type selectionRun struct {
	out string
	rep *Report
}

func analyseWith(t *testing.T, name string, r io.Reader, opts Options, renumber func(int64) int64) selectionRun {
	t.Helper()
	var out bytes.Buffer
	sink := health.NewJSONSink(&out, true, true)
	opts.Reporter = sink
	opts.Messages, opts.PacketMessages = true, true
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	a.renumber = renumber
	rep, err := a.Analyze(name, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	return selectionRun{out.String(), rep}
}

// compareRuns checks that two analyses found the same: events, messages,
// findings, connections, protocols and the capture's profile.
func compareRuns(t *testing.T, want, got selectionRun) {
	t.Helper()
	if diff := cmp.Diff(strings.Split(want.out, "\n"), strings.Split(got.out, "\n")); diff != "" {
		t.Errorf("events and messages differ (-subset +filtered):\n%s", diff)
	}
	opts := cmp.Options{cmpopts.EquateComparable(netip.AddrPort{}, netip.Addr{}), cmpopts.EquateEmpty(), cmpopts.IgnoreUnexported(Report{})}
	if diff := cmp.Diff(want.rep.Findings, got.rep.Findings, opts); diff != "" {
		t.Errorf("findings differ (-subset +filtered):\n%s", diff)
	}
	if diff := cmp.Diff(want.rep.Flows, got.rep.Flows, opts); diff != "" {
		t.Errorf("connections differ (-subset +filtered):\n%s", diff)
	}
	if diff := cmp.Diff(want.rep.Protocols, got.rep.Protocols, opts); diff != "" {
		t.Errorf("protocols differ (-subset +filtered):\n%s", diff)
	}
	if diff := cmp.Diff(want.rep.Profile, got.rep.Profile, opts); diff != "" {
		t.Errorf("profile differs (-subset +filtered):\n%s", diff)
	}
}

// TestFilterEqualsSubsetCapture: analysing a capture with Options.Filter
// finds exactly what analysing a capture of only the matching frames finds
// (tcpdump -w with the filter), frames keeping their numbers in the whole
// capture — in a single-worker and a parallel run.
func TestFilterEqualsSubsetCapture(t *testing.T) {
	tests := []struct{ path, filter string }{
		{selectDemo, "tcp port 445 or port 139"},
		{selectDemo, "not host 10.200.3.20"},
		{selectDemo, "tcp and not port 443"},
		{selectDemo, "arp or (tcp and src port 135)"},
		{"testdata/root/c04-epm-vip-client.pcap", "host 10.200.3.100"},
		{"testdata/health/c02-nat-per-source-limit-server.pcap", "portrange 40000-50000 or dst port 80"},
		{"testdata/health/c14-arp-burst-resets-after-idle-client.pcap", "not arp"},
		{"testdata/health/c16-dns-cname-then-http-crl-client.pcap", "udp"},
		{"testdata/layers/zeek-ipv6-fragmented-dns.pcap", "ip6"},
	}
	for _, tc := range tests {
		t.Run(tc.path+"/"+tc.filter, func(t *testing.T) {
			flt := layers.MustCompileFilter(tc.filter)
			sub, numbers := subsetCapture(t, tc.path, func(f *layers.Frame, _ time.Time) bool { return flt.MatchFrame(f) })
			if len(numbers) == 0 {
				t.Fatal("the filter matches no frame: not a test")
			}
			subset := analyseWith(t, tc.path, bytes.NewReader(sub), Options{KeyLog: secretsOf(t, tc.path)},
				func(n int64) int64 { return numbers[n-1] })
			for _, workers := range []int{1, 2} {
				f, err := os.Open(tc.path)
				if err != nil {
					t.Fatal(err)
				}
				filtered := analyseWith(t, tc.path, f, Options{Filter: tc.filter, Workers: workers, KeyLog: secretsOf(t, tc.path)}, nil)
				f.Close()
				compareRuns(t, subset, filtered)
				if want := filtered.rep.Capture.Frames - int64(len(numbers)); filtered.rep.Skipped.Frames != want {
					t.Errorf("Skipped.Frames = %d, want %d", filtered.rep.Skipped.Frames, want)
				}
			}
		})
	}
}

// TestTimeWindowEqualsSubsetCapture: Options.From and To (absolute or from
// the first frame) leave out the frames outside [From, To).
func TestTimeWindowEqualsSubsetCapture(t *testing.T) {
	times := frameTimes(t, selectDemo)
	first, mid := times[0], times[len(times)/2]
	tests := []struct {
		name     string
		from, to TimeBound
	}{
		{"first half", TimeBound{}, At(mid)},
		{"second half", At(mid), TimeBound{}},
		{"relative", AfterFirst(times[len(times)/4].Sub(first)), AfterFirst(times[3*len(times)/4].Sub(first))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub, numbers := subsetCapture(t, selectDemo, func(f *layers.Frame, first time.Time) bool {
				from, to := tc.from.resolve(first), tc.to.resolve(first)
				return (tc.from.IsZero() || !f.Time.Before(from)) && (tc.to.IsZero() || f.Time.Before(to))
			})
			if len(numbers) == 0 {
				t.Fatal("no frame in the window")
			}
			subset := analyseWith(t, "sub", bytes.NewReader(sub), Options{KeyLog: secretsOf(t, selectDemo)}, func(n int64) int64 { return numbers[n-1] })
			f, err := os.Open(selectDemo)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			windowed := analyseWith(t, "w", f, Options{From: tc.from, To: tc.to, KeyLog: secretsOf(t, selectDemo)}, nil)
			compareRuns(t, subset, windowed)
		})
	}
}

// frameTimes returns the time of every frame of a capture.
func frameTimes(t *testing.T, path string) []time.Time {
	t.Helper()
	var times []time.Time
	subsetCapture(t, path, func(f *layers.Frame, _ time.Time) bool {
		times = append(times, f.Time)
		return false
	})
	return times
}

// TestStreamsAnalyseOnlyThoseConnections: with Options.Streams the
// selected connection is numbered, summarised and decoded as in a run of
// the whole capture, and nothing is reported about the others.
func TestStreamsAnalyseOnlyThoseConnections(t *testing.T) {
	whole, err := AnalyzeFile(selectDemo, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Flows) < 5 {
		t.Fatalf("%d connections in the demo", len(whole.Flows))
	}
	for _, fl := range whole.Flows {
		flow := layers.Flow{Src: fl.Client, Dst: fl.Server, Proto: layers.ProtoTCP}.String()
		t.Run(flow, func(t *testing.T) {
			for _, workers := range []int{1, 2} {
				col := &health.Collector{}
				rep, err := AnalyzeFile(selectDemo, Options{Streams: []uint64{fl.ID, 999}, Reporter: col, Workers: workers})
				if err != nil {
					t.Fatal(err)
				}
				opts := cmp.Options{cmpopts.EquateComparable(netip.AddrPort{}, netip.Addr{}), cmpopts.EquateEmpty()}
				if diff := cmp.Diff([]Flow{fl}, rep.Flows, opts); diff != "" {
					t.Errorf("connections (-whole +selected):\n%s", diff)
				}
				for _, e := range col.Events {
					if e.Flow != "" && e.Flow != flow {
						t.Errorf("event %s at frame %d on another connection %s", e.Kind, e.Frame, e.Flow)
					}
				}
				want := Skipped{Packets: rep.Capture.Frames - (fl.Packets[0] + fl.Packets[1]), Streams: len(whole.Flows) - 1, Missing: []uint64{999}}
				if diff := cmp.Diff(want, rep.Skipped); diff != "" {
					t.Errorf("Skipped (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestNewRejectsBadSelection(t *testing.T) {
	_, err := New(Options{Filter: "tcp and hots 10.0.0.1"})
	var fe *layers.FilterError
	if !errors.As(err, &fe) || fe.Pos != 9 {
		t.Errorf("New with a bad filter: %v, want a *layers.FilterError at position 9", err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, o := range []Options{
		{From: At(now), To: At(now)},
		{From: At(now.Add(time.Second)), To: At(now)},
		{From: AfterFirst(10 * time.Second), To: AfterFirst(5 * time.Second)},
	} {
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), "is not before") {
			t.Errorf("New(From %s, To %s) = %v, want an error", o.From, o.To, err)
		}
	}
	if _, err := New(Options{From: AfterFirst(time.Second), To: At(now)}); err != nil {
		t.Errorf("a relative From and an absolute To cannot be compared before the capture is read: %v", err)
	}
}

func TestParseTimeBound(t *testing.T) {
	tests := []struct {
		in      string
		want    TimeBound
		wantErr bool
	}{
		{in: "", want: TimeBound{}},
		{in: "+10s", want: AfterFirst(10 * time.Second)},
		{in: "+1m30s", want: AfterFirst(90 * time.Second)},
		{in: "+250ms", want: AfterFirst(250 * time.Millisecond)},
		{in: "+90", want: AfterFirst(90 * time.Second)},
		{in: "+1.5", want: AfterFirst(1500 * time.Millisecond)},
		{in: "+0", want: AfterFirst(0)},
		{in: "2026-11-21T10:00:00Z", want: At(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC))},
		{in: " 2026-11-21T10:00:00.25Z ", want: At(time.Date(2026, 11, 21, 10, 0, 0, 250e6, time.UTC))},
		{in: "+-5s", wantErr: true},
		{in: "+ten", wantErr: true},
		{in: "10s", wantErr: true},
		{in: "2026-11-21 10:00:00", wantErr: true},
		{in: "yesterday", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ParseTimeBound(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseTimeBound(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && !(got.Relative == tc.want.Relative && got.Offset == tc.want.Offset && got.Time.Equal(tc.want.Time)) {
			t.Errorf("ParseTimeBound(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if err == nil {
			again, err := ParseTimeBound(got.String())
			if err != nil || again.Relative != got.Relative || again.Offset != got.Offset || !again.Time.Equal(got.Time) {
				t.Errorf("String() %q does not parse back: %+v, %v", got.String(), again, err)
			}
		}
	}
}
