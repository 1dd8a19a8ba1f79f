package tds

import (
	"fmt"
	"strings"

	"github.com/nettrace/nettrace/internal/wire"
)

// AllHeaders is the ALL_HEADERS rule that starts SQL batch, RPC and
// transaction manager requests in TDS 7.2+ ([MS-TDS] 2.2.5.3).
type AllHeaders struct {
	Present                 bool
	TransactionDescriptor   uint64
	OutstandingRequestCount uint32
	HasTransaction          bool
	HasQueryNotification    bool
	HasTraceActivity        bool
	ActivityID              [16]byte
	ActivitySeq             uint32
}

// ALL_HEADERS header types.
const (
	headerQueryNotifications = 1
	headerTransaction        = 2
	headerTraceActivity      = 3
	maxAllHeaders            = 16
)

// hasAllHeaders tells ALL_HEADERS from text or a procedure name: its total
// length covers at least itself, lies inside the payload, and its first
// header (if any) has a known type and fits.
func hasAllHeaders(b []byte) bool {
	total, ok := wire.Uint32At(b, 0)
	if !ok || total < 4 || int64(total) > int64(len(b)) {
		return false
	}
	if total == 4 {
		return true
	}
	hl, ok1 := wire.Uint32At(b, 4)
	ht, ok2 := wire.Uint16At(b, 8)
	return ok1 && ok2 && hl >= 6 && hl <= total-4 && ht >= 1 && ht <= 3
}

// parseAllHeaders reads ALL_HEADERS when present and returns the rest.
func parseAllHeaders(b []byte) (AllHeaders, []byte, error) {
	var h AllHeaders
	if !hasAllHeaders(b) {
		return h, b, nil
	}
	r := wire.Reader(b)
	var total uint32
	r.ReadUint32(&total)
	var hdrs wire.Reader
	if !r.ReadReader(&hdrs, int(total)-4) {
		return AllHeaders{}, b, malformed("all_headers", "total length exceeds payload")
	}
	h.Present = true
	for i := 0; !hdrs.Empty(); i++ {
		var hl uint32
		var ht uint16
		if i >= maxAllHeaders || !hdrs.ReadUint32(&hl) || hl < 6 || !hdrs.ReadUint16(&ht) {
			return AllHeaders{}, b, malformed("all_headers", "bad header length")
		}
		var d wire.Reader
		if !hdrs.ReadReader(&d, int(hl)-6) {
			return AllHeaders{}, b, malformed("all_headers", fmt.Sprintf("header length %d exceeds total %d", hl, total))
		}
		switch ht {
		case headerTransaction:
			h.HasTransaction = d.ReadUint64(&h.TransactionDescriptor) && d.ReadUint32(&h.OutstandingRequestCount)
		case headerQueryNotifications:
			h.HasQueryNotification = true
		case headerTraceActivity:
			h.HasTraceActivity = d.CopyBytes(h.ActivityID[:]) && d.ReadUint32(&h.ActivitySeq)
		}
	}
	return h, []byte(r), nil
}

// SQLBatch is a SQL batch request ([MS-TDS] 2.2.6.7).
type SQLBatch struct {
	Headers   AllHeaders
	SQL       string // UCS-2 decoded, cut to the caller's maximum
	SQLLen    int    // characters on the wire
	Truncated bool   // SQL was cut (maximum, or the message was capped)
}

// ParseSQLBatch parses a SQL batch payload, keeping at most maxChars
// characters of the text (≤ 0: all). The text runs to the end of b.
func ParseSQLBatch(b []byte, maxChars int) (SQLBatch, []byte, error) {
	var q SQLBatch
	h, rest, err := parseAllHeaders(b)
	if err != nil {
		return SQLBatch{}, b, err
	}
	q.Headers = h
	q.SQLLen = len(rest) / 2
	q.SQL, q.Truncated = ucs2(rest, maxChars)
	return q, nil, nil
}

// ProcID is a well-known stored procedure id of an RPC request
// ([MS-TDS] 2.2.6.6).
type ProcID uint16

// Well-known procedure ids.
const (
	ProcCursor          ProcID = 1
	ProcCursorOpen      ProcID = 2
	ProcCursorPrepare   ProcID = 3
	ProcCursorExecute   ProcID = 4
	ProcCursorPrepExec  ProcID = 5
	ProcCursorUnprepare ProcID = 6
	ProcCursorFetch     ProcID = 7
	ProcCursorOption    ProcID = 8
	ProcCursorClose     ProcID = 9
	ProcExecuteSQL      ProcID = 10
	ProcPrepare         ProcID = 11
	ProcExecute         ProcID = 12
	ProcPrepExec        ProcID = 13
	ProcPrepExecRPC     ProcID = 14
	ProcUnprepare       ProcID = 15
)

var procNames = [...]string{"", "sp_cursor", "sp_cursoropen", "sp_cursorprepare", "sp_cursorexecute",
	"sp_cursorprepexec", "sp_cursorunprepare", "sp_cursorfetch", "sp_cursoroption", "sp_cursorclose",
	"sp_executesql", "sp_prepare", "sp_execute", "sp_prepexec", "sp_prepexecrpc", "sp_unprepare"}

// String returns the procedure's name ("sp_executesql") or ProcID(N).
func (p ProcID) String() string {
	if p > 0 && int(p) < len(procNames) {
		return procNames[p]
	}
	return fmt.Sprintf("ProcID(%d)", uint16(p))
}

