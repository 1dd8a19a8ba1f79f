package health

import "strings"

// This file is the one list of event kinds. Each constant's comment gives the
// meaning, the default severity and the evidence fields. Kinds are part of the
// public contract: once released, a kind keeps its name and meaning. Adding a
// kind means adding a constant here, a row in catalogue below, and a test that
// emits it.

// Capture and analyzer kinds.
const (
	// CaptureTruncated: the capture file ends inside a record or is damaged;
	// everything before Frame was analysed. Warning. Evidence: error, offset.
	CaptureTruncated Kind = "capture.truncated"
	// CaptureUnsupportedLink: frames of a link type nettrace cannot decode.
	// Notice, once per link type. Evidence: link_type, frames.
	//
	// Deprecated: no longer emitted; frames of a link type nettrace cannot
	// decode are counted in CaptureUndecoded with every other frame not
	// decoded because of its encapsulation.
	CaptureUnsupportedLink Kind = "capture.unsupported_link"
	// CaptureUndecoded: frames not decoded because of their link type or
	// encapsulation (an unknown link type, an EtherType without IP such as
	// LLDP, a tunnel payload nettrace does not open), counted per kind and
	// said once at the end of the capture, so that a capture made only of
	// such frames never reads as "nothing wrong". Notice when some may
	// carry IP traffic that was not analysed (link type, tunnel payload,
	// nesting too deep) or when no frame of the capture was analysed at
	// all, else Info. Evidence: frames, may_carry_ip,
	// by_encapsulation (name → frames), first_frames (name → frame),
	// first_frame.
	CaptureUndecoded Kind = "capture.undecoded"
	// CaptureDecodeError: a frame whose headers are malformed (bogus IP or
	// TCP lengths); it is skipped. Notice. Evidence: layer, error.
	CaptureDecodeError Kind = "capture.decode_error"
	// CaptureSnaplen: a frame cut short by the capture's snapshot length;
	// payload beyond it is treated as missing. Info, once per capture.
	// Evidence: captured, original.
	CaptureSnaplen Kind = "capture.snaplen"
	// InternalError: a decoder failed in a way that is a nettrace bug; its
	// flow's decoding stopped and the rest of the capture was analysed.
	// Error. Evidence: decoder, error.
	InternalError Kind = "internal.error"
	// CaptureProfile: what kind of capture this is, said once at its end:
	// connections seen from one side only, picked up mid-stream, packets
	// captured twice, bytes acknowledged but not captured, checksums not
	// computed or not matching. Conclusions about loss and timing hold only
	// for what the capture shows. Info. Evidence: connections, one_sided,
	// one_way (only when connections had packets from one side only and
	// nothing acknowledged), mid_stream, duplicates, unseen_bytes,
	// unseen_connections,
	// checksums_not_computed, checksums_rewritten, and, when frames were
	// not decoded because of their encapsulation, undecoded_frames and
	// undecoded_may_carry_ip.
	CaptureProfile Kind = "capture.profile"
	// MemoryShed: the memory budget (Options.MemoryBudget) was reached and
	// the buffered state of the connections quiet the longest was dropped
	// to stay within it; their decoders resumed at the next message, so
	// findings on them may be incomplete. Said once, at the end. Notice.
	// Evidence: budget, high_water, shed_bytes, sheds, connections,
	// by_decoder, first_frame.
	MemoryShed Kind = "memory.shed"
	// EventsFolded: events of one kind on one flow (or in the capture)
	// beyond the caps on repeated events were counted but not listed one
	// by one; said once per kind and flow, at the end. Info. Evidence:
	// kind, folded, first_frame, last_frame.
	EventsFolded Kind = "events.folded"
	// DecodeResync: a decoder skipped bytes to reach the first message it
	// could frame — the capture started mid-stream, or after a gap — and
	// decodes from there. Info. Evidence: decoder, skipped, dir, reason.
	DecodeResync Kind = "decode.resync"
	// DecodeGaveUp: a decoder stopped decoding a connection: the bytes are
	// not its protocol (a port used by something else, HTTP/2 where HTTP/1
	// was expected, cleartext after TLS), or it could not find a message
	// start again. A notice about nettrace's coverage, not about the peer.
	// Notice. Evidence: decoder, reason, dir, bytes.
	DecodeGaveUp Kind = "decode.gave_up"
	// DecodeLimit: a decoder's per-connection table reached its cap and
	// dropped entries to stay within it (SMB requests awaiting a response
	// beyond smb.Limits.MaxPending: the oldest are forgotten, so their
	// responses are not matched). Said once per connection and table, at
	// its end. A notice about nettrace's coverage. Notice. Evidence:
	// decoder, limit (the Limits field), cap, dropped, first_frame,
	// last_frame.
	DecodeLimit Kind = "decode.limit"
	// DecodeIncomplete: a message was still incomplete when its connection
	// ended (an NBSS message or a TDS message whose last packet never came),
	// or when a new message began in its place; it was not decoded. Said
	// once per direction at the end, counting the others. Warning when the
	// sender's own FIN ended its stream with every byte of it captured (the
	// capture proves the sender stopped mid-message); Notice otherwise (the
	// capture, a reset or the end of the capture cut it). Evidence: decoder,
	// dir, what, bytes (received), declared (when the framing said),
	// start_frame, end ("fin", "rst", "end_of_capture", "idle", "evicted",
	// "interrupted"), messages (incomplete ones in that direction).
	DecodeIncomplete Kind = "decode.incomplete"
	// CaptureSecretsSkipped: pcapng Decryption Secrets Blocks whose secrets
	// were not used: TLS key logs beyond 8 MiB in all
	// (layers.MaxSecretsLen), or secrets of a type nettrace does not use
	// (SSH, WireGuard...). Said once, where the first was found; TLS
	// connections needing them are not decrypted. Notice. Evidence: blocks,
	// bytes, over_limit, other_types, type (of the first other one), limit.
	CaptureSecretsSkipped Kind = "capture.secrets_skipped"
)

