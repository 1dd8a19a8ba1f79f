package tds

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nettrace/nettrace/internal/wire"
)

// DataType is a TDS data type byte ([MS-TDS] 2.2.5.4).
type DataType uint8

// Data types.
const (
	TypeNull            DataType = 0x1F
	TypeInt1            DataType = 0x30
	TypeBit             DataType = 0x32
	TypeInt2            DataType = 0x34
	TypeInt4            DataType = 0x38
	TypeDateTim4        DataType = 0x3A
	TypeFlt4            DataType = 0x3B
	TypeMoney           DataType = 0x3C
	TypeDateTime        DataType = 0x3D
	TypeFlt8            DataType = 0x3E
	TypeMoney4          DataType = 0x7A
	TypeInt8            DataType = 0x7F
	TypeGUID            DataType = 0x24
	TypeIntN            DataType = 0x26
	TypeDecimal         DataType = 0x37
	TypeNumeric         DataType = 0x3F
	TypeBitN            DataType = 0x68
	TypeDecimalN        DataType = 0x6A
	TypeNumericN        DataType = 0x6C
	TypeFltN            DataType = 0x6D
	TypeMoneyN          DataType = 0x6E
	TypeDateTimN        DataType = 0x6F
	TypeDateN           DataType = 0x28
	TypeTimeN           DataType = 0x29
	TypeDateTime2N      DataType = 0x2A
	TypeDateTimeOffsetN DataType = 0x2B
	TypeChar            DataType = 0x2F
	TypeVarChar         DataType = 0x27
	TypeBinary          DataType = 0x2D
	TypeVarBinary       DataType = 0x25
	TypeBigVarBinary    DataType = 0xA5
	TypeBigVarChar      DataType = 0xA7
	TypeBigBinary       DataType = 0xAD
	TypeBigChar         DataType = 0xAF
	TypeNVarChar        DataType = 0xE7
	TypeNChar           DataType = 0xEF
	TypeXML             DataType = 0xF1
	TypeUDT             DataType = 0xF0
	TypeText            DataType = 0x23
	TypeImage           DataType = 0x22
	TypeNText           DataType = 0x63
	TypeSSVariant       DataType = 0x62
	TypeTVP             DataType = 0xF3
)

var dataTypeNames = map[DataType]string{
	TypeNull: "null", TypeInt1: "tinyint", TypeBit: "bit", TypeInt2: "smallint", TypeInt4: "int",
	TypeDateTim4: "smalldatetime", TypeFlt4: "real", TypeMoney: "money", TypeDateTime: "datetime",
	TypeFlt8: "float", TypeMoney4: "smallmoney", TypeInt8: "bigint", TypeGUID: "uniqueidentifier",
	TypeIntN: "intn", TypeDecimal: "decimal", TypeNumeric: "numeric", TypeBitN: "bitn",
	TypeDecimalN: "decimal", TypeNumericN: "numeric", TypeFltN: "floatn", TypeMoneyN: "moneyn",
	TypeDateTimN: "datetimen", TypeDateN: "date", TypeTimeN: "time", TypeDateTime2N: "datetime2",
	TypeDateTimeOffsetN: "datetimeoffset", TypeChar: "char", TypeVarChar: "varchar", TypeBinary: "binary",
	TypeVarBinary: "varbinary", TypeBigVarBinary: "varbinary", TypeBigVarChar: "varchar",
	TypeBigBinary: "binary", TypeBigChar: "char", TypeNVarChar: "nvarchar", TypeNChar: "nchar",
	TypeXML: "xml", TypeUDT: "udt", TypeText: "text", TypeImage: "image", TypeNText: "ntext",
	TypeSSVariant: "sql_variant", TypeTVP: "tvp",
}

// String returns the SQL type name ("int", "nvarchar", …) or DataType(0xNN).
func (t DataType) String() string {
	return enumName(dataTypeNames, "DataType", t)
}

// value length encodings.
const (
	lenFixed   = iota // fixed size, no length prefix
	lenByte           // 1-byte length (0 = NULL for nullable types)
	lenUShort         // 2-byte length, 0xFFFF = NULL
	lenLong           // TEXT/NTEXT/IMAGE: text pointer, timestamp, 4-byte length
	lenVariant        // sql_variant: 4-byte length
	lenPLP            // partially length-prefixed (varchar(max), xml, udt)
)

