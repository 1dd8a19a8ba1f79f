package nettrace

import (
	"github.com/nettrace/nettrace/health"
	"github.com/nettrace/nettrace/http"
	"github.com/nettrace/nettrace/rpc"
	"github.com/nettrace/nettrace/smb"
	"github.com/nettrace/nettrace/tds"
	"github.com/nettrace/nettrace/tls"
)

// Handlers receive the decoders' messages as typed values, with no map and
// no type assertion: Options.Handlers. Each is called in capture order
// (the order of Options.Reporter's messages, whatever Options.Workers),
// from one goroutine at a time, with a value it may keep: a message owns
// its data. Messages of a protocol whose handler is nil are not delivered.
//
// With every handler nil (the default) decoders build no messages at all,
// unless Options.Messages asks for them; with one set, every decoder
// builds its messages and those without a handler are dropped at once.
// HTTP/2 streams, DNS, the endpoint mapper and the packet-level records
// have no typed form: they reach only a Reporter, with Options.Messages.
type Handlers struct {
	// SMB receives SMB1, SMB2/SMB3 and NetBIOS session messages.
	SMB func(*smb.Message)
	// RPC receives connection-oriented DCE/RPC PDUs, over TCP or SMB
	// named pipes.
	RPC func(*rpc.Message)
	// TDS receives TDS messages (SQL Server): PRELOGIN, LOGIN7, SQL
	// batches, RPC requests, token streams, SMP headers.
	TDS func(*tds.Message)
	// TLS receives TLS handshake messages, alerts and heartbeats.
	TLS func(*tls.Message)
	// HTTP receives HTTP/1.x requests and responses, in plaintext or
	// decrypted TLS.
	HTTP func(*http.Message)
}

// any reports whether at least one handler is set.
func (h *Handlers) any() bool {
	return h.SMB != nil || h.RPC != nil || h.TDS != nil || h.TLS != nil || h.HTTP != nil
}

// deliver hands a message's typed value to its handler, if any.
func (h *Handlers) deliver(m *health.Message) {
	switch v := m.Value.(type) {
	case *smb.Message:
		if h.SMB != nil {
			h.SMB(v)
		}
	case *rpc.Message:
		if h.RPC != nil {
			h.RPC(v)
		}
	case *tds.Message:
		if h.TDS != nil {
			h.TDS(v)
		}
	case *tls.Message:
		if h.TLS != nil {
			h.TLS(v)
		}
	case *http.Message:
		if h.HTTP != nil {
			h.HTTP(v)
		}
	}
}