// Packet-level kinds from layers.
const (
	// IPTSOSegment: IPv4 total length 0 on a TCP frame (TSO/LSO
	// super-segment captured on the sender before the NIC split it); the
	// captured length was used. Info. Evidence: captured_len, payload_len.
	IPTSOSegment Kind = "ip.tso_segment"
	// IPChecksumOffload: checksums that do not match on the frames of the
	// capturing host (checksum offload: frames above the MTU, or the one
	// source with an initial TTL whose checksums never match), not a fault.
	// Info, once per capture, in the first frame concerned. Evidence: layer,
	// count (frames), src, sources, addrs, reason.
	IPChecksumOffload Kind = "ip.checksum_offload"
	// IPBadChecksum: a source whose IP/TCP/UDP/ICMP checksums are wrong
	// among right ones of the same layer: corruption on the way or by a NIC.
	// Error, once per source, in its first wrong frame. Evidence: layer,
	// got, want (of that frame), src, count, right, frames (the first ones).
	IPBadChecksum Kind = "ip.bad_checksum"
	// IPChecksumsUnverifiable: checksums do not match on any frame of some
	// sources that are not the capturing host (wrong, never computed, or
	// off by an address edit): the capture was rewritten (addresses changed
	// without fixing checksums) or taken where checksums are filled in
	// later; corruption cannot be told on them. Notice, once per capture,
	// in the first frame concerned. Evidence: layer, count (frames),
	// sources, addrs, wrong, not_computed, edited, rewritten (most sources
	// are like that).
	IPChecksumsUnverifiable Kind = "ip.checksums_unverifiable"
)

// TCP connection kinds. The per-segment ones share Wireshark's
// tcp.analysis.* definitions so counts compare with tshark.
const (
	// TCPRetransmission: tcp.analysis.retransmission. Warning (Notice when
	// the cause is spurious or reorder). Evidence: original_frame,
	// since_original_ms, previous_frame, since_previous_ms, seq, bytes, cause
	// ("loss"|"reorder"|"spurious"|"unknown"), cause_evidence
	// ("acked"|"sack"|"dsack"|"timestamps"|"duplicate"|"end"), duplicate.
	TCPRetransmission Kind = "tcp.retransmission"
	// TCPFastRetransmission: tcp.analysis.fast_retransmission. Warning.
	// Evidence: as TCPRetransmission, dup_acks.
	TCPFastRetransmission Kind = "tcp.fast_retransmission"
	// TCPSpuriousRetransmission: tcp.analysis.spurious_retransmission (data
	// the receiver had already acknowledged). Notice. Evidence: bytes, cause,
	// cause_evidence, seq.
	TCPSpuriousRetransmission Kind = "tcp.spurious_retransmission"
	// TCPOutOfOrder: tcp.analysis.out_of_order. Notice. Evidence: bytes, seq,
	// since_highest_ms.
	TCPOutOfOrder Kind = "tcp.out_of_order"
	// TCPLostSegment: tcp.analysis.lost_segment (previous segment not
	// captured): a hole before this segment. On its own it does not prove a
	// loss — the capture may have missed the bytes, or they arrive late;
	// retransmissions, SACK holes and the receiver's ACKs tell. Notice.
	// Evidence: seq, missing_bytes.
	TCPLostSegment Kind = "tcp.lost_segment"
	// TCPAckUnseenSegment: tcp.analysis.ack_lost_segment (ACKed segment that
	// was never captured). Notice. Evidence: ack.
	TCPAckUnseenSegment Kind = "tcp.ack_unseen_segment"
	// TCPDupAck: tcp.analysis.duplicate_ack. Notice. Evidence: dup_ack_num,
	// dup_of_frame, ack, late (after both FINs).
	TCPDupAck Kind = "tcp.dup_ack"
	// TCPZeroWindow: tcp.analysis.zero_window. Warning. Evidence: by.
	TCPZeroWindow Kind = "tcp.zero_window"
	// TCPZeroWindowProbe: tcp.analysis.zero_window_probe. Notice.
	TCPZeroWindowProbe Kind = "tcp.zero_window_probe"
	// TCPWindowFull: tcp.analysis.window_full. Notice. Evidence: in_flight.
	TCPWindowFull Kind = "tcp.window_full"
	// TCPWindowUpdate: tcp.analysis.window_update. Info. Evidence: window.
	TCPWindowUpdate Kind = "tcp.window_update"
	// TCPKeepAlive: tcp.analysis.keep_alive. Info. Evidence: bytes, seq,
	// zero_window_probe.
	TCPKeepAlive Kind = "tcp.keep_alive"
	// TCPPortReuse: tcp.analysis.reused_ports (a new SYN on a tuple whose
	// earlier connection closed). Info. Evidence: previous_stream.
	TCPPortReuse Kind = "tcp.port_reuse"

	// TCPSynUnanswered: SYN (and its retries) never answered. Warning;
	// Notice for a lone SYN never sent again while the capture went on past
	// every stack's first retry (a scan, a spoofed flood, or an answer the
	// capture lacks). Evidence: syn_count, retry_spacing_ms, waited_ms.
	TCPSynUnanswered Kind = "tcp.syn_unanswered"
	// TCPRefused: RST answering a SYN (port closed or filtered by a rejecting
	// firewall). Warning. Evidence: syn_frame, syn_count.
	TCPRefused Kind = "tcp.refused"
	// TCPSynAckPayload: a SYN-ACK that carries payload (casebook C1).
	// Warning. Evidence: payload_len, ip_total_len.
	TCPSynAckPayload Kind = "tcp.synack_payload"
	// TCPHandshakeAckMismatch: the handshake ACK does not acknowledge ISN+1
	// (casebook C1). Error. Evidence: expected_ack, got_ack, isn,
	// synack_frame, synack_payload.
	TCPHandshakeAckMismatch Kind = "tcp.handshake_ack_mismatch"
	// TCPReset: a connection reset. Notice (warning with unacknowledged data).
	// Evidence: by ("client"|"server"), state, idle_ms, unacked_bytes, after,
	// unacked_c2s, unacked_s2c.
	TCPReset Kind = "tcp.reset"
	// TCPIdle: a long silence inside a connection. Info. Evidence: idle_ms,
	// from_frame, count.
	TCPIdle Kind = "tcp.idle"
	// TCPMidStream: a connection picked up after its handshake. Info.
	TCPMidStream Kind = "tcp.mid_stream"
	// TCPRTOBackoff: a retransmission series whose gaps double. Warning
	// (Error when the segment was never acknowledged). Evidence: count, gaps_ms, first_frame, last_frame, seq, bytes, acked.
	TCPRTOBackoff Kind = "tcp.rto_backoff"
	// TCPSackHole: a hole the receiver keeps SACKing around. Warning.
	// Evidence: hole_start, hole_len, sack_count, sle, sre (relative
	// sequence numbers), filled, fill_frame, duration_ms.
	TCPSackHole Kind = "tcp.sack_hole"
	// TCPOverlapConflict: retransmitted bytes that differ from the bytes
	// first delivered for the same sequence numbers (the first copy wins).
	// Warning. Evidence: seq, len, first_frame.
	TCPOverlapConflict Kind = "tcp.overlap_conflict"
	// TCPBufferLimit: a reassembly buffer reached its cap; buffered bytes
	// were skipped and a gap delivered. Warning. Evidence: limit, dropped.
	TCPBufferLimit Kind = "tcp.buffer_limit"
	// TCPEvicted: a connection evicted by the connection cap or idle timeout
	// before it closed. Notice. Evidence: reason, idle_ms, last_frame.
	TCPEvicted Kind = "tcp.evicted"
	// TCPNotAccepting: SYNs to a listening port go unanswered while the same
	// server keeps serving established connections (casebook C20). Error.
	// Evidence: server, unanswered, served, first_frame, served_until_ms,
	// source_ports, syns.
	TCPNotAccepting Kind = "tcp.not_accepting"
	// TCPSourcePortFailures: failed connection attempts cluster on specific
	// source ports (casebook C18). Warning (emitted as Error: it explains
	// connections that failed). Evidence: server, ports, failed, ok, syns,
	// failed_frames, repeated_ports.
	TCPSourcePortFailures Kind = "tcp.source_port_failures"
	// TCPResetAfterIdle: resets that follow long idle periods (casebook C14).
	// Warning. Evidence: count, idle_ms, by, frames, max_idle_ms.
	TCPResetAfterIdle Kind = "tcp.reset_after_idle"
	// TCPHalfOpenEvicted: connection attempts whose handshake had not
	// completed were dropped from tracking to keep tcpstate's
	// Config.MaxHalfOpen (a SYN flood, or many attempts seen from one
	// side); counted, not followed one by one. Said once, at the end. A
	// notice about the analysis' coverage: whether they were answered
	// later is not known. Notice. Evidence: evicted, cap, peak,
	// first_frame, last_frame, server (the most frequent), server_share,
	// servers (-1: more than 64).
	TCPHalfOpenEvicted Kind = "tcp.half_open_evicted"
)

