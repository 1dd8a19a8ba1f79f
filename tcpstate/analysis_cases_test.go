package tcpstate

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/diagnose"
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/layers"
)

// Scenario tests named after the casebook cases (../shared/CASEBOOK.md).

// anaDiagnose runs pkts through the tracker, feeds every summary to a
// Connections and returns the analysis result and the diagnoses.
func anaDiagnose(pkts []layers.Packet) (anaResult, *health.Collector) {
	res := anaRun(pkts)
	d := diagnose.NewConnections(diagnose.ConnectionsConfig{})
	for i := range res.flows {
		d.Flow(&res.flows[i])
	}
	diag := &health.Collector{}
	d.Finish(diag)
	return res, diag
}

// anaOne returns the only event of kind k, or fails.
func anaOne(t *testing.T, c *health.Collector, k health.Kind) health.Event {
	t.Helper()
	evs := c.OfKind(k)
	if len(evs) != 1 {
		t.Fatalf("%d %s events, want 1: %v", len(evs), k, evs)
	}
	t.Logf("%s frame %d: %s", k, evs[0].Frame, evs[0].Message)
	return evs[0]
}

// anaNone fails when c holds an event of kind k.
func anaNone(t *testing.T, c *health.Collector, k health.Kind) {
	t.Helper()
	if evs := c.OfKind(k); len(evs) > 0 {
		t.Errorf("unexpected %s: %v", k, evs)
	}
}

// anaEv returns the evidence fields of e named in keys, formatted with
// fmt, for cmp.Diff against literals.
func anaEv(e health.Event, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		out[k] = fmt.Sprint(e.Evidence[k])
	}
	return out
}

func anaTestdataCapture(t *testing.T, name string) []layers.Packet {
	return readPackets(t, filepath.Join(anaTestdata(), name))
}

func TestCaseC1_SynAckPayload(t *testing.T) {
	t.Run("client capture", func(t *testing.T) {
		res := anaRun(anaTestdataCapture(t, "c01-synack-payload-client.pcap"))
		e := anaOne(t, res.col, health.TCPSynAckPayload)
		if e.Frame != 2 {
			t.Errorf("frame %d, want 2", e.Frame)
		}
		if diff := cmp.Diff(map[string]string{"payload_len": "2", "ip_total_len": "62"}, anaEv(e, "payload_len", "ip_total_len")); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
		// The Linux client ACKs ISN+1: no mismatch, and the server's data
		// that follows is not a retransmission (tshark says it is).
		anaNone(t, res.col, health.TCPHandshakeAckMismatch)
		anaNone(t, res.col, health.TCPRetransmission)
		anaNone(t, res.col, health.TCPAckUnseenSegment)
		if len(res.flows) != 1 || !res.flows[0].Established {
			t.Errorf("flows %+v, want 1 established", res.flows)
		}
	})
	t.Run("server capture", func(t *testing.T) {
		res := anaRun(anaTestdataCapture(t, "c01-synack-payload-server.pcap"))
		// At the server the SYN-ACK has IP total length 60 and no payload:
		// the bytes were added in transit.
		anaNone(t, res.col, health.TCPSynAckPayload)
		anaNone(t, res.col, health.TCPHandshakeAckMismatch)
	})
	t.Run("Windows-like ACK Synthetic", func(t *testing.T) {
		// The casebook's figures: the client ACKs ISN+3, the firewall drops
		// it, the ClientHello (127 bytes) is retransmitted 5 times, the
		// server re-sends its SYN-ACK after ~3.2 s and resets after ~14 s.
		b := newAnaSynth(t)
		cli := netip.MustParseAddrPort("10.110.233.50:50183")
		srv := netip.MustParseAddrPort("172.16.1.1:443")
		const cISN, sISN = 367515135, 2180033885
		ms := time.Millisecond
		b.add(anaSeg{at: 0, src: cli, dst: srv, flags: "S", seq: cISN, wscale: -1})
		b.add(anaSeg{at: 30 * ms, src: srv, dst: cli, flags: "SA", seq: sISN, ack: cISN + 1, payload: 2, wscale: -1})
		b.add(anaSeg{at: 31 * ms, src: cli, dst: srv, flags: "A", seq: cISN + 1, ack: sISN + 3})
		b.add(anaSeg{at: 32 * ms, src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 3, payload: 127})
		hello := b.frame()
		at := 32 * ms
		for _, gap := range []time.Duration{320 * ms, 610 * ms, 1210 * ms, 1090 * ms, 1200 * ms} {
			at += gap
			b.add(anaSeg{at: at, src: cli, dst: srv, flags: "PA", seq: cISN + 1, ack: sISN + 3, payload: 127})
		}
		b.add(anaSeg{at: 3230 * ms, src: srv, dst: cli, flags: "SA", seq: sISN, ack: cISN + 1, wscale: -1})
		b.add(anaSeg{at: 14030 * ms, src: srv, dst: cli, flags: "R", seq: sISN + 1})
		rst := b.frame()
		res := anaRun(b.frames)

		e := anaOne(t, res.col, health.TCPSynAckPayload)
		if diff := cmp.Diff(map[string]string{"payload_len": "2", "ip_total_len": fmt.Sprint(b.frames[1].IPLen)}, anaEv(e, "payload_len", "ip_total_len")); diff != "" {
			t.Errorf("synack_payload evidence (-want +got):\n%s", diff)
		}
		e = anaOne(t, res.col, health.TCPHandshakeAckMismatch)
		if e.Frame != 3 {
			t.Errorf("mismatch frame %d, want 3", e.Frame)
		}
		if diff := cmp.Diff(map[string]string{"expected_ack": "2180033886", "got_ack": "2180033888", "isn": "2180033885"},
			anaEv(e, "expected_ack", "got_ack", "isn")); diff != "" {
			t.Errorf("mismatch evidence (-want +got):\n%s", diff)
		}
		rts := res.col.OfKind(health.TCPRetransmission)
		hellos := 0
		for _, r := range rts {
			if r.Evidence["bytes"] == uint32(127) {
				hellos++
				if r.Evidence["original_frame"] != hello {
					t.Errorf("retransmission frame %d names original %v, want %d", r.Frame, r.Evidence["original_frame"], hello)
				}
			}
		}
		if hellos != 5 {
			t.Errorf("%d ClientHello retransmissions, want 5", hellos)
		}
		e = anaOne(t, res.col, health.TCPRTOBackoff)
		if diff := cmp.Diff(map[string]string{"count": "5", "gaps_ms": "[320 610 1210 1090 1200]", "first_frame": fmt.Sprint(hello)},
			anaEv(e, "count", "gaps_ms", "first_frame")); diff != "" {
			t.Errorf("backoff evidence (-want +got):\n%s", diff)
		}
		e = anaOne(t, res.col, health.TCPReset)
		if e.Frame != rst || e.Severity != health.Warning {
			t.Errorf("reset frame %d severity %v, want %d warning", e.Frame, e.Severity, rst)
		}
		if diff := cmp.Diff(map[string]string{"by": "server", "unacked_c2s": "127"}, anaEv(e, "by", "unacked_c2s")); diff != "" {
			t.Errorf("reset evidence (-want +got):\n%s", diff)
		}
	})
}

