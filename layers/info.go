package layers

import "time"

// CaptureInfo describes a capture as it was read: its name, how many frames
// and bytes it held, its first and last timestamps, and why reading stopped
// early when it did.
type CaptureInfo struct {
	Name      string
	Frames    int64
	Bytes     int64 // bytes of frames as captured
	First     time.Time
	Last      time.Time
	Truncated string // why reading stopped early, "" when the file was read to its end
}

// Add counts frame f, read after every frame counted so far.
func (c *CaptureInfo) Add(f *Frame) {
	c.Frames = f.Number
	c.Bytes += int64(f.CapLen)
	if c.First.IsZero() {
		c.First = f.Time
	}
	c.Last = f.Time
}

// Duration is the time from the first to the last frame.
func (c CaptureInfo) Duration() time.Duration { return c.Last.Sub(c.First) }
