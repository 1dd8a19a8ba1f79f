package tcpstate

// tcpState is one endpoint's state as a passive observer infers it
// (RFC 9293, 3.3.2). The observer sees a segment when it is sent, so a state
// that changes on reception changes at the frame in which the endpoint
// acknowledges what it received.
type tcpState uint8

const (
	stateClosed tcpState = iota
	stateListen
	stateSynSent
	stateSynRcvd
	stateEstablished
	stateFinWait1
	stateFinWait2
	stateClosing
	stateTimeWait
	stateCloseWait
	stateLastAck
)

var stateNames = [...]string{
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSING", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK",
}

func (s tcpState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "UNKNOWN"
}

// Sequence-number arithmetic modulo 2^32 (RFC 9293, 3.4).
func rsLT(a, b uint32) bool { return int32(a-b) < 0 }
func rsLE(a, b uint32) bool { return int32(a-b) <= 0 }
