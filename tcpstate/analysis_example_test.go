package tcpstate_test

import (
	"fmt"

	"github.com/nettrace/nettrace/tcpstate"
)

// A fast retransmission carries tshark's retransmission flag too.
func ExampleFlags_String() {
	f := tcpstate.FlagRetransmission | tcpstate.FlagFastRetransmission
	fmt.Println(f)
	fmt.Println(f.Has(tcpstate.FlagByName("retransmission")))
	// Output:
	// retransmission|fast_retransmission
	// true
}

func ExampleDefaultAnalysisConfig() {
	c := tcpstate.DefaultAnalysisConfig()
	fmt.Println(c.IdleThreshold, c.SackHoleMinAcks, c.BackoffMinRetransmissions)
	// Output:
	// 5s 3 3
}
