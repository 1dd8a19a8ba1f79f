package tds

import (
	"net/netip"
	"time"
)

// Stats is what a Conn learned about its connection, for tools such as
// examples/tdsstat. Requests is capped at Limits.MaxRequests entries;
// RequestCount counts them all.
type Stats struct {
	Client, Server netip.AddrPort
	Flow           string
	RTT            time.Duration // handshake RTT from the tracker, 0 if unknown

	TDSVersion    TDSVersion // from LOGINACK, else from LOGIN7
	ServerName    string     // LOGINACK program name ("Microsoft SQL Server")
	ServerVersion string     // LOGINACK version ("16.0.4218")
	Instance      string     // PRELOGIN INSTOPT from the client
	Encryption    string     // negotiated: "off", "login only", "on", "mismatch", "" before PRELOGIN
	TLSBytes      [2]int64   // TLS bytes per direction (client, server)

	User     string // LOGIN7 user name (never the password)
	App      string
	Host     string
	Database string // current database (LOGIN7, then ENVCHANGE)

	LoginsOK     int
	LoginsFailed int
	LoginErrors  []ServerMessage // ERROR tokens of failed logins (capped at 16)

	Requests     []Request
	RequestCount int
	Unanswered   int // requests followed by another request or the end without a response
	Attentions   int
	Errors       int // ERROR tokens of class ≥ 11
	Packets      [2]int64
	Messages     [2]int64
}

// ServerMessage is an ERROR token in short.
type ServerMessage struct {
	Frame   int64
	Number  int32
	State   uint8
	Class   uint8
	Message string
}

// Request is one client request and what the server answered.
type Request struct {
	Frame    int64      // frame of the request's last byte
	Time     time.Time  // time of the request's last byte
	Type     PacketType // SQL_BATCH, RPC, LOGIN7, PRELOGIN, TM_REQUEST, BULK_LOAD, SSPI …
	Text     string     // SQL text, RPC statement or procedure name, TM request name
	Proc     string     // RPC procedure name or well-known name
	Database string     // database in use when the request was sent
	Session  int        // SMP (MARS) session id, -1 without MARS

	Answered      bool
	ResponseFrame int64         // frame of the response's last byte
	ServerTime    time.Duration // request's last byte → response's first byte
	TransferTime  time.Duration // response's first byte → last byte
	Rows          int64         // ROW/NBCROW tokens (or DONE counts when rows were not sent)
	Errors        []int32       // ERROR numbers (class ≥ 11)
	Attention     bool          // the client cancelled it
}
