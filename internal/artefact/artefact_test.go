package artefact

import (
	"bytes"
	"os"
	"testing"
	"time"
)

func load(t *testing.T) *Capture {
	t.Helper()
	b, err := os.ReadFile("../../testdata/http/http-gzip-chunked-nginx-curl.pcap")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Read(bytes.NewReader(b))
	if err != nil || len(c.Frames) == 0 {
		t.Fatalf("read: %v", err)
	}
	return c
}

// Each artefact does what its name says, and round-trips through a pcap.
func TestArtefacts(t *testing.T) {
	c := load(t)
	n := len(c.Frames)
	servers := c.servers()
	count := func(c *Capture, keep func(f *Frame) bool) int {
		k := 0
		for i := range c.Frames {
			if keep(&c.Frames[i]) {
				k++
			}
		}
		return k
	}
	fromServer := func(f *Frame) bool { return f.isTCP() && f.src == servers[connOf(f)] }
	if m := OneSided(c, false); count(m, fromServer) != 0 || len(m.Frames) == n {
		t.Errorf("OneSided(client): %d server frames left of %d", count(m, fromServer), len(m.Frames))
	}
	if m := StartAt(c, 10); len(m.Frames) != n-10 || !m.Frames[0].Time.Equal(c.Frames[10].Time) {
		t.Errorf("StartAt: %d frames", len(m.Frames))
	}
	if m := Filtered(c); len(m.Frames) >= n {
		t.Errorf("Filtered kept every frame")
	}
	if m := Duplicated(c, 50*time.Millisecond); len(m.Frames) != 2*n {
		t.Errorf("Duplicated: %d frames, want %d", len(m.Frames), 2*n)
	}
	z := ZeroChecksums(c)
	for _, f := range z.Frames {
		if at := f.checksumAt(); at >= 0 && (f.Data[at] != 0 || f.Data[at+1] != 0) {
			t.Fatalf("ZeroChecksums left a checksum")
		}
	}
	r := RewriteAddresses(c)
	for _, f := range r.Frames {
		if f.ip >= 0 && !f.v6 && f.Data[f.ip+12] != 198 {
			t.Fatalf("RewriteAddresses left %v", f.src)
		}
	}
	if m := Reordered(c, time.Millisecond); len(m.Frames) != n {
		t.Errorf("Reordered changed the frame count")
	}
	back, err := Read(bytes.NewReader(c.Bytes()))
	if err != nil || len(back.Frames) != n {
		t.Errorf("round trip: %d frames, %v", len(back.Frames), err)
	}
	if len(c.Frames) != n || c.Frames[0].Data[0] != back.Frames[0].Data[0] {
		t.Errorf("an artefact changed its input")
	}
}
