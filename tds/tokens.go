package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

// TokenType is a token of the tabular result stream ([MS-TDS] 2.2.7).
type TokenType uint8

// Token types.
const (
	TokenAltMetadata   TokenType = 0x88
	TokenAltRow        TokenType = 0xD3
	TokenColMetadata   TokenType = 0x81
	TokenColInfo       TokenType = 0xA5
	TokenDataClass     TokenType = 0xA3
	TokenDone          TokenType = 0xFD
	TokenDoneProc      TokenType = 0xFE
	TokenDoneInProc    TokenType = 0xFF
	TokenEnvChange     TokenType = 0xE3
	TokenError         TokenType = 0xAA
	TokenFeatureExtAck TokenType = 0xAE
	TokenFedAuthInfo   TokenType = 0xEE
	TokenInfo          TokenType = 0xAB
	TokenLoginAck      TokenType = 0xAD
	TokenNBCRow        TokenType = 0xD2
	TokenOffset        TokenType = 0x78
	TokenOrder         TokenType = 0xA9
	TokenReturnStatus  TokenType = 0x79
	TokenReturnValue   TokenType = 0xAC
	TokenRow           TokenType = 0xD1
	TokenSessionState  TokenType = 0xE4
	TokenSSPI          TokenType = 0xED
	TokenTabName       TokenType = 0xA4
)

var tokenNames = map[TokenType]string{
	TokenAltMetadata: "ALTMETADATA", TokenAltRow: "ALTROW", TokenColMetadata: "COLMETADATA",
	TokenColInfo: "COLINFO", TokenDataClass: "DATACLASSIFICATION", TokenDone: "DONE", TokenDoneProc: "DONEPROC",
	TokenDoneInProc: "DONEINPROC", TokenEnvChange: "ENVCHANGE", TokenError: "ERROR",
	TokenFeatureExtAck: "FEATUREEXTACK", TokenFedAuthInfo: "FEDAUTHINFO", TokenInfo: "INFO",
	TokenLoginAck: "LOGINACK", TokenNBCRow: "NBCROW", TokenOffset: "OFFSET", TokenOrder: "ORDER",
	TokenReturnStatus: "RETURNSTATUS", TokenReturnValue: "RETURNVALUE", TokenRow: "ROW",
	TokenSessionState: "SESSIONSTATE", TokenSSPI: "SSPI", TokenTabName: "TABNAME",
}

// String returns the spec's name or TokenType(0xNN).
func (t TokenType) String() string {
	return enumName(tokenNames, "TokenType", t)
}

// DONE status bits ([MS-TDS] 2.2.7.6).
const (
	DoneMore     = 0x0001
	DoneError    = 0x0002
	DoneInXact   = 0x0004
	DoneCount    = 0x0010
	DoneAttn     = 0x0020
	DoneSrvError = 0x0100
)

// Done is a DONE, DONEPROC or DONEINPROC token.
type Done struct {
	Status   uint16
	CurCmd   uint16
	RowCount uint64
}

// MessageInfo is an ERROR or INFO token ([MS-TDS] 2.2.7.10, 2.2.7.13).
type MessageInfo struct {
	Number  int32
	State   uint8
	Class   uint8
	Message string
	Server  string
	Proc    string
	Line    int32
}

// EnvChange types ([MS-TDS] 2.2.7.9).
const (
	EnvDatabase        = 1
	EnvLanguage        = 2
	EnvCharset         = 3
	EnvPacketSize      = 4
	EnvSortLCID        = 5
	EnvSortFlags       = 6
	EnvCollation       = 7
	EnvBeginTran       = 8
	EnvCommitTran      = 9
	EnvRollbackTran    = 10
	EnvEnlistDTC       = 11
	EnvDefectTran      = 12
	EnvMirrorPartner   = 13
	EnvPromoteTran     = 15
	EnvTranManagerAddr = 16
	EnvTranEnded       = 17
	EnvResetAck        = 18
	EnvUserInstance    = 19
	EnvRouting         = 20
)

