// Package tds decodes the Tabular Data Stream protocol of Microsoft SQL
// Server ([MS-TDS]) and the SQL Server Resolution Protocol of the SQL
// Browser ([MC-SQLR], UDP 1434), and reports what goes wrong in SQL
// connections as health events.
//
// What it owns: TDS packet framing (header, EOM, reassembly of messages
// across packets and TCP segments), PRELOGIN with all options and the TLS
// handshake carried inside PRELOGIN packets (handed to Config.TLS, then the
// raw TLS stream), LOGIN7 (all fixed fields, the variable part and feature
// extensions — the obfuscated password is recognised by its length and
// never decoded or output), SQL batch with ALL_HEADERS, RPC (procedure name
// or well-known id, parameter names and types), attention, transaction
// manager requests, bulk load, SSPI, SMP (MARS) sessions, and the tabular
// token stream (LOGINACK, ENVCHANGE, ERROR/INFO, DONE*, COLMETADATA,
// ROW/NBCROW, RETURNSTATUS, RETURNVALUE, ORDER, FEATUREEXTACK, SSPI,
// FEDAUTHINFO …). Requests are matched with their responses per session:
// server time (request's last byte to the response's first byte), transfer
// time, rows and errors, exposed through Conn.Stats and Config.OnClose.
//
// What it does not own: TCP reassembly (tcpstate), TLS decoding (the tls
// package, reached only through the tcpstate.NewHandler in Config.TLS),
// and the decision which connections are TDS (the root Analyzer, with
// Detect).
//
// Entry points: NewConn builds the tcpstate.StreamHandler of one
// connection; Detect recognises TDS from a direction's first bytes; SSRP
// (NewSSRP, Datagram, Finish) follows SQL Browser traffic over a whole
// capture. The pure parsers (ParsePacket, ParsePrelogin, ParseLogin7,
// ParseSQLBatch, ParseRPC, ParseTMRequest, ParseToken, ParseSMP, ParseSSRP)
// follow the package convention: they return the value and the bytes after
// it, or the input unchanged and a *ParseError wrapping ErrTruncated or
// ErrMalformed.
//
// Events (health/kinds.go): tds.login_failed, tds.error, tds.attention,
// tds.prelogin_stalled, tds.encryption_mismatch, tds.routing,
// tds.slow_query, tds.latency_split, tds.malformed, tds.ssrp_unanswered,
// tds.ssrp_reply_from_other_address, decode.resync, decode.gave_up and
// decode.incomplete (a message whose EOM packet never came: the connection
// ended first, or a message of another type began; once per direction at
// Close, counting them).
// Decoded messages (only when the Reporter wants them) have Proto "tds" or
// "ssrp". A TDS message is reported at its last packet, with that
// packet's header (status, packet_length, spid, packet_id); every packet
// before it is reported at its own frame as a message with partial true
// and the packet's header, as tshark shows tds.type, tds.status and
// tds.packet_number per frame. A response lists its ERROR and INFO tokens
// in server_messages (kind, number, state, class, error_message, server,
// procedure, line, as tshark's tds.error.* fields) and the first error's
// text as error_message. Conn.Finished (tcpstate.Finisher) says whether every request was
// answered when the connection closed.
//
// Each TDS message is a *Message (health.Message.Value;
// nettrace.Handlers.TDS): the header, and by type the Prelogin, the
// Login7 (the password's length only: it is never decoded), the SQLBatch,
// the RPC (procedure, parameter names and types; their values are not
// kept, as they may be passwords), or the Response with its tokens
// (errors and info, LOGINACK, rows), and the Answer's timing; SMP headers
// are KindSMP messages. Message.Fields is the one definition of the JSON
// fields above. SSRP (SQL Browser) messages carry Fields only.
//
// A finding is a claim about the network, made only when the capture shows
// it: tds.prelogin_stalled needs the server's side captured
// (tcpstate.Visibility) with nothing of it missed. What nettrace cannot
// decode is a notice about its coverage: tds.malformed (a notice by
// default), decode.resync (Info) when a gap or a capture that started
// inside a packet made it skip to the next packet header, decode.gave_up
// when it stops: a direction that never frames again, or a Sybase TDS 5.0
// (or TDS 4.x) connection — recognised by its login record or a
// Sybase-only packet type, and not decoded. A server's PRELOGIN response
// is recognised even when the request was not captured.
//
// Conn and SSRP are not safe for concurrent use.
package tds