// TestCaseC13_LossBackoffResetSynthetic builds the casebook's C13 figures:
// one segment of an HTTP POST lost and retransmitted 5 times with
// +2.6, +5.1, +10.4, +20.9, +41.7 s gaps, the server SACKing the later
// data (SLE=1742 SRE=2328) and resetting the connection ~2 min later.
func TestCaseC13_LossBackoffResetSynthetic(t *testing.T) {
	b := newAnaSynth(t)
	cli := netip.MustParseAddrPort("10.1.1.1:1099")
	srv := netip.MustParseAddrPort("172.16.1.1:80")
	const c, s = 1000, 50000 // ISNs: relative seq = absolute - ISN
	ms := time.Millisecond
	b.add(anaSeg{at: 0, src: cli, dst: srv, flags: "S", seq: c, wscale: -1})
	b.add(anaSeg{at: 50 * ms, src: srv, dst: cli, flags: "SA", seq: s, ack: c + 1, wscale: -1})
	b.add(anaSeg{at: 51 * ms, src: cli, dst: srv, flags: "A", seq: c + 1, ack: s + 1})
	b.add(anaSeg{at: 60 * ms, src: cli, dst: srv, flags: "PA", seq: c + 1, ack: s + 1, payload: 1155})
	b.add(anaSeg{at: 110 * ms, src: srv, dst: cli, flags: "A", seq: s + 1, ack: c + 1156})
	b.add(anaSeg{at: 120 * ms, src: cli, dst: srv, flags: "A", seq: c + 1156, ack: s + 1, payload: 586})
	lost := b.frame() // the continuation segment never seen at the server
	b.add(anaSeg{at: 121 * ms, src: cli, dst: srv, flags: "PA", seq: c + 1742, ack: s + 1, payload: 586})
	sack := [][2]uint32{{c + 1742, c + 2328}}
	b.add(anaSeg{at: 171 * ms, src: srv, dst: cli, flags: "A", seq: s + 1, ack: c + 1156, sack: sack})
	holeFrame := b.frame()
	at := 120 * ms
	for i, gap := range []time.Duration{2600 * ms, 5100 * ms, 10400 * ms, 20900 * ms, 41700 * ms} {
		at += gap
		b.add(anaSeg{at: at, src: cli, dst: srv, flags: "A", seq: c + 1156, ack: s + 1, payload: 586})
		if i == 2 || i == 3 {
			// The server's keep-alives keep SACKing around the hole.
			b.add(anaSeg{at: at + 500*ms, src: srv, dst: cli, flags: "A", seq: s, ack: c + 1156, sack: sack})
		}
	}
	b.add(anaSeg{at: 120*ms + 2*time.Minute, src: srv, dst: cli, flags: "RA", seq: s + 1, ack: c + 1156})
	rst := b.frame()

	res := anaRun(b.frames)
	rts := res.col.OfKind(health.TCPRetransmission)
	if len(rts) != 5 {
		t.Fatalf("%d retransmissions, want 5: %v", len(rts), rts)
	}
	var since []string
	for _, r := range rts {
		if r.Evidence["original_frame"] != lost || r.Evidence["cause"] != "loss" {
			t.Errorf("retransmission frame %d: original %v cause %v, want %d loss", r.Frame, r.Evidence["original_frame"], r.Evidence["cause"], lost)
		}
		since = append(since, fmt.Sprint(r.Evidence["since_original_ms"]))
	}
	if diff := cmp.Diff([]string{"2600", "7700", "18100", "39000", "80700"}, since); diff != "" {
		t.Errorf("since_original_ms (-want +got):\n%s", diff)
	}
	t.Logf("retransmission: %s", rts[0].Message)

	e := anaOne(t, res.col, health.TCPRTOBackoff)
	if diff := cmp.Diff(map[string]string{"count": "5", "gaps_ms": "[2600 5100 10400 20900 41700]", "first_frame": fmt.Sprint(lost), "acked": "false"},
		anaEv(e, "count", "gaps_ms", "first_frame", "acked")); diff != "" {
		t.Errorf("backoff evidence (-want +got):\n%s", diff)
	}
	e = anaOne(t, res.col, health.TCPSackHole)
	if e.Frame != holeFrame {
		t.Errorf("sack hole frame %d, want %d", e.Frame, holeFrame)
	}
	if diff := cmp.Diff(map[string]string{"hole_start": "1156", "hole_len": "586", "sle": "1742", "sre": "2328", "sack_count": "3", "filled": "false"},
		anaEv(e, "hole_start", "hole_len", "sle", "sre", "sack_count", "filled")); diff != "" {
		t.Errorf("sack hole evidence (-want +got):\n%s", diff)
	}
	e = anaOne(t, res.col, health.TCPReset)
	if diff := cmp.Diff(map[string]string{"by": "server", "state": "ESTABLISHED", "unacked_c2s": "1172"}, anaEv(e, "by", "state", "unacked_c2s")); diff != "" {
		t.Errorf("reset evidence (-want +got):\n%s", diff)
	}
	if e.Frame != rst {
		t.Errorf("reset frame %d, want %d", e.Frame, rst)
	}
	if len(res.flows) != 1 || res.flows[0].RetransBytes[0] != 5*586 {
		t.Errorf("flow stats %+v, want retransmitted 2930 bytes c2s", res.flows)
	}
}

