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
// 19 commands' main fields, compound chains, credits, signing flag), SMB 3.x
// encryption ([MS-SMB2] 2.2.41, 3.1.4.2, 3.1.4.3: TRANSFORM_HEADER; SMB 3.0
// and 3.0.2 AES-128-CCM, SMB 3.1.1 AES-128/256-CCM/GCM with the
// preauthentication integrity hash; the SP800-108 KDF), SMB 3.1.1
// compression ([MS-SMB2] 2.2.42, chained and unchained; [MS-XCA] LZNT1,
// Plain LZ77, LZ77+Huffman; Pattern_V1; LZ4) and NTLMSSP inside SPNEGO ([MS-NLMP],
// [MS-SPNG]: user, domain, workstation, flags, version, target-info names).
// It never outputs password hashes, NT/LM responses, challenges or session
// keys: the NTLM type keeps none of them, and the decryption state keeps
// its secrets to itself (events name sessions, ciphers and where a key came
// from, never a key).
//
// Encrypted sessions are decrypted when Config.Keys (a Keys table: session
// ID → session key and/or derived keys, read from Wireshark-style key files)
// or Config.NTPasswords (passwords tried on every NTLMv2 authentication
// seen: NTOWFv2, NTProofStr, session base key, exported session key,
// [MS-NLMP] 3.3.2, 3.4.5.1) gives their keys. A decrypted message goes
// through the same decoding as a clear one (commands, files, transfers,
// named pipes to Config.Pipe), with the frames of its transform PDU, and
// its messages carry "encrypted": true. Compressed messages are always
// decompressed, to at most MaxBuffered bytes (larger ones are decoded from
// their first HeadBytes, as large clear PDUs are; one declaring more than
// MaxPDU is refused as a decompression bomb); their messages carry
// "compressed": true. Events: smb.decrypted (once per session, with
// counts), smb.no_key and smb.decrypt_failed (once per session),
// smb.decompress_failed. Encryption keys come from the key table as given,
// or are derived from a session key (SMB 3.1.1 only when the session setup
// is in the capture); the cipher is the negotiated one, or, for a capture
// without the NEGOTIATE, the first that authenticates. An encrypted PDU
// larger than MaxBuffered is decrypted from its head with the cipher's key
// stream, unauthenticated, as only its head is kept.
//
// Parsers are pure functions (ParseNBSS, ParseHeader2, ParseBody2,
// ParseSMB1, ParseNTLM, ...). Conn is the per-connection state machine: it
// implements tcpstate.StreamHandler, frames NBSS packets out of arbitrary
// chunks (several SMB messages per segment, one message across many),
// pairs requests with responses by MessageId (SMB2, including async
// interim responses) or PID+MID (SMB1), tracks trees and open files
// (FileId → name), hands named-pipe traffic on IPC$ to Config.Pipe (the
// DCE/RPC decoder) at the frame that completes each SMB message — also for
// pipes opened before the capture began or on a tree never seen connected,
// recognised by TransactNmPipe, FSCTL_PIPE_TRANSCEIVE or a DCE/RPC header
// in their READ/WRITE data, as tshark's heuristics do — and analyses each file transfer: bytes, operation size,
// maximum and time-weighted mean operations in flight, idle gaps,
// throughput. It emits smb.app_limited, smb.shaping_delay,
// smb.error_status, smb.auth_failed, smb.slow_response, smb.encrypted,
// smb.decrypted, smb.no_key, smb.decrypt_failed, smb.decompress_failed,
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
// Each message is a *Message (health.Message.Value; nettrace.Handlers.SMB)
// with the header fields flat and the command's part (Negotiate, Create,
// IO, ...) set; Message.Fields is the one definition of the JSON fields
// below.
//
// Message fields (present when known): cmd, is_response, msg_id, status and
// status_code (responses), tree, filename, offset, length, dialect,
// ntlm_user, ntlm_domain, ntlm_workstation, ntlm_type, mech,
// request_frame and latency_ms (matched responses), end_frame; SMB2 adds
// session_id, tree_id or async_id, credits, signed, user; SMB1 adds tid,
// uid, pid, fid, andx_index (links after the first of an AndX chain),
// subcommand, rap, service. filename is the name as the CREATE gave it
// (SMB1 names keep their leading backslash); a QUERY_DIRECTORY has
// directory and pattern (its search pattern, tshark's smb2.find.pattern)
// instead, and its response lists filenames (at most 256) and entries; a
// QUERY_INFO response carrying a name (FileAllInformation,
// FileNameInformation) gives it as filename, as tshark's smb2.filename.
// Messages decoded out of a transform or compression header add encrypted
// or compressed (true).
//
// Entry points for the analyzer:
//
//	cfg := smb.DefaultConfig()          // Limits defaults, no pipe hand-off
//	cfg.Pipe = func(ctx *tcpstate.StreamContext, pipe string) tcpstate.StreamHandler { ... }
//	cfg.Keys = smb.NewKeys(); cfg.Keys.Load("sessions.smbkeys") // SMB3 decryption (optional)
//	cfg.NTPasswords = []string{"..."}                         // or from passwords
//	if smb.Detect(dir, firstBytes) { h := smb.NewConn(ctx, cfg) ... }
//	h.Stats(), h.Files(), h.Commands()  // per-connection, per-file, per-command statistics
//	h.Finished()                        // tcpstate.Finisher: logged off, or every request answered
//
// What it does not do: verify signatures, decrypt sessions bound to another
// connection (multichannel) or authenticated by Kerberos without their
// session key, decode DCE/RPC (package rpc does, through Config.Pipe), or
// decode SMB carried in NetBIOS datagrams (UDP 138).
//
// Types in this package are not safe for concurrent use, except Keys.
package smb
