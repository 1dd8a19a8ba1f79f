package tds

import (
	"fmt"

	"github.com/nettrace/nettrace/internal/wire"
)

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

// readColMetadata reads COLMETADATA ([MS-TDS] 2.2.7.4): a column count,
// then ColumnData per column. The columns replace ctx.Columns; a count of
// 0xFFFF (NoMetaData) or one above ctx.MaxColumns leaves the rows that
// follow without decodable metadata.
func readColMetadata(r *wire.Reader, tok *Token, ctx *TokenContext) error {
	var count uint16
	if !r.ReadUint16(&count) {
		return errShortToken
	}
	noMeta := false
	if count == 0xFFFF { // NoMetaData: the rows use metadata sent earlier
		count, noMeta = 0, true
	}
	if ctx.MaxColumns > 0 && int(count) > ctx.MaxColumns {
		noMeta = true
	}
	cols := ctx.Columns[:0]
	for i := 0; i < int(count); i++ {
		c, err := readColumnData(r, i, ctx.Version)
		if err != nil {
			return err
		}
		if !noMeta {
			cols = append(cols, c)
		}
	}
	ctx.Columns, ctx.NoMetadata = cols, noMeta
	tok.Columns = int(count)
	return nil
}

// readColumnData reads the ColumnData of column i of COLMETADATA: UserType,
// Flags, TYPE_INFO and ColName. An unknown type with bytes after it is
// malformed (nothing tells where the column ends); so is NULLTYPE.
func readColumnData(r *wire.Reader, i int, v TDSVersion) (Column, error) {
	var c Column
	var ok bool
	if !readUserType(r, v, &c.UserType) || !r.ReadUint16(&c.Flags) {
		return c, errShortToken
	}
	if c.Type, ok = readTypeInfo(r, tiColumn); !ok {
		if r.Len() > 16 && c.Type.Type != 0 && !knownType(c.Type.Type) {
			return c, malformed("COLMETADATA", fmt.Sprintf("column %d has unknown type 0x%02x", i, uint8(c.Type.Type)))
		}
		return c, errShortToken
	}
	if c.Type.Type == TypeNull {
		// NULLTYPE has no storage; as a column it would let one ROW
		// byte stand for any number of values.
		return c, malformed("COLMETADATA", fmt.Sprintf("column %d has NULLTYPE", i))
	}
	if c.Name, ok = readBVarchar(r); !ok {
		return c, errShortToken
	}
	return c, nil
}

func knownType(t DataType) bool { _, ok := dataTypeNames[t]; return ok }

// readRow reads ROW ([MS-TDS] 2.2.7.20) or NBCROW (2.2.7.15: a null bitmap,
// then the values that are not NULL) with the columns of the current
// COLMETADATA. The values alias the input and live in ctx's scratch.
func readRow(r *wire.Reader, tok *Token, ctx *TokenContext) error {
	if ctx.NoMetadata || len(ctx.Columns) == 0 {
		return perr.Wrap(tok.Type.String(), "row without decodable column metadata", ErrNoMetadata)
	}
	ctx.row = ctx.row[:0]
	var bitmap []byte
	if tok.Type == TokenNBCRow && !r.ReadBytes(&bitmap, (len(ctx.Columns)+7)/8) {
		return errShortToken
	}
	for i := range ctx.Columns {
		if bitmap != nil && bitmap[i/8]&(1<<(i%8)) != 0 {
			ctx.row = append(ctx.row, Value{Null: true})
			continue
		}
		v, ok := readValue(r, &ctx.Columns[i].Type)
		if !ok {
			return errShortToken
		}
		ctx.row = append(ctx.row, v)
	}
	tok.Row = ctx.row
	return nil
}

// readReturnValue reads RETURNVALUE ([MS-TDS] 2.2.7.19): ParamOrdinal,
// ParamName, Status, UserType, Flags, TYPE_INFO and the value.
func readReturnValue(r *wire.Reader, rv *ReturnValue, ver TDSVersion) error {
	var ok bool
	var ut uint32
	var flags uint16
	if !r.ReadUint16(&rv.Ordinal) {
		return errShortToken
	}
	if rv.Name, ok = readBVarchar(r); !ok || !r.ReadUint8(&rv.Status) || !readUserType(r, ver, &ut) || !r.ReadUint16(&flags) {
		return errShortToken
	}
	if rv.Type, ok = readTypeInfo(r, tiParam); !ok {
		return errShortToken
	}
	v, ok := readValue(r, &rv.Type)
	if !ok {
		return errShortToken
	}
	rv.Value = v.Interface(rv.Type, 64)
	return nil
}

// readOrder reads the data of ORDER ([MS-TDS] 2.2.7.17): one USHORT column
// number per ordered column.
func readOrder(body wire.Reader, n *int) error {
	if body.Len()%2 != 0 {
		return malformed(TokenOrder.String(), fmt.Sprintf("odd length %d", body.Len()))
	}
	*n = body.Len() / 2
	return nil
}
