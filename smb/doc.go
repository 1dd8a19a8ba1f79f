// Package smb decodes SMB conversations from reassembled TCP streams and
// reports their health.
//
// It owns the NetBIOS session service framing (RFC 1002: session
// request/positive/negative response with decoded called/calling names,
// keep-alive; direct TCP 445 uses the same 4-byte header, [MS-SMB2] 2.1),
// SMB1 ([MS-CIFS], [MS-SMB]: header with NT status or DOS error, Negotiate,
// Session Setup AndX, Tree Connect AndX, NT Create AndX, Read/Write AndX,
// Close, Trans/Trans2 with RAP NetServerEnum2, Echo, Logoff, Tree
// Disconnect, AndX chains), SMB2/3 ([MS-SMB2]: sync and async headers, the
// 19 commands' main fields, compound chains, credits, signing flag; the
// SMB3 transform and compression headers are recognised and counted, never
// decrypted or decompressed) and NTLMSSP inside SPNEGO ([MS-NLMP],
// [MS-SPNG]: user, domain, workstation, flags, version, target-info names).
// It never outputs password hashes, NT/LM responses, challenges or session
// keys: the NTLM type keeps none of them.
//
// Parsers are pure functions (ParseNBSS, ParseHeader2, ParseBody2,
// ParseSMB1, ParseNTLM, ...). Conn is the per-connection state machine: it
// implements tcpstate.StreamHandler, frames NBSS packets out of arbitrary
// chunks (several SMB messages per segment, one message across many),
// pairs requests with responses by MessageId (SMB2, including async
// interim responses) or PID+MID (SMB1), tracks trees and open files
// (FileId → name), hands named-pipe traffic on IPC$ to Config.Pipe (the
// DCE/RPC decoder) and analyses each file transfer: bytes, operation size,
// maximum and time-weighted mean operations in flight, idle gaps,
// throughput. It emits smb.app_limited, smb.shaping_delay,
// smb.error_status, smb.auth_failed, smb.slow_response, smb.encrypted,
// smb.malformed (a notice about nettrace's coverage), decode.resync (Info:
// a gap or a capture that started inside a PDU made it skip to the next SMB
// header), decode.gave_up (no header found again), decode.incomplete (an
// NBSS message the connection ended in the middle of) and decode.limit
// (requests forgotten beyond Limits.MaxPending, counted and said once per
// connection) events, and, when the
// Reporter wants them, one
// health.Message per SMB command with Proto "smb" (SMB1), "smb2" (SMB2/3)
// or "nbss" (session control) whose Frame is the frame holding the
// message's first byte ("end_frame" names the frame holding its last byte
// when they differ — that is where tshark shows a reassembled PDU).
//
// Message fields (present when known): cmd, is_response, msg_id, status and
// status_code (responses), tree, filename, offset, length, dialect,
// ntlm_user, ntlm_domain, ntlm_workstation, ntlm_type, mech,
// request_frame and latency_ms (matched responses), end_frame; SMB2 adds
// session_id, tree_id or async_id, credits, signed, user; SMB1 adds tid,
// uid, pid, fid, andx_index (links after the first of an AndX chain),
// subcommand, rap, service.
//
// Entry points for the analyzer:
//
//	cfg := smb.DefaultConfig()          // Limits defaults, no pipe hand-off
//	cfg.Pipe = func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler { ... }
//	if smb.Detect(dir, firstBytes) { h := smb.NewConn(ctx, cfg) ... }
//	h.Stats(), h.Files(), h.Commands()  // per-connection, per-file, per-command statistics
//	h.Finished()                        // tcpstate.Finisher: logged off, or every request answered
//
// What it does not do: decrypt SMB3, decompress SMB 3.1.1 compressed
// messages, verify signatures, decode DCE/RPC (package rpc does, through
// Config.Pipe), or decode SMB carried in NetBIOS datagrams (UDP 138).
//
// Types in this package are not safe for concurrent use.
package smb
