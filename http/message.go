package http

import (
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// Message is one HTTP/1.x message, as Conn delivers it when its Reporter
// wants messages (health.Message.Value, proto "http"): a request, or a
// response (Response set; Interim for a 1xx) with the request it answers
// (HasRequest: Method and URI are then the request's). It is reported at
// the frame of its last byte.
//
// Fields gives the JSON form ("fields" of a dissect record); it is the
// only place that form is defined. A Message owns its data and holds
// neither header values other than those named here nor body bytes.
//
// HTTP/2 streams (H2Conn) are reported with Fields only, as proto "http"
// records with a "stream" field: they have no typed form yet.
type Message struct {
	health.Origin
	// FirstFrame is the frame of the message's first byte when it is not
	// Frame, else 0.
	FirstFrame int64
	// Response is set for a response, Interim for a 1xx one.
	Response, Interim bool
	// Version is the start line's protocol ("HTTP/1.1").
	Version string
	// Method and URI of a request, or of the request a response answers.
	Method, URI string
	// HasRequest says that a response was matched to its request: Method,
	// URI and ResponseTime (from the request's last byte to the
	// response's first) are set.
	HasRequest   bool
	ResponseTime time.Duration
	// Status and Reason of a response.
	Status int
	Reason string
	// Host and Expect of a request, as sent.
	Host, Expect string
	// ContentType as sent, ContentLength as announced (-1 when absent).
	ContentType   string
	ContentLength int64
	// Chunked says that a response's body was chunked; HeadersIncomplete
	// that a gap in the capture cut its header block.
	Chunked, HeadersIncomplete bool
	// Body describes the body (nil for a request without one and for an
	// interim response).
	Body *BodyInfo
}

// BodyInfo describes a message's body: its size on the wire and decoded, the
// content coding and the SHA-256 of the decoded bytes.
type BodyInfo struct {
	// WireBytes are the body's bytes on the wire (after chunking is
	// removed); DecodedBytes those after the content coding (a response's
	// only: the decoder does not decode request bodies).
	WireBytes    int64
	DecodedBytes int64
	// Encoding is the Content-Encoding ("gzip"), "" for identity.
	Encoding string
	// SHA256 is the hex SHA-256 of the decoded bytes of a response, ""
	// when not computed.
	SHA256 string
	// DecodeError is why decompression failed, at DecodeOffset compressed
	// bytes.
	DecodeError  string
	DecodeOffset int64
	// Incomplete is why the body is not whole: "capture", "connection" or
	// "malformed"; then SeenBytes were captured of AnnouncedBytes (-1 when
	// the framing did not announce a size).
	Incomplete     string
	SeenBytes      int64
	AnnouncedBytes int64
}

// Fields returns the message's JSON form, the "fields" of its dissect
// record (health.Decoded).
func (m *Message) Fields() map[string]any {
	f := map[string]any{"version": m.Version}
	if m.Response {
		f["status"], f["reason"] = m.Status, m.Reason
		if m.Interim {
			f["interim"] = true
		}
		if m.HasRequest {
			f["method"], f["uri"] = m.Method, m.URI
			f["response_ms"] = float64(m.ResponseTime.Microseconds()) / 1000
		}
	} else {
		f["method"], f["uri"] = m.Method, m.URI
	}
	if m.Host != "" {
		f["host"] = m.Host
	}
	if m.ContentType != "" {
		f["content_type"] = m.ContentType
	}
	if m.ContentLength >= 0 {
		f["content_length"] = m.ContentLength
	}
	if m.Expect != "" {
		f["expect"] = m.Expect
	}
	if m.Body != nil {
		m.Body.fields(f, m.Response)
	}
	if m.HeadersIncomplete {
		f["headers_incomplete"] = true
	}
	if m.Chunked {
		f["transfer_encoding"] = "chunked"
	}
	if m.FirstFrame != 0 {
		f["first_frame"] = m.FirstFrame
	}
	return f
}

// fields adds the body's fields: a response's decoded size, coding, hash
// and decoding error; a request's size on the wire; what is missing.
func (b *BodyInfo) fields(f map[string]any, response bool) {
	if response {
		f["body_bytes"] = b.DecodedBytes
		if b.Encoding != "" {
			f["content_encoding"] = b.Encoding
			f["body_wire_bytes"] = b.WireBytes
		}
		if b.SHA256 != "" {
			f["body_sha256"] = b.SHA256
		}
		if b.DecodeError != "" {
			f["decode_error"] = b.DecodeError
			f["decode_offset"] = b.DecodeOffset
		}
	} else if b.WireBytes > 0 {
		f["body_bytes"] = b.WireBytes
	}
	if b.Incomplete != "" {
		f["incomplete"] = b.Incomplete
		f["body_seen_bytes"] = b.SeenBytes
		if b.AnnouncedBytes >= 0 {
			f["body_announced_bytes"] = b.AnnouncedBytes
		}
	}
}

// newMessage starts the typed message of m, which ends at at.
func (c *Conn) newMessage(m *message, at tcpstate.Position) *Message {
	msg := &Message{Origin: health.Origin{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow},
		ContentType: m.contentType, ContentLength: m.contentLen}
	if at.Frame != m.start.Frame {
		msg.FirstFrame = m.start.Frame
	}
	return msg
}

// requestMessage reports a request.
func (c *Conn) requestMessage(m *message, at tcpstate.Position) {
	msg := c.newMessage(m, at)
	msg.Method, msg.URI, msg.Version = m.req.Method, m.req.URI, m.req.Proto
	msg.Host, msg.Expect = m.host, m.expect
	if m.bodyWire > 0 || m.cut != "" {
		msg.Body = &BodyInfo{WireBytes: m.bodyWire, Incomplete: m.cut, AnnouncedBytes: -1}
		if m.cut != "" {
			msg.Body.SeenBytes, msg.Body.AnnouncedBytes = m.seen(), m.declared()
		}
	}
	c.message(msg)
}

// responseMessage reports a final response whose body gave res.
func (c *Conn) responseMessage(m *message, res bodyResult, at tcpstate.Position) {
	msg := c.newMessage(m, at)
	msg.Response, msg.Status, msg.Reason, msg.Version = true, m.resp.Status, m.resp.Reason, m.resp.Proto
	if m.hasReq {
		msg.HasRequest, msg.Method, msg.URI = true, m.matched.method, m.matched.uri
		msg.ResponseTime = m.start.Time.Sub(m.matched.done.Time)
	}
	msg.Body = responseBody(&m.bodyAcc, res, m.cut, m.declared())
	msg.HeadersIncomplete, msg.Chunked = m.headCut, m.chunked
	c.message(msg)
}

// interimMessage reports a 1xx response.
func (c *Conn) interimMessage(m *message, at tcpstate.Position) {
	msg := c.newMessage(m, at)
	msg.Response, msg.Interim, msg.Status, msg.Reason, msg.Version = true, true, m.resp.Status, m.resp.Reason, m.resp.Proto
	msg.ContentType, msg.ContentLength = "", -1
	if len(c.pending) > 0 {
		q := c.pending[0]
		msg.HasRequest, msg.Method, msg.URI = true, q.method, q.uri
		msg.ResponseTime = m.start.Time.Sub(q.done.Time)
	}
	c.message(msg)
}

// message reports msg.
func (c *Conn) message(msg *Message) {
	c.ctx.Reporter.Message(health.Message{Frame: msg.Frame, Time: msg.Time, Flow: msg.Flow, Proto: "http", Value: msg})
}
