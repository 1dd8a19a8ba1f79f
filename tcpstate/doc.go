// Package tcpstate follows TCP connections the way a passive observer sees
// them and turns each into two ordered byte streams for protocol decoders.
//
// A Tracker takes decoded packets (layers.Packet) in capture order. For
// each connection it
//
//   - numbers it like tshark 4.0's tcp.stream (from 0, in order of first
//     frame; a SYN whose ISN differs from the one its sender used on the
//     tuple starts a new connection and raises tcp.port_reuse, a SYN with
//     the same ISN is a retransmission — even after FIN or RST, as tshark
//     decides; see Tracker.Packet);
//   - picks the client: the sender of the first SYN, else the receiver of
//     a SYN-ACK, else (mid-stream, tcp.mid_stream) the endpoint with the
//     higher port, ties going to the sender of the first packet;
//   - infers both endpoints' states (RFC 9293, 3.3.2: LISTEN, SYN_SENT,
//     SYN_RCVD, ESTABLISHED, FIN_WAIT_1/2, CLOSING, TIME_WAIT, CLOSE_WAIT,
//     LAST_ACK, CLOSED) and records each transition with its frame
//     (health.FlowStats.Transitions; casebook C7). A state that changes on
//     reception changes at the frame in which that endpoint acknowledges
//     what it received;
//   - runs the Wireshark-compatible sequence analysis (analysis.go) on
//     every segment before reassembly;
//   - reassembles each direction with 32-bit sequence wrap-around and
//     calls the connection's StreamHandler (from the NewHandler given to
//     NewTracker): Feed for in-order bytes, at once and without copying;
//     Gap for bytes that will never come; Close once.
//
// # Reassembly rules
//
// Each Feed carries contiguous new bytes of one frame. Bytes already
// delivered are never delivered again: when copies overlap, the first copy
// wins, and a later copy that differs from a buffered one raises
// tcp.overlap_conflict. Segments beyond a hole are copied into pooled
// buffers, bounded per direction (Config.MaxBufferPerConn) and in all
// (Config.MaxBufferTotal), and delivered when the hole fills. A hole
// becomes a Gap when the receiver acknowledges past it (the capture missed
// bytes the peer got), when a buffer cap is reached (tcp.buffer_limit: the
// oldest holes are skipped until half the cap is free), when bytes were cut
// by the snapshot length and acknowledged, or when the connection ends. An
// acknowledgment exactly one byte past the stream with no FIN seen is taken
// as the ACK of a FIN the capture missed, not as a lost byte.
//
// Payload on a SYN or SYN-ACK is held back and delivered only when the
// peer acknowledges it (an ACK beyond ISN+1); an ACK of exactly ISN+1, or
// fresh data at ISN+1, discards it. Linux ignores data on a SYN-ACK and
// acknowledges ISN+1 (casebook C1), so bytes injected into a SYN-ACK never
// shift the server's stream. (tshark's follow, by contrast, prints them and
// drops as many bytes of the real data.)
//
// Conflicts are detected against bytes still buffered out of order and
// against copies of delivered bytes that the receiver has not acknowledged
// yet (Config.MaxRetainPerConn per direction, Config.MaxRetainTotal in
// all); a retransmission of acknowledged bytes is dropped unchecked.
//
// # Ends of connections
//
// A connection ends on RST (close reason "rst"); after FIN from both sides
// with every byte before them delivered (the handler is closed at once,
// reason "fin", and the summary follows when both FINs are acknowledged);
// after Config.IdleTimeout of capture time without packets (reason "idle";
// Config.HalfOpenTimeout for handshakes that did not complete); when the
// Config.MaxConns cap evicts the connection idle the longest (reason
// "evicted"); when Config.MaxHalfOpen attempts are in their handshake and
// another begins, the oldest attempt goes (reason "evicted"; never an
// established connection: a SYN flood cannot push them out); or at
// Tracker.Close (reason "end_of_capture"). Idle and MaxConns evictions
// raise tcp.evicted; attempts dropped at the MaxHalfOpen cap are counted
// (CaptureStats.HalfOpenEvicted) and said once at Close
// (tcp.half_open_evicted), without a flow.summary event each. Each end
// calls, in order, the handler's
// Close, the analysis' finish, then reports the flow.summary event
// (health.FlowStats.Event, with Counts of every event kind raised on the
// flow through its StreamContext) and calls Tracker.OnSummary.
//
// After FIN or RST the tuple is remembered for Config.ClosedLinger, so
// that late packets (a retransmitted FIN, a second reset) stay part of the
// ended connection, as in tshark, instead of starting a new one.
//
// # Differences from tshark
//
// Connection numbering equals tshark's tcp.stream on every capture of the
// project's reference set, frame by frame. It can differ only where the
// tracker must bound memory: a connection silent for longer than its idle
// timeout (or one that ended and whose tuple was forgotten after
// Config.ClosedLinger) continues, if more packets come, as a new
// connection picked up mid-stream, where tshark keeps one stream.
//
// # Memory and time
//
// Memory grows with the number of open connections and their buffered
// bytes (bounded by Config.MaxBufferTotal and Config.MaxRetainTotal),
// never with the capture's size. Lookup uses a
// fixed-size comparable key; idle eviction uses lists ordered by last
// activity (O(1) per packet); the in-order path allocates nothing. Time
// comes only from the capture.
//
// A Tracker and its connections are not safe for concurrent use.
package tcpstate