var envNames = map[uint8]string{1: "database", 2: "language", 3: "charset", 4: "packet_size",
	5: "sort_lcid", 6: "sort_flags", 7: "collation", 8: "begin_tran", 9: "commit_tran", 10: "rollback_tran",
	11: "enlist_dtc", 12: "defect_tran", 13: "mirror_partner", 15: "promote_tran", 16: "tran_manager_address",
	17: "tran_ended", 18: "reset_ack", 19: "user_instance", 20: "routing"}

// EnvChange is an ENVCHANGE token. For string types New/Old hold the text;
// for collation and transaction types they hold hex; for routing, Server
// and Port are set.
type EnvChange struct {
	Type   uint8
	New    string
	Old    string
	Server string // routing
	Port   uint16 // routing
}

// Name returns the change's name ("database", "routing", …).
func (e EnvChange) Name() string {
	if n, ok := envNames[e.Type]; ok {
		return n
	}
	return fmt.Sprintf("env(%d)", e.Type)
}

// LoginAck is a LOGINACK token ([MS-TDS] 2.2.7.14).
type LoginAck struct {
	Interface  uint8
	TDSVersion TDSVersion // big-endian on the wire here
	ProgName   string
	Major      uint8
	Minor      uint8
	Build      uint16
}

// ServerVersion returns "major.minor.build".
func (l LoginAck) ServerVersion() string { return fmt.Sprintf("%d.%d.%d", l.Major, l.Minor, l.Build) }

// Column is one column of a COLMETADATA token.
type Column struct {
	Name     string
	UserType uint32
	Flags    uint16
	Type     TypeInfo
}

// ReturnValue is a RETURNVALUE token (an output parameter).
type ReturnValue struct {
	Ordinal uint16
	Name    string
	Status  uint8
	Type    TypeInfo
	Value   any
}

// Token is one decoded token. Only the fields of its Type are set.
type Token struct {
	Type         TokenType
	Done         Done        // DONE, DONEPROC, DONEINPROC
	Info         MessageInfo // ERROR, INFO
	Env          EnvChange   // ENVCHANGE
	LoginAck     LoginAck    // LOGINACK
	ReturnStatus int32       // RETURNSTATUS
	ReturnValue  ReturnValue // RETURNVALUE
	Features     []Feature   // FEATUREEXTACK
	Columns      int         // COLMETADATA: number of columns (names in TokenContext.Columns)
	Row          []Value     // ROW, NBCROW: values (aliasing the input), in TokenContext's scratch
	OrderColumns int         // ORDER
	Length       int         // SSPI, FEDAUTHINFO, SESSIONSTATE, other length-prefixed tokens: body size
}

// TokenContext is the state a token stream carries between tokens: the TDS
// version (row-count and user-type sizes) and the current result set's
// columns (for ROW/NBCROW).
type TokenContext struct {
	Version    TDSVersion
	Columns    []Column
	MaxColumns int  // 0: no limit
	NoMetadata bool // the current result set's columns are unknown (too many, or not decodable)
	row        []Value
}

// maxFeatureAcks bounds FEATUREEXTACK entries.
const maxFeatureAcks = 32

