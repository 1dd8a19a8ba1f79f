package http

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/nettrace/nettrace/internal/parseerr"
	"github.com/nettrace/nettrace/tcpstate"
)

// ErrTruncated (more bytes are needed) and ErrMalformed (the bytes can
// never form a valid message) are the sentinel errors wrapped by
// ParseError.
var ErrTruncated, ErrMalformed = parseerr.Sentinels()

// ParseError describes why a parser rejected its input: Pkg "http", What
// the structure ("request line", "header"), Detail what was wrong, Frame
// where it started (filled in by Conn) and Err ErrTruncated or
// ErrMalformed. Every protocol package shares this one type.
type ParseError = parseerr.Error

var perr = parseerr.Maker{Pkg: "http", Truncated: ErrTruncated, Malformed: ErrMalformed}

func malformed(what, detail string) error { return perr.Malform(what, detail) }

// RequestLine is "METHOD SP request-target SP HTTP-version" (RFC 9112,
// 3). Fields are copies.
type RequestLine struct {
	Method, URI, Proto string
}

// StatusLine is "HTTP-version SP status-code SP reason" (RFC 9112, 4).
type StatusLine struct {
	Proto  string
	Status int
	Reason string
}

// tokenChars marks the bytes allowed in a token (RFC 9110, 5.6.2): visible
// ASCII except the delimiters.
var tokenChars = func() (t [256]bool) {
	for c := '!'; c < 0x7f; c++ {
		t[c] = !strings.ContainsRune("\"(),/:;<=>?@[\\]{}", c)
	}
	return t
}()

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return true
}

// protoString returns the HTTP version b as a string, without allocating
// for the two common versions.
func protoString(b []byte) string {
	switch string(b) {
	case "HTTP/1.1":
		return "HTTP/1.1"
	case "HTTP/1.0":
		return "HTTP/1.0"
	}
	return string(b)
}

// methodString returns the method b as a string, without allocating for
// the known methods.
func methodString(b []byte) string {
	for _, m := range methods {
		if string(b) == m {
			return m
		}
	}
	return string(b)
}

func isHTTPVersion(b []byte) bool {
	return len(b) == 8 && bytes.HasPrefix(b, []byte("HTTP/1.")) && b[7] >= '0' && b[7] <= '9'
}

// ParseRequestLine parses a request line without its CRLF.
func ParseRequestLine(line []byte) (RequestLine, error) {
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return RequestLine{}, malformed("request line", fmt.Sprintf("%d bytes without method, target and version", len(line)))
	}
	m, uri, ver := line[:sp1], line[sp1+1:sp2], line[sp2+1:]
	if !isToken(m) || !isHTTPVersion(ver) || bytes.ContainsAny(uri, " \t") {
		return RequestLine{}, malformed("request line", fmt.Sprintf("method %q or version %q invalid", clip(m), clip(ver)))
	}
	return RequestLine{Method: methodString(m), URI: string(uri), Proto: protoString(ver)}, nil
}

// ParseStatusLine parses a status line without its CRLF.
func ParseStatusLine(line []byte) (StatusLine, error) {
	if len(line) < 12 || !isHTTPVersion(line[:8]) || line[8] != ' ' {
		return StatusLine{}, malformed("status line", fmt.Sprintf("%q is not HTTP/1.x", clip(line)))
	}
	code := line[9:12]
	n, err := strconv.Atoi(string(code))
	if err != nil || n < 100 || n > 999 || (len(line) > 12 && line[12] != ' ') {
		return StatusLine{}, malformed("status line", fmt.Sprintf("status code %q invalid", clip(code)))
	}
	s := StatusLine{Proto: protoString(line[:8]), Status: n}
	if len(line) > 13 {
		if r := line[13:]; string(r) == "OK" {
			s.Reason = "OK"
		} else {
			s.Reason = string(r)
		}
	}
	return s, nil
}

// ParseHeaderField splits "Name: value" (RFC 9112, 5), trimming optional
// whitespace around the value. name and value alias line.
func ParseHeaderField(line []byte) (name, value []byte, err error) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || !isToken(line[:i]) {
		return nil, nil, malformed("header field", fmt.Sprintf("%q has no field name", clip(line)))
	}
	return line[:i], bytes.Trim(line[i+1:], " \t"), nil
}

// ParseChunkSize parses a chunk-size line (hex size, optional
// extensions; RFC 9112, 7.1). Sizes over 2^60 are malformed.
func ParseChunkSize(line []byte) (int64, error) {
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	line = bytes.Trim(line, " \t")
	if len(line) == 0 || len(line) > 15 {
		return 0, malformed("chunk size", fmt.Sprintf("%q is not a hex size", clip(line)))
	}
	var n int64
	for _, c := range line {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, malformed("chunk size", fmt.Sprintf("%q is not a hex size", clip(line)))
		}
		n = n<<4 | int64(d)
	}
	return n, nil
}

// clip shortens b for error messages.
func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

var methods = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH",
	"PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH", "RPC_IN_DATA", "RPC_OUT_DATA"}

// Detect reports whether b, the first bytes of one direction, is
// confidently HTTP/1.x: a known method followed by a space (client) or
// "HTTP/1." (server), after any empty lines (a keep-alive CRLF, which
// RFC 9112, 2.2 asks a recipient to ignore before a start line); or HTTP/2
// with prior knowledge: the client's connection preface (RFC 9113, 3.4),
// which Conn hands to its HTTP/2 decoder.
func Detect(dir tcpstate.Dir, b []byte) bool {
	b = bytes.TrimLeft(b, "\r\n")
	if dir == tcpstate.ServerToClient {
		return len(b) >= 7 && bytes.HasPrefix(b, []byte("HTTP/1."))
	}
	if n := len("PRI * HTTP/2.0\r\n"); len(b) >= n && string(b[:n]) == ClientPreface[:n] {
		return true
	}
	for _, m := range methods {
		if len(b) > len(m) && string(b[:len(m)]) == m && b[len(m)] == ' ' {
			return true
		}
	}
	return false
}
