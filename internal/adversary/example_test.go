package adversary_test

import (
	"bytes"
	"fmt"

	"github.com/nettrace/nettrace/internal/adversary"
	"github.com/nettrace/nettrace/layers"
)

// Write a hostile capture into memory and read it back.
func ExampleBytes() {
	b, err := adversary.Bytes("smb-pending", 5000)
	if err != nil {
		panic(err)
	}
	c, _ := layers.NewCapture(bytes.NewReader(b))
	frames := 0
	for {
		if _, err := c.Next(); err != nil {
			break
		}
		frames++
	}
	fmt.Println(frames, "frames")
	// Output: 534 frames
}
