// Package connlog describes TCP connections in the vocabulary of Zeek's
// conn.log, the record SOC tools and analysts already grep for: a stable
// uid, the originator and responder, conn_state, history letters, packets,
// IP and payload bytes, missed bytes, duration and service.
//
// A Record is built from a connection's summary (FromFlow, or
// nettrace.Flow.Conn); the tracker (package tcpstate) follows each
// connection with Zeek's rules while it tracks it and leaves the result in
// health.FlowStats.Zeek. TSVWriter writes Zeek's tab-separated log with
// its #separator, #fields and #types header; Record.MarshalJSON writes one
// JSON object with Zeek's field names.
//
// # The rules, as Zeek documents them
//
// conn_state is decided from the two endpoints' final states (inactive,
// SYN sent, SYN-ACK sent, partial, established, closed, reset), which
// follow Zeek's TCP analyzer packet by packet:
//
//	S0     connection attempt seen, no reply
//	S1     established, not terminated
//	SF     normal establishment and termination
//	REJ    attempt rejected (RST in answer to the SYN)
//	S2     established, close attempt by the originator only
//	S3     established, close attempt by the responder only
//	RSTO   established, the originator aborted with a RST
//	RSTR   the responder sent a RST
//	RSTOS0 originator sent a SYN then a RST, no SYN-ACK seen
//	RSTRH  responder sent a SYN-ACK then a RST, no SYN seen
//	SH     originator sent a SYN then a FIN, no SYN-ACK seen
//	SHR    responder sent a SYN-ACK then a FIN, no SYN seen
//	OTH    no SYN seen, midstream traffic
//
// history has one letter per event, upper case for the originator, lower
// case for the responder: S SYN, H SYN-ACK, A pure ACK, D payload, F FIN,
// R RST, C bad checksum, G content gap (bytes acknowledged that the
// capture never saw), T retransmitted payload (payload that does not
// advance the sender's highest sequence, so late out-of-order packets
// count too), W zero window, I FIN+RST, Q SYN+FIN or SYN+RST, ^ the first
// packet came from the responder. A, D, I and Q are recorded once per
// direction; S, H, F and R again only when their sequence number differs
// from the previous one of the same kind; C, G, T and W at the 1st, 10th,
// 100th… occurrence. orig_bytes and resp_bytes are taken from sequence
// numbers (the highest sequence sent or acknowledged, less the ISN, SYN and
// FIN), so bytes the capture missed count in them and in missed_bytes.
// duration runs from the first packet to the last one before both sides
// had closed (the last ACK of a FIN exchange is not in it); like Zeek,
// duration, orig_bytes and resp_bytes are unset ("-") when it is zero.
//
// # Where nettrace differs from Zeek, and why
//
//   - uid: Zeek draws it at random (or from a seed); nettrace derives it
//     from the 5-tuple and the first packet's time, so the same capture
//     always gives the same uids (tests, diffs, joins across runs). It has
//     Zeek's form: "C" and 17 base62 digits.
//   - Connections: nettrace's connections are tshark's tcp.stream, so a SYN
//     with a new ISN on a tuple starts a new record (Zeek may keep one).
//     Packets after the connection ended (a retransmitted FIN, a second
//     RST after the first) are not counted, and packets captured twice
//     are counted once; Zeek counts both.
//   - Originator: the sender of the first SYN, else the receiver of a
//     SYN-ACK, else the endpoint with the higher port. Zeek flips a
//     connection that starts without a SYN only when the first sender's
//     port is one of its likely server ports; nettrace flips whenever its
//     client did not send the first packet, and marks it "^" as Zeek does.
//   - Checksums: a packet whose TCP checksum is wrong adds "C" (as Zeek
//     does when it verifies checksums) only when its sender's earlier
//     packets on the connection had right ones, and it is analysed like
//     any other (as Zeek does with -C). A checksum left to the NIC
//     (offload) is wrong on every packet the capturing host sends, live
//     or in its captures: Zeek would log "C" for each of them and drop
//     them unless run with -C; nettrace treats them as sent.
//   - missed_bytes counts bytes acknowledged by the receiver but never
//     captured (the tracker's unseen bytes); an acknowledgment exactly one
//     byte past the stream with no FIN seen is taken as the ACK of a missed
//     FIN, not as a missed byte.
//   - service: the nettrace decoder attached to the connection, in Zeek's
//     names (tls: ssl, dcerpc: dce_rpc, http, smb; tds keeps its name:
//     Zeek has no TDS analyzer). Zeek lists only protocols its analyzers
//     confirmed; nettrace lists the decoder unless it gave up on the
//     connection (decode.gave_up) or the capture holds none of its
//     payload, and one decoder at most.
//   - Only TCP connections have records; UDP and ICMP flows have none.
//   - history keeps at most 64 letters; the "x" letter (analysis partial)
//     is not used.
//   - The TSV log has no #open/#close lines (the output depends only on
//     the capture), and neither local_orig, local_resp nor tunnel_parents.
//
// Records are values; the package keeps no state and is safe for
// concurrent use.
package connlog
