// Package resync names why a stream decoder (DCE/RPC, SMB, TDS) lost its
// place in a byte stream and looks for the next message start. The reason
// decides what is reported once it is found: bytes the capture made
// undecodable (a gap, a capture that started inside a message, bytes the
// memory budget dropped) are artefacts of the capture or of the analysis,
// decode.resync (Info); a bad message after messages that framed is the
// decoder's *.malformed, a notice about nettrace's coverage.
package resync

// Reason is why a direction is looking for the next message start.
type Reason uint8

const (
	Bad   Reason = iota // a message that does not frame, after messages that did
	Gap                 // bytes never captured
	Start               // the direction's first bytes are not a message start
	Shed                // the memory budget had the buffered bytes dropped
)

// Evidence returns the reason as the decode.* events name it.
func (r Reason) Evidence() string {
	switch r {
	case Gap:
		return "gap"
	case Start:
		return "mid_stream"
	case Shed:
		return "memory_budget"
	}
	return "malformed"
}

// Describe returns the reason as a message says it. unit names what the
// decoder frames ("PDU", "packet"); bad says what went wrong for Bad
// ("after a malformed PDU header").
func (r Reason) Describe(unit, bad string) string {
	switch r {
	case Gap:
		return "after bytes the capture missed"
	case Start:
		return "the capture started inside a " + unit
	case Shed:
		return "after the memory budget had the buffered bytes dropped"
	}
	return bad
}
