// Package rpc decodes connection-oriented DCE/RPC (C706 chapter 12 with the
// [MS-RPCE] extensions) and the endpoint mapper, over TCP (port 135 and the
// ports the endpoint mapper advertises) and over SMB named pipes.
//
// It owns: the common PDU header in little- and big-endian data
// representations; bind, bind_ack, bind_nak, alter_context and
// alter_context_resp with their presentation context lists (NDR, NDR64 and
// bind time feature negotiation); request, response, fault, auth3,
// shutdown, co_cancel and orphaned; the auth verifier trailer (NTLMSSP,
// Kerberos, SPNEGO, Netlogon secure channel — recognised by type and level,
// its credentials never kept or printed); fragment reassembly per call for
// the stubs it decodes; NDR 2.0 helpers (NDR) for alignment, conformant and
// varying arrays, unique/full pointers and strings; the endpoint mapper's
// ept_map and ept_lookup with protocol towers and floors; a table of
// well-known interface UUIDs and operation names; call matching by call id
// and presentation context, with latency per call; and the endpoints learned
// from endpoint-mapper replies.
//
// It also owns connectionless DCE/RPC over UDP (ncadg_ip_udp, C706
// chapter 12): Datagrams follows calls by activity and sequence number
// across a capture (request, response, ping, working, nocall, ack, fack,
// cancel, fault, reject), counts fragments and retransmissions, reassembles
// the stubs a StubFunc asks for (bounded by CLLimits), names interfaces and
// operations from the same table, and reports faults (rpc.fault), rejects
// (rpc.reject), unparsable bodies (rpc.malformed) and calls never answered
// (rpc.no_response: a warning only when the capture shows the server's
// traffic and went on for CLLimits.ReplyWindow). DetectCL recognises a
// datagram by its header, on any port, as tshark's heuristic does.
//
// It does not own TCP reassembly (tcpstate), SMB (the smb package hands
// named-pipe bytes to a Conn through tcpstate.NewHandler), the endpoint
// mapper's stubs over UDP, or the stubs of interfaces other than the
// endpoint mapper.
//
// Entry points:
//
//   - Detect recognises the first bytes of a DCE/RPC stream.
//   - NewConn (or NewHandler) builds the tcpstate.StreamHandler for one
//     stream; Config.Learned receives every endpoint an EPM reply advertises.
//   - ParsePDU, ParseTower, ParseMapRequest, ParseMapResponse,
//     ParseLookupRequest, ParseLookupResponse (and their NDR64 forms,
//     ParseMapRequest64 …) and NDR (NewNDR, NewNDR64) are pure parsers.
//   - Conn.Finished (tcpstate.Finisher) says whether every call was
//     answered when the connection closed.
//   - NewDatagrams builds the connectionless tracker: Datagrams.Datagram
//     takes each UDP payload, Datagrams.Finish ends the capture;
//     ParseCLHeader, ParseFackBody and ParseCLStatus are its pure parsers.
//
// Events (health kinds): rpc.epm_address_mismatch, rpc.epm_not_registered,
// rpc.epm_short_reply, rpc.bind_nak, rpc.fault, rpc.reject, rpc.no_response,
// rpc.endpoint_learned, rpc.malformed, decode.resync, decode.gave_up.
//
// A finding is a claim about the network, made only when the capture shows
// it: rpc.no_response needs the server's side captured
// (tcpstate.Visibility) and nothing of it missed after the call, and is a
// notice when the capture, not the connection, ended; a tower address is
// not compared with the headers of a capture whose addresses were
// rewritten (StreamContext.Altered). What nettrace cannot decode is a
// notice about its coverage: rpc.malformed for PDUs it could not parse,
// decode.resync (Info) when a gap or a mid-stream start made it skip to the
// next PDU header, decode.gave_up when a connection's bytes are not
// DCE/RPC (a named pipe such as PsExec's) or no header came back.
//
// Messages (only when the Reporter
// wants them) have proto "dcerpc" (pkt_type, call_id, ctx_id, opnum,
// interface, interface_uuid, fault_status, …; connectionless PDUs have
// version "4", activity, seqnum, opnum, frag_num, flags, body_len,
// interface, operation, and as they apply request_frame, latency_ms,
// fragment, last_fragment, reassembled_fragments, retransmission, status,
// window_size) and "epm" (opnum, status,
// towers: [{interface_uuid, version, protocol, port, ip, pipe}]). A
// message's frame is the one that completes its PDU, as tshark counts it.
// A connection-oriented PDU is a *Message (health.Message.Value;
// nettrace.Handlers.RPC) whose Fields is the one definition of its JSON;
// connectionless PDUs and "epm" messages carry Fields only.
//
// Specifications: The Open Group C706 "DCE 1.1: Remote Procedure Call"
// (chapters 12-14, appendices I, L, O), [MS-RPCE], [MS-ERREF].
//
// Types are not safe for concurrent use.
package rpc