// FlowSummary is the per-connection summary written when a flow ends (the
// typed form is FlowStats). Info. Evidence: stream, client, server,
// first_frame, last_frame, duration_ms, packets_c2s, packets_s2c,
// bytes_c2s, bytes_s2c, client_state, server_state, close, reset_by,
// handshake_rtt_ms, rtt_min_ms, rtt_median_ms, rtt_max_ms,
// retrans_bytes_c2s, retrans_bytes_s2c, one_sided, unseen_bytes_c2s,
// unseen_bytes_s2c, duplicates, max_idle_ms, events (count per kind).
const FlowSummary Kind = "flow.summary"

// TLS kinds.
const (
	// TLSAlert: an alert record. Warning for fatal, Info for close_notify.
	// Evidence: level, description, from, code.
	TLSAlert Kind = "tls.alert"
	// TLSHandshakeStalled: a ClientHello never answered by a ServerHello.
	// Error. Evidence: retransmissions, waited_ms.
	TLSHandshakeStalled Kind = "tls.handshake_stalled"
	// TLSHandshakeFailed: the handshake ended in a fatal alert or reset.
	// Error. Evidence: alert, stage, from.
	TLSHandshakeFailed Kind = "tls.handshake_failed"
	// TLSCertNameMismatch: the server certificate does not name the SNI or
	// HTTP host. Error. Evidence: host, names, source.
	TLSCertNameMismatch Kind = "tls.cert_name_mismatch"
	// TLSCertExpired: the certificate was expired at capture time. Error.
	// Evidence: subject, not_after, index.
	TLSCertExpired Kind = "tls.cert_expired"
	// TLSCertNotYetValid: the certificate was not yet valid at capture
	// time. Error. Evidence: subject, not_before, index.
	TLSCertNotYetValid Kind = "tls.cert_not_yet_valid"
	// TLSVersionDowngrade: an old protocol version offered or selected.
	// Warning. Evidence: version, offered_by.
	TLSVersionDowngrade Kind = "tls.version_downgrade"
	// TLSWeakCipher: a weak cipher suite selected. Warning. Evidence: suite,
	// reason.
	TLSWeakCipher Kind = "tls.weak_cipher"
	// TLSDecryptFailed: a record did not decrypt with the logged key (or
	// its suite is not supported). Error, once per connection, said at its
	// end. Evidence: reason, key, suite, version, client_random, from,
	// records_not_decrypted, bytes_not_decrypted, last_frame.
	TLSDecryptFailed Kind = "tls.decrypt_failed"
	// TLSNoKey: decryption was asked for but the key log lacks this
	// connection's client random. Notice, once per connection, said at its
	// end. Evidence: client_random, key, records_not_decrypted,
	// bytes_not_decrypted, last_frame.
	TLSNoKey Kind = "tls.no_key"
	// TLSMalformed: a TLS record or handshake message nettrace could not
	// parse: a notice about its coverage unless the bytes are provably
	// invalid (then Warning). Notice. Evidence: error.
	TLSMalformed Kind = "tls.malformed"
	// TLSKeyLogSkipped: lines of a key log (a file of Options.KeyLogFiles,
	// or a pcapng Decryption Secrets Block) that could not be read were
	// skipped, as tshark skips them; every good line was used. Said once
	// per file, or per block. Notice. Evidence: source ("file" or
	// "capture"), file (its name), lines, first_line, reason (never a
	// line's content).
	TLSKeyLogSkipped Kind = "tls.keylog_skipped"
)