// Param is one RPC parameter: its name (may be empty), status flags and
// type. Value is the first MaxRowValues-style rendering of its value when
// the caller asked for values.
type Param struct {
	Name   string
	Status uint8
	Type   TypeInfo
	Value  any
}

// RPC is an RPC request ([MS-TDS] 2.2.6.6): the first procedure call of the
// batch. ProcName is the name sent, or the well-known name for ProcID.
type RPC struct {
	Headers   AllHeaders
	ProcID    ProcID // 0 when called by name
	ProcName  string
	Options   uint16
	Params    []Param
	Partial   bool // parameters could not all be decoded (unsupported type, or capped message)
	Statement string
	Calls     int // procedure calls in the batch that were seen (1 unless batched)
}

// ParseRPC parses an RPC request payload. It decodes the first call's
// name or id and up to maxParams parameters (names and types); for
// sp_executesql and sp_prepexec the first NVARCHAR parameter (the
// statement) is kept in Statement, cut to maxChars.
func ParseRPC(b []byte, maxParams, maxChars int) (RPC, []byte, error) {
	var c RPC
	h, rest, err := parseAllHeaders(b)
	if err != nil {
		return RPC{}, b, err
	}
	c.Headers = h
	r := wire.Reader(rest)
	var n uint16
	if !r.ReadUint16(&n) {
		return RPC{}, b, truncated("rpc", len(b)+2)
	}
	if n == 0xFFFF {
		var id uint16
		if !r.ReadUint16(&id) {
			return RPC{}, b, truncated("rpc proc id", len(b)+2)
		}
		c.ProcID = ProcID(id)
		c.ProcName = c.ProcID.String()
	} else {
		var name []byte
		if !r.ReadBytes(&name, 2*int(n)) {
			return RPC{}, b, truncated("rpc proc name", len(b)+2*int(n))
		}
		c.ProcName, _ = ucs2(name, maxChars)
	}
	if !r.ReadUint16(&c.Options) {
		return RPC{}, b, truncated("rpc option flags", len(b)+2)
	}
	c.Calls = 1
	// The statement is the stmtIndex-th Unicode parameter of the
	// well-known procedures that carry one.
	stmtIndex, nchar := -1, 0
	switch statementProc(c.ProcID, c.ProcName) {
	case ProcExecuteSQL, ProcCursorOpen:
		stmtIndex = 0
	case ProcPrepExec, ProcPrepare, ProcCursorPrepare, ProcCursorPrepExec:
		stmtIndex = 1
	}
	for i := 0; !r.Empty(); i++ {
		if r[0] == 0x80 || r[0] == 0xFF { // BatchFlag / NoExecFlag: another call follows
			c.Calls++
			break
		}
		if i >= maxParams {
			c.Partial = true
			break
		}
		var p Param
		var ok bool
		if p.Name, ok = readBVarchar(&r); !ok {
			c.Partial = true
			break
		}
		if !r.ReadUint8(&p.Status) {
			c.Partial = true
			break
		}
		if p.Type, ok = readTypeInfo(&r, tiParam); !ok {
			c.Partial = true
			break
		}
		v, ok := readValue(&r, &p.Type)
		if !ok {
			c.Partial = true
			c.Params = append(c.Params, p)
			break
		}
		if p.Type.Type == TypeNVarChar || p.Type.Type == TypeNText || p.Type.Type == TypeNChar {
			if nchar == stmtIndex && !v.Null {
				c.Statement, _ = ucs2(v.Data, maxChars)
			}
			nchar++
		}
		p.Value = v.Interface(p.Type, 64)
		c.Params = append(c.Params, p)
	}
	return c, nil, nil
}

// statementProc returns the well-known procedure called by id or by name
// ("sp_executesql", "sys.sp_executesql").
func statementProc(id ProcID, name string) ProcID {
	if id != 0 {
		return id
	}
	n := strings.ToLower(name)
	n = strings.TrimPrefix(n, "sys.")
	for i, pn := range procNames {
		if pn != "" && pn == n {
			return ProcID(i)
		}
	}
	return 0
}

// TMRequest is a transaction manager request ([MS-TDS] 2.2.6.9).
type TMRequest struct {
	Headers     AllHeaders
	RequestType uint16
}

var tmNames = map[uint16]string{0: "TM_GET_DTC_ADDRESS", 1: "TM_PROPAGATE_XACT", 5: "TM_BEGIN_XACT",
	6: "TM_PROMOTE_XACT", 7: "TM_COMMIT_XACT", 8: "TM_ROLLBACK_XACT", 9: "TM_SAVE_XACT"}

// RequestName returns the request type's name ("TM_BEGIN_XACT", …).
func (t TMRequest) RequestName() string {
	if n, ok := tmNames[t.RequestType]; ok {
		return n
	}
	return fmt.Sprintf("TM(%d)", t.RequestType)
}

// ParseTMRequest parses a transaction manager request payload.
func ParseTMRequest(b []byte) (TMRequest, []byte, error) {
	var t TMRequest
	h, rest, err := parseAllHeaders(b)
	if err != nil {
		return TMRequest{}, b, err
	}
	t.Headers = h
	r := wire.Reader(rest)
	if !r.ReadUint16(&t.RequestType) {
		return TMRequest{}, b, truncated("tm request", len(b)+2)
	}
	return t, nil, nil
}
