package eventschema

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const kindsSrc = `package health

// Group of kinds.
const (
	// A: meaning. Warning (Notice when x). Evidence: one, two (a remark,
	// with commas), three or four ("x"|"y"). More text. Evidence: not_this.
	A Kind = "a.one"
	// B: other. Evidence: as A, five.
	B Kind = "b.two"
	// C: none. Info.
	C Kind = "c.three"
	notAKind = 3
)

// D is alone.
// Info. Evidence: six.
const D Kind = "d.four"
`

// TestParseEvidenceLists: the list runs to the end of its sentence,
// remarks in parentheses are left out, "as Kind" takes that kind's fields.
func TestParseEvidenceLists(t *testing.T) {
	kinds, err := Parse([]byte(kindsSrc))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, k := range kinds {
		got[k.Kind] = k.Evidence
	}
	want := map[string][]string{
		"a.one":   {"one", "two", "three", "four"},
		"b.two":   {"one", "two", "three", "four", "five"},
		"c.three": nil,
		"d.four":  {"six"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("evidence\n got %v\nwant %v", got, want)
	}
	if kinds[0].Group != "Group of kinds." || kinds[3].Group != "Connection summary." {
		t.Errorf("groups %q, %q", kinds[0].Group, kinds[3].Group)
	}
}

func TestJSONTypeAndRender(t *testing.T) {
	for v, want := range map[any]string{
		"s": "string", 3: "integer", int64(3): "integer", 2.0: "number", true: "boolean",
		time.Second: "integer", uint16(5): "integer",
	} {
		if got := JSONType(v); got != want {
			t.Errorf("JSONType(%T) = %s, want %s", v, got, want)
		}
	}
	if got := JSONType([]int{1}); got != "array" {
		t.Errorf("slice: %s", got)
	}
	if got := JSONType(map[string]any{}); got != "object" {
		t.Errorf("map: %s", got)
	}
	kinds, _ := Parse([]byte(kindsSrc))
	obs := Observed{}
	obs.Add("a.one", map[string]any{"one": 1, "two": "x"}, `{"kind":"a.one"}`)
	doc := string(Render(1, kinds, map[string]Info{"a.one": {"warning", "m"}}, obs))
	for _, want := range []string{"# Event schema (version 1)", "### a.one", "| one | integer |", "| three |  |", `{"kind":"a.one"}`, "## Group of kinds"} {
		if !strings.Contains(doc, want) {
			t.Errorf("document lacks %q", want)
		}
	}
}