func TestCaseC14_ResetsAfterIdle(t *testing.T) {
	res, diag := anaDiagnose(anaTestdataCapture(t, "c14-arp-burst-resets-after-idle-client.pcap"))
	resets := res.col.OfKind(health.TCPReset)
	if len(resets) != 20 {
		t.Fatalf("%d resets, want 20", len(resets))
	}
	for _, r := range resets {
		if r.Evidence["by"] != "client" || r.Evidence["idle_ms"].(float64) < 8000 || r.Frame < 202 || r.Frame > 240 {
			t.Errorf("reset %d: %v", r.Frame, r.Evidence)
		}
	}
	e := anaOne(t, diag, health.TCPResetAfterIdle)
	if diff := cmp.Diff(map[string]string{"count": "20", "by": "client"}, anaEv(e, "count", "by")); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	if idle := e.Evidence["idle_ms"].(float64); idle < 8000 || idle > 8200 {
		t.Errorf("idle_ms %v, want ~8000", idle)
	}
	if e.Frame != 202 {
		t.Errorf("frame %d, want 202", e.Frame)
	}
	anaNone(t, diag, health.TCPSourcePortFailures)
	anaNone(t, diag, health.TCPNotAccepting)
}

func TestCaseC18_SourcePortFailures(t *testing.T) {
	res, diag := anaDiagnose(anaTestdataCapture(t, "c18-source-port-blocked-client.pcap"))
	if n := len(res.col.OfKind(health.TCPSynUnanswered)); n != 3 {
		t.Errorf("%d tcp.syn_unanswered, want 3", n)
	}
	e := anaOne(t, diag, health.TCPSourcePortFailures)
	if diff := cmp.Diff(map[string]string{"ports": "[40100 40102 40107]", "failed": "3", "ok": "17", "server": "10.200.3.20:80"},
		anaEv(e, "ports", "failed", "ok", "server")); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	anaNone(t, diag, health.TCPNotAccepting)
}