// ParseToken parses one token at the front of b and returns it with the bytes
// after it. ErrTruncated means the token is not complete yet (for tokens
// without a length prefix, also: not decodable with the bytes at hand);
// ErrMalformed means a length-prefixed token is inconsistent, or the token
// type is unknown and cannot be skipped. ROW values alias b and are valid
// until the next call. COLMETADATA replaces ctx.Columns. On error b is
// returned unchanged.
func ParseToken(b []byte, ctx *TokenContext) (Token, []byte, error) {
	r := wire.Reader(b)
	var t uint8
	if !r.ReadUint8(&t) {
		return Token{}, b, truncated("token", 1)
	}
	var tok Token
	tok.Type = TokenType(t)
	switch tok.Type {
	case TokenDone, TokenDoneProc, TokenDoneInProc:
		if !r.ReadUint16(&tok.Done.Status) || !r.ReadUint16(&tok.Done.CurCmd) {
			return needMore(b)
		}
		if ctx.Version.atLeast72() {
			if !r.ReadUint64(&tok.Done.RowCount) {
				return needMore(b)
			}
		} else {
			var n uint32
			if !r.ReadUint32(&n) {
				return needMore(b)
			}
			tok.Done.RowCount = uint64(n)
		}
		return tok, []byte(r), nil
	case TokenReturnStatus:
		var v uint32
		if !r.ReadUint32(&v) {
			return needMore(b)
		}
		tok.ReturnStatus = int32(v)
		return tok, []byte(r), nil
	case TokenColMetadata:
		return parseColMetadata(r, b, tok, ctx)
	case TokenRow, TokenNBCRow:
		if ctx.NoMetadata || len(ctx.Columns) == 0 {
			return Token{}, b, perr.Wrap(tok.Type.String(), "row without decodable column metadata", ErrNoMetadata)
		}
		ctx.row = ctx.row[:0]
		var bitmap []byte
		if tok.Type == TokenNBCRow && !r.ReadBytes(&bitmap, (len(ctx.Columns)+7)/8) {
			return needMore(b)
		}
		for i := range ctx.Columns {
			if bitmap != nil && bitmap[i/8]&(1<<(i%8)) != 0 {
				ctx.row = append(ctx.row, Value{Null: true})
				continue
			}
			v, ok := readValue(&r, &ctx.Columns[i].Type)
			if !ok {
				return needMore(b)
			}
			ctx.row = append(ctx.row, v)
		}
		tok.Row = ctx.row
		return tok, []byte(r), nil
	case TokenReturnValue:
		rv := &tok.ReturnValue
		var ok bool
		var ut uint32
		var flags uint16
		if !r.ReadUint16(&rv.Ordinal) {
			return needMore(b)
		}
		if rv.Name, ok = readBVarchar(&r); !ok || !r.ReadUint8(&rv.Status) || !readUserType(&r, ctx.Version, &ut) || !r.ReadUint16(&flags) {
			return needMore(b)
		}
		if rv.Type, ok = readTypeInfo(&r, tiParam); !ok {
			return needMore(b)
		}
		v, ok := readValue(&r, &rv.Type)
		if !ok {
			return needMore(b)
		}
		rv.Value = v.Interface(rv.Type, 64)
		return tok, []byte(r), nil
	case TokenFeatureExtAck:
		for i := 0; ; i++ {
			var id uint8
			if !r.ReadUint8(&id) {
				return needMore(b)
			}
			if FeatureID(id) == FeatureTerminator {
				break
			}
			var n uint32
			if !r.ReadUint32(&n) {
				return needMore(b)
			}
			if i >= maxFeatureAcks || n > 1<<24 {
				return Token{}, b, malformed("featureextack", fmt.Sprintf("feature %s length %d", FeatureID(id), n))
			}
			if !r.Skip(int(n)) {
				return needMore(b)
			}
			tok.Features = append(tok.Features, Feature{ID: FeatureID(id), Length: int(n)})
		}
		return tok, []byte(r), nil
	case TokenFedAuthInfo, TokenSessionState, TokenDataClass:
		if tok.Type == TokenDataClass {
			return Token{}, b, malformed("token", "DATACLASSIFICATION is not decoded")
		}
		var n uint32
		if !r.ReadUint32(&n) {
			return needMore(b)
		}
		if n > 1<<24 {
			return Token{}, b, malformed(tok.Type.String(), fmt.Sprintf("length %d", n))
		}
		if !r.Skip(int(n)) {
			return Token{}, b, truncated(tok.Type.String(), 5+int(n))
		}
		tok.Length = int(n)
		return tok, []byte(r), nil
	}
	// Length-prefixed (USHORT) tokens.
	switch {
	case tok.Type == TokenError || tok.Type == TokenInfo || tok.Type == TokenEnvChange || tok.Type == TokenLoginAck ||
		tok.Type == TokenOrder || tok.Type == TokenSSPI || tok.Type == TokenTabName || tok.Type == TokenColInfo ||
		t&0x30 == 0x20:
		var n uint16
		var body wire.Reader
		if !r.ReadUint16(&n) {
			return needMore(b)
		}
		if !r.ReadReader(&body, int(n)) {
			return Token{}, b, truncated(tok.Type.String(), 3+int(n))
		}
		tok.Length = int(n)
		if err := parseLengthToken(&tok, body, ctx); err != nil {
			return Token{}, b, err
		}
		return tok, []byte(r), nil
	case t&0x30 == 0x30: // fixed length: 1, 2, 4 or 8 bytes
		if !r.Skip(1 << ((t >> 2) & 3)) {
			return needMore(b)
		}
		return tok, []byte(r), nil
	case t&0x30 == 0x10: // zero length
		return tok, []byte(r), nil
	}
	return Token{}, b, malformed("token", fmt.Sprintf("unknown token 0x%02x", t))
}

