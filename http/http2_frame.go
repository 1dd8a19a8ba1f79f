package http

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/cryptobyte"

	"github.com/nettrace/nettrace/internal/parseerr"
)

// This file holds the HTTP/2 frame layer (RFC 9113, 4 and 6): the frame
// header, each frame type's payload, and their names. The parsers are pure
// functions; H2Conn (http2_conn.go) keeps the state.

var perr2 = parseerr.Maker{Pkg: "http2", Truncated: ErrTruncated, Malformed: ErrMalformed}

// FrameHeaderLen is the size of an HTTP/2 frame header (RFC 9113, 4.1).
const FrameHeaderLen = 9

// MaxFrameLen is the largest payload a frame header can announce, and the
// largest SETTINGS_MAX_FRAME_SIZE a peer may set (RFC 9113, 4.2 and 6.5.2).
const MaxFrameLen = 1<<24 - 1

// defaultMaxFrameSize is SETTINGS_MAX_FRAME_SIZE until a peer changes it
// (RFC 9113, 6.5.2).
const defaultMaxFrameSize = 1 << 14

// FrameType is an HTTP/2 frame type (RFC 9113, 6; RFC 9218, 7.1; RFC 7838,
// 4; RFC 8336, 2).
type FrameType uint8

// Frame types.
const (
	FrameData           FrameType = 0x0  // RFC 9113, 6.1
	FrameHeaders        FrameType = 0x1  // RFC 9113, 6.2
	FramePriority       FrameType = 0x2  // RFC 9113, 6.3 (deprecated)
	FrameRSTStream      FrameType = 0x3  // RFC 9113, 6.4
	FrameSettings       FrameType = 0x4  // RFC 9113, 6.5
	FramePushPromise    FrameType = 0x5  // RFC 9113, 6.6
	FramePing           FrameType = 0x6  // RFC 9113, 6.7
	FrameGoAway         FrameType = 0x7  // RFC 9113, 6.8
	FrameWindowUpdate   FrameType = 0x8  // RFC 9113, 6.9
	FrameContinuation   FrameType = 0x9  // RFC 9113, 6.10
	FrameAltSvc         FrameType = 0xa  // RFC 7838, 4
	FrameOrigin         FrameType = 0xc  // RFC 8336, 2
	FramePriorityUpdate FrameType = 0x10 // RFC 9218, 7.1
)

var frameTypeNames = map[FrameType]string{
	FrameData: "DATA", FrameHeaders: "HEADERS", FramePriority: "PRIORITY", FrameRSTStream: "RST_STREAM",
	FrameSettings: "SETTINGS", FramePushPromise: "PUSH_PROMISE", FramePing: "PING", FrameGoAway: "GOAWAY",
	FrameWindowUpdate: "WINDOW_UPDATE", FrameContinuation: "CONTINUATION", FrameAltSvc: "ALTSVC",
	FrameOrigin: "ORIGIN", FramePriorityUpdate: "PRIORITY_UPDATE",
}

// String names the type as RFC 9113 does; unknown types print as
// FrameType(0xNN).
func (t FrameType) String() string {
	if s, ok := frameTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("FrameType(0x%02x)", uint8(t))
}

// Flags are the flags of a frame header; their meaning depends on the
// frame type (RFC 9113, 6).
type Flags uint8

// Frame flags.
const (
	FlagEndStream  Flags = 0x1  // DATA, HEADERS
	FlagAck        Flags = 0x1  // SETTINGS, PING
	FlagEndHeaders Flags = 0x4  // HEADERS, PUSH_PROMISE, CONTINUATION
	FlagPadded     Flags = 0x8  // DATA, HEADERS, PUSH_PROMISE
	FlagPriority   Flags = 0x20 // HEADERS
)

// Has reports whether every flag of g is set.
func (f Flags) Has(g Flags) bool { return f&g == g }

// FlagString names the flags of a frame of type t, joined by "|" ("" when
// none), as tshark's flags tree does; unknown bits print in hex.
func FlagString(t FrameType, f Flags) string {
	var names []string
	add := func(g Flags, name string) {
		if f.Has(g) {
			names = append(names, name)
			f &^= g
		}
	}
	switch t {
	case FrameData:
		add(FlagEndStream, "END_STREAM")
		add(FlagPadded, "PADDED")
	case FrameHeaders:
		add(FlagEndStream, "END_STREAM")
		add(FlagEndHeaders, "END_HEADERS")
		add(FlagPadded, "PADDED")
		add(FlagPriority, "PRIORITY")
	case FrameSettings, FramePing:
		add(FlagAck, "ACK")
	case FramePushPromise:
		add(FlagEndHeaders, "END_HEADERS")
		add(FlagPadded, "PADDED")
	case FrameContinuation:
		add(FlagEndHeaders, "END_HEADERS")
	}
	if f != 0 {
		names = append(names, fmt.Sprintf("0x%02x", uint8(f)))
	}
	return strings.Join(names, "|")
}