func TestCaseC20_NotAcceptingNewConnections(t *testing.T) {
	sh := anaShared()
	if sh == "" {
		t.Skip("../shared not available (the synthetic variant covers the case)")
	}
	res, diag := anaDiagnose(readPackets(t, filepath.Join(sh, "captures", "cases", "c20-new-connections-dropped-server.pcap")))
	if n := len(res.col.OfKind(health.TCPSynUnanswered)); n != 5 {
		t.Errorf("%d tcp.syn_unanswered, want 5", n)
	}
	e := anaOne(t, diag, health.TCPNotAccepting)
	if diff := cmp.Diff(map[string]string{"server": "10.200.3.20:80", "unanswered": "5", "syns": "15", "served": "3",
		"source_ports": "[44754 44762 44764 44768 44776]"},
		anaEv(e, "server", "unanswered", "syns", "served", "source_ports")); diff != "" {
		t.Errorf("evidence (-want +got):\n%s", diff)
	}
	anaNone(t, diag, health.TCPSourcePortFailures)
}

// anaC20Synth builds C20 from its description: three long downloads from
// 10.0.0.80:80, then five new attempts from 4 s on whose SYNs (and
// retries at +1 and +3 s) get no answer. servedUntil is when the
// downloads stop: after the failures (the server keeps serving) or before
// them (a path that drops everything).
func anaC20Synth(t *testing.T, servedUntil time.Duration) []layers.Packet {
	b := newAnaSynth(t)
	srv := netip.MustParseAddrPort("10.0.0.80:80")
	type ev struct {
		at  time.Duration
		seg anaSeg
	}
	var evs []ev
	ms := time.Millisecond
	for i := 0; i < 3; i++ {
		cli := netip.AddrPortFrom(netip.MustParseAddr("10.0.1.10"), uint16(50001+i))
		start := time.Duration(i) * 300 * ms
		c, s := uint32(1000*(i+1)), uint32(900000*(i+1))
		evs = append(evs,
			ev{start, anaSeg{src: cli, dst: srv, flags: "S", seq: c, wscale: -1}},
			ev{start + ms, anaSeg{src: srv, dst: cli, flags: "SA", seq: s, ack: c + 1, wscale: -1}},
			ev{start + 2*ms, anaSeg{src: cli, dst: srv, flags: "A", seq: c + 1, ack: s + 1}},
			ev{start + 3*ms, anaSeg{src: cli, dst: srv, flags: "PA", seq: c + 1, ack: s + 1, payload: 80}})
		next := s + 1
		for at := start + 100*ms; at < servedUntil; at += 500 * ms {
			evs = append(evs,
				ev{at, anaSeg{src: srv, dst: cli, flags: "A", seq: next, ack: c + 81, payload: 1000}},
				ev{at + ms, anaSeg{src: cli, dst: srv, flags: "A", seq: c + 81, ack: next + 1000}})
			next += 1000
		}
	}
	for i := 0; i < 5; i++ {
		cli := netip.AddrPortFrom(netip.MustParseAddr("10.0.1.10"), uint16(44001+i))
		start := 4*time.Second + time.Duration(i)*700*ms
		for _, retry := range []time.Duration{0, time.Second, 3 * time.Second} {
			evs = append(evs, ev{start + retry, anaSeg{src: cli, dst: srv, flags: "S", seq: uint32(7000 + i), wscale: -1}})
		}
	}
	// Capture order is time order.
	for i := 1; i < len(evs); i++ {
		for j := i; j > 0 && evs[j].at < evs[j-1].at; j-- {
			evs[j], evs[j-1] = evs[j-1], evs[j]
		}
	}
	for _, e := range evs {
		e.seg.at = e.at
		b.add(e.seg)
	}
	return b.frames
}

