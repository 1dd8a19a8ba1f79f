package health

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// The JSON sink writes events and messages without reflection: these
// appenders produce exactly what encoding/json writes for the same values
// (with HTML escaping off), for the types decoders put in Evidence and
// Fields; any other type goes through encoding/json.

// schemaPrefix opens every record with its schema version.
var schemaPrefix = `{"schema":` + strconv.Itoa(SchemaVersion)

// appendEvent appends e as one JSON object, in the contract's field order,
// after the schema version.
func appendEvent(b []byte, e *Event) []byte {
	b = append(b, schemaPrefix...)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(e.Kind))
	b = append(b, `,"severity":`...)
	b = appendString(b, e.Severity.String())
	b = append(b, `,"time":`...)
	b = appendTime(b, e.Time)
	b = append(b, `,"frame":`...)
	b = strconv.AppendInt(b, e.Frame, 10)
	if e.Flow != "" {
		b = append(b, `,"flow":`...)
		b = appendString(b, e.Flow)
	}
	b = append(b, `,"message":`...)
	b = appendString(b, e.Message)
	if len(e.Evidence) > 0 {
		b = append(b, `,"evidence":`...)
		b = appendMap(b, e.Evidence)
	}
	return append(b, '}')
}

// appendMessage appends m as one JSON object.
func appendMessage(b []byte, m *Message) []byte {
	b = append(b, schemaPrefix...)
	b = append(b, `,"frame":`...)
	b = strconv.AppendInt(b, m.Frame, 10)
	b = append(b, `,"time":`...)
	b = appendTime(b, m.Time)
	if m.Flow != "" {
		b = append(b, `,"flow":`...)
		b = appendString(b, m.Flow)
	}
	b = append(b, `,"proto":`...)
	b = appendString(b, m.Proto)
	b = append(b, `,"fields":`...)
	if f := m.FieldMap(); f == nil {
		b = append(b, "null"...)
	} else {
		b = appendMap(b, f)
	}
	return append(b, '}')
}

// appendTime writes t as time.Time.MarshalJSON does (RFC 3339 with
// nanoseconds, quoted).
func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y >= 10000 {
		return appendAny(b, t)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendMap writes m with its keys sorted, as encoding/json does.
func appendMap(b []byte, m map[string]any) []byte { return appendSorted(b, m, appendValue) }

// appendSorted writes m as a JSON object with its keys sorted, each value
// written by value.
func appendSorted[V any](b []byte, m map[string]V, value func([]byte, V) []byte) []byte {
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = value(b, m[k])
	}
	return append(b, '}')
}

// appendValue writes one evidence or field value.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case float64:
		return appendFloat(b, x, 64)
	case float32:
		return appendFloat(b, float64(x), 32)
	case map[string]any:
		if x == nil {
			return append(b, "null"...)
		}
		return appendMap(b, x)
	case map[string]int:
		if x == nil {
			return append(b, "null"...)
		}
		return appendSorted(b, x, func(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) })
	case []any:
		return appendList(b, len(x), x == nil, func(b []byte, i int) []byte { return appendValue(b, x[i]) })
	case []string:
		return appendList(b, len(x), x == nil, func(b []byte, i int) []byte { return appendString(b, x[i]) })
	case []int:
		return appendList(b, len(x), x == nil, func(b []byte, i int) []byte { return strconv.AppendInt(b, int64(x[i]), 10) })
	case []int64:
		return appendList(b, len(x), x == nil, func(b []byte, i int) []byte { return strconv.AppendInt(b, x[i], 10) })
	case []uint16:
		return appendList(b, len(x), x == nil, func(b []byte, i int) []byte { return strconv.AppendUint(b, uint64(x[i]), 10) })
	case []float64:
		return appendList(b, len(x), x == nil, func(b []byte, i int) []byte { return appendFloat(b, x[i], 64) })
	case []map[string]any:
		return appendList(b, len(x), x == nil, func(b []byte, i int) []byte { return appendValue(b, x[i]) })
	}
	return appendAny(b, v)
}

func appendList(b []byte, n int, isNil bool, elem func([]byte, int) []byte) []byte {
	if isNil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, i)
	}
	return append(b, ']')
}

// appendAny falls back to encoding/json for a type the appenders do not
// know (a named type, a value that implements json.Marshaler, a struct),
// with HTML escaping off like the rest of the line.
func appendAny(b []byte, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return appendString(b, "error: "+err.Error())
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// appendFloat writes f as encoding/json does: the shortest representation,
// in exponent form only below 1e-6 or from 1e21 on, with a two-digit
// exponent at least. NaN and infinities, which JSON cannot carry, become
// null (encoding/json would fail the whole line).
func appendFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping off: control characters as \u00XX (\n, \r, \t, \b, \f short),
// invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