// ErrCode is an HTTP/2 error code of RST_STREAM and GOAWAY (RFC 9113, 7).
type ErrCode uint32

// Error codes (RFC 9113, 7).
const (
	ErrCodeNo                 ErrCode = 0x0
	ErrCodeProtocol           ErrCode = 0x1
	ErrCodeInternal           ErrCode = 0x2
	ErrCodeFlowControl        ErrCode = 0x3
	ErrCodeSettingsTimeout    ErrCode = 0x4
	ErrCodeStreamClosed       ErrCode = 0x5
	ErrCodeFrameSize          ErrCode = 0x6
	ErrCodeRefusedStream      ErrCode = 0x7
	ErrCodeCancel             ErrCode = 0x8
	ErrCodeCompression        ErrCode = 0x9
	ErrCodeConnect            ErrCode = 0xa
	ErrCodeEnhanceYourCalm    ErrCode = 0xb
	ErrCodeInadequateSecurity ErrCode = 0xc
	ErrCodeHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{
	"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
	"STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
	"CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
}

// String names the code as RFC 9113 does; unknown codes (which a receiver
// treats as INTERNAL_ERROR, RFC 9113, 7) print as ErrCode(0xNN).
func (e ErrCode) String() string {
	if int(e) < len(errCodeNames) {
		return errCodeNames[e]
	}
	return fmt.Sprintf("ErrCode(0x%x)", uint32(e))
}

// SettingID identifies a setting of a SETTINGS frame (RFC 9113, 6.5.2;
// RFC 8441, 3; RFC 9218, 2.1).
type SettingID uint16

// Settings.
const (
	SettingHeaderTableSize      SettingID = 0x1
	SettingEnablePush           SettingID = 0x2
	SettingMaxConcurrentStreams SettingID = 0x3
	SettingInitialWindowSize    SettingID = 0x4
	SettingMaxFrameSize         SettingID = 0x5
	SettingMaxHeaderListSize    SettingID = 0x6
	SettingEnableConnectProto   SettingID = 0x8 // RFC 8441, 3
	SettingNoRFC7540Priorities  SettingID = 0x9 // RFC 9218, 2.1
)

var settingNames = map[SettingID]string{
	SettingHeaderTableSize: "HEADER_TABLE_SIZE", SettingEnablePush: "ENABLE_PUSH",
	SettingMaxConcurrentStreams: "MAX_CONCURRENT_STREAMS", SettingInitialWindowSize: "INITIAL_WINDOW_SIZE",
	SettingMaxFrameSize: "MAX_FRAME_SIZE", SettingMaxHeaderListSize: "MAX_HEADER_LIST_SIZE",
	SettingEnableConnectProto: "ENABLE_CONNECT_PROTOCOL", SettingNoRFC7540Priorities: "NO_RFC7540_PRIORITIES",
}

// String names the setting without its SETTINGS_ prefix; unknown ones
// (which a receiver ignores, RFC 9113, 6.5.2) print as SettingID(0xNN).
func (s SettingID) String() string {
	if n, ok := settingNames[s]; ok {
		return n
	}
	return "SettingID(0x" + strconv.FormatUint(uint64(s), 16) + ")"
}

// Setting is one parameter of a SETTINGS frame (RFC 9113, 6.5.1).
type Setting struct {
	ID    SettingID
	Value uint32
}

// FrameHeader is the header of an HTTP/2 frame (RFC 9113, 4.1).
type FrameHeader struct {
	Length   uint32 // payload length (24 bits)
	Type     FrameType
	Flags    Flags
	StreamID uint32 // the reserved bit cleared
}

// ParseFrameHeader parses the frame header at the front of b and returns
// it with the bytes after it. On error (fewer than FrameHeaderLen bytes) it
// returns b unchanged and a *ParseError wrapping ErrTruncated.
func ParseFrameHeader(b []byte) (FrameHeader, []byte, error) {
	s := cryptobyte.String(b)
	var h FrameHeader
	var t, f uint8
	if !s.ReadUint24(&h.Length) || !s.ReadUint8(&t) || !s.ReadUint8(&f) || !s.ReadUint32(&h.StreamID) {
		return FrameHeader{}, b, perr2.Truncate("frame header", FrameHeaderLen)
	}
	h.Type, h.Flags = FrameType(t), Flags(f)
	h.StreamID &^= 1 << 31 // RFC 9113, 4.1: the reserved bit is ignored
	return h, []byte(s), nil
}

// PriorityParam is the priority of RFC 9113, 5.3.2 (deprecated, still
// sent): in a PRIORITY frame and in HEADERS with the PRIORITY flag.
type PriorityParam struct {
	Exclusive bool
	StreamDep uint32
	Weight    uint8 // the weight minus one, as sent
}

// Frame is one HTTP/2 frame with its payload parsed by type. Data, Block,
// Debug and Payload alias the input; Settings is a new slice.
type Frame struct {
	FrameHeader
	// Payload is the whole payload, padding included.
	Payload []byte
	// PadLength is the padding of a PADDED DATA, HEADERS or PUSH_PROMISE.
	PadLength uint8
	// Data is a DATA frame's data, without padding.
	Data []byte
	// Block is the header block fragment of HEADERS, PUSH_PROMISE and
	// CONTINUATION.
	Block []byte
	// Priority is set by PRIORITY, and by HEADERS with FlagPriority.
	Priority PriorityParam
	// ErrCode is the error code of RST_STREAM and GOAWAY.
	ErrCode ErrCode
	// LastStreamID and Debug are GOAWAY's fields.
	LastStreamID uint32
	Debug        []byte
	// Promised is PUSH_PROMISE's promised stream.
	Promised uint32
	// Increment is WINDOW_UPDATE's window size increment.
	Increment uint32
	// Settings are the parameters of a SETTINGS frame, in order.
	Settings []Setting
	// Opaque is PING's opaque data.
	Opaque uint64
}

// ParseFrame parses the frame at the front of b and returns it with the
// bytes after it. A frame announcing more than maxLen bytes (0: MaxFrameLen)
// is malformed: a receiver that advertised SETTINGS_MAX_FRAME_SIZE rejects
// it with FRAME_SIZE_ERROR (RFC 9113, 4.2). The payload must follow its
// type's layout (RFC 9113, 6): a stream identifier where one is required
// (or none where it is forbidden), a fixed length, padding shorter than the
// payload. A frame of an unknown type is returned with only its Payload
// (RFC 9113, 5.5: it is ignored). On error it returns b unchanged and a
// *ParseError wrapping ErrTruncated (wait for more) or ErrMalformed.
func ParseFrame(b []byte, maxLen uint32) (Frame, []byte, error) {
	h, rest, err := ParseFrameHeader(b)
	if err != nil {
		return Frame{}, b, err
	}
	if maxLen == 0 || maxLen > MaxFrameLen {
		maxLen = MaxFrameLen
	}
	if h.Length > maxLen {
		return Frame{}, b, perr2.Malformf(h.Type.String()+" frame", "length %d exceeds SETTINGS_MAX_FRAME_SIZE %d", h.Length, maxLen)
	}
	if uint32(len(rest)) < h.Length {
		return Frame{}, b, perr2.Truncate(h.Type.String()+" frame", FrameHeaderLen+int(h.Length))
	}
	f := Frame{FrameHeader: h, Payload: rest[:h.Length]}
	if err := f.parsePayload(); err != nil {
		return Frame{}, b, err
	}
	return f, rest[h.Length:], nil
}

// streamRule says whether a frame type is sent on a stream (1), on the
// connection (stream 0; -1), or either (0) (RFC 9113, 6).
var streamRule = map[FrameType]int{
	FrameData: 1, FrameHeaders: 1, FramePriority: 1, FrameRSTStream: 1, FramePushPromise: 1,
	FrameContinuation: 1, FrameSettings: -1, FramePing: -1, FrameGoAway: -1,
}

// CheckStream reports a frame whose stream identifier breaks its type's
// rule (RFC 9113, 6): a connection error of type PROTOCOL_ERROR.
func (h FrameHeader) CheckStream() error {
	switch r := streamRule[h.Type]; {
	case r > 0 && h.StreamID == 0:
		return perr2.Malform(h.Type.String()+" frame", "on stream 0")
	case r < 0 && h.StreamID != 0:
		return perr2.Malformf(h.Type.String()+" frame", "on stream %d, not 0", h.StreamID)
	}
	return nil
}

// parsePayload fills f's fields from f.Payload according to f.Type.
func (f *Frame) parsePayload() error {
	if err := f.CheckStream(); err != nil {
		return err
	}
	what := f.Type.String() + " frame"
	s := cryptobyte.String(f.Payload)
	switch f.Type {
	case FrameData: // RFC 9113, 6.1
		body, err := unpad(f.Type, f.Flags, f.Payload, &f.PadLength)
		if err != nil {
			return err
		}
		f.Data = body
	case FrameHeaders: // RFC 9113, 6.2
		body, err := unpad(f.Type, f.Flags, f.Payload, &f.PadLength)
		if err != nil {
			return err
		}
		if f.Flags.Has(FlagPriority) {
			p := cryptobyte.String(body)
			if !readPriority(&p, &f.Priority) {
				return perr2.Malformf(what, "%d bytes after padding, too short for the priority fields", len(body))
			}
			body = p
		}
		f.Block = body
	case FramePriority: // RFC 9113, 6.3
		if len(f.Payload) != 5 || !readPriority(&s, &f.Priority) {
			return perr2.Malformf(what, "length %d, not 5", len(f.Payload))
		}
	case FrameRSTStream: // RFC 9113, 6.4
		var code uint32
		if len(f.Payload) != 4 || !s.ReadUint32(&code) {
			return perr2.Malformf(what, "length %d, not 4", len(f.Payload))
		}
		f.ErrCode = ErrCode(code)
	case FrameSettings: // RFC 9113, 6.5
		if f.Flags.Has(FlagAck) && len(f.Payload) != 0 {
			return perr2.Malformf(what, "ACK with %d bytes of payload", len(f.Payload))
		}
		var err error
		if f.Settings, err = ParseSettings(f.Payload); err != nil {
			return err
		}
	case FramePushPromise: // RFC 9113, 6.6
		body, err := unpad(f.Type, f.Flags, f.Payload, &f.PadLength)
		if err != nil {
			return err
		}
		p := cryptobyte.String(body)
		if !p.ReadUint32(&f.Promised) {
			return perr2.Malformf(what, "%d bytes after padding, too short for the promised stream", len(body))
		}
		f.Promised &^= 1 << 31
		f.Block = p
	case FramePing: // RFC 9113, 6.7
		if len(f.Payload) != 8 || !s.ReadUint64(&f.Opaque) {
			return perr2.Malformf(what, "length %d, not 8", len(f.Payload))
		}
	case FrameGoAway: // RFC 9113, 6.8
		var code uint32
		if !s.ReadUint32(&f.LastStreamID) || !s.ReadUint32(&code) {
			return perr2.Malformf(what, "length %d, under 8", len(f.Payload))
		}
		f.LastStreamID &^= 1 << 31
		f.ErrCode = ErrCode(code)
		f.Debug = s
	case FrameWindowUpdate: // RFC 9113, 6.9
		if len(f.Payload) != 4 || !s.ReadUint32(&f.Increment) {
			return perr2.Malformf(what, "length %d, not 4", len(f.Payload))
		}
		f.Increment &^= 1 << 31
	case FrameContinuation: // RFC 9113, 6.10
		f.Block = f.Payload
	}
	return nil
}

// ParseSettings parses the parameters of a SETTINGS frame's payload (RFC
// 9113, 6.5.1), also sent base64url-encoded as HTTP2-Settings (RFC 7540,
// 3.2.1). A length that is not a multiple of 6 is malformed.
func ParseSettings(b []byte) ([]Setting, error) {
	if len(b)%6 != 0 {
		return nil, perr2.Malformf("SETTINGS frame", "length %d, not a multiple of 6", len(b))
	}
	s := cryptobyte.String(b)
	var out []Setting
	for !s.Empty() {
		var id uint16
		var v uint32
		if !s.ReadUint16(&id) || !s.ReadUint32(&v) {
			return nil, perr2.Malform("SETTINGS frame", "short setting")
		}
		out = append(out, Setting{ID: SettingID(id), Value: v})
	}
	return out, nil
}

// unpad returns the payload of a PADDED-capable frame without its Pad
// Length field and padding (RFC 9113, 6.1): the padding must be shorter
// than the payload.
func unpad(t FrameType, fl Flags, payload []byte, pad *uint8) ([]byte, error) {
	if !fl.Has(FlagPadded) {
		return payload, nil
	}
	s := cryptobyte.String(payload)
	var n uint8
	if !s.ReadUint8(&n) {
		return nil, perr2.Malform(t.String()+" frame", "PADDED without a Pad Length")
	}
	if int(n) > len(s) {
		return nil, perr2.Malformf(t.String()+" frame", "padding %d exceeds the %d bytes after it", n, len(s))
	}
	*pad = n
	return s[:len(s)-int(n)], nil
}

// readPriority reads a stream dependency and weight (RFC 9113, 6.3).
func readPriority(s *cryptobyte.String, p *PriorityParam) bool {
	var dep uint32
	if !s.ReadUint32(&dep) || !s.ReadUint8(&p.Weight) {
		return false
	}
	p.Exclusive, p.StreamDep = dep>>31 == 1, dep&^(1<<31)
	return true
}

// ClientPreface is what an HTTP/2 client sends first, before its SETTINGS
// frame (RFC 9113, 3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
