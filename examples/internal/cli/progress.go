package cli

import (
	"fmt"
	"io"
	"os"
	"time"
)

// Progress timing: the analysis reports every progressEvery, and the line
// appears only once a run has lasted progressAfter.
const (
	progressEvery = 250 * time.Millisecond
	progressAfter = time.Second
)

// Progress draws one self-overwriting line on standard error while a long
// run reads its input: bytes and packets read of the total, the rate and
// the time left. It draws nothing when standard error is not a terminal
// (piped or redirected to a file), with -quiet, or during the first second.
type Progress struct {
	w       io.Writer
	name    string
	start   time.Time
	now     func() time.Time
	enabled bool
	drawn   bool
}

// NewProgress returns the progress line of the input name.
func (t *Tool) NewProgress(name string) *Progress {
	return &Progress{w: t.Stderr, name: name, now: t.now, start: t.now(), enabled: !t.Quiet && t.isTerminal(t.Stderr)}
}

// Enabled reports whether the line may be drawn.
func (p *Progress) Enabled() bool { return p.enabled }

// Update redraws the line: bytes of totalBytes read, packets of
// totalPackets (0: unknown; estimated from the bytes when it can be).
func (p *Progress) Update(bytes, totalBytes, packets, totalPackets int64) {
	if !p.enabled {
		return
	}
	elapsed := p.now().Sub(p.start)
	if elapsed < progressAfter {
		return
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", progressLine(p.name, elapsed, bytes, totalBytes, packets, totalPackets))
	p.drawn = true
}

// Done erases the line.
func (p *Progress) Done() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// progressLine formats the progress: "big.pcap: 412 MB of 1.8 GB (23%) ·
// 1.2M of ~5.2M packets · 180 MB/s · 8s left".
func progressLine(name string, elapsed time.Duration, bytes, totalBytes, packets, totalPackets int64) string {
	line := name + ": " + byteSize(bytes)
	frac := 0.0
	switch {
	case totalPackets > 0:
		frac = float64(packets) / float64(totalPackets)
	case totalBytes > 0:
		frac = float64(bytes) / float64(totalBytes)
	}
	if totalBytes > 0 {
		line += fmt.Sprintf(" of %s (%.0f%%)", byteSize(totalBytes), 100*float64(bytes)/float64(totalBytes))
	}
	line += " · " + count(packets)
	switch {
	case totalPackets > 0:
		line += " of " + count(totalPackets)
	case totalBytes > 0 && bytes > 0 && packets > 0:
		line += " of ~" + count(int64(float64(packets)*float64(totalBytes)/float64(bytes)))
	}
	line += " packets"
	if s := elapsed.Seconds(); s > 0 {
		if bytes > 0 {
			line += fmt.Sprintf(" · %s/s", byteSize(int64(float64(bytes)/s)))
		} else {
			line += fmt.Sprintf(" · %s packets/s", count(int64(float64(packets)/s)))
		}
	}
	if frac > 0 && frac < 1 {
		left := time.Duration(float64(elapsed) * (1 - frac) / frac)
		line += " · " + left.Round(time.Second).String() + " left"
	}
	return line
}

// byteSize formats n bytes with a decimal unit.
func byteSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

// count formats a count with a k or M suffix.
func count(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
