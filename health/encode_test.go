package health

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// stdJSON encodes v as encoding/json does in the sink's settings.
func stdJSON(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// Records as encoding/json writes them with the schema version first:
// the sink's records are these types.
type (
	schemaEvent struct {
		Schema int `json:"schema"`
		Event
	}
	schemaMessage struct {
		Schema int `json:"schema"`
		Message
	}
)

func versioned(v any) any {
	switch v := v.(type) {
	case Event:
		return schemaEvent{SchemaVersion, v}
	case Message:
		return schemaMessage{SchemaVersion, v}
	}
	return v
}

// TestEncodeMatchesEncodingJSON: the reflection-free encoder writes what
// encoding/json writes, for every value type decoders use and strings
// that need escaping.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 22, 1, 2, 3, 456789000, time.UTC)
	evidence := map[string]any{
		"s": "a\"b\\c\n\r\t\x01<>&\u2028\u2029é\xff", "i": -3, "i64": int64(1) << 40, "u16": uint16(443), "u32": uint32(1) << 31,
		"u64": uint64(math.MaxUint64), "f": 0.1, "f0": 0.0, "ftiny": 1e-9, "fbig": 1.5e22, "fneg": -2.5, "f32": float32(1.25),
		"b": true, "nil": nil, "list": []int64{1, 2}, "ints": []int{3}, "strs": []string{"x", "<y>"}, "empty": []string{},
		"nilList": []string(nil), "floats": []float64{0.001, 1e300}, "u16s": []uint16{1, 2},
		"nested": map[string]any{"z": 1, "a": []any{"x", 2, map[string]any{"k": "v"}}},
		"counts": map[string]int{"b": 2, "a": 1}, "dur": time.Second, "addr": netip.MustParseAddr("10.0.0.1"),
		"kind": TCPReset, "maps": []map[string]any{{"x": 1}},
	}
	e := Event{Kind: TCPReset, Severity: Warning, Time: at, Frame: 12, Flow: "a->b/tcp", Message: "m <&>", Evidence: evidence}
	if got, want := string(appendEvent(nil, &e)), stdJSON(t, versioned(e)); got != want {
		t.Errorf("event:\n got %s\nwant %s", got, want)
	}
	m := Message{Frame: 3, Time: at, Proto: "smb2", Fields: evidence}
	if got, want := string(appendMessage(nil, &m)), stdJSON(t, versioned(m)); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
	for _, e := range []Event{{}, {Kind: "x", Evidence: map[string]any{}}} {
		if got, want := string(appendEvent(nil, &e)), stdJSON(t, versioned(e)); got != want {
			t.Errorf("event %+v:\n got %s\nwant %s", e, got, want)
		}
	}
}

// FuzzEncodeMatchesEncodingJSON compares strings and floats built from
// arbitrary input.
func FuzzEncodeMatchesEncodingJSON(f *testing.F) {
	f.Add("hello \"world\"\n", 1.5, int64(7))
	f.Add("\xff\xfe\u2028", 1e-7, int64(-1))
	f.Fuzz(func(t *testing.T, s string, x float64, n int64) {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		e := Event{Kind: Kind(s), Message: s, Frame: n, Evidence: map[string]any{s: x, "n": n, "f32": float32(x), "l": []string{s}}}
		if got, want := string(appendEvent(nil, &e)), stdJSON(t, versioned(e)); got != want {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkJSONSinkEvent(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	e := Event{Kind: TCPRetransmission, Severity: Warning, Time: time.Now(), Frame: 1921, Flow: "10.1.1.1:1099->172.16.1.1:80/tcp",
		Message: "server retransmission of 1448 bytes", Evidence: map[string]any{"seq": int64(r.Intn(1e6)), "bytes": 1448, "cause": "loss", "since_original_ms": 210.5}}
	s := NewJSONSink(io.Discard, true, false)
	b.ReportAllocs()
	for b.Loop() {
		s.Event(e)
	}
}