// TypeInfo is a decoded TYPE_INFO ([MS-TDS] 2.2.5.6).
type TypeInfo struct {
	Type      DataType
	MaxLen    uint32
	Precision uint8
	Scale     uint8
	lenKind   uint8
	fixed     uint8
}

// String returns the SQL type with its length, e.g. "nvarchar(50)",
// "varchar(max)", "decimal(10,2)".
func (ti TypeInfo) String() string {
	switch ti.Type {
	case TypeBigVarChar, TypeBigVarBinary, TypeNVarChar, TypeBigChar, TypeBigBinary, TypeNChar:
		if ti.lenKind == lenPLP {
			return ti.Type.String() + "(max)"
		}
		n := ti.MaxLen
		if ti.Type == TypeNVarChar || ti.Type == TypeNChar {
			n /= 2
		}
		return fmt.Sprintf("%s(%d)", ti.Type, n)
	case TypeDecimalN, TypeNumericN, TypeDecimal, TypeNumeric:
		return fmt.Sprintf("%s(%d,%d)", ti.Type, ti.Precision, ti.Scale)
	case TypeIntN:
		switch ti.MaxLen {
		case 1:
			return "tinyint"
		case 2:
			return "smallint"
		case 4:
			return "int"
		case 8:
			return "bigint"
		}
	case TypeFltN:
		if ti.MaxLen == 4 {
			return "real"
		}
		return "float"
	case TypeBitN:
		return "bit"
	case TypeDateTimN:
		if ti.MaxLen == 4 {
			return "smalldatetime"
		}
		return "datetime"
	case TypeMoneyN:
		if ti.MaxLen == 4 {
			return "smallmoney"
		}
		return "money"
	}
	return ti.Type.String()
}

var fixedSizes = map[DataType]uint8{
	TypeNull: 0, TypeInt1: 1, TypeBit: 1, TypeInt2: 2, TypeInt4: 4, TypeDateTim4: 4, TypeFlt4: 4,
	TypeMoney: 8, TypeDateTime: 8, TypeFlt8: 8, TypeMoney4: 4, TypeInt8: 8,
}

// typeInfoCtx says where a TYPE_INFO appears: COLMETADATA adds table names
// for TEXT/NTEXT/IMAGE and the assembly name for UDTs.
type typeInfoCtx uint8

const (
	tiColumn typeInfoCtx = iota
	tiParam
)

// readTypeInfo reads a TYPE_INFO ([MS-TDS] 2.2.5.6): the type byte, then
// what its family carries. It reports false when the bytes run out or the
// type is unknown or unsupported (TVP); Type is set even then.
func readTypeInfo(r *wire.Reader, where typeInfoCtx) (TypeInfo, bool) {
	var t uint8
	if !r.ReadUint8(&t) {
		return TypeInfo{}, false
	}
	ti := TypeInfo{Type: DataType(t)}
	if n, ok := fixedSizes[ti.Type]; ok {
		ti.lenKind, ti.fixed, ti.MaxLen = lenFixed, n, uint32(n)
		return ti, true
	}
	var ok bool
	switch ti.Type {
	case TypeGUID, TypeIntN, TypeBitN, TypeFltN, TypeMoneyN, TypeDateTimN, TypeChar, TypeVarChar, TypeBinary, TypeVarBinary:
		ok = ti.readByteLen(r)
	case TypeDecimal, TypeNumeric, TypeDecimalN, TypeNumericN:
		ok = ti.readDecimal(r)
	case TypeDateN:
		ti.lenKind, ti.MaxLen, ok = lenByte, 3, true
	case TypeTimeN, TypeDateTime2N, TypeDateTimeOffsetN:
		ti.lenKind = lenByte
		ok = r.ReadUint8(&ti.Scale)
	case TypeBigVarBinary, TypeBigBinary, TypeBigVarChar, TypeBigChar, TypeNVarChar, TypeNChar:
		ok = ti.readUShortLen(r)
	case TypeText, TypeNText, TypeImage:
		ok = ti.readLongLen(r, where)
	case TypeSSVariant:
		ti.lenKind = lenVariant
		ok = r.ReadUint32(&ti.MaxLen)
	case TypeXML:
		ok = ti.readXML(r)
	case TypeUDT:
		ok = ti.readUDT(r, where)
	}
	return ti, ok
}

