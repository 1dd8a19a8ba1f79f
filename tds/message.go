package tds

import (
	"time"

	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/tcpstate"
)

// MessageKind says what a Message reports.
type MessageKind uint8

// Message kinds.
const (
	// KindMessage is a whole TDS message, reported at its last packet:
	// a client request (PRELOGIN, LOGIN7, SQL batch, RPC, ...) or a
	// server response (PRELOGIN answer or token stream).
	KindMessage MessageKind = iota
	// KindPacket is a packet that does not end its message, reported at
	// its own frame as tshark shows every packet's header.
	KindPacket
	// KindSMP is an SMP (MARS) packet header (SMP).
	KindSMP
)

// Message is one decoded TDS message, as Conn delivers it when its
// Reporter wants messages (health.Message.Value, proto "tds"). Kind says
// which fields are set; of the parts (Prelogin, Login, SQL, RPC,
// Response, ...) only the one of the message's type is set, and none when
// the message did not parse (Error).
//
// Fields gives the JSON form ("fields" of a dissect record); it is the
// only place that form is defined. A Message owns its data and holds no
// secret: LOGIN7 passwords are never decoded (only their length is kept)
// and RPC parameter values are not kept (sp_addlogin and its kin pass
// passwords as parameters).
type Message struct {
	health.Origin
	Kind MessageKind
	// Dir is the sender's direction.
	Dir tcpstate.Dir

	// The TDS header ([MS-TDS] 2.2.3): Type of the message's first
	// packet; Status, PacketLength (the packet's own length, tshark's
	// tds.length), SPID and PacketID of its last (for KindPacket, of the
	// packet reported).
	Type         PacketType
	Status       Status
	PacketLength uint16
	SPID         uint16
	PacketID     uint8
	// Length is the message's length over all its packets, Packets their
	// count (for KindPacket, Packets is the packet's place in the
	// message, from 1).
	Length  int
	Packets int
	// Session is the SMP (MARS) session id when HasSession.
	Session    int
	HasSession bool
	// Capped says that the message was longer than Limits.MaxMessage: what
	// follows the cap was not decoded.
	Capped bool
	// TLS says that the message carries TLS records (the TLS handshake
	// inside PRELOGIN, or TLS after login): they go to the TLS decoder.
	TLS bool
	// Error is why the message (or its token stream) did not parse.
	Error string

	// Prelogin of a PRELOGIN request or response.
	Prelogin *Prelogin
	// Login of a LOGIN7 request: names, versions, flags and the
	// password's length only.
	Login *Login7
	// SQL of a SQL batch; RPC of an RPC request.
	SQL *SQLBatch
	RPC *RPC
	// TMRequest names a transaction manager request.
	TMRequest string
	// DataBytes are the data bytes of a BULK_LOAD, SSPI or federated
	// authentication message (HasDataBytes).
	DataBytes    int
	HasDataBytes bool
	// AttentionAfter is the time from the cancelled request to an
	// ATTENTION (HasAttention: a request was pending).
	AttentionAfter time.Duration
	HasAttention   bool
	// Response is what a server token stream said.
	Response *Response
	// Answer relates a response to its request (nil when none was seen).
	Answer *Answer
	// SMP is the header of a KindSMP message.
	SMP *SMPHeader
}

// Response is what a response's token stream said ([MS-TDS] 2.2.7).
type Response struct {
	// Tokens names the tokens in order (repeats folded as "ROW x100").
	Tokens []string
	// Rows counts the ROW and NBCROW tokens.
	Rows int64
	// Errors are the ERROR tokens; Notes the ERROR and INFO tokens with
	// their texts (at most 16).
	Errors []ServerMessage
	Notes  []ServerNote
	// LoginAck is the LOGINACK token of a successful login.
	LoginAck *LoginAck
	// RowValues are the first rows' values (Limits.MaxRowValues).
	RowValues [][]any
	// UndecodedBytes counts token bytes not decoded.
	UndecodedBytes int
}

// ServerNote is an ERROR (Error set) or INFO token.
type ServerNote struct {
	Error bool
	MessageInfo
}

// Answer relates a response to its request: server time runs from the
// request's last byte to the response's first, transfer time from there
// to the response's last byte.
type Answer struct {
	RequestFrame int64
	ServerTime   time.Duration
	TransferTime time.Duration
}

