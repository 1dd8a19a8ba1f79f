package layers

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type readFrame struct {
	n    int64
	t    time.Time
	wire int
	data []byte
}

// readAll returns every frame of c (copied), and the error that ended it.
func readAll(t *testing.T, c *Capture) ([]readFrame, error) {
	t.Helper()
	var out []readFrame
	for {
		f, err := c.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, err
		}
		out = append(out, readFrame{f.Number, f.Time, f.WireLen, bytes.Clone(f.Data)})
	}
}

// Reading ahead returns exactly the frames, secrets and errors of a plain
// read — pcap, pcapng with secrets, gzip, cut files — including with blocks
// far smaller than a record, where most records straddle blocks (stitched)
// or exceed a block (read through Read).
func TestReadAheadSameFramesAsPlainRead(t *testing.T) {
	paths, _ := filepath.Glob(testdata("*.pcap*"))
	if len(paths) < 10 {
		t.Fatalf("only %d test captures", len(paths))
	}
	for _, path := range paths {
		whole, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{whole, whole[:len(whole)*3/4]} {
			plain, err := NewCapture(bytes.NewReader(in))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			want, wantErr := readAll(t, plain)
			for _, size := range []int{1, 7, 64, 1500, readAheadBlock} {
				c, err := NewCapture(bytes.NewReader(in))
				if err != nil {
					t.Fatal(err)
				}
				c.ra = newReadAhead(c.r, size)
				c.r = c.ra
				got, gotErr := readAll(t, c)
				c.Close()
				if len(got) != len(want) || (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
					t.Fatalf("%s (%d bytes), blocks of %d: %d frames, err %v; plain read: %d frames, err %v", path, len(in), size, len(got), gotErr, len(want), wantErr)
				}
				for i := range got {
					g, w := got[i], want[i]
					if g.n != w.n || !g.t.Equal(w.t) || g.wire != w.wire || !bytes.Equal(g.data, w.data) {
						t.Fatalf("%s, blocks of %d: frame %d differs", path, size, w.n)
					}
				}
				if !bytes.Equal(c.Secrets(), plain.Secrets()) {
					t.Errorf("%s, blocks of %d: secrets differ", path, size)
				}
			}
		}
	}
}

// Close stops the reading goroutine even when nothing was read.
func TestReadAheadCloseEarly(t *testing.T) {
	b, err := os.ReadFile(testdata("tls12-gcm.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCaptureReadAhead(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}