// readByteLen reads the BYTELEN maximum length of a variable-length type
// with a 1-byte value length: the nullable numeric, date and money types,
// GUID, and the legacy character and binary types ([MS-TDS] 2.2.5.4.2).
func (ti *TypeInfo) readByteLen(r *wire.Reader) bool {
	var n uint8
	ti.lenKind = lenByte
	if !r.ReadUint8(&n) {
		return false
	}
	ti.MaxLen = uint32(n)
	return true
}

// readDecimal reads the BYTELEN, precision and scale of DECIMAL and
// NUMERIC ([MS-TDS] 2.2.5.6).
func (ti *TypeInfo) readDecimal(r *wire.Reader) bool {
	return ti.readByteLen(r) && r.ReadUint8(&ti.Precision) && r.ReadUint8(&ti.Scale)
}

// isCharType reports whether t, a USHORTLEN type, carries a collation.
func isCharType(t DataType) bool {
	return t == TypeBigVarChar || t == TypeBigChar || t == TypeNVarChar || t == TypeNChar
}

// readUShortLen reads the USHORTLEN maximum length of the big character
// and binary types, 0xFFFF for a PLP (max) type ([MS-TDS] 2.2.5.4.2,
// 2.2.5.4.3), then the 5-byte COLLATION (2.2.5.1.2) of the character ones.
func (ti *TypeInfo) readUShortLen(r *wire.Reader) bool {
	var n uint16
	if !r.ReadUint16(&n) {
		return false
	}
	ti.MaxLen, ti.lenKind = uint32(n), lenUShort
	if n == 0xFFFF {
		ti.lenKind = lenPLP
	}
	return !isCharType(ti.Type) || r.Skip(5)
}

// readLongLen reads the LONGLEN maximum length of TEXT, NTEXT and IMAGE,
// the COLLATION of TEXT and NTEXT, and in COLMETADATA the table name
// (NumParts US_VARCHAR parts) ([MS-TDS] 2.2.5.6).
func (ti *TypeInfo) readLongLen(r *wire.Reader, where typeInfoCtx) bool {
	ti.lenKind = lenLong
	if !r.ReadUint32(&ti.MaxLen) {
		return false
	}
	if ti.Type != TypeImage && !r.Skip(5) {
		return false
	}
	if where != tiColumn {
		return true
	}
	var parts uint8
	if !r.ReadUint8(&parts) {
		return false
	}
	for i := 0; i < int(parts); i++ {
		if !skipUSVarchar(r) {
			return false
		}
	}
	return true
}

// readXML reads XML_INFO ([MS-TDS] 2.2.5.6): SCHEMA_PRESENT, then the
// database, owning schema and schema collection names when present.
func (ti *TypeInfo) readXML(r *wire.Reader) bool {
	var present uint8
	ti.lenKind = lenPLP
	if !r.ReadUint8(&present) {
		return false
	}
	return present == 0 || skipBVarchar(r) && skipBVarchar(r) && skipUSVarchar(r)
}

// readUDT reads UDT_INFO ([MS-TDS] 2.2.5.6): in COLMETADATA the maximum
// length, then the database, schema and type names, and in COLMETADATA the
// assembly-qualified name.
func (ti *TypeInfo) readUDT(r *wire.Reader, where typeInfoCtx) bool {
	ti.lenKind = lenPLP
	if where == tiColumn {
		var n uint16
		if !r.ReadUint16(&n) {
			return false
		}
		ti.MaxLen = uint32(n)
	}
	if !(skipBVarchar(r) && skipBVarchar(r) && skipBVarchar(r)) {
		return false
	}
	return where != tiColumn || skipUSVarchar(r)
}

// Value is one column or parameter value. Data aliases the input, except
// for PLP values, where it holds only the first chunk (Len has the total).
type Value struct {
	Null bool
	Data []byte
	Len  int
}

// maxPLPChunks bounds the chunks of one PLP value.
const maxPLPChunks = 1 << 20