// HTTP kinds.
const (
	// HTTPBodyDecodeFailed: a gzip/deflate body that does not decompress
	// (casebook C5). Error. Evidence: encoding, offset, request, frames,
	// compressed_bytes, decoded_bytes, error.
	HTTPBodyDecodeFailed Kind = "http.body_decode_failed"
	// HTTPBodyTruncated: a body shorter than its framing declared. Warning.
	// Evidence: cause, declared, message, received.
	HTTPBodyTruncated Kind = "http.body_truncated"
	// HTTPErrorStatus: a 4xx/5xx response. Notice (4xx) or Warning (5xx).
	// Evidence: status, request, reason, stream (HTTP/2).
	HTTPErrorStatus Kind = "http.error_status"
	// HTTPBodyLimit: a compressed body not decoded in full: over the
	// decode buffer, its buffered bytes shed by the memory budget, or its
	// decoding stopped at the size or ratio cap. Warning. Evidence: limit,
	// bytes, request, ratio, decoded_bytes, compressed_read,
	// compressed_bytes, stream (HTTP/2).
	HTTPBodyLimit Kind = "http.body_limit"
	// HTTPMalformed: HTTP nettrace could not parse: a notice about its
	// coverage unless the bytes are provably invalid (then Warning). Notice.
	// Evidence: error.
	HTTPMalformed Kind = "http.malformed"
)

// HTTP/2 kinds (RFC 9113). Exchanges on HTTP/2 streams report the HTTP
// kinds above (http.error_status, http.body_*).
const (
	// HTTP2StreamReset: an RST_STREAM frame ended a stream (RFC 9113, 6.4).
	// Info for NO_ERROR, or when the stream's exchange was complete or the
	// peer's GOAWAY had left it unprocessed; Notice for CANCEL and
	// REFUSED_STREAM (a client abandoning a request, a server refusing
	// one it has not processed); Warning for every other code (one side
	// found a fault). Evidence: stream, error_code, error, from, request,
	// state, status.
	HTTP2StreamReset Kind = "http2.stream_reset"
	// HTTP2GoAway: a GOAWAY frame began the shutdown of an HTTP/2
	// connection (RFC 9113, 6.8). Info for NO_ERROR (a graceful shutdown:
	// streams above last_stream_id were not processed and may be retried),
	// Warning for any other code. Evidence: error_code, error,
	// last_stream_id, from, debug (printable debug data, clipped),
	// unprocessed (streams above last_stream_id the peer had opened).
	HTTP2GoAway Kind = "http2.goaway"
	// HTTP2Malformed: an HTTP/2 frame or header block nettrace could not
	// decode: a notice about its coverage, unless the bytes provably break
	// RFC 9113 on a direction followed from its start with nothing lost
	// (then Warning). Notice. Evidence: error, from, frame_type, stream.
	HTTP2Malformed Kind = "http2.malformed"
	// HTTP2Limit: a cap on what one HTTP/2 connection keeps was reached
	// (tracked streams, the buffered frame, the header list, the HPACK
	// dynamic table) and what it says was dropped: the oldest stream's
	// state, a frame's payload, header fields, the header blocks after it.
	// Notice. Evidence: limit, value, stream, dropped.
	HTTP2Limit Kind = "http2.limit"
)

// SMB kinds.
const (
	// SMBAppLimited: few reads/writes in flight limit throughput (C8).
	// Warning. Evidence: file, op_size, max_in_flight, mean_in_flight,
	// throughput_kib_s, idle_ms, latency_ms, op, open_frame, ops, rtt_ms.
	SMBAppLimited Kind = "smb.app_limited"
	// SMBShapingDelay: a near-constant extra delay inside responses (C12).
	// Warning. Evidence: delay_ms, occurrences, total_ms, direction,
	// first_frame.
	SMBShapingDelay Kind = "smb.shaping_delay"
	// SMBErrorStatus: a response with an error status. Notice/Warning.
	// Evidence: status, command, request_frame, file, share.
	SMBErrorStatus Kind = "smb.error_status"
	// SMBAuthFailed: session setup failed. Error. Evidence: status, user,
	// domain, command, request_frame, workstation.
	SMBAuthFailed Kind = "smb.auth_failed"
	// SMBSlowResponse: server time outlier. Notice. Evidence: command,
	// latency_ms, median_ms.
	SMBSlowResponse Kind = "smb.slow_response"
	// SMBEncrypted: SMB3 transform header (encrypted traffic, not
	// decrypted: no keys were given, or see smb.no_key and
	// smb.decrypt_failed). Info, once per connection. Evidence: session_id.
	SMBEncrypted Kind = "smb.encrypted"
	// SMBMalformed: SMB nettrace could not parse: a notice about its
	// coverage unless the bytes are provably invalid (then Warning). Notice.
	// Evidence: error.
	SMBMalformed Kind = "smb.malformed"
	// SMBDecrypted: an SMB3 encrypted session was decrypted (keys from
	// smb.Config.Keys or a password in smb.Config.NTPasswords) and its
	// messages decoded like clear ones; said once per session, when the
	// connection ends. Info. Evidence: session_id, messages, cipher,
	// key_source (key_table, password), dialect, first_frame, last_frame,
	// failed (messages that did not decrypt, when any).
	SMBDecrypted Kind = "smb.decrypted"
	// SMBNoKey: decryption was asked for, but no key is known for an
	// encrypted session: not in the key table, no password matches its
	// NTLMv2 authentication, or (SMB 3.1.1) its session setup is not in
	// the capture. Notice, once per session. Evidence: session_id, reason
	// (no_key, no_preauth, no_dir_key, bad_key_len, session_limit: more
	// than 1024 sessions on one connection), dialect, dir.
	SMBNoKey Kind = "smb.no_key"
	// SMBDecryptFailed: an encrypted message did not authenticate with the
	// key of its session (a wrong key, or damage in the capture). Error,
	// once per session. Evidence: session_id, key_source, ciphers, dialect.
	SMBDecryptFailed Kind = "smb.decrypt_failed"
	// SMBDecompressFailed: a compressed SMB 3.1.1 message did not
	// decompress: corrupt or truncated data, or a declared original size
	// over the PDU limit (a decompression bomb, refused before any output).
	// Warning. Evidence: reason (corrupt, truncated, limit), error,
	// algorithm, original_size, dir.
	SMBDecompressFailed Kind = "smb.decompress_failed"
)

