package layers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nettrace/nettrace/health"
)

// TestMalformedHeadersAreEvents: bogus IP/TCP/UDP lengths and TCP option
// loops give capture.decode_error naming the frame and the layer, never a
// panic. A bad TCP option keeps the header (ports, seq) with the event.
func TestMalformedHeadersAreEvents(t *testing.T) {
	syn := func() []byte { return tcp4(t, "10.0.0.1", "10.0.0.2", 64, 1234, 80, 1, 0, true, []byte("data")) }
	const ip, tcp = 14, 14 + 20
	tests := []struct {
		name     string
		mutate   func(b []byte) []byte
		decoded  bool
		layer    string
		contains string
	}{
		{"ihl 4", func(b []byte) []byte { b[ip] = 0x44; return b }, false, "IPv4", "header length"},
		{"total length 10", func(b []byte) []byte { b[ip+2], b[ip+3] = 0, 10; return b }, false, "IPv4", "IP length"},
		{"total length beyond frame", func(b []byte) []byte { b[ip+2], b[ip+3] = 0x05, 0xdc; return b }, false, "ipv4", "exceeds"},
		{"tcp data offset 3", func(b []byte) []byte { b[tcp+12] = 3 << 4; return b }, false, "tcp", "data offset 3"},
		{"tcp data offset 15 beyond segment", func(b []byte) []byte { b[tcp+12] = 15 << 4; return b }, false, "tcp", "outside"},
		{"tcp option loop (length 0)", func(b []byte) []byte {
			b[tcp+12] = 6 << 4
			copy(b[tcp+20:], []byte{8, 0, 0, 0})
			return b
		}, true, "tcp options", "option loop"},
		{"tcp option past header", func(b []byte) []byte {
			b[tcp+12] = 6 << 4
			copy(b[tcp+20:], []byte{2, 40, 0, 0})
			return b
		}, true, "tcp options", "exceeds"},
		{"ethernet cut", func(b []byte) []byte { return b[:10] }, false, "Ethernet", ""},
		{"ipv4 header cut", func(b []byte) []byte { return b[:14+12] }, false, "IPv4", ""},
		{"tcp header cut", func(b []byte) []byte { b[ip+2], b[ip+3] = 0, 30; return b[:14+30] }, false, "tcp", "20 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			col := &health.Collector{}
			d := NewDecoder(col, DefaultLimits())
			p, ok := d.Decode(eframe(42, tc.mutate(syn())))
			if ok != tc.decoded {
				t.Fatalf("decoded = %v, want %v", ok, tc.decoded)
			}
			if ok && (p.TCP.SrcPort != 1234 || p.Transport != TransportTCP) {
				t.Errorf("header not kept: %+v", p.TCP)
			}
			ev := col.OfKind(health.CaptureDecodeError)
			if len(ev) != 1 {
				t.Fatalf("events = %+v, want one capture.decode_error", col.Events)
			}
			if ev[0].Frame != 42 || ev[0].Evidence["layer"] != tc.layer || !strings.Contains(ev[0].Message, tc.contains) {
				t.Errorf("event = %+v", ev[0])
			}
		})
	}
}

// TestSnaplenTruncated: frames cut to 60 bytes (editcap -s 60) keep their
// headers, PayloadLen comes from the IP length, checksums are unchecked,
// and capture.snaplen is reported once per capture.
func TestSnaplenTruncated(t *testing.T) {
	rows, col := decodeFile(t, testdata("tls12-gcm-snap60.pcap"))
	full, _ := decodeFile(t, testdata("tls12-gcm.pcap"))
	trunc := 0
	for i, r := range rows {
		if !r.ok {
			t.Fatalf("frame %d not decoded", r.frame)
		}
		if r.trunc {
			trunc++
			if r.l4Checksum != ChecksumUnchecked {
				t.Errorf("frame %d: checksum checked on a cut frame", r.frame)
			}
		}
		if r.tcpLen != full[i].tcpLen || r.seq != full[i].seq || r.flags != full[i].flags {
			t.Errorf("frame %d: len %d seq %d flags %x, untruncated %d %d %x", r.frame, r.tcpLen, r.seq, r.flags, full[i].tcpLen, full[i].seq, full[i].flags)
		}
	}
	ev := col.OfKind(health.CaptureSnaplen)
	if len(ev) != 1 || ev[0].Evidence["captured"] != 60 {
		t.Errorf("capture.snaplen events = %+v", ev)
	}
	if len(col.Events) != 1 {
		t.Errorf("other events: %+v", col.Events)
	}
	t.Logf("%d of %d frames cut by the snapshot length; tcp.len/seq/flags equal to the uncut capture", trunc, len(rows))
}

// TestTCPOptions: the SYN of a real connection and Zeek's SACK trace.
func TestTCPOptions(t *testing.T) {
	frames, _ := readFrames(t, testdata("tls12-gcm.pcap"))
	d := NewDecoder(nil, DefaultLimits())
	p, _ := d.Decode(&frames[0])
	h := p.TCP
	if h.MSS != 1460 || h.WindowScale != 10 || !h.SACKPermitted || !h.HasTimestamps || h.TSval == 0 || h.Flags.FlagString() != "S" {
		t.Errorf("SYN options: %+v", h)
	}
	p, _ = d.Decode(&frames[1])
	if p.TCP.Flags.FlagString() != "SA" {
		t.Errorf("SYN-ACK flags %q", p.TCP.Flags.FlagString())
	}
	// tshark -o tcp.relative_sequence_numbers:FALSE: tcp.options.sack_le/re
	// of the 4 frames: one block more in each.
	frames, _ = readFrames(t, testdata("zeek-tcp-option-sack.pcap"))
	all := []SACKBlock{{1, 16}, {256, 4096}, {65536, 1048576}, {16777216, 268435456}}
	for i := range frames {
		p, ok := d.Decode(&frames[i])
		if !ok {
			t.Fatalf("frame %d not decoded", i+1)
		}
		if diff := cmp.Diff(all[:i+1], p.TCP.SACKBlocks()); diff != "" {
			t.Errorf("frame %d SACK blocks (-tshark +got):\n%s", i+1, diff)
		}
	}
}