// needMore is the result of a token that is not complete yet.
func needMore(b []byte) (Token, []byte, error) {
	return Token{}, b, truncated(TokenType(b[0]).String(), len(b)+1)
}

func readUserType(r *wire.Reader, v TDSVersion, out *uint32) bool {
	if v.atLeast72() {
		return r.ReadUint32(out)
	}
	var u uint16
	if !r.ReadUint16(&u) {
		return false
	}
	*out = uint32(u)
	return true
}

func parseColMetadata(r wire.Reader, b []byte, tok Token, ctx *TokenContext) (Token, []byte, error) {
	var count uint16
	if !r.ReadUint16(&count) {
		return Token{}, b, truncated("COLMETADATA", len(b)+1)
	}
	cols := ctx.Columns[:0]
	noMeta := false
	if count == 0xFFFF { // NoMetaData: the rows use metadata sent earlier
		count = 0
		noMeta = true
	}
	if ctx.MaxColumns > 0 && int(count) > ctx.MaxColumns {
		noMeta = true
	}
	for i := 0; i < int(count); i++ {
		var c Column
		var ok bool
		if !readUserType(&r, ctx.Version, &c.UserType) || !r.ReadUint16(&c.Flags) {
			return Token{}, b, truncated("COLMETADATA", len(b)+1)
		}
		if c.Type, ok = readTypeInfo(&r, tiColumn); !ok {
			if len(r) > 16 && c.Type.Type != 0 && !knownType(c.Type.Type) {
				return Token{}, b, malformed("COLMETADATA", fmt.Sprintf("column %d has unknown type 0x%02x", i, uint8(c.Type.Type)))
			}
			return Token{}, b, truncated("COLMETADATA", len(b)+1)
		}
		if c.Type.Type == TypeNull {
			// NULLTYPE has no storage; as a column it would let one ROW
			// byte stand for any number of values.
			return Token{}, b, malformed("COLMETADATA", fmt.Sprintf("column %d has NULLTYPE", i))
		}
		if c.Name, ok = readBVarchar(&r); !ok {
			return Token{}, b, truncated("COLMETADATA", len(b)+1)
		}
		if !noMeta {
			cols = append(cols, c)
		}
	}
	ctx.Columns = cols
	ctx.NoMetadata = noMeta
	tok.Columns = int(count)
	return tok, []byte(r), nil
}

func knownType(t DataType) bool { _, ok := dataTypeNames[t]; return ok }