// DCE/RPC kinds.
const (
	// RPCEPMAddressMismatch: an EPM tower names an IP other than the one the
	// request went to (C4). Warning. Evidence: requested_ip, tower_ip, port,
	// interface, interface_uuid, protocol, request_frame.
	RPCEPMAddressMismatch Kind = "rpc.epm_address_mismatch"
	// RPCEPMNotRegistered: EPM status not-registered or no towers. Warning.
	// Evidence: opnum, request_frame, status, status_name, towers.
	RPCEPMNotRegistered Kind = "rpc.epm_not_registered"
	// RPCEPMShortReply: an EPM reply too short to hold a tower (C4). Error.
	// Evidence: stub_len.
	RPCEPMShortReply Kind = "rpc.epm_short_reply"
	// RPCBindNak: bind rejected. Warning. Evidence: reason.
	RPCBindNak Kind = "rpc.bind_nak"
	// RPCFault: fault PDU. Warning. Evidence: status, opnum, interface,
	// call_id, did_not_execute, request_frame, status_code, activity,
	// seqnum, pkt_type (the last three over UDP).
	RPCFault Kind = "rpc.fault"
	// RPCReject: a connectionless reject PDU (C706 12.5.3.8): the server
	// refused the call before running it (unknown interface, operation out
	// of range, wrong boot time, protocol error). Warning. Evidence:
	// status, status_code, opnum, interface, activity, seqnum, pkt_type,
	// request_frame (when the request was seen).
	RPCReject Kind = "rpc.reject"
	// RPCNoResponse: a call never answered. Warning. Evidence: call_id, opnum,
	// close, interface, pkt_type, request_frame, activity, seqnum, pings,
	// working, reason (over UDP: the client's pings, the server's "working"
	// answers).
	RPCNoResponse Kind = "rpc.no_response"
	// RPCEndpointLearned: an endpoint advertised by the EPM. Info. Evidence:
	// interface, ip, port, protocol, interface_uuid.
	RPCEndpointLearned Kind = "rpc.endpoint_learned"
	// RPCMalformed: DCE/RPC nettrace could not parse: a notice about its
	// coverage unless the bytes are provably invalid (then Warning). Notice.
	// Evidence: error, pkt_type (UDP).
	RPCMalformed Kind = "rpc.malformed"
)

// TDS and SQL Browser kinds.
const (
	// TDSLoginFailed: login rejected (error 18456 and friends). Error.
	// Evidence: number, state, message, class, user.
	TDSLoginFailed Kind = "tds.login_failed"
	// TDSError: an ERROR token of severity ≥ 11. Warning. Evidence: number,
	// class, state, message.
	TDSError Kind = "tds.error"
	// TDSAttention: client cancel. Notice. Evidence: after_ms.
	TDSAttention Kind = "tds.attention"
	// TDSPreloginStalled: PRELOGIN sent, no answer. Error. Evidence:
	// waited_ms, close, prelogin_frame.
	TDSPreloginStalled Kind = "tds.prelogin_stalled"
	// TDSEncryptionMismatch: client and server encryption options cannot
	// agree. Error.
	TDSEncryptionMismatch Kind = "tds.encryption_mismatch"
	// TDSRouting: the server redirects the client. Info. Evidence: server,
	// port.
	TDSRouting Kind = "tds.routing"
	// TDSSlowQuery: server time outlier. Notice. Evidence: server_ms, sql.
	TDSSlowQuery Kind = "tds.slow_query"
	// TDSLatencySplit: per connection, network round trip vs server time vs
	// client think time (C15). Info. Evidence: network_ms, requests, rtt_ms,
	// server_est_ms_max, server_est_ms_min, server_ms_max, server_ms_median,
	// server_ms_min, think_ms_median, vantage.
	TDSLatencySplit Kind = "tds.latency_split"
	// TDSSSRPUnanswered: SQL Browser requests never answered. Warning.
	// Evidence: requests, instance, first_frame, last_frame, server, types.
	TDSSSRPUnanswered Kind = "tds.ssrp_unanswered"
	// TDSSSRPReplyFromOtherAddress: an SSRP reply whose source differs from
	// the request's destination (C9). Error. Evidence: requested, replied.
	TDSSSRPReplyFromOtherAddress Kind = "tds.ssrp_reply_from_other_address"
	// TDSMalformed: TDS nettrace could not parse: a notice about its
	// coverage unless the bytes are provably invalid (then Warning). Notice.
	// Evidence: error.
	TDSMalformed Kind = "tds.malformed"
)

