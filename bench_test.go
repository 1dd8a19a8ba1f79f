package nettrace_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"github.com/nettrace/nettrace"
)

// BenchmarkAnalyze runs the whole pipeline (decode, TCP tracking and
// analysis, every decoder, diagnoses; no decryption) over real captures held
// in memory, and reports packets/s and allocations per packet.
//
//	go test -run '^$' -bench Analyze -benchmem .
func BenchmarkAnalyze(b *testing.B) {
	for _, c := range []struct{ name, path string }{
		{"demo", "examples/doctor/demo/branch-office.pcapng"},
		{"smb-lossy", "../shared/captures/tcp/tcp-lossy-netem-smb-client.pcap"},
		{"smb-read-pipelined", "../shared/captures/cases/c08-smb2-read-pipelined-smbclient.pcap"},
		{"http-lossy", "../shared/captures/tcp/tcp-lossy-netem-curl-client.pcap"},
	} {
		data, err := os.ReadFile(c.path)
		if err != nil {
			continue // ../shared is absent
		}
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", c.name, workers), func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				var frames int64
				for i := 0; i < b.N; i++ {
					a, err := nettrace.New(nettrace.Options{MaxEventsKept: -1, Workers: workers})
					if err != nil {
						b.Fatal(err)
					}
					rep, err := a.Analyze(c.name, bytes.NewReader(data))
					if err != nil {
						b.Fatal(err)
					}
					frames += rep.Capture.Frames
				}
				b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "packets/s")
			})
		}
	}
}

// BenchmarkDecoders runs the whole pipeline on one real capture per
// application decoder, from the repository's testdata (so it runs on a
// fresh clone), and reports packets/s and allocations per packet:
//
//	go test -run '^$' -bench Decoders -benchmem .
func BenchmarkDecoders(b *testing.B) {
	for _, c := range []struct{ name, path, keys string }{
		{"tls13-decrypted", "testdata/tls/tls13-aes128gcm-curl-nginx.pcap", "testdata/tls/tls13-aes128gcm-curl-nginx.keys"},
		{"tls12-cbc-decrypted", "testdata/tls/tls12-ecdhe-rsa-aes128-sha256-cbc-curl-nginx.pcap", "testdata/tls/tls12-ecdhe-rsa-aes128-sha256-cbc-curl-nginx.keys"},
		{"http-gzip", "testdata/http/http-gzip-chunked-nginx-curl.pcap", ""},
		{"http2-tls", "testdata/http/h2-tls-nginx-go-curl.pcap", "testdata/http/h2-tls-nginx-go-curl.keys"},
		{"smb2", "testdata/smb/smb2_10-alice-ls-get.pcap", ""},
		{"smb1", "testdata/smb/smb1-nt1-alice-ls-get.pcap", ""},
		{"dcerpc-epm", "testdata/rpc/epm-lookup-rpcclient-tcp135.pcap", ""},
		{"dcerpc-mapi", "testdata/rpc/zeek-dce-rpc-mapi-1-250.pcap", ""},
		{"tds", "testdata/tds/ndpi-mssql_tds.pcap", ""},
		{"tcp-lossy", "testdata/tcpstate/tcp-lossy-netem-curl-client-first116.pcap", ""},
	} {
		data, err := os.ReadFile(c.path)
		if err != nil {
			b.Fatal(err)
		}
		opts := nettrace.Options{MaxEventsKept: -1, Workers: 1}
		if c.keys != "" {
			opts.KeyLogFiles = []string{c.keys}
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var frames int64
			for b.Loop() {
				a, err := nettrace.New(opts)
				if err != nil {
					b.Fatal(err)
				}
				rep, err := a.Analyze(c.name, bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				frames += rep.Capture.Frames
			}
			b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// TestAllocationsPerPacket states the allocation budget of the whole
// pipeline on a clean bulk transfer: beyond the fixed cost of setting up the
// analysis and the connection, nothing should allocate per packet. It
// compares the whole capture with its first 300 frames, so that setup
// cancels out.
func TestAllocationsPerPacket(t *testing.T) {
	data, err := os.ReadFile("../shared/captures/cases/c08-smb2-read-pipelined-smbclient.pcap")
	if err != nil {
		t.Skip("../shared is absent")
	}
	const prefix = 300
	head := firstRecords(t, data, prefix)
	run := func(b []byte) (allocs float64, frames int64) {
		allocs = testing.AllocsPerRun(3, func() {
			a, err := nettrace.New(nettrace.Options{MaxEventsKept: -1})
			if err != nil {
				t.Fatal(err)
			}
			rep, err := a.Analyze("c08", bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			frames = rep.Capture.Frames
		})
		return allocs, frames
	}
	whole, n := run(data)
	part, m := run(head)
	perPacket := (whole - part) / float64(n-m)
	t.Logf("%.0f allocations for %d packets, %.0f for the first %d: %.3f per further packet", whole, n, part, m, perPacket)
	if perPacket > 0.1 {
		t.Errorf("%.3f allocations per packet on a clean transfer, want <= 0.1", perPacket)
	}
}

// firstRecords cuts a little-endian classic pcap after n records.
func firstRecords(t *testing.T, b []byte, n int) []byte {
	t.Helper()
	off := 24
	for i := 0; i < n; i++ {
		if len(b) < off+16 {
			t.Fatalf("capture has fewer than %d records", n)
		}
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		off += 16 + incl
	}
	return b[:off]
}
