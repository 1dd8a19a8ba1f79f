package layers_test

import (
	"errors"
	"fmt"

	"github.com/nettrace/nettrace/layers"
)

// A filter selects packets as tcpdump does. "and" and "or" have the same
// precedence and group from the left: String shows the grouping.
func ExampleCompileFilter() {
	f, err := layers.CompileFilter("tcp port 80 or 443 and not host 10.0.0.1")
	if err != nil {
		panic(err)
	}
	fmt.Println(f)
	// Output: (tcp port 80 or tcp port 443) and not host 10.0.0.1
}

// A bad expression is a *FilterError giving the position of the fault.
func ExampleCompileFilter_error() {
	_, err := layers.CompileFilter("tcp and hots 10.0.0.1")
	var fe *layers.FilterError
	if errors.As(err, &fe) {
		fmt.Println(fe.Expr)
		fmt.Printf("%*s^ %s\n", fe.Pos-1, "", fe.Msg)
	}
	// Output:
	// tcp and hots 10.0.0.1
	//         ^ unknown keyword "hots" (host names are not resolved: give an address)
}

// Filters select frames before decoding (MatchFrame), as the Analyzer's
// Options.Filter does, or decoded packets (Match).
func ExampleFilter_MatchFrame() {
	f := layers.MustCompileFilter("udp port 53")
	c, err := layers.Open("../testdata/layers/c16-dns.pcap")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	n := 0
	for {
		fr, err := c.Next()
		if err != nil {
			break
		}
		if f.MatchFrame(fr) {
			n++
		}
	}
	fmt.Println(n, "DNS frames")
	// Output: 4 DNS frames
}