// Network-level kinds (diagnoses across flows).
const (
	// NetICMPUnreachable: ICMP destination unreachable matched to a flow.
	// Warning. Evidence: type, code, reason, quoted_flow, count, flow_seen,
	// frames, from.
	NetICMPUnreachable Kind = "net.icmp_unreachable"
	// NetICMPFragNeeded: fragmentation needed / packet too big. Notice.
	// Evidence: mtu, quoted_flow, code, count, flow_seen, frames, from,
	// reason, type.
	NetICMPFragNeeded Kind = "net.icmp_frag_needed"
	// NetPMTUReduced: the sender adapted to a smaller path MTU. Notice.
	// Evidence: mtu, reordered, first_adapted_frame, first_resent_frame,
	// icmp_count, icmp_from, inferred, largest_after, largest_sent,
	// mss_allows, resent, segments.
	NetPMTUReduced Kind = "net.pmtu_reduced"
	// NetPMTUBlackhole: full-size segments lost repeatedly, small ones
	// delivered, no usable ICMP. Error. Evidence: size, retransmissions,
	// frames, icmp_seen, largest_delivered, seq.
	NetPMTUBlackhole Kind = "net.pmtu_blackhole"
	// NetFragmentOverlap: overlapping or inconsistent IP fragments. Warning.
	// Evidence: first_frame, id, length, offset, reason.
	NetFragmentOverlap Kind = "net.fragment_overlap"
	// NetFragmentIncomplete: a datagram whose fragments never completed.
	// Warning. Evidence: received, id, bytes, first_frame, fragments,
	// last_frame, missing, reason.
	NetFragmentIncomplete Kind = "net.fragment_incomplete"
	// NetUDPFlood: a high-rate UDP stream to one target (C6). Error. Evidence:
	// rate_pps, mbps, datagrams, target, preceded_by, bytes, duration_s,
	// first_frame, fragments_per_datagram, icmp_unreachable, last_frame,
	// mean_pps, payload_entropy, preceded_by_client, preceded_by_frame,
	// reassembled, repeated_pct, replies, request_names_target, source.
	NetUDPFlood Kind = "net.udp_flood"
	// NetSYNFlood: a high rate of SYNs to one server port (at least
	// diagnose.NetworkConfig.SYNFloodMinRate per second), most of whose
	// handshakes never completed. Warning when the capture holds the
	// server's answers (SYN-ACKs or resets), so that the incomplete
	// handshakes are a fact; Notice when it holds no packet from the server
	// (one direction captured), where whether it answered cannot be told.
	// Evidence: server, rate_per_s, peak_frame, syns, never_completed,
	// completed, synacks, resets, unanswered, untracked, sources,
	// server_seen.
	NetSYNFlood Kind = "net.syn_flood"
	// NetManyConnectionsSingleSource: one source opens many concurrent
	// connections, likely a NAT (C2). Warning. Evidence: source, server,
	// connections, peak_concurrent, syns, syns_unanswered, unanswered_pct,
	// accepted, never_answered, peak_at.
	NetManyConnectionsSingleSource Kind = "net.many_connections_single_source"
	// NetARPStorm: a burst of ARP requests from one source (C14). Warning.
	// Evidence: sender, burst, span_ms, per_ms, first_frame, last_frame, mac,
	// requests, targets, window_ms.
	NetARPStorm Kind = "net.arp_storm"
	// NetARPConflict: two MACs claim one IP (Warning), or gratuitous ARP
	// (Notice). Evidence: ip, macs or gratuitous, frames.
	NetARPConflict Kind = "net.arp_conflict"
	// NetReplyFromOtherAddress: a reply whose source is not the request's
	// destination (C9 generic). Warning. Evidence: client, requested,
	// replied, count, frames, request_frame.
	NetReplyFromOtherAddress Kind = "net.reply_from_other_address"
	// NetPeriodic: recurring attempts to one destination with a stable period
	// (C17). Info. Evidence: period_s, count, destination, frames, jitter_ms,
	// source, unanswered.
	NetPeriodic Kind = "net.periodic"
	// NetICMPError: an ICMP error other than unreachable / frag needed
	// (time exceeded, parameter problem, redirect) matched to the flow it
	// quotes. Notice. Evidence: type, code, reason, quoted_flow, count.
	NetICMPError Kind = "net.icmp_error"
	// NetFragmented: datagrams between two hosts were fragmented and
	// reassembled (C6). Info. Evidence: datagrams, fragments,
	// fragments_per_datagram, max_datagram_len, incomplete_events,
	// overlap_events.
	NetFragmented Kind = "net.fragmented"
	// NetResolvedDestination: a destination address explained by the DNS
	// answer it was resolved from, through its CNAME chain (C16). Info.
	// Evidence: addr, name, chain, dns_frame, connections, requests,
	// request_lines.
	NetResolvedDestination Kind = "net.resolved_destination"
)

// Two-capture kinds: one connection captured at two points (client side and
// server side, possibly through NAT), compared by health.ComparePair.
// Event.Frame names a frame of the capture named by Evidence "capture"
// ("a" or "b"); Evidence also gives the matching frame of the other capture.
const (
	// PairMatched: the two captures hold the same connection; NAT (other
	// addresses or ports) and MSS clamping are noted. Info. Evidence:
	// capture, frame_a, frame_b, client_a, server_a, client_b, server_b,
	// nat, matched_by, mss_a, mss_b, client_side.
	PairMatched Kind = "pair.matched"
	// PairPacketChanged: the same segment differs between the two points
	// (payload length or IP total length), e.g. bytes added to a SYN-ACK in
	// transit (C1). Warning. Evidence: capture, frame_a, frame_b,
	// payload_a, payload_b, ip_len_a, ip_len_b, segment, changed_total.
	PairPacketChanged Kind = "pair.packet_changed"
	// PairLostBetween: segments sent at one capture point and never seen at
	// the other: dropped between them (C13). Warning (Notice when a later
	// copy arrived). Evidence: capture, frame_a or frame_b, direction,
	// frames, copies_sent, copies_arrived, bytes, missing_bytes, seq,
	// lost_total.
	PairLostBetween Kind = "pair.lost_between"
	// PairDelaySplit: per request, the time spent between the two capture
	// points versus the server's (or client's) own time (C15). Notice when
	// the network between the captures dominates, else Info. Evidence:
	// capture, requests, network_ms, server_min_ms, server_max_ms,
	// client_side_min_ms, client_side_max_ms, handshake_network_ms, frame_b.
	PairDelaySplit Kind = "pair.delay_split"
)

// IsDiagnosis reports whether k is a conclusion drawn across connections
// or captures (a NAT in front of the clients, a server that stops
// accepting, a PMTU black hole, a packet changed between two capture
// points) rather than a symptom on one connection. Reports list diagnoses
// before the symptoms they explain.
func IsDiagnosis(k Kind) bool {
	switch k {
	case TCPNotAccepting, TCPSourcePortFailures, TCPResetAfterIdle:
		return true
	}
	return strings.HasPrefix(string(k), "net.") || strings.HasPrefix(string(k), "pair.")
}

