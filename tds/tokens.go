package tds

import (
	"errors"
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

// maxTokenData bounds the DWORD data lengths of the token stream
// (FEDAUTHINFO, SESSIONSTATE, FEATUREEXTACK entries).
const maxTokenData = 1 << 24

// errShortToken is what a token reader returns when the input ends inside
// the token; ParseToken turns it into ErrTruncated.
var errShortToken = errors.New("tds: token continues past the input")

// short returns errShortToken unless ok.
func short(ok bool) error {
	if ok {
		return nil
	}
	return errShortToken
}

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
	tok := Token{Type: TokenType(t)}
	switch err := readToken(&r, &tok, ctx); {
	case err == errShortToken:
		return Token{}, b, truncated(tok.Type.String(), len(b)+1)
	case err != nil:
		return Token{}, b, err
	}
	return tok, []byte(r), nil
}

// readToken reads the body of a token of type tok.Type: the tokens with a
// layout of their own by name, the others by the length class of their
// type byte.
func readToken(r *wire.Reader, tok *Token, ctx *TokenContext) error {
	switch tok.Type {
	case TokenDone, TokenDoneProc, TokenDoneInProc:
		return readDone(r, &tok.Done, ctx.Version)
	case TokenReturnStatus:
		return readReturnStatus(r, &tok.ReturnStatus)
	case TokenColMetadata:
		return readColMetadata(r, tok, ctx)
	case TokenRow, TokenNBCRow:
		return readRow(r, tok, ctx)
	case TokenReturnValue:
		return readReturnValue(r, &tok.ReturnValue, ctx.Version)
	case TokenFeatureExtAck:
		return readFeatureExtAck(r, &tok.Features)
	case TokenDataClass:
		return malformed("token", "DATACLASSIFICATION is not decoded")
	case TokenFedAuthInfo, TokenSessionState:
		return readDWordToken(r, tok)
	}
	return readByLengthClass(r, tok, ctx)
}

// readByLengthClass reads a token by the length class in bits 0x30 of its
// type ([MS-TDS] 2.2.4.2.1): 0x20 a USHORT length (ERROR, INFO, ENVCHANGE,
// LOGINACK, ORDER, SSPI, TABNAME, COLINFO …), 0x30 a fixed length of 1, 2,
// 4 or 8 bytes, 0x10 no data. The variable-count class 0x00 has a layout
// per token: an unknown one cannot be skipped.
func readByLengthClass(r *wire.Reader, tok *Token, ctx *TokenContext) error {
	t := uint8(tok.Type)
	switch t & 0x30 {
	case 0x20:
		return readUShortToken(r, tok, ctx)
	case 0x30:
		return short(r.Skip(1 << ((t >> 2) & 3)))
	case 0x10:
		return nil
	}
	return malformed("token", fmt.Sprintf("unknown token 0x%02x", t))
}

// readUShortToken reads a token with a USHORT length and decodes its data,
// which must be consistent with the length. Length has the data size.
func readUShortToken(r *wire.Reader, tok *Token, ctx *TokenContext) error {
	var n uint16
	var body wire.Reader
	if !r.ReadUint16(&n) {
		return errShortToken
	}
	if !r.ReadReader(&body, int(n)) {
		return truncated(tok.Type.String(), 3+int(n))
	}
	tok.Length = int(n)
	switch tok.Type {
	case TokenError, TokenInfo:
		return readMessageInfo(&body, &tok.Info, tok.Type, ctx.Version)
	case TokenLoginAck:
		return readLoginAck(&body, &tok.LoginAck)
	case TokenEnvChange:
		return readEnvChange(&body, &tok.Env)
	case TokenOrder:
		return readOrder(body, &tok.OrderColumns)
	}
	return nil // SSPI, TABNAME, COLINFO …: skipped whole
}

// readDWordToken skips a token with a DWORD length that is not decoded:
// FEDAUTHINFO ([MS-TDS] 2.2.7.12) and SESSIONSTATE (2.2.7.21). Length has
// the data size.
func readDWordToken(r *wire.Reader, tok *Token) error {
	var n uint32
	if !r.ReadUint32(&n) {
		return errShortToken
	}
	if n > maxTokenData {
		return malformed(tok.Type.String(), fmt.Sprintf("length %d", n))
	}
	if !r.Skip(int(n)) {
		return truncated(tok.Type.String(), 5+int(n))
	}
	tok.Length = int(n)
	return nil
}

// readDone reads DONE, DONEPROC or DONEINPROC ([MS-TDS] 2.2.7.6-2.2.7.8):
// Status, CurCmd and DoneRowCount, a LONG before TDS 7.2 and a ULONGLONG
// since.
func readDone(r *wire.Reader, d *Done, v TDSVersion) error {
	if !r.ReadUint16(&d.Status) || !r.ReadUint16(&d.CurCmd) {
		return errShortToken
	}
	if v.atLeast72() {
		return short(r.ReadUint64(&d.RowCount))
	}
	var n uint32
	if !r.ReadUint32(&n) {
		return errShortToken
	}
	d.RowCount = uint64(n)
	return nil
}

// readReturnStatus reads RETURNSTATUS ([MS-TDS] 2.2.7.18): a LONG.
func readReturnStatus(r *wire.Reader, out *int32) error {
	var v uint32
	if !r.ReadUint32(&v) {
		return errShortToken
	}
	*out = int32(v)
	return nil
}

// readUserType reads UserType: a USHORT before TDS 7.2, a ULONG since.
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
