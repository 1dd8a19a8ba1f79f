package tcpstate

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/gopacket"
	glayers "github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/nettrace/nettrace/layers"
)

// sharedDir returns ../shared relative to the repository root, or skips.
func sharedDir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "shared")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared captures not available: %v", err)
	}
	return dir
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// readPackets decodes the TCP frames of a pcap or pcapng file into
// layers.Packet values with gopacket (independently of the layers decoder),
// numbering frames as tshark does. Each packet owns its bytes.
func readPackets(t testing.TB, path string) []layers.Packet {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var src packetSource
	var link glayers.LinkType
	if r, err := pcapgo.NewReader(bytes.NewReader(raw)); err == nil {
		src, link = r, r.LinkType()
	} else if r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions); err == nil {
		src, link = r, r.LinkType()
	} else {
		t.Fatalf("%s: not a capture: %v", path, err)
	}
	var out []layers.Packet
	var frame int64
	for {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, frame+1, err)
		}
		frame++
		if p, ok := anaDecode(data, link, ci, frame); ok {
			out = append(out, p)
		}
	}
}