// Fields returns the message's JSON form, the "fields" of its dissect
// record (health.Decoded).
func (m *Message) Fields() map[string]any {
	if m.Kind == KindSMP {
		h := m.SMP
		return map[string]any{"dir": m.Dir.String(), "smp": h.Flags.String(), "smp_sid": h.SID,
			"smp_seqnum": h.SeqNum, "smp_window": h.Window, "length": h.Length}
	}
	f := map[string]any{
		"dir":           m.Dir.String(),
		"type":          m.Type.String(),
		"type_code":     uint8(m.Type),
		"status":        uint8(m.Status),
		"packet_length": m.PacketLength,
		"spid":          m.SPID,
		"packet_id":     m.PacketID,
	}
	if m.HasSession {
		f["smp_sid"] = m.Session
	}
	if m.Kind == KindPacket {
		f["partial"] = true // the message continues in later packets
		f["packet"] = m.Packets
		return f
	}
	f["length"] = m.Length
	f["packets"] = m.Packets
	if m.Capped {
		f["capped"] = true
	}
	if m.TLS {
		f["tls"] = true
	}
	m.requestFields(f)
	if m.Response != nil {
		m.Response.fields(f)
	}
	if a := m.Answer; a != nil {
		f["request_frame"] = a.RequestFrame
		f["server_ms"] = millis(a.ServerTime)
		f["transfer_ms"] = millis(a.TransferTime)
	}
	if m.Error != "" {
		f["error"] = m.Error
	}
	return f
}

// requestFields adds the part of a request (or a PRELOGIN response) to f.
func (m *Message) requestFields(f map[string]any) {
	if m.Prelogin != nil {
		f["prelogin"] = m.Prelogin.fields()
	}
	if m.Login != nil {
		f["login"] = m.Login.fields()
	}
	if q := m.SQL; q != nil {
		f["sql"] = q.SQL
		if q.Truncated || m.Capped {
			f["sql_truncated"] = true
		}
		if q.Headers.HasTransaction {
			f["transaction_descriptor"] = q.Headers.TransactionDescriptor
			f["outstanding_requests"] = q.Headers.OutstandingRequestCount
		}
	}
	if r := m.RPC; r != nil {
		rpcFields(f, r, m.Capped)
	}
	if m.TMRequest != "" {
		f["tm_request"] = m.TMRequest
	}
	if m.HasDataBytes {
		if m.Type == TypeBulkLoad {
			f["bulk_load_bytes"] = m.DataBytes
		} else {
			f["auth_bytes"] = m.DataBytes
		}
	}
	if m.HasAttention {
		f["attention_after_ms"] = millis(m.AttentionAfter)
	}
}

// rpcFields adds an RPC request's procedure, statement and parameters.
func rpcFields(f map[string]any, r *RPC, capped bool) {
	f["rpc_proc"] = r.ProcName
	if r.ProcID != 0 {
		f["rpc_proc_id"] = uint16(r.ProcID)
	}
	if r.Statement != "" {
		f["sql"] = r.Statement
	}
	f["rpc_params"] = rpcParams(r.Params)
	if r.Partial || capped {
		f["rpc_partial"] = true
	}
}

// fields adds what a response's tokens said.
func (r *Response) fields(f map[string]any) {
	f["tokens"] = r.Tokens
	f["rows"] = r.Rows
	if len(r.Errors) > 0 {
		nums := make([]int32, len(r.Errors))
		for i, e := range r.Errors {
			nums[i] = e.Number
		}
		f["errors"] = nums
		f["error_message"] = r.Errors[0].Message
	}
	if len(r.Notes) > 0 {
		f["server_messages"] = noteFields(r.Notes)
	}
	if la := r.LoginAck; la != nil {
		f["loginack"] = map[string]any{"interface": la.Interface, "tds_version": la.TDSVersion.String(),
			"server": la.ProgName, "server_version": la.ServerVersion()}
	}
	if len(r.RowValues) > 0 {
		f["row_values"] = r.RowValues
	}
	if r.UndecodedBytes > 0 {
		f["undecoded_bytes"] = r.UndecodedBytes
	}
}

// newMessage starts the typed message of a whole message ms of dir in
// session sid, with its header.
func (c *Conn) newMessage(dir tcpstate.Dir, sid int, ms *msgState, at tcpstate.Position) *Message {
	return &Message{Origin: c.origin(at), Kind: KindMessage, Dir: dir,
		Type: ms.first.Type, Status: ms.last.Status, PacketLength: ms.last.Length, SPID: ms.last.SPID,
		PacketID: ms.last.PacketID, Length: ms.length, Packets: ms.packets,
		Session: sid, HasSession: sid != noSession, Capped: ms.capped}
}

func (c *Conn) origin(at tcpstate.Position) health.Origin {
	return health.Origin{Frame: at.Frame, Time: at.Time, Flow: c.ctx.Flow}
}

// message reports a decoded message.
func (c *Conn) message(m *Message) {
	c.ctx.Reporter.Message(health.Message{Frame: m.Frame, Time: m.Time, Flow: m.Flow, Proto: "tds", Value: m})
}

// withoutValues returns a copy of params without their values, which may
// be secrets.
func withoutValues(params []Param) []Param {
	out := make([]Param, len(params))
	for i, p := range params {
		p.Value = nil
		out[i] = p
	}
	return out
}
