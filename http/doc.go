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
// Entry points: NewConn(ctx, Config) and Detect (the first bytes of a
// direction). A Conn is not safe for concurrent use.
package http