// parseLengthToken decodes the body of a USHORT-length token; the body must
// be consistent with its declared length.
func parseLengthToken(tok *Token, body wire.Reader, ctx *TokenContext) error {
	bad := func(d string) error { return malformed(tok.Type.String(), d) }
	switch tok.Type {
	case TokenError, TokenInfo:
		m := &tok.Info
		var num uint32
		var ok bool
		if !body.ReadUint32(&num) || !body.ReadUint8(&m.State) || !body.ReadUint8(&m.Class) {
			return bad("short header")
		}
		m.Number = int32(num)
		if m.Message, ok = readUSVarchar(&body); !ok {
			return bad("message text exceeds token")
		}
		if m.Server, ok = readBVarchar(&body); !ok {
			return bad("server name exceeds token")
		}
		if m.Proc, ok = readBVarchar(&body); !ok {
			return bad("procedure name exceeds token")
		}
		if ctx.Version.atLeast72() {
			var line uint32
			if !body.ReadUint32(&line) {
				// Some servers send a 2-byte line number; accept it.
				var l16 uint16
				if !body.ReadUint16(&l16) {
					return bad("line number missing")
				}
				line = uint32(l16)
			}
			m.Line = int32(line)
		} else {
			var l16 uint16
			if !body.ReadUint16(&l16) {
				return bad("line number missing")
			}
			m.Line = int32(l16)
		}
	case TokenLoginAck:
		la := &tok.LoginAck
		var v []byte
		var ok bool
		if !body.ReadUint8(&la.Interface) || !body.ReadBytes(&v, 4) {
			return bad("short")
		}
		la.TDSVersion = TDSVersion(uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3]))
		if la.ProgName, ok = readBVarchar(&body); !ok {
			return bad("program name exceeds token")
		}
		var lo, hi uint8
		if !body.ReadUint8(&la.Major) || !body.ReadUint8(&la.Minor) || !body.ReadUint8(&hi) || !body.ReadUint8(&lo) {
			return bad("short version")
		}
		la.Build = uint16(hi)<<8 | uint16(lo)
	case TokenEnvChange:
		e := &tok.Env
		if !body.ReadUint8(&e.Type) {
			return bad("empty")
		}
		switch e.Type {
		case EnvDatabase, EnvLanguage, EnvCharset, EnvPacketSize, EnvSortLCID, EnvSortFlags, EnvMirrorPartner, EnvUserInstance:
			var ok1, ok2 bool
			e.New, ok1 = readBVarchar(&body)
			e.Old, ok2 = readBVarchar(&body)
			if !ok1 || !ok2 {
				return bad(fmt.Sprintf("%s values exceed token", e.Name()))
			}
		case EnvCollation, EnvBeginTran, EnvCommitTran, EnvRollbackTran, EnvEnlistDTC, EnvDefectTran, EnvTranEnded, EnvResetAck, EnvTranManagerAddr:
			var n uint8
			var v []byte
			if body.ReadUint8(&n) && body.ReadBytes(&v, int(n)) {
				e.New = fmt.Sprintf("%x", v)
			}
			if body.ReadUint8(&n) && body.ReadBytes(&v, int(n)) {
				e.Old = fmt.Sprintf("%x", v)
			}
		case EnvRouting:
			var n uint16
			var rd wire.Reader
			var proto uint8
			var ok bool
			if !body.ReadUint16(&n) || !body.ReadReader(&rd, int(n)) || !rd.ReadUint8(&proto) || !rd.ReadUint16(&e.Port) {
				return bad("routing data exceeds token")
			}
			if e.Server, ok = readUSVarchar(&rd); !ok {
				return bad("routing server exceeds routing data")
			}
			e.New = fmt.Sprintf("%s:%d", e.Server, e.Port)
		}
	case TokenOrder:
		if body.Len()%2 != 0 {
			return bad(fmt.Sprintf("odd length %d", body.Len()))
		}
		tok.OrderColumns = body.Len() / 2
	}
	return nil
}
