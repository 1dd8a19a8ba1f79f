package health

import (
	"net/netip"
	"time"
)

// FlowStats is the typed form of a flow.summary: what one TCP connection did,
// as the tracker and the TCP analysis measured it. Index 0 of the [2] arrays
// is the client→server direction, 1 server→client.
type FlowStats struct {
	ID             uint64
	Client, Server netip.AddrPort
	FirstFrame     int64
	LastFrame      int64
	FirstTime      time.Time
	LastTime       time.Time
	Packets        [2]int64
	Bytes          [2]int64 // TCP payload bytes (each byte once; retransmissions excluded)

	// Lifecycle.
	SYNs          int     // SYNs sent by the client (1 + retries)
	SYNFrames     []int64 // first SYN frames (capped)
	SYNACKs       int
	Established   bool   // the three-way handshake completed
	MidStream     bool   // picked up after the handshake
	ClientState   string // final observed state, e.g. "TIME_WAIT"
	ServerState   string
	CloseReason   string // "fin", "rst", "idle", "evicted", "end_of_capture"
	ResetBy       string // "client", "server" or "" when not reset
	ResetFrame    int64
	IdleBeforeRST time.Duration // silence before the reset

	// Measurements (TCP analysis).
	HandshakeRTT time.Duration // tcp.analysis.initial_rtt (SYN → ACK of SYN-ACK)
	RTTMin       time.Duration // ACK RTT samples (tcp.analysis.ack_rtt)
	RTTMedian    time.Duration
	RTTMax       time.Duration
	RTTSamples   int
	RetransBytes [2]int64
	MaxInFlight  [2]int64
	ZeroWindow   [2]time.Duration // time each receiver advertised zero window
	MaxIdle      time.Duration
	Transitions  []Transition // observed state transitions, capped

	// What the capture showed of the connection: one direction never
	// captured although the other side acknowledged it (OneSided), bytes
	// each direction sent that the peer acknowledged but the capture never
	// saw (UnseenBytes), packets captured twice (Duplicates, left out).
	OneSided    bool
	UnseenBytes [2]int64
	Duplicates  int64

	// Counts of events raised on this flow, by kind.
	Counts map[Kind]int

	// Zeek is the connection as Zeek's TCP analyzer follows it, for its
	// conn.log record (package connlog).
	Zeek ZeekView
}

// ZeekView is what Zeek's conn.log says of a TCP connection, as the
// tracker follows Zeek's rules (package connlog documents them and where
// nettrace differs). Index 0 of the [2] arrays is the originator (the
// client), 1 the responder.
type ZeekView struct {
	ConnState string // conn_state: S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH
	History   string // history letters (ShADadFf…)
	// Bytes is the payload each side sent as its sequence numbers span it
	// (orig_bytes, resp_bytes): bytes the capture missed count too.
	Bytes   [2]int64
	IPBytes [2]int64 // IP total length of every packet each side sent (orig_ip_bytes, resp_ip_bytes)
	Packets [2]int64 // packets each side sent (orig_pkts, resp_pkts)
	// Missed is the payload each side sent that the capture does not hold
	// (missed_bytes is their sum): acknowledged but never captured, cut by
	// the snapshot length, or skipped at a buffer cap.
	Missed [2]int64
	// End is the time of the last packet before both sides had closed;
	// Zeek's duration runs from the first packet to it.
	End time.Time
}

// Transition is one observed state change of one endpoint (casebook C7).
type Transition struct {
	Endpoint string // "client" or "server"
	From, To string
	Frame    int64
}

// Event returns the flow.summary event for s.
func (s *FlowStats) Event() Event {
	client, server := s.Client.String(), s.Server.String()
	ev := map[string]any{
		"stream":       s.ID,
		"client":       client,
		"server":       server,
		"first_frame":  s.FirstFrame,
		"last_frame":   s.LastFrame,
		"duration_ms":  Millis(s.LastTime.Sub(s.FirstTime)),
		"packets_c2s":  s.Packets[0],
		"packets_s2c":  s.Packets[1],
		"bytes_c2s":    s.Bytes[0],
		"bytes_s2c":    s.Bytes[1],
		"client_state": s.ClientState,
		"server_state": s.ServerState,
		"close":        s.CloseReason,
	}
	if s.HandshakeRTT > 0 {
		ev["handshake_rtt_ms"] = Millis(s.HandshakeRTT)
	}
	if s.RTTSamples > 0 {
		ev["rtt_min_ms"] = Millis(s.RTTMin)
		ev["rtt_median_ms"] = Millis(s.RTTMedian)
		ev["rtt_max_ms"] = Millis(s.RTTMax)
	}
	if s.RetransBytes[0]+s.RetransBytes[1] > 0 {
		ev["retrans_bytes_c2s"] = s.RetransBytes[0]
		ev["retrans_bytes_s2c"] = s.RetransBytes[1]
	}
	if s.ResetBy != "" {
		ev["reset_by"] = s.ResetBy
	}
	if s.OneSided {
		ev["one_sided"] = true
	}
	if s.UnseenBytes[0]+s.UnseenBytes[1] > 0 {
		ev["unseen_bytes_c2s"] = s.UnseenBytes[0]
		ev["unseen_bytes_s2c"] = s.UnseenBytes[1]
	}
	if s.Duplicates > 0 {
		ev["duplicates"] = s.Duplicates
	}
	if s.MaxIdle > 0 {
		ev["max_idle_ms"] = Millis(s.MaxIdle)
	}
	if len(s.Counts) > 0 {
		c := make(map[string]int, len(s.Counts))
		for k, n := range s.Counts {
			c[string(k)] = n
		}
		ev["events"] = c
	}
	return Event{
		Kind:     FlowSummary,
		Severity: Info,
		Time:     s.LastTime,
		Frame:    s.FirstFrame,
		Flow:     client + "->" + server + "/tcp",
		Message:  "connection summary",
		Evidence: ev,
	}
}