// readValue reads one value of type ti. It reports false when the bytes run
// out or the encoding is impossible.
func readValue(r *wire.Reader, ti *TypeInfo) (Value, bool) {
	var v Value
	switch ti.lenKind {
	case lenFixed:
		if !r.ReadBytes(&v.Data, int(ti.fixed)) {
			return v, false
		}
		v.Null = ti.Type == TypeNull
	case lenByte:
		var n uint8
		if !r.ReadUint8(&n) || !r.ReadBytes(&v.Data, int(n)) {
			return v, false
		}
		v.Null = n == 0
	case lenUShort:
		var n uint16
		if !r.ReadUint16(&n) {
			return v, false
		}
		if n == 0xFFFF {
			v.Null = true
			return v, true
		}
		if !r.ReadBytes(&v.Data, int(n)) {
			return v, false
		}
	case lenLong:
		var ptr uint8
		if !r.ReadUint8(&ptr) {
			return v, false
		}
		if ptr == 0 {
			v.Null = true
			return v, true
		}
		var n uint32
		if !r.Skip(int(ptr)+8) || !r.ReadUint32(&n) || n > 1<<30 || !r.ReadBytes(&v.Data, int(n)) {
			return v, false
		}
	case lenVariant:
		var n uint32
		if !r.ReadUint32(&n) || n > 1<<30 || !r.ReadBytes(&v.Data, int(n)) {
			return v, false
		}
		v.Null = n == 0
	case lenPLP:
		var total uint64
		if !r.ReadUint64(&total) {
			return v, false
		}
		if total == math.MaxUint64 {
			v.Null = true
			return v, true
		}
		for i := 0; ; i++ {
			var n uint32
			if i > maxPLPChunks || !r.ReadUint32(&n) {
				return v, false
			}
			if n == 0 {
				break
			}
			var chunk []byte
			if n > 1<<30 || !r.ReadBytes(&chunk, int(n)) {
				return v, false
			}
			if v.Data == nil {
				v.Data = chunk
			}
			v.Len += int(n)
		}
		return v, true
	default:
		return v, false
	}
	v.Len = len(v.Data)
	return v, true
}

// Interface returns a Go value for common types (integers, bit, floats,
// character and binary data shortened to max characters/bytes, GUID as
// text); other types give "<type, N bytes>", NULL gives nil.
func (v Value) Interface(ti TypeInfo, max int) any {
	if v.Null {
		return nil
	}
	d := v.Data
	switch ti.Type {
	case TypeInt1, TypeInt2, TypeInt4, TypeInt8, TypeIntN, TypeBit, TypeBitN:
		switch len(d) {
		case 1:
			if ti.Type == TypeBit || ti.Type == TypeBitN {
				return d[0] != 0
			}
			return int64(d[0])
		case 2:
			return int64(int16(binary.LittleEndian.Uint16(d)))
		case 4:
			return int64(int32(binary.LittleEndian.Uint32(d)))
		case 8:
			return int64(binary.LittleEndian.Uint64(d))
		}
	case TypeFlt4, TypeFlt8, TypeFltN:
		switch len(d) {
		case 4:
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(d)))
		case 8:
			return math.Float64frombits(binary.LittleEndian.Uint64(d))
		}
	case TypeNVarChar, TypeNChar, TypeNText:
		s, cut := ucs2(d, max)
		if cut || v.Len > len(d) {
			s += "…"
		}
		return s
	case TypeBigVarChar, TypeBigChar, TypeVarChar, TypeChar, TypeText:
		cut := false
		if max > 0 && len(d) > max {
			d, cut = d[:max], true
		}
		s := printable(d)
		if cut || v.Len > len(v.Data) {
			s += "…"
		}
		return s
	case TypeGUID:
		if len(d) == 16 {
			return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(d[0:4]),
				binary.LittleEndian.Uint16(d[4:6]), binary.LittleEndian.Uint16(d[6:8]), d[8:10], d[10:16])
		}
	case TypeBigVarBinary, TypeBigBinary, TypeVarBinary, TypeBinary, TypeImage:
		if max > 0 && len(d) > max {
			return fmt.Sprintf("0x%x…", d[:max])
		}
		return fmt.Sprintf("0x%x", d)
	}
	return fmt.Sprintf("<%s, %d bytes>", ti, v.Len)
}