// PerFrame reports whether events of kind k describe one packet, at the
// frame they carry: TCP analysis flags (retransmissions, duplicate ACKs,
// zero windows, …), resets, packets that do not decode, malformed
// PDUs, alerts, error statuses and faults of one response. The root Analyzer passes these to its Reporter in frame order; every
// other kind is a conclusion reached later (a summary, a stall, a latency
// split, a cross-connection diagnosis) and comes out when it is reached,
// with the frame of its evidence, which can be earlier.
func PerFrame(k Kind) bool {
	switch k {
	case CaptureDecodeError,
		TCPRetransmission, TCPFastRetransmission, TCPSpuriousRetransmission, TCPOutOfOrder, TCPLostSegment,
		TCPAckUnseenSegment, TCPDupAck, TCPZeroWindow, TCPZeroWindowProbe, TCPWindowFull, TCPWindowUpdate,
		TCPKeepAlive, TCPPortReuse, TCPSynAckPayload, TCPHandshakeAckMismatch, TCPReset, TCPRefused,
		TLSMalformed, HTTPMalformed, SMBMalformed, RPCMalformed, TDSMalformed,
		TLSAlert, HTTPErrorStatus, SMBErrorStatus, RPCFault, RPCBindNak, TDSError, TDSAttention:
		return true
	}
	return false
}

// KindInfo describes one kind for documentation and tools.
type KindInfo struct {
	Kind     Kind
	Severity Severity // default severity
	Meaning  string
}

// Catalogue returns every kind with its default severity and meaning, in
// the order of this file.
func Catalogue() []KindInfo { return append([]KindInfo(nil), catalogue...) }

// DefaultSeverity returns k's default severity, or Info for an unknown kind.
func DefaultSeverity(k Kind) Severity {
	for _, ki := range catalogue {
		if ki.Kind == k {
			return ki.Severity
		}
	}
	return Info
}

// Known reports whether k is listed in the catalogue.
func Known(k Kind) bool {
	for _, ki := range catalogue {
		if ki.Kind == k {
			return true
		}
	}
	return false
}

