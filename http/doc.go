// Package http decodes HTTP/1.x over a reassembled byte stream, in clear or
// decrypted by package tls: requests and responses (RFC 9112) with
// pipelining, Content-Length, chunked and close-delimited bodies, 1xx
// interim responses, HEAD/204/304 without a body, CONNECT and 101 tunnels,
// and Content-Encoding gzip, x-gzip and deflate (zlib-wrapped or raw, RFC
// 9110, 8.4.1) decoded with github.com/klauspost/compress under a size and
// a ratio cap.
//
// It owns the HTTP/1.x framing and body decoding; it must not buffer
// unbounded bodies: identity bodies are hashed as they stream, and a
// compressed body is buffered only up to Limits.MaxCompressedBytes.
//
// Conn implements tcpstate.StreamHandler. It emits http.error_status,
// http.body_decode_failed (with the compressed byte offset where
// decompression fails, casebook C5), http.body_truncated, http.body_limit
// and http.malformed events, and "http" messages (method, uri, status,
// content_encoding, body_bytes, body_sha256, response_ms) when the Reporter
// wants them. A message is reported at the frame that completes it, as
// tshark shows HTTP (first_frame names the frame where it began).
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
//     holds the connection's start (StreamContext.RTT known) or sends the
//     HTTP/2 preface, is given up: decode.gave_up (Notice) at Close with
//     the bytes not decoded, instead of a stream of http.malformed.
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
// Entry points: NewConn(ctx, Config) and Detect (the first bytes of a
// direction). A Conn is not safe for concurrent use.
package http