func TestCaseC20_NotAcceptingNewConnectionsSynthetic(t *testing.T) {
	t.Run("server keeps serving", func(t *testing.T) {
		_, diag := anaDiagnose(anaC20Synth(t, 12*time.Second))
		e := anaOne(t, diag, health.TCPNotAccepting)
		if diff := cmp.Diff(map[string]string{"server": "10.0.0.80:80", "unanswered": "5", "syns": "15", "served": "3"},
			anaEv(e, "server", "unanswered", "syns", "served")); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
		anaNone(t, diag, health.TCPSourcePortFailures)
	})
	t.Run("path drops everything", func(t *testing.T) {
		// The established downloads stop when the SYNs start failing: not
		// a server that stopped accepting.
		_, diag := anaDiagnose(anaC20Synth(t, 4*time.Second))
		anaNone(t, diag, health.TCPNotAccepting)
		anaNone(t, diag, health.TCPSourcePortFailures)
	})
}

// TestLifecycleFindings checks the handshake and lifecycle events on the
// small real captures kept in testdata.
func TestLifecycleFindings(t *testing.T) {
	t.Run("syn unanswered", func(t *testing.T) {
		res := anaRun(anaTestdataCapture(t, "tcp-syn-unanswered-nft-drop.pcap"))
		e := anaOne(t, res.col, health.TCPSynUnanswered)
		if diff := cmp.Diff(map[string]string{"syn_count": "7"}, anaEv(e, "syn_count")); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
		if sp := e.Evidence["retry_spacing_ms"].([]float64); len(sp) != 6 || sp[0] < 1000 || sp[5] < 2000 {
			t.Errorf("retry spacing %v", sp)
		}
		if e.Frame != 1 || res.flows[0].SYNs != 7 {
			t.Errorf("frame %d, SYNs %d", e.Frame, res.flows[0].SYNs)
		}
	})
	t.Run("refused", func(t *testing.T) {
		res := anaRun(anaTestdataCapture(t, "tcp-conn-refused-rst.pcap"))
		e := anaOne(t, res.col, health.TCPRefused)
		if e.Frame != 2 || e.Evidence["syn_frame"] != int64(1) {
			t.Errorf("refused %d %v", e.Frame, e.Evidence)
		}
		anaNone(t, res.col, health.TCPReset)
	})
	t.Run("rto backoff", func(t *testing.T) {
		res := anaRun(anaTestdataCapture(t, "tcp-pmtu-blackhole-server.pcap"))
		e := anaOne(t, res.col, health.TCPRTOBackoff)
		if diff := cmp.Diff(map[string]string{"count": "5", "first_frame": "7", "acked": "false"}, anaEv(e, "count", "first_frame", "acked")); diff != "" {
			t.Errorf("evidence (-want +got):\n%s", diff)
		}
		f := res.flows[0]
		if f.RetransBytes[1] != 5*1448 || f.MaxInFlight[1] == 0 {
			t.Errorf("retrans bytes %v, max in flight %v", f.RetransBytes, f.MaxInFlight)
		}
	})
	t.Run("keep-alive and idle", func(t *testing.T) {
		res := anaRun(anaTestdataCapture(t, "tcp-keepalive-idle-python.pcap"))
		if n := len(res.col.OfKind(health.TCPKeepAlive)); n != 4 {
			t.Errorf("%d keep-alives, want 4", n)
		}
		if f := res.flows[0]; f.MaxIdle < 900*time.Millisecond || f.RTTSamples == 0 || f.RTTMin > f.RTTMedian || f.RTTMedian > f.RTTMax {
			t.Errorf("max idle %v, RTT %v/%v/%v (%d samples)", f.MaxIdle, f.RTTMin, f.RTTMedian, f.RTTMax, f.RTTSamples)
		}
	})
	t.Run("zero window", func(t *testing.T) {
		res := anaRun(anaTestdataCapture(t, "tcp-zero-window-slow-reader-client-head.pcap"))
		probes := 0
		for _, e := range res.col.OfKind(health.TCPKeepAlive) {
			if e.Evidence["zero_window_probe"] == true {
				probes++
			}
		}
		if probes != 3 {
			t.Errorf("%d keep-alives recognised as Linux zero-window probes, want 3", probes)
		}
		if zw := res.flows[0].ZeroWindow[0]; zw < time.Second {
			t.Errorf("client zero-window time %v, want > 1 s", zw)
		}
	})
}