var catalogue = []KindInfo{
	{CaptureTruncated, Warning, "capture ends inside a record; frames before it were analysed"},
	{CaptureUnsupportedLink, Notice, "frames of a link type that cannot be decoded (deprecated: see capture.undecoded)"},
	{CaptureUndecoded, Notice, "frames not decoded because of their link type or encapsulation, counted per kind"},
	{CaptureDecodeError, Notice, "frame with malformed headers, skipped"},
	{CaptureSnaplen, Info, "frames cut short by the snapshot length"},
	{InternalError, Error, "a decoder failed (nettrace bug); its flow's decoding stopped"},
	{CaptureProfile, Info, "what the capture shows: one-sided, mid-stream, duplicates, missed bytes"},
	{EventsFolded, Info, "repeated events counted but not listed one by one"},
	{MemoryShed, Notice, "memory budget reached: buffered state of quiet connections dropped"},
	{DecodeResync, Info, "decoder skipped bytes to the first message it could frame"},
	{DecodeGaveUp, Notice, "decoder stopped: the bytes are not its protocol, or no message start found"},
	{DecodeLimit, Notice, "decoder table cap reached: oldest entries dropped"},
	{DecodeIncomplete, Notice, "message still incomplete when the connection ended or another began"},
	{CaptureSecretsSkipped, Notice, "Decryption Secrets Blocks not used: over 8 MiB, or not a TLS key log"},
	{IPTSOSegment, Info, "TSO/LSO super-segment (IPv4 total length 0); captured length used"},
	{IPChecksumOffload, Info, "checksums that do not match on the capturing host's frames: checksum offload"},
	{IPBadChecksum, Error, "wrong checksums among right ones from a source: corruption"},
	{IPChecksumsUnverifiable, Notice, "checksums never match on some sources: rewritten capture or offload; corruption cannot be told"},
	{TCPRetransmission, Warning, "segment retransmitted (tcp.analysis.retransmission)"},
	{TCPFastRetransmission, Warning, "fast retransmission after duplicate ACKs"},
	{TCPSpuriousRetransmission, Notice, "retransmission of data already acknowledged"},
	{TCPOutOfOrder, Notice, "segment arrived out of order"},
	{TCPLostSegment, Notice, "previous segment not captured"},
	{TCPAckUnseenSegment, Notice, "ACK for a segment that was not captured"},
	{TCPDupAck, Notice, "duplicate ACK"},
	{TCPZeroWindow, Warning, "receiver advertised a zero window"},
	{TCPZeroWindowProbe, Notice, "zero-window probe"},
	{TCPWindowFull, Notice, "sender filled the receiver's window"},
	{TCPWindowUpdate, Info, "window update"},
	{TCPKeepAlive, Info, "keep-alive"},
	{TCPPortReuse, Info, "new connection on a recently used tuple"},
	{TCPSynUnanswered, Warning, "SYN never answered"},
	{TCPRefused, Warning, "connection refused (RST answering SYN)"},
	{TCPSynAckPayload, Warning, "SYN-ACK carries payload"},
	{TCPHandshakeAckMismatch, Error, "handshake ACK does not acknowledge ISN+1"},
	{TCPReset, Notice, "connection reset"},
	{TCPIdle, Info, "long silence inside a connection"},
	{TCPMidStream, Info, "connection picked up after its handshake"},
	{TCPRTOBackoff, Warning, "retransmission series with exponential backoff"},
	{TCPSackHole, Warning, "receiver keeps SACKing around a hole"},
	{TCPOverlapConflict, Warning, "retransmitted bytes differ from the first copy"},
	{TCPBufferLimit, Warning, "reassembly buffer cap reached; bytes skipped"},
	{TCPEvicted, Notice, "connection evicted before it closed"},
	{TCPNotAccepting, Error, "server not accepting new connections while serving existing ones"},
	{TCPSourcePortFailures, Warning, "connection failures cluster on specific source ports"},
	{TCPResetAfterIdle, Warning, "resets follow long idle periods"},
	{TCPHalfOpenEvicted, Notice, "connection attempts dropped from tracking at the half-open cap"},
	{FlowSummary, Info, "per-connection summary"},
	{TLSAlert, Warning, "TLS alert"},
	{TLSHandshakeStalled, Error, "ClientHello never answered"},
	{TLSHandshakeFailed, Error, "TLS handshake failed"},
	{TLSCertNameMismatch, Error, "certificate does not name the requested host"},
	{TLSCertExpired, Error, "certificate expired at capture time"},
	{TLSCertNotYetValid, Error, "certificate not yet valid at capture time"},
	{TLSVersionDowngrade, Warning, "old TLS version offered or selected"},
	{TLSWeakCipher, Warning, "weak cipher suite selected"},
	{TLSDecryptFailed, Error, "record did not decrypt with the logged key"},
	{TLSNoKey, Notice, "no key logged for this connection"},
	{TLSMalformed, Notice, "TLS nettrace could not parse"},
	{TLSKeyLogSkipped, Notice, "key log lines that could not be read were skipped"},
	{HTTPBodyDecodeFailed, Error, "Content-Encoding body does not decompress"},
	{HTTPBodyTruncated, Warning, "body shorter than its framing declared"},
	{HTTPErrorStatus, Notice, "HTTP 4xx/5xx response"},
	{HTTPBodyLimit, Warning, "decompressed body over its size or ratio cap"},
	{HTTPMalformed, Notice, "HTTP nettrace could not parse"},
	{HTTP2StreamReset, Notice, "RST_STREAM ended an HTTP/2 stream"},
	{HTTP2GoAway, Info, "GOAWAY began an HTTP/2 connection's shutdown"},
	{HTTP2Malformed, Notice, "HTTP/2 frame or header block nettrace could not decode"},
	{HTTP2Limit, Notice, "HTTP/2 connection cap reached; state dropped"},
	{SMBAppLimited, Warning, "few operations in flight limit throughput"},
	{SMBShapingDelay, Warning, "near-constant extra delay inside responses (shaping)"},
	{SMBErrorStatus, Notice, "SMB response with an error status"},
	{SMBAuthFailed, Error, "SMB session setup failed"},
	{SMBSlowResponse, Notice, "SMB server time outlier"},
	{SMBEncrypted, Info, "SMB3 encrypted traffic (not decrypted)"},
	{SMBMalformed, Notice, "SMB nettrace could not parse"},
	{SMBDecrypted, Info, "SMB3 encrypted session decrypted with its key"},
	{SMBNoKey, Notice, "no key for an SMB3 encrypted session"},
	{SMBDecryptFailed, Error, "SMB3 message did not decrypt with its session's key"},
	{SMBDecompressFailed, Warning, "compressed SMB message did not decompress"},
	{RPCEPMAddressMismatch, Warning, "EPM tower IP differs from the address asked"},
	{RPCEPMNotRegistered, Warning, "EPM: endpoint not registered or no towers"},
	{RPCEPMShortReply, Error, "EPM reply too short to hold a tower"},
	{RPCBindNak, Warning, "DCE/RPC bind rejected"},
	{RPCFault, Warning, "DCE/RPC fault"},
	{RPCReject, Warning, "connectionless DCE/RPC call rejected"},
	{RPCNoResponse, Warning, "DCE/RPC call never answered"},
	{RPCEndpointLearned, Info, "endpoint learned from an EPM reply"},
	{RPCMalformed, Notice, "DCE/RPC nettrace could not parse"},
	{TDSLoginFailed, Error, "SQL Server login failed"},
	{TDSError, Warning, "SQL Server error"},
	{TDSAttention, Notice, "client cancelled a request (attention)"},
	{TDSPreloginStalled, Error, "PRELOGIN never answered"},
	{TDSEncryptionMismatch, Error, "client and server encryption options disagree"},
	{TDSRouting, Info, "server routes the client elsewhere"},
	{TDSSlowQuery, Notice, "SQL server time outlier"},
	{TDSLatencySplit, Info, "latency split: network vs server vs client"},
	{TDSSSRPUnanswered, Warning, "SQL Browser requests unanswered"},
	{TDSSSRPReplyFromOtherAddress, Error, "SQL Browser reply from another address"},
	{TDSMalformed, Notice, "TDS nettrace could not parse"},
	{NetICMPUnreachable, Warning, "ICMP destination unreachable for a flow"},
	{NetICMPFragNeeded, Notice, "ICMP fragmentation needed / packet too big"},
	{NetPMTUReduced, Notice, "sender adapted to a smaller path MTU"},
	{NetPMTUBlackhole, Error, "PMTU black hole: full-size segments lost, no ICMP"},
	{NetFragmentOverlap, Warning, "overlapping or inconsistent IP fragments"},
	{NetFragmentIncomplete, Warning, "IP datagram never completed"},
	{NetUDPFlood, Error, "UDP flood to a single target"},
	{NetSYNFlood, Warning, "SYN flood: many handshakes to one server never completed"},
	{NetManyConnectionsSingleSource, Warning, "one source opens many connections (likely NAT)"},
	{NetARPStorm, Warning, "burst of ARP requests"},
	{NetARPConflict, Notice, "ARP conflict or gratuitous ARP"},
	{NetReplyFromOtherAddress, Warning, "reply from an address other than the request's destination"},
	{NetPeriodic, Info, "periodic connection attempts"},
	{NetICMPError, Notice, "ICMP time exceeded, parameter problem or redirect for a flow"},
	{NetFragmented, Info, "datagrams fragmented and reassembled"},
	{NetResolvedDestination, Info, "destination address resolved from a DNS name"},
	{PairMatched, Info, "the two captures hold the same connection (NAT noted)"},
	{PairPacketChanged, Warning, "a segment differs between the two capture points"},
	{PairLostBetween, Warning, "segments sent at one capture point never seen at the other"},
	{PairDelaySplit, Notice, "per-request time between the capture points vs server time"},
}
