// Package http decodes HTTP/1.x and HTTP/2 over a reassembled byte
// stream, in clear or decrypted by package tls.
//
// HTTP/1.x (Conn): requests and responses (RFC 9112) with pipelining,
// Content-Length, chunked and close-delimited bodies, 1xx interim
// responses, HEAD/204/304 without a body, CONNECT and 101 tunnels, and
// Content-Encoding gzip, x-gzip and deflate (zlib-wrapped or raw, RFC
// 9110, 8.4.1) decoded with github.com/klauspost/compress under a size and
// a ratio cap.
//
// HTTP/2 (H2Conn, http2_*.go; RFC 9113): frames (http2_frame.go: pure
// parsers), header blocks decoded with golang.org/x/net/http2/hpack (RFC
// 7541) one HPACK state per direction, and streams as exchanges whose
// bodies are decoded by the same code and limits as HTTP/1's (bodyAcc,
// body.go). It is reached three ways: NewH2Conn for TLS whose server
// selected h2 with ALPN (tls.Config.HTTP2); and from Conn in clear text
// (h2c, http2_switch.go), after an "Upgrade: h2c" request answered 101
// (RFC 7540, 3.2; the request becomes stream 1) or when the client starts
// with the connection preface (prior knowledge, RFC 9113, 3.4). It lives
// in this package, not its own, because it shares the body decoding,
// the limits, the records and the Config.Body hook with HTTP/1, and
// because an HTTP/1 connection turns into HTTP/2 midway.
//
// It owns the HTTP framing and body decoding; it must not buffer unbounded
// bodies: identity bodies are hashed as they stream, and a compressed body
// is buffered only up to Limits.MaxCompressedBytes (and, across the
// streams of an HTTP/2 connection, Limits.MaxH2BufferedBytes). HTTP/2
// frames other than DATA are buffered up to Limits.MaxH2FrameBytes, DATA
// streams through; the streams tracked, the header list and the HPACK
// table are capped (Limits.MaxH2Streams, MaxHeaderBytes, MaxHeaders,
// MaxHPACKTableBytes). Flow-control windows are not enforced.
//
// Conn implements tcpstate.StreamHandler. It emits http.error_status,
// http.body_decode_failed (with the compressed byte offset where
// decompression fails, casebook C5), http.body_truncated, http.body_limit
// and http.malformed events, and "http" messages (method, uri, status,
// reason, version, host, content_type, content_length, content_encoding,
// body_bytes, body_sha256, response_ms; interim for a 1xx response, which
// leaves its request waiting for the final one; incomplete, body_seen_bytes
// and body_announced_bytes for a body the capture or the connection cut)
// when the Reporter wants them. A message is reported at the frame that
// completes it, as tshark shows HTTP (first_frame names the frame where it
// began).
//
// Each HTTP/1 message is a *Message (health.Message.Value;
// nettrace.Handlers.HTTP): method, URI, status, the header fields named
// above, and BodyInfo for the body; Message.Fields is the one definition
// of its JSON fields. HTTP/2 messages carry Fields only (no typed form
// yet); their bodies are described by the same BodyInfo.
//
// H2Conn emits the same http.* events for its exchanges, and
// http2.stream_reset (RST_STREAM: Info for NO_ERROR or after the exchange,
// Notice for CANCEL and REFUSED_STREAM, Warning for the other codes),
// http2.goaway (Info for NO_ERROR, naming the streams left unprocessed;
// Warning for an error code), http2.malformed and http2.limit. Its
// messages are "http" ones for requests, interim and final responses
// (version "HTTP/2", with the stream) and an "http2" one per frame: type,
// stream, flags, length, from, and by type the decoded header fields in
// order ("headers", with authorization, cookie and set-cookie values and
// never-indexed fields redacted) with method, path, authority, scheme,
// status, content_type, content_length, content_encoding; settings; error
// and error_code; last_stream and debug; increment; promised_stream.
//
// A capture does not always hold what HTTP/2 needs: a gap inside a DATA
// payload keeps the framing (the body is incomplete in the capture); a
// gap inside another frame loses that frame and, for a header block, the
// HPACK state of its direction, whose later header blocks are counted,
// not decoded; a gap across frame boundaries gives the direction up (no
// resynchronisation: a frame header has no marker to hunt for).
// decode.gave_up reports both at Close. http2.malformed is a Warning only
// for bytes that break RFC 9113 on a direction followed from its start
// with nothing lost, else a Notice.
//
// A finding is a claim about the network, so Conn tells what the capture
// proves from what it merely lacks (resync.go):
//   - A direction that does not start at a message boundary (the capture
//     started mid-connection, a Gap, bytes it cannot frame) hunts for the
//     next request or status line, even glued to other bytes on its line,
//     and reports decode.resync (Info) with the bytes skipped. Empty lines
//     between messages are skipped silently (RFC 9112, 2.2). The hunt
//     buffers at most Limits.MaxLineBytes and gives up after
//     Limits.MaxBodyBytes.
//   - A direction whose first bytes are not HTTP/1.x, when the capture
//     holds the connection's start (StreamContext.RTT known), is given
//     up: decode.gave_up (Notice) at Close with the bytes not decoded,
//     instead of a stream of http.malformed. (The HTTP/2 preface switches
//     to HTTP/2 instead.)
//   - After a gap inside a chunked body, the rest of the body is skipped to
//     its last chunk: a status line in it is text, and no second, partial
//     response is made of it. A response found after lost bytes that may
//     have held responses answers the request waiting only when there is
//     one; else it is reported without its request, and the requests
//     waiting are dropped. A response whose header block a gap cut is
//     reported once, incomplete, and answers its request.
//   - http.malformed is a Notice, and a Warning only for invalid bytes
//     (not a limit reached) from a direction whose last message started
//     where one was due, was framed for sure and came whole.
//   - A body with bytes missing from the capture (a Gap, the capture's
//     end) is http.body_truncated at Notice, with the bytes captured of
//     those declared, and a compressed one is not decoded (so no
//     http.body_decode_failed). It is a Warning only when a FIN or RST
//     ended the connection inside a body the capture holds whole.
//
// Conn also implements tcpstate.Finisher: Finished says whether the HTTP
// exchange was complete (a response came, no request waits, no message is
// partly received), so that a reset after it reads as a client's way of
// closing.
//
// H2Conn implements tcpstate.Finisher too: the exchanges were complete and
// no stream is open.
//
// Entry points: NewConn(ctx, Config), NewH2Conn(ctx, Config), Detect (the
// first bytes of a direction: HTTP/1.x, or the HTTP/2 preface), ParseFrame
// and ParseFrameHeader. Neither Conn nor H2Conn is safe for concurrent use.
package http
